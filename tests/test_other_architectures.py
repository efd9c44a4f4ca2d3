"""Models laid out as nobody here wrote them: GPT-2 (``Conv1D`` layers, learned positions, no
pad token) and Qwen2 (grouped-query attention, tied embeddings), random and tiny, with the
embedded model's tokenizer. `seal eval` runs on them and both adapters attach cleanly."""

from __future__ import annotations

import json
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
from seal.models import resolve_model_path

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


def _model(kind: str, vocab: int, bos: int, eos: int) -> PreTrainedModel:
    torch.manual_seed(0)
    if kind == "gpt2":
        cfg = GPT2Config(n_positions=512, n_embd=64, n_layer=2, n_head=2)
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
