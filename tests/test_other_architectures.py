"""Models laid out as nobody here wrote them: GPT-2 (``Conv1D`` layers, learned positions, no
pad token) and Qwen2 (grouped-query attention, tied embeddings), random and tiny, with the
embedded model's tokenizer. `seal eval` runs on them and both adapters attach cleanly."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch
from transformers import (
    AutoTokenizer,
    GPT2Config,
    GPT2LMHeadModel,
    PreTrainedModel,
    Qwen2Config,
    Qwen2ForCausalLM,
)

from seal.adapters import with_adapters
from seal.batching import fit_context
from seal.improve.finetune import sft
from seal.improve.grpo import grpo_update
from seal.models import resolve_model_path

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


def _model(kind: str, vocab: int, bos: int, eos: int, positions: int = 512) -> PreTrainedModel:
    torch.manual_seed(0)
    if kind == "gpt2":
        cfg = GPT2Config(n_positions=positions, n_embd=64, n_layer=2, n_head=2)
        cfg.update({"vocab_size": vocab, "bos_token_id": bos, "eos_token_id": eos})
        return GPT2LMHeadModel(cfg)
    cfg = Qwen2Config(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                      tie_word_embeddings=True)  # fmt: skip
    cfg.update({"vocab_size": vocab, "bos_token_id": bos, "eos_token_id": eos})
    return Qwen2ForCausalLM(cfg)


@pytest.fixture(scope="module", params=["gpt2", "qwen2"])
def model_dir(request, tmp_path_factory) -> Path:
    tok = AutoTokenizer.from_pretrained(resolve_model_path("tiny"))
    out = tmp_path_factory.mktemp(request.param)
    model = _model(request.param, len(tok), tok.bos_token_id, tok.eos_token_id)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def test_seal_eval_on_another_architecture(
    model_dir: Path, tmp_path: Path, seal_cli, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "e.json"
    args = ["--limit", "3", "--levels", "1", "--max-new-tokens", "24", "--device", "cpu"]
    code, _, err = seal_cli("eval", "--model", str(model_dir), *args, "--output", str(out))
    assert code == 0, err
    result = json.loads(out.read_text())
    assert result["n"] == 3 and 0.0 <= result["metrics"]["accuracy"] <= 1.0


def test_adapters_attach_without_warnings(model_dir: Path) -> None:
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(model_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # PEFT's fan_in_fan_out warning for Conv1D
        model = with_adapters(base, r=4, alpha=8)
    model.set_adapter("critic")
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all(".critic." in n for n in trainable)


def test_weights_that_do_not_fit_the_named_architecture_are_refused(
    tmp_path: Path, one_line_error
) -> None:
    """A config.json naming another architecture than the weights were saved from: one line,
    not transformers' warnings followed by an evaluation of random weights."""
    import shutil

    bad = tmp_path / "relabelled"
    shutil.copytree(resolve_model_path("tiny"), bad)
    config = json.loads((bad / "config.json").read_text())
    config |= {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "n_positions": 512}
    (bad / "config.json").write_text(json.dumps(config))
    # a user's terminal, not --quiet: transformers' own load report would come first there
    cmd = [sys.executable, "-m", "seal.cli", "eval", "--model", str(bad), "--limit", "1"]
    done = subprocess.run([*cmd, "--device", "cpu"], capture_output=True, text=True)
    one_line_error(
        done.returncode, done.stderr, f"cannot load model {bad}", "GPT2LMHeadModel", "missing"
    )


def test_an_example_longer_than_the_context_is_cut_at_the_prompt_start() -> None:
    prompt, completion = list(range(10)), [20, 21, 22]
    assert fit_context(prompt, completion, 13) == (prompt, completion)
    assert fit_context(prompt, completion, 8) == ([5, 6, 7, 8, 9], completion)
    assert fit_context([1, 2], list(range(10)), 5) == ([2], [0, 1, 2, 3])


def test_fine_tuning_past_a_short_context_trains_instead_of_failing() -> None:
    """GPT-2's positions are learned: a few-shot prompt plus a reference solution longer than
    ``n_positions`` was an IndexError in the middle of a run. ``sft`` and ``grpo_update`` cut
    the prompt's start and train."""
    tok = AutoTokenizer.from_pretrained(resolve_model_path("tiny"))
    model = _model("gpt2", len(tok), tok.bos_token_id, tok.eos_token_id, positions=40)
    prompt = "Tom has 3 apples and buys 4 more. " * 8
    assert len(tok(prompt)["input_ids"]) > 80
    losses = sft(model, tok, [(prompt, " 3 + 4 = 7\n#### 7")] * 2, epochs=1, quiet=True)
    assert len(losses) == 1 and math.isfinite(losses[0])
    peft = with_adapters(model)
    stats = grpo_update(peft, tok, [prompt], [["#### 7", "#### 8"]], [[1.0, 0.0]], quiet=True)
    assert stats["trained"] == 2 and math.isfinite(stats["loss"])
