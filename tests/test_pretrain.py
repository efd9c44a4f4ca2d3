import json
import os
from pathlib import Path

import pytest
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer

from seal.config import PretrainConfig
from seal.errors import SealError
from seal.generation.base import SamplingParams
from seal.generation.hf import HFSampler
from seal.models import tiny_path
from seal.pretrain import CHECKPOINT, CHECKPOINT_INFO, checkpoint_info, pretrain


def small(bf16: bool = False) -> PretrainConfig:
    return PretrainConfig(
        bf16=bf16,
        steps=3,
        batch_size=4,
        warmup=1,
        hidden_size=32,
        layers=1,
        heads=2,
        intermediate_size=64,
        tokenizer_corpus=300,
    )


@pytest.mark.slow
@pytest.mark.parametrize("bf16", [False, True], ids=["float32", "bf16"])
def test_pretrain_is_reproducible_and_loadable(tmp_path: Path, bf16: bool) -> None:
    a = pretrain(small(bf16), tmp_path / "a", quiet=True)
    pretrain(small(bf16), tmp_path / "b", quiet=True)
    wa, wb = (
        load_file(tmp_path / "a" / "model.safetensors"),
        load_file(tmp_path / "b" / "model.safetensors"),
    )
    assert wa.keys() == wb.keys() and all((wa[k] == wb[k]).all() for k in wa)
    assert (tmp_path / "a" / "tokenizer.json").read_bytes() == (
        tmp_path / "b" / "tokenizer.json"
    ).read_bytes()
    assert a["steps"] == 3 and a["tokens"] > 0 and a["config"]["bf16"] is bf16
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "a")
    tok = AutoTokenizer.from_pretrained(tmp_path / "a")
    out = HFSampler(model, tok).sample(
        ["Question: x\nAnswer:"], SamplingParams(max_new_tokens=3), quiet=True
    )
    assert out[0][0].num_tokens >= 1


def test_tokenizer_splits_digits() -> None:
    tok = AutoTokenizer.from_pretrained(tiny_path())
    pieces = tok.convert_ids_to_tokens(tok("x = 1234 + 5")["input_ids"])
    assert [p for p in pieces if p.strip("Ġ").isdigit()] == ["1", "2", "3", "4", "5"]
    text = "Question: Mia has $12.\nAnswer: #### 12"
    assert tok.decode(tok(text)["input_ids"]) == text


