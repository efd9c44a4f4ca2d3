"""``--chat-template`` (``model.chat_template``): instruct models prompted through their
chat template, in evaluation, search, the critic's pool and the loop alike."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from tokenizers import processors

from seal.config import dump_config
from seal.errors import SealError
from seal.generation.hf import HFSampler
from seal.models import load_tokenizer, resolve_model_path
from seal.store import RunDir
from seal.tasks import get_task
from seal.tasks.chat import ChatPrompt, chat_text, with_chat

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
FIX = Path(__file__).parent / "fixtures"
HEAD, TAIL = "<|im_start|>user\n", "<|im_end|>\n<|im_start|>assistant\n"


@pytest.fixture(scope="module")
def chat_model(tmp_path_factory) -> Path:
    """The embedded model with a ChatML template in its tokenizer config (an "instruct"
    model as far as seal can tell)."""
    d = tmp_path_factory.mktemp("chat") / "tiny-chat"
    shutil.copytree(resolve_model_path("tiny"), d)
    cfg_file = d / "tokenizer_config.json"
    cfg = json.loads(cfg_file.read_text())
    cfg["chat_template"] = CHATML
    cfg_file.write_text(json.dumps(cfg))
    return d


def test_a_chat_prompt_is_the_task_prompt_as_one_user_turn(chat_model):
    tok = load_tokenizer(str(chat_model))
    task = get_task("wordmath", levels=[2])
    chat = with_chat(task, tok, True)
    assert isinstance(chat, ChatPrompt)
    p = task.problems("test", 1)[0]
    assert chat.prompt(p) == HEAD + task.prompt(p) + TAIL
    # everything but the prompt is the task's own
    assert chat.stop == task.stop and chat.levels == task.levels
    assert chat.verify(p, " " + str(p.solution)) and chat.name == task.name
    assert with_chat(task, tok, False) is task


def test_mmlu_s_header_is_a_system_turn_as_in_the_harness(chat_model):
    tok = load_tokenizer(str(chat_model))
    task = get_task("mmlu", data=FIX / "mmlu.jsonl", fewshot_data=FIX / "mmlu_dev.jsonl")
    p = task.problems("test")[0]
    plain, head = task.prompt(p, shots=1), task.description(p)
    assert plain.startswith(head)
    text = with_chat(task, tok, True).prompt(p, shots=1)
    assert text == (f"<|im_start|>system\n{head}<|im_end|>\n" + HEAD + plain[len(head) :] + TAIL)
    # a template without a system role (it raises on one) gets the user turn alone
    tok.chat_template = (
        "{% for m in messages %}{% if m['role'] == 'system' %}"
        "{{ raise_exception('System role not supported') }}{% endif %}{% endfor %}" + CHATML
    )
    assert with_chat(task, tok, True).prompt(p, shots=1) == (HEAD + plain[len(head) :] + TAIL)


def test_bbh_s_description_is_a_system_turn_and_the_prompt_keeps_its_newline(chat_model):
    tok = load_tokenizer(str(chat_model))
    task = get_task("bbh/boolean_expressions", data=FIX / "bbh.jsonl")
    p = task.problems("test")[0]
    plain, head = task.prompt(p), task.description(p)
    assert plain.startswith(head) and plain.endswith("step by step.\n")
    assert with_chat(task, tok, True).prompt(p) == (
        f"<|im_start|>system\n{head}<|im_end|>\n" + HEAD + plain[len(head) :] + TAIL
    )


def test_a_broken_template_is_one_line(chat_model):
    tok = load_tokenizer(str(chat_model))
    tok.chat_template = "{{ raise_exception('no user turns here') }}"
    with pytest.raises(SealError, match="chat template fails on a user turn: no user turns"):
        chat_text(tok, "hi")


def test_a_template_writing_bos_loses_it_when_the_tokenizer_adds_one(chat_model):
    tok = load_tokenizer(str(chat_model))
    tok.chat_template = "{{ bos_token }}" + CHATML
    bos = tok.bos_token_id
    assert chat_text(tok, "hi").startswith(tok.bos_token)  # the tokenizer adds none: kept
    tok._tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{tok.bos_token} $A", special_tokens=[(tok.bos_token, bos)]
    )
    text = chat_text(tok, "hi")
    assert text.startswith(HEAD)
    ids = tok(text, add_special_tokens=True)["input_ids"]
    assert ids[0] == bos and ids.count(bos) == 1


def test_eval_prompts_every_problem_through_the_template(
    chat_model, tmp_path, seal_cli, monkeypatch
):
    seen: list[str] = []
    sample = HFSampler.sample

    def spy(self, prompts, *args, **kwargs):
        seen.extend(prompts)
        return sample(self, prompts, *args, **kwargs)

    monkeypatch.setattr(HFSampler, "sample", spy)
    out = tmp_path / "r.json"
    code, _, err = seal_cli(
        "eval", "--model", str(chat_model), "--chat-template", "--levels", "1", "--limit",
        "2", "--max-new-tokens", "8", "--output", str(out), "--set",
        f"runs_dir={tmp_path / 'runs'}", "--device", "cpu",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out.read_text())["chat_template"] is True
    assert len(seen) == 2 and all(s.startswith(HEAD) and s.endswith(TAIL) for s in seen)


def test_a_model_without_a_template_or_a_code_task_is_one_line(
    chat_model, tmp_path, seal_cli, one_line_error
):
    runs = f"runs_dir={tmp_path / 'runs'}"
    for args in (
        ("eval", "--chat-template", "--limit", "1"),
        ("solve", "1 + 1", "--chat-template", "--search", "greedy"),
        ("run", "--chat-template"),
        ("critic", "train", "--chat-template", "--output", str(tmp_path / "c")),
    ):
        code, _, err = seal_cli(*args, "--set", runs)
        one_line_error(code, err, "model tiny has no chat template", "drop the option")
    code, _, err = seal_cli(
        "eval", "--model", str(chat_model), "--chat-template", "--task", "humaneval",
        "--limit", "1", "--set", runs,
    )  # fmt: skip
    one_line_error(code, err, "does not apply to humaneval")
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@pytest.mark.filterwarnings("ignore:.*is_gradient_checkpointing:FutureWarning")  # peft's call
def test_the_loop_prompts_its_task_and_its_levels_through_the_template(
    chat_model, tmp_path, make_toy_config
):
    from seal.improve.loop import Loop

    cfg = make_toy_config(tmp_path)
    cfg.model.name, cfg.model.chat_template = str(chat_model), True
    loop = Loop(cfg, RunDir.create(tmp_path, "chat", "run", dump_config(cfg)), quiet=True)
    p = loop.task.problems("test", 1)[0]
    assert loop.task.prompt(p).startswith(HEAD)
    frontier = loop._task([5])  # the frontier's prompts, the fine-tuning examples' too
    assert frontier.prompt(frontier.problems("train", 1)[0]).endswith(TAIL)
