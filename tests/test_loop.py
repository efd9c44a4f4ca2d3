"""The self-improvement loop end to end on the embedded model, at toy scale, with resume."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import torch

from seal.cli import main
from seal.config import dump_config
from seal.critic.calculator import arithmetic_holds, uses_each_quantity
from seal.errors import SealError
from seal.improve.loop import Loop
from seal.improve.settings import check_settings
from seal.store import RunDir, atomic_write_json
from seal.tasks import get_task

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::FutureWarning")]


def _same_results(a: dict, b: dict) -> None:
    assert a["final"]["metrics"] == b["final"]["metrics"]
    assert a["base"]["metrics"] == b["base"]["metrics"]
    for x, y in zip(a["iterations"], b["iterations"], strict=True):
        assert x["validation"]["by_level"] == y["validation"]["by_level"]
        assert x["selected"] == y["selected"] and x["candidates"] == y["candidates"]


def test_loop_runs_and_resumes_identically(uninterrupted, tmp_path: Path) -> None:
    cfg, d, summary = uninterrupted
    for f in [
        "config.yaml",
        "manifest.json",
        "critic-0/adapter_config.json",
        "base/eval.json",
        "iter-01/samples.parquet",
        "iter-01/selected.parquet",
        "iter-01/metrics.json",
        "iter-01/policy/model.safetensors",  # run.finetune auto: the tiny model trains whole
        "iter-02/critic/adapter_config.json",
        "final/eval.json",
        "summary.json",
    ]:
        assert (d / f).exists(), f
    samples = pq.read_table(d / "iter-01" / "samples.parquet").to_pylist()
    levels = json.loads((d / "iter-01" / "metrics.json").read_text())["frontier"]["levels"]
    assert len(samples) == len(levels) * 2 * 3  # frontier levels x 2 prompts x 3 samples
    assert {r["level"] for r in samples} == set(levels)
    assert {"prompt_id", "text", "p_good", "score", "truth", "arithmetic", "coverage"} <= set(
        samples[0]
    )
    for r in samples:  # the critic's calculator: a false equation or an unused quantity of
        # the question makes a bad, unselectable candidate (wordmath: counted, coverage auto)
        assert r["arithmetic"] == int(arithmetic_holds(r["text"]))
        assert r["coverage"] == int(uses_each_quantity(r["question"], r["text"]))
        ok = r["arithmetic"] and r["coverage"]
        assert ok or (r["p_good"] == 0.0 and r["score"] < cfg.run.min_score)
    final = json.loads((d / "final" / "eval.json").read_text())  # per-problem, for pairing
    assert len(final["problems"]) == final["n"]
    assert {r["level"] for r in final["problems"]} == set(cfg.eval.levels)
    metrics = json.loads((d / "iter-01" / "metrics.json").read_text())
    assert {"guards", "validation", "accepted", "audit_accuracy"} <= set(metrics)
    assert "distinct_answers_per_prompt" in metrics["guards"]
    assert metrics["frontier"]["levels"] and metrics["frontier"]["reason"]
    assert set(metrics["within_problem_order"]) >= {"all"}
    # where the time went, stage by stage (the cost benchmark reads these)
    assert set(metrics["seconds"]) == {"sample", "score", "train", "critic_update", "validate"}
    assert all(v > 0 for v in metrics["seconds"].values())
    critic = json.loads((d / "critic-0" / "metrics.json").read_text())
    assert {"sample", "train", "measure"} <= set(critic["seconds"])

    # kept data: iteration 2 continues from iteration 1's policy (run.continue_policy) on
    # its own selection plus replay (run.accumulate off); both modes: test_training_pairs
    it2 = summary["iterations"][1]
    newest = len(pq.read_table(d / "iter-02" / "selected.parquet"))
    assert it2["train_examples"]["total"] - it2["train_examples"]["replay"] == newest
    assert it2["train_examples"]["replay"] == int(cfg.run.replay * newest)

    # simulate a kill during iteration 2: its stage and everything after never happened
    resumed = tmp_path / "resumed"
    shutil.copytree(d, resumed)
    manifest = json.loads((resumed / "manifest.json").read_text())
    for stage in ("iter-2", "final"):
        manifest["stages"].pop(stage)
    atomic_write_json(resumed / "manifest.json", manifest)
    (resumed / "iter-02" / "metrics.json").write_text("half")  # a torn file from the kill
    again = Loop(cfg, RunDir(resumed), quiet=True).execute()
    assert again["final"]["metrics"] == summary["final"]["metrics"]
    for key in ("metrics", "by_level"):
        assert (
            again["iterations"][1]["validation"][key] == summary["iterations"][1]["validation"][key]
        )
        assert again["base"][key] == summary["base"][key]


@pytest.mark.parametrize("accumulate", [False, True])
def test_training_pairs(tmp_path: Path, make_toy_config, accumulate: bool) -> None:
    """The newest selection (default) or every accepted one so far, plus ``run.replay`` x as
    many reference solutions of the levels below the frontier."""
    import pyarrow as pa

    from seal.improve.frontier import Frontier

    cfg = make_toy_config(tmp_path)
    cfg = cfg.model_copy(
        update={"run": cfg.run.model_copy(update={"accumulate": accumulate, "replay": 2.0})}
    )
    loop = Loop(cfg, RunDir.create(tmp_path, "pairs", "run", dump_config(cfg)), quiet=True)
    dirs = []
    for it, n in ((1, 3), (2, 2)):
        d = loop.run.path / f"iter-0{it}"
        d.mkdir()
        rows = [{"prompt": f"Z{it}.{i}", "text": f"sol {it}.{i}"} for i in range(n)]
        pq.write_table(pa.Table.from_pylist(rows), d / "selected.parquet")
        dirs.append(d)
    pairs, n_replay = loop.training_pairs(dirs, Frontier([5], "test", {}), seed=1)
    kept = [p for p in pairs if p[0].startswith("Z")]
    assert len(kept) == (5 if accumulate else 2) and n_replay == 2 * len(kept)
    assert len(pairs) == len(kept) + n_replay
    below = get_task("wordmath", levels=[1, 2, 3, 4])  # the levels under the frontier
    references = {(below.prompt(p), " " + p.solution) for p in below.problems("train", 20)}
    replayed = [p for p in pairs if not p[0].startswith("Z")]
    assert replayed and all(p in references for p in replayed)

    # run.replay_only (the control): the same references, the selected solutions left out
    only = loop.cfg.model_copy(
        update={"run": loop.cfg.run.model_copy(update={"replay_only": True})}
    )
    loop.cfg = only
    alone, n_alone = loop.training_pairs(dirs, Frontier([5], "test", {}), seed=1)
    assert n_alone == n_replay and alone == replayed


def test_impossible_settings(tmp_path: Path, make_toy_config) -> None:
    cfg = make_toy_config(tmp_path)

    def run_with(**update):
        return cfg.model_copy(update={"run": cfg.run.model_copy(update=update)})

    with pytest.raises(SealError, match="top_k .3. cannot exceed run.samples .2."):
        check_settings(run_with(samples=2, top_k=3))
    with pytest.raises(SealError, match="replay_only .* needs run.replay above 0"):
        check_settings(run_with(replay_only=True, replay=0.0))
    check_settings(run_with(replay_only=True))


def test_resume_with_other_config_is_refused(
    tmp_path: Path, capsys, monkeypatch, make_toy_config
) -> None:
    cfg = make_toy_config(tmp_path)
    run = RunDir.create(tmp_path, "r", "run", dump_config(cfg))
    monkeypatch.setattr(
        sys, "argv", ["seal", "--quiet", "run", "--resume", str(run.path), "--samples", "5"]
    )
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "different config" in err and "run.samples" in err and "\n" not in err


def test_resume_with_more_rounds_goes_on_and_keeps_the_earlier_result(
    uninterrupted, tmp_path: Path, seal_cli, one_line_error
) -> None:
    """`seal run --resume DIR --set run.iterations=N` continues a finished run: the rounds
    done are kept as they were, the further ones run, the final test is redone, and the
    earlier final result is kept beside it; what a run cannot change stays refused."""
    _, d, summary = uninterrupted
    run = tmp_path / "more"
    shutil.copytree(d, run)
    code, _, err = seal_cli("run", "--resume", str(run), "--set", "run.iterations=1")
    one_line_error(code, err, "has run 2 iterations", "at least 2")
    code, _, err = seal_cli("run", "--resume", str(run), "--iterations", "1")  # named as typed
    one_line_error(code, err, "has run 2 iterations; --iterations 1 would drop some")
    code, _, err = seal_cli(
        "run", "--resume", str(run), "--set", "run.iterations=3", "--set", "run.top_k=1"
    )
    one_line_error(code, err, "run.top_k", "run.iterations")
    assert "final" in json.loads((run / "manifest.json").read_text())["stages"]  # untouched
    # a check that fails after the config's (here: the model has moved) leaves it as it was
    config = (run / "config.yaml").read_text()
    (run / "config.yaml").write_text(config.replace("name: tiny", f"name: {tmp_path}/gone"))
    code, _, err = seal_cli("run", "--resume", str(run), "--set", "run.iterations=3")
    one_line_error(code, err, "gone", "does not exist")
    assert "final" in json.loads((run / "manifest.json").read_text())["stages"]
    assert not (run / "final-02").exists() and "iterations: 2" in (run / "config.yaml").read_text()
    (run / "config.yaml").write_text(config)

    code, _, err = seal_cli("run", "--resume", str(run), "--set", "run.iterations=3")
    assert code == 0, err
    more = json.loads((run / "summary.json").read_text())
    assert [m["iteration"] for m in more["iterations"]] == [1, 2, 3]
    for x, y in zip(summary["iterations"], more["iterations"][:2], strict=False):
        assert x["selected"] == y["selected"]
        assert x["validation"]["by_level"] == y["validation"]["by_level"]
    assert more["base"]["metrics"] == summary["base"]["metrics"]
    kept = json.loads((run / "final-02" / "summary.json").read_text())
    assert kept["final"]["metrics"] == summary["final"]["metrics"]
    assert len(kept["iterations"]) == 2
    assert "iterations: 3" in (run / "config.yaml").read_text()
    assert (run / "iter-03" / "policy").exists() and (run / "final" / "eval.json").exists()


def test_kill_9_then_resume_equals_uninterrupted(uninterrupted, tmp_path: Path) -> None:
    """A real `seal run` process killed with SIGKILL mid-run, then `seal run --resume`."""
    import os
    import signal
    import subprocess
    import time

    cfg, _, summary = uninterrupted
    cfg = cfg.model_copy(update={"runs_dir": tmp_path})
    config = tmp_path / "config.yaml"
    config.write_text(dump_config(cfg))
    cmd = [sys.executable, "-m", "seal.cli", "--quiet", "run", "--config", str(config)]
    proc = subprocess.Popen([*cmd, "--name", "killed"], stderr=subprocess.DEVNULL)
    manifest = tmp_path / "killed" / "manifest.json"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if manifest.exists() and "iter-1" in json.loads(manifest.read_text())["stages"]:
            break
        time.sleep(0.2)
    time.sleep(1.0)  # into iteration 2
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    stages = json.loads(manifest.read_text())["stages"]
    assert "final" not in stages
    done = subprocess.run(
        [sys.executable, "-m", "seal.cli", "--quiet", "run", "--resume", str(tmp_path / "killed")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    resumed = json.loads((tmp_path / "killed" / "summary.json").read_text())
    _same_results(resumed, json.loads(json.dumps(summary, default=str)))


def test_full_disk_is_one_line_and_run_stays_resumable(
    uninterrupted, tmp_path: Path, capsys, monkeypatch
) -> None:
    import errno

    import seal.store

    cfg, _, summary = uninterrupted
    cfg = cfg.model_copy(update={"runs_dir": tmp_path})
    config = tmp_path / "config.yaml"
    config.write_text(dump_config(cfg))
    real_fsync, calls = seal.store.os.fsync, {"n": 0}

    def flaky_fsync(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] > 8:  # the disk fills up a few files into the run
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(seal.store.os, "fsync", flaky_fsync)
    monkeypatch.setattr(
        sys, "argv", ["seal", "--quiet", "run", "--config", str(config), "--name", "full"]
    )
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "No space left on device" in err and "\n" not in err
    run = tmp_path / "full"
    for f in run.rglob("*.json"):
        json.loads(f.read_text())  # nothing written is torn
    assert not list(run.rglob("*.tmp"))
    monkeypatch.setattr(seal.store.os, "fsync", real_fsync)
    monkeypatch.setattr(sys, "argv", ["seal", "--quiet", "run", "--resume", str(run)])
    main()
    resumed = json.loads((run / "summary.json").read_text())
    _same_results(resumed, json.loads(json.dumps(summary, default=str)))


def test_loop_with_tree_search_candidates(tmp_path: Path, make_toy_config) -> None:
    cfg = make_toy_config(tmp_path)
    cfg = cfg.model_copy(
        update={
            "run": cfg.run.model_copy(update={"iterations": 1, "search": "tot"}),
            "search": cfg.search.model_copy(update={"branch": 2, "width": 2, "depth": 10}),
        }
    )
    run = RunDir.create(tmp_path, "tot", "run", dump_config(cfg))
    summary = Loop(cfg, run, quiet=True).execute()
    rows = pq.read_table(run.path / "iter-01" / "samples.parquet").to_pylist()
    assert rows and all(r["text"].strip() for r in rows)
    assert summary["iterations"][0]["candidates"] == len(rows)


def test_full_policy_loads_and_evaluates(uninterrupted, tmp_path: Path, seal_cli) -> None:
    """The default (run.finetune auto) trains the tiny model whole: the critic keeps its
    adapter on the frozen base, the final policy is a model directory from_pretrained loads,
    and `seal eval --policy` evaluates it; a directory that is neither a model nor an
    adapter is a one-line error."""
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    from seal.models import tiny_path

    cfg, d, summary = uninterrupted
    assert cfg.run.finetune == "auto"
    policy = d / "final" / "policy"
    code, _, err = seal_cli(
        "eval", "--policy", str(policy), "--task", "wordmath", "--levels", "4", "--limit", "2",
        "--set", f"runs_dir={tmp_path}", "--output", str(tmp_path / "out.json"),
    )  # fmt: skip
    assert code == 0, err
    assert json.loads((tmp_path / "out.json").read_text())["metrics"]
    (tmp_path / "neither").mkdir()
    code, _, err = seal_cli("eval", "--policy", str(tmp_path / "neither"), "--limit", "1")
    assert code == 2 and "adapter_config.json" in err and len(err.strip().splitlines()) == 1
    model = AutoModelForCausalLM.from_pretrained(policy)
    base = load_file(tiny_path() / "model.safetensors")
    trained = load_file(policy / "model.safetensors")
    changed = [k for k in base if not torch.equal(base[k], trained[k])]
    for m in summary["iterations"]:
        assert m["finetune"] == {"mode": "full", "lr": 1e-4}
    if any(m["accepted"] and m["selected"] for m in summary["iterations"]):
        assert changed  # the base weights themselves moved
    assert (
        model.config.num_hidden_layers
        == json.loads((tiny_path() / "config.json").read_text())["num_hidden_layers"]
    )
    critic = json.loads((d / "iter-01" / "critic" / "adapter_config.json").read_text())
    assert critic["peft_type"] == "LORA"
    full = cfg.model_copy(update={"run": cfg.run.model_copy(update={"finetune": "full"})})
    with pytest.raises(SealError, match="update ppo needs run.finetune=lora"):
        check_settings(
            full.model_copy(update={"run": full.run.model_copy(update={"update": "ppo"})})
        )


def test_loop_with_a_lora_policy(tmp_path: Path, make_toy_config) -> None:
    """run.finetune=lora (large models): the policy is a PEFT adapter on the frozen base."""
    cfg = make_toy_config(tmp_path)
    cfg = cfg.model_copy(
        update={"run": cfg.run.model_copy(update={"iterations": 1, "finetune": "lora"})}
    )
    run = RunDir.create(tmp_path, "lora", "run", dump_config(cfg))
    Loop(cfg, run, quiet=True).execute()
    adapter = json.loads((run.path / "final" / "policy" / "adapter_config.json").read_text())
    assert adapter["peft_type"] == "LORA"
    metrics = json.loads((run.path / "iter-01" / "metrics.json").read_text())
    assert metrics["finetune"] == {"mode": "lora", "lr": 5e-4}


def test_finetune_auto_trains_small_models_whole_and_large_ones_through_lora() -> None:
    """run.finetune=auto: full up to FULL_MAX_PARAMS, LoRA above, LoRA wherever an adapter
    is needed; an unset run.sft_lr takes the chosen mode's rate."""
    from seal.config import SealConfig
    from seal.improve.policy import FULL_MAX_PARAMS, finetune_mode

    cfg = SealConfig()
    assert cfg.run.finetune == "auto" and cfg.run.sft_lr is None
    assert finetune_mode(cfg, 5_000_000) == "full"
    assert finetune_mode(cfg, FULL_MAX_PARAMS + 1) == "lora"
    ppo = cfg.model_copy(update={"run": cfg.run.model_copy(update={"update": "ppo"})})
    assert finetune_mode(ppo, 5_000_000) == "lora"
    vllm = cfg.model_copy(update={"model": cfg.model.model_copy(update={"backend": "vllm"})})
    assert finetune_mode(vllm, 5_000_000) == "lora"
    lora = cfg.model_copy(update={"run": cfg.run.model_copy(update={"finetune": "lora"})})
    assert finetune_mode(lora, 5_000_000) == "lora"


def test_sft_micro_batch_auto_cuts_batches_on_the_cpu_only() -> None:
    """run.sft_micro_batch=auto: passes of CPU_MICRO_BATCH rows on the CPU, whole batches on
    a GPU; a number is taken as set, and 0 or a word other than auto is a config error."""
    import torch

    from seal.config import parse_config
    from seal.improve.policy import CPU_MICRO_BATCH, micro_batch_size

    assert parse_config({}).run.sft_micro_batch == "auto"
    assert micro_batch_size("auto", torch.device("cpu")) == CPU_MICRO_BATCH
    assert micro_batch_size("auto", torch.device("cuda", 0)) is None
    assert micro_batch_size(8, torch.device("cuda", 0)) == 8
    assert parse_config({"run": {"sft_micro_batch": 2}}).run.sft_micro_batch == 2
    for bad in (0, "fast"):  # one line naming both ways to set it, no union-member tags
        with pytest.raises(SealError, match=r"^config key 'run.sft_micro_batch': .*, or 'auto'"):
            parse_config({"run": {"sft_micro_batch": bad}})