def test_embedded_model_is_small_and_plain_hf() -> None:
    files = {p.name for p in tiny_path().iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= files
    size = sum(p.stat().st_size for p in tiny_path().iterdir())
    assert size <= 25 * 2**20


def test_corpus_mixes_in_a_little_of_the_stretch_levels() -> None:
    from itertools import islice

    from seal.pretrain import corpus

    pairs = list(islice(corpus([1, 2], seed=0, stretch=[5], stretch_share=0.1), 2000))
    deep = sum(c.count("\n") >= 8 for _, c in pairs)  # level 5: 9 lines
    assert 0.06 < deep / len(pairs) < 0.14
    plain = list(islice(corpus([1, 2], seed=0), 500))
    assert max(c.count("\n") for _, c in plain) <= 5  # Let, start, 2 steps, check, answer


def test_shipped_model_was_trained_by_the_default_recipe() -> None:
    """`seal pretrain-tiny` with its defaults is the recipe of the shipped model: only where
    it ran (device, and the CPU threads, which matter on a CPU alone) may differ."""
    info = json.loads((tiny_path() / "pretrain.json").read_text())
    where = {"device", "threads"}
    since = {"pad_multiple": 1}  # settings added after it was trained, at what it used
    shipped = {**since, **{k: v for k, v in info["config"].items() if k not in where}}
    assert shipped == PretrainConfig().model_dump(exclude=where)
    assert info["steps"] == shipped["steps"] and len(info["loss_curve"]) > 10


class _Killed(Exception):
    pass


def _interrupted(cfg: PretrainConfig, out: Path, after: int, monkeypatch) -> None:
    """Pre-train ``cfg`` into ``out`` with a checkpoint every 2 steps, stopped by an error
    in step ``after`` + 1, as a kill would stop it."""
    import seal.pretrain as pt

    real, calls = pt.train_step, []

    def step(*args, **kwargs):
        calls.append(1)
        if len(calls) > after:
            raise _Killed
        return real(*args, **kwargs)

    monkeypatch.setattr(pt, "train_step", step)
    with pytest.raises(_Killed):
        pretrain(cfg, out, quiet=True, checkpoint_every=2)
    monkeypatch.setattr(pt, "train_step", real)


@pytest.mark.parametrize("bf16", [False, True], ids=["float32", "bf16"])
def test_a_killed_pretraining_resumes_to_the_same_weights(
    tmp_path: Path, bf16: bool, monkeypatch
) -> None:
    """Weights, optimizer and the seeded batch stream go on from the last checkpoint: the
    model, its loss curve and its token count are those of the run never stopped."""
    cfg = small(bf16).model_copy(update={"steps": 6})
    whole = pretrain(cfg, tmp_path / "whole", quiet=True)
    out = tmp_path / "resumed"
    _interrupted(cfg, out, 5, monkeypatch)  # died in step 6: the checkpoint is step 4's
    assert checkpoint_info(out)["step"] == 4
    resumed = pretrain(cfg, out, quiet=True, checkpoint_every=2, resume=True)
    wa, wb = (
        load_file(tmp_path / "whole" / "model.safetensors"),
        load_file(out / "model.safetensors"),
    )
    assert all((wa[k] == wb[k]).all() for k in wa)
    assert resumed["tokens"] == whole["tokens"] and resumed["loss_curve"] == whole["loss_curve"]
    assert not (out / CHECKPOINT).exists() and checkpoint_info(out) is None
    assert json.loads((out / "pretrain.json").read_text())["steps"] == 6
    other = cfg.model_copy(update={"seed": 1})
    _interrupted(cfg, tmp_path / "x", 3, monkeypatch)
    with pytest.raises(SealError, match="no checkpoint of this pre-training"):
        pretrain(other, tmp_path / "x", quiet=True, resume=True)


def test_pretrain_tiny_resume_on_the_command_line(
    tmp_path: Path, seal_cli, one_line_error, monkeypatch
) -> None:
    """Without --resume an unfinished pre-training is named, not overwritten; --resume takes
    its own settings (others refused), finishes it into --out and leaves nothing behind."""
    out = tmp_path / "m"
    partial = tmp_path / ".m.partial"
    code, _, err = seal_cli("pretrain-tiny", "--out", str(out), "--resume")
    one_line_error(code, err, "no unfinished pre-training", str(out))
    cfg = small().model_copy(update={"steps": 4})
    _interrupted(cfg, partial, 3, monkeypatch)
    code, _, err = seal_cli("pretrain-tiny", "--out", str(out), "--steps", "4")
    one_line_error(code, err, "at step 2 of 4", "--resume", "--force")
    code, _, err = seal_cli("pretrain-tiny", "--out", str(out), "--resume", "--steps", "9")
    one_line_error(code, err, "drop --steps")
    code, _, err = seal_cli("pretrain-tiny", "--out", str(out), "--resume")
    assert code == 0, err
    assert not partial.exists() and json.loads((out / "pretrain.json").read_text())["steps"] == 4
    umask = os.umask(0)
    os.umask(umask)  # transformers writes weights 0600: others could not read the model
    assert {f.stat().st_mode & 0o777 for f in out.iterdir()} == {0o666 & ~umask}
    assert out.stat().st_mode & 0o777 == 0o777 & ~umask
    bad = tmp_path / ".d.partial"  # a checkpoint cut short or overwritten
    bad.mkdir()
    (bad / CHECKPOINT_INFO).write_text("{not json")
    (bad / CHECKPOINT).write_bytes(b"\0")
    for extra in (["--resume"], []):
        code, _, err = seal_cli("pretrain-tiny", "--out", str(tmp_path / "d"), *extra)
        one_line_error(code, err, "damaged", "--force")


def test_a_failed_pretraining_leaves_no_husk_but_keeps_a_checkpoint(
    tmp_path: Path, seal_cli, one_line_error, monkeypatch
) -> None:
    """Whatever stops a pre-training before its first checkpoint, nothing is left to resume:
    no ``.OUT.partial`` stays behind (it made the next start ask for --force); after one, the
    checkpoint stays for --resume. A seed no generator takes is refused before any of it."""
    import seal.pretrain as pt

    def failing(cfg, out, **kwargs):
        if cfg.steps == 3:
            (out / CHECKPOINT).write_bytes(b"weights")
        raise RuntimeError("a bug") if cfg.steps == 2 else SealError("out of space")

    monkeypatch.setattr(pt, "pretrain", failing)
    out, partial = tmp_path / "m", tmp_path / ".m.partial"
    with pytest.raises(RuntimeError):
        seal_cli("pretrain-tiny", "--out", str(out), "--steps", "2")
    assert not partial.exists() and not out.exists()
    code, _, err = seal_cli("pretrain-tiny", "--out", str(out), "--steps", "3")
    one_line_error(code, err, "out of space")
    assert (partial / CHECKPOINT).exists() and not out.exists()
    code, _, err = seal_cli("pretrain-tiny", "--out", str(tmp_path / "n"), "--seed", str(2**64))
    assert code == 2 and "--seed" in err and not (tmp_path / ".n.partial").exists()
    code, _, err = seal_cli(
        "pretrain-tiny", "--out", str(tmp_path / "n"), "--set", "pretrain.levels=[0]"
    )
    one_line_error(code, err, "pretrain.levels", "levels are 1-8")
    assert not (tmp_path / ".n.partial").exists()
    mine = tmp_path / "notes"  # --force replaces a model it made, not any directory
    mine.mkdir()
    (mine / "todo.txt").write_text("keep me")
    code, _, err = seal_cli("pretrain-tiny", "--out", str(mine), "--force")
    one_line_error(code, err, "no pretrain.json", "give a new directory")
    assert (mine / "todo.txt").read_text() == "keep me"


def test_padding_to_a_multiple_bounds_the_widths_and_keeps_the_loss() -> None:
    """``pretrain.pad_multiple``: the same rows, right-padded with masked positions to a
    multiple of 16 (few batch shapes for oneDNN to build kernels for), and the same loss."""
    import torch

    from seal.pretrain import batches, build_model, train_tokenizer

    cfg = small()
    padded = cfg.model_copy(update={"pad_multiple": 16})
    tok = train_tokenizer(cfg)
    exact, wide = batches(tok, cfg), batches(tok, padded)
    model = build_model(cfg, len(tok), tok.eos_token_id)
    for _ in range(3):
        (ids, mask, labels), (pids, pmask, plabels) = next(exact), next(wide)
        width = ids.shape[1]
        assert pids.shape[1] % 16 == 0 and pids.shape[1] - width < 16
        assert (pids[:, :width] == ids).all() and (pmask[:, :width] == mask).all()
        assert not pmask[:, width:].any() and (plabels[:, width:] == -100).all()
        with torch.no_grad():
            a = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            b = model(input_ids=pids, attention_mask=pmask, labels=plabels).loss
        assert torch.allclose(a, b, rtol=1e-5)


def test_pretrain_memory_refuses_bad_arguments_in_one_line() -> None:
    import subprocess
    import sys

    script = str(Path(__file__).resolve().parents[1] / "benchmarks" / "pretrain_memory.py")
    for flags, needle in [
        (["--multiples", "1,x"], "--multiples"),
        (["--multiples", "0"], "multiple"),
        (["--precisions", "fp8"], "--precisions"),
    ]:
        out = subprocess.run([sys.executable, script, *flags, "--no-append"],
                             capture_output=True, text=True, timeout=120)  # fmt: skip
        assert out.returncode != 0 and out.stderr.startswith("error:"), out.stderr
        assert needle in out.stderr and "Traceback" not in out.stderr
