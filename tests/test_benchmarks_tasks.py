"""Standard benchmark tasks on fixture files: prompts in the harness's format, data errors,
log-likelihood scoring and ``seal eval`` over several tasks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

from seal.errors import SealError
from seal.generation.loglik import encode_pair, loglikelihood
from seal.tasks import get_task
from seal.tasks.bbh import subtask_names

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")
FIX = Path(__file__).parent / "fixtures"


def test_gsm8k_prompts_follow_the_harness() -> None:
    plain = get_task("gsm8k", data=FIX / "gsm8k.jsonl", fewshot_data=FIX / "gsm8k_train.jsonl")
    problems = plain.problems("test")
    assert [p.answer for p in problems] == ["7", "1,262", "-3"]
    prompt = plain.prompt(problems[0], shots=1)
    assert prompt == (
        "Question: Ann has 2 pens and gets 2 more. How many pens?\n"
        "Answer: 2 + 2 = <<2+2=4>>4\n#### 4\n\n"
        "Question: Tom has 3 apples and buys 4 more. How many apples does he have?\nAnswer:"
    )
    assert plain.scores(problems[1], "So it is 1262.\n#### 1,262") == {
        "strict_match": True,
        "flexible_match": True,
    }
    cot = get_task("gsm8k_cot", data=FIX / "gsm8k.jsonl")
    prompt = cot.prompt(problems[2], shots=8)
    assert prompt.startswith("Q: There are 15 trees in the grove.")
    assert prompt.count("The answer is") == 8 and prompt.endswith(
        "fell by 8 degrees. What is it now?\nA:"
    )
    assert cot.verify(problems[2], "5 - 8 = -3. The answer is -3.")
    assert cot.default_shots == 8 and plain.default_shots == 5


def test_mmlu_prompt_groups_and_answers() -> None:
    task = get_task("mmlu", data=FIX / "mmlu.jsonl", fewshot_data=FIX / "mmlu_dev.jsonl")
    problems = task.problems("test")
    assert [p.group for p in problems] == ["anatomy", "astronomy", "astronomy"]
    assert [p.answer for p in problems] == ["C", "B", "A"]
    prompt = task.prompt(problems[1], shots=1)
    assert prompt == (
        "The following are multiple choice questions (with answers) about astronomy.\n\n"
        "How many moons does Mars have?\nA. 0\nB. 1\nC. 2\nD. 3\nAnswer: C\n\n"
        "What is the closest planet to the Sun?\nA. Venus\nB. Mercury\nC. Earth\nD. Mars\nAnswer:"
    )
    assert task.choices(problems[1]) == [" A", " B", " C", " D"]
    assert task.gold(problems[1]) == 1
    assert problems[0].meta["category"] == "stem"  # anatomy is STEM in the harness's map
    with pytest.raises(SealError, match="2 shots asked, 1 dev questions"):
        task.prompt(problems[1], shots=2)
    only = get_task("mmlu/astronomy", data=FIX / "mmlu.jsonl")
    assert len(only.problems("test")) == 2


def test_commonsense_qa_prompt_and_cot_answer() -> None:
    task = get_task("commonsense_qa", data=FIX / "commonsense_qa.jsonl")
    p = task.problems("validation")[0]
    assert task.prompt(p) == (
        "Question: Where would you keep milk cold?\nA. oven\nB. refrigerator\nC. garden\n"
        "D. drawer\nE. roof\nAnswer:"
    )
    assert task.kind == "choice" and task.gold(p) == 1
    cot = get_task("commonsense_qa_cot", data=FIX / "commonsense_qa.jsonl")
    assert cot.kind == "generate"
    assert cot.prompt(p).endswith("Answer: Let's think step by step.")
    assert cot.verify(p, "Milk spoils when warm. So the answer is (B).")
    assert not cot.verify(p, "The answer is A.")


def test_bbh_prompt_is_three_shot_cot() -> None:
    assert len(subtask_names()) == 27
    task = get_task("bbh", data=FIX / "bbh.jsonl")
    problems = task.problems("test")
    assert {p.group for p in problems} == {"boolean_expressions", "navigate"}
    prompt = task.prompt(problems[0], shots=3)
    assert prompt.startswith("Evaluate the result of a random Boolean expression.\n\nQ: ")
    assert prompt.count("A: Let's think step by step.\n") == 4
    assert prompt.endswith("Q: not ( True ) and ( True ) is\nA: Let's think step by step.\n")
    assert task.verify(problems[0], "not True is False. So the answer is False.")


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("bbh/not_a_task", {}, "unknown BBH subtask 'not_a_task'"),
        ("mmlu/cooking", {}, "unknown MMLU subject 'cooking'"),
        ("gsm8k/x", {}, "task gsm8k has no subtasks"),
        ("nope", {}, "unknown task 'nope'"),
    ],
)
def test_unknown_names_are_one_line_errors(name, kwargs, message) -> None:
    with pytest.raises(SealError, match=message):
        get_task(name, **kwargs)


def test_bad_rows_name_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "g.jsonl"
    bad.write_text('{"question": "q", "answer": "#### 1"}\n{"question": "no answer"}\n')
    with pytest.raises(SealError, match=r"g.jsonl:2: missing field\(s\) answer"):
        get_task("gsm8k", data=bad).problems("test")
    bad.write_text(
        json.dumps({"question": "q", "subject": "astronomy", "choices": ["a"], "answer": 0}) + "\n"
    )
    with pytest.raises(SealError, match="row 1: choices must be a list of 4"):
        get_task("mmlu", data=bad).problems("test")


def test_a_hub_split_that_cannot_load_says_what_to_give_instead(monkeypatch) -> None:
    """Offline: the rows asked for are named, and so is the file (or flag) that replaces
    them: --data for the problems, --fewshot-data or --shots 0 for the worked examples."""
    import datasets

    def unreachable(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'openai/gsm8k' on the Hub")

    monkeypatch.setattr(datasets, "load_dataset", unreachable)
    with pytest.raises(SealError, match=r"split 'test' from the hub.*--data FILE"):
        get_task("gsm8k").problems("test")
    gsm8k = get_task("gsm8k", data=FIX / "gsm8k.jsonl")
    problem = gsm8k.problems("test")[0]
    assert gsm8k.prompt(problem, shots=0).startswith("Question: Tom")  # no shots: no hub
    with pytest.raises(SealError, match=r"5 worked examples come from its train split.*--shots 0"):
        gsm8k.prompt(problem, shots=5)
    mmlu = get_task("mmlu", data=FIX / "mmlu.jsonl")
    with pytest.raises(SealError, match=r"mmlu's 1 worked examples come from its dev split"):
        mmlu.prompt(mmlu.problems("test")[0], shots=1)


def test_parquet_data(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    rows = [json.loads(x) for x in (FIX / "gsm8k.jsonl").read_text().splitlines()]
    path = tmp_path / "test.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    assert [p.answer for p in get_task("gsm8k", data=path).problems("test")] == ["7", "1,262", "-3"]


def test_loglikelihood_matches_a_plain_forward(tiny) -> None:
    requests = [("Question: 2 + 3 =", " 5"), ("Question: 2 + 3 =", " 7 apples"), ("A", " B")]
    scores = loglikelihood(tiny.model, tiny.tokenizer, requests, batch_size=2, quiet=True)
    for (ctx, cont), s in zip(requests, scores, strict=True):
        c, x = encode_pair(tiny.tokenizer, ctx, cont)
        ids = torch.tensor([c + x])
        with torch.no_grad():
            logp = torch.log_softmax(tiny.model(ids).logits[0].float(), -1)
        ref = sum(logp[len(c) - 1 + j, t].item() for j, t in enumerate(x))
        assert s.tokens == len(x)
        assert s.logprob == pytest.approx(ref, abs=1e-3)


def test_seal_eval_several_tasks(seal_cli, tmp_path: Path) -> None:
    out = tmp_path / "results"
    code, stdout, err = seal_cli(
        "eval",
        "--model",
        "tiny",
        "--task",
        "mmlu",
        "--data",
        str(FIX / "mmlu.jsonl"),
        "--shots",
        "0",
        "--output",
        str(out),
        "--log-samples",
        "--name",
        "m",
        "--set",
        f"runs_dir={tmp_path / 'runs'}",
    )
    assert code == 0, err
    result = json.loads((out / "mmlu.json").read_text())
    assert result["n"] == 3 and 0.0 <= result["metrics"]["accuracy"] <= 1.0
    assert set(result["by_group"]) == {"anatomy", "astronomy"}
    assert set(result["by_category"]) == {"stem"}
    assert len((out / "mmlu.samples.jsonl").read_text().splitlines()) == 3
    assert "| mmlu | 3 | 0 | accuracy |" in (out / "summary.md").read_text()

    code, _, err = seal_cli(
        "eval",
        "--model",
        "tiny",
        "--task",
        "gsm8k_cot,wordmath",
        "--limit",
        "1",
        "--max-new-tokens",
        "24",
        "--output",
        str(tmp_path / "two"),
        "--name",
        "g",
        "--set",
        f"runs_dir={tmp_path / 'runs'}",
        "--shots",
        "0",
        "--levels",
        "1",
    )
    # gsm8k_cot needs the hub here (no --data with two tasks): one clear line, no traceback
    assert code == 2 and "openai/gsm8k" in err and "--data" in err
    assert "Traceback" not in err


def test_seal_eval_generative_benchmark(seal_cli, tmp_path: Path) -> None:
    code, _, err = seal_cli(
        "eval",
        "--model",
        "tiny",
        "--task",
        "gsm8k_cot",
        "--data",
        str(FIX / "gsm8k.jsonl"),
        "--shots",
        "1",
        "--max-new-tokens",
        "16",
        "--samples",
        "2",
        "--output",
        str(tmp_path / "g.json"),
        "--set",
        f"runs_dir={tmp_path / 'runs'}",
    )
    assert code == 0, err
    result = json.loads((tmp_path / "g.json").read_text())
    assert result["shots"] == 1 and result["n"] == 3
    assert {"accuracy", "strict_match", "flexible_match", "maj@2", "pass@2"} <= set(
        result["metrics"]
    )


def test_samples_asked_only_of_multiple_choice_are_refused(
    seal_cli, one_line_error, tmp_path: Path
) -> None:
    """MMLU is scored by log-likelihood: --samples would be silently ignored."""
    runs = tmp_path / "runs"
    args = ["--data", str(FIX / "mmlu.jsonl"), "--samples", "4", "--set", f"runs_dir={runs}"]
    code, _, err = seal_cli("eval", "--task", "mmlu", *args)
    one_line_error(code, err, "--samples 4", "mmlu is multiple choice", "drop --samples")
    assert not runs.exists()  # refused before a run directory or a model


def _rows(tmp_path: Path, name: str, *rows: dict) -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


CSQA = {"question": "q", "choices": {"label": list("ABCDE"), "text": list("vwxyz")}}
MMLU = {"question": "q", "subject": "astronomy", "choices": ["a", "b", "c", "d"], "answer": 1}
HUMANEVAL = {"task_id": "t/0", "prompt": "def f():\n", "test": "assert True", "entry_point": "f"}


@pytest.mark.parametrize(
    ("task", "row", "message"),
    [
        ("gsm8k", {"question": None, "answer": "#### 1"}, "row 1: question must be a non-empty"),
        ("gsm8k", {"question": 7, "answer": "#### 1"}, "question must be a non-empty string"),
        ("gsm8k", {"question": "q", "answer": ["1"]}, "answer must be a non-empty string or"),
        ("gsm8k", {"question": "q", "answer": float("nan")}, "answer must be"),
        ("bbh/navigate", {"input": ["q"], "target": "Yes"}, "input must be a non-empty string"),
        ("commonsense_qa", {**CSQA, "answerKey": 1}, "answerKey must be one of A-E, got 1"),
        ("commonsense_qa", {**CSQA, "answerKey": "AB"}, "answerKey must be one of A-E"),
        ("commonsense_qa", {**CSQA, "answerKey": ""}, "answerKey must be one of A-E"),
        ("commonsense_qa", {**CSQA, "question": None, "answerKey": "A"}, "question must be"),
        ("mmlu", {**MMLU, "answer": "BC"}, "answer must be 0-3 or A-D, got 'BC'"),
        ("mmlu", {**MMLU, "answer": True}, "answer must be 0-3 or A-D, got True"),
        ("mmlu", {**MMLU, "subject": ["astronomy"]}, "unknown subject ['astronomy']"),
        ("humaneval", {**HUMANEVAL, "prompt": None}, "prompt must be a non-empty string"),
        ("humaneval", {**HUMANEVAL, "entry_point": 3}, "entry_point must be a non-empty"),
    ],
)
def test_a_row_field_of_the_wrong_type_is_one_line(
    tmp_path: Path, task: str, row: dict, message: str
) -> None:
    """A data file written by hand: a field of the wrong type is named (with its file and row)
    before any model loads, never a traceback and never a prompt reading "Question: None"."""
    path = _rows(tmp_path, "rows.jsonl", row)
    split = "validation" if task == "commonsense_qa" else "test"
    with pytest.raises(SealError, match=re.escape(message)):
        get_task(task, data=path).problems(split)


def test_scoring_refuses_a_task_id_that_is_no_string(tmp_path: Path) -> None:
    from seal.scoring import score_completions

    comp = _rows(tmp_path, "c.jsonl", {"task_id": ["x"], "completion": "The answer is 1."})
    data = _rows(tmp_path, "g.jsonl", {"question": "q", "answer": "#### 1"})
    with pytest.raises(SealError, match=r"c.jsonl:1: task_id must be a string, got \['x'\]"):
        score_completions("gsm8k", comp, data)
