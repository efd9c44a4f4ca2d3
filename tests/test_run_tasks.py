"""``seal run`` on a benchmark (gsm8k here, from files in the hub's schema): the loop's
pool and validation are carved from the train rows, the test is the benchmark's own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seal.config import SealConfig
from seal.improve.splits import run_task
from seal.tasks import get_task
from seal.tasks.carved import HELD_OUT, LOOP_SPLITS


def _gsm8k_rows(path: Path, split: str, n: int) -> Path:
    """wordmath problems written as GSM8K rows (solution text ending in ``#### answer``)."""
    task = get_task("wordmath", levels=[3, 6])  # level 6: half wrong, so both labels
    rows = [{"question": p.question, "answer": p.solution} for p in task.problems(split, n // 2)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _config(tmp_path: Path, make_toy_config, **run: object) -> SealConfig:
    cfg = make_toy_config(tmp_path)
    update = {"task": "gsm8k", "iterations": 1, **run}
    return cfg.model_copy(update={"run": cfg.run.model_copy(update=update)})


def test_pool_and_validation_are_carved_from_the_train_rows(tmp_path, make_toy_config) -> None:
    train = _gsm8k_rows(tmp_path / "train.jsonl", "train", 400)
    test = _gsm8k_rows(tmp_path / "test.jsonl", "test", 20)
    task = run_task(_config(tmp_path, make_toy_config, data=train, test_data=test))
    assert task.splits == LOOP_SPLITS
    parts = {s: [p.question for p in task.problems(s)] for s in LOOP_SPLITS}
    questions = {json.loads(line)["question"] for line in train.read_text().splitlines()}
    carved = parts["train"] + parts["pool"] + parts["validation"]
    assert sorted(carved) == sorted(questions)  # every train row in exactly one part
    for held in HELD_OUT:
        assert 0.02 * 400 <= len(parts[held]) <= 0.09 * 400, (held, len(parts[held]))
    assert len(parts["test"]) == 20 and not set(parts["test"]) & questions
    again = run_task(_config(tmp_path, make_toy_config, data=train, test_data=test))
    assert [p.question for p in again.problems("validation", 5)] == parts["validation"][:5]
    assert task.prompt(task.problems("pool", 1)[0]).startswith("Question:")  # gsm8k's own


@pytest.mark.slow
def test_seal_run_on_gsm8k_rows(tmp_path: Path, seal_cli, monkeypatch) -> None:
    """The whole loop on a benchmark task end to end, through the CLI, with its files."""
    monkeypatch.chdir(tmp_path)
    _gsm8k_rows(tmp_path / "train.jsonl", "train", 400)
    _gsm8k_rows(tmp_path / "test.jsonl", "test", 8)
    sets = {
        "run.iterations": 1, "run.prompts_per_level": 4, "run.samples": 2, "run.top_k": 2,
        "run.validation_per_level": 4, "run.test_per_level": 4, "run.audit_size": 4,
        "critic.labels": 8, "critic.problems_per_level": 4, "critic.samples_per_problem": 4,
        "critic.epochs": 1, "critic.steps": "false", "sampling.max_new_tokens": 160,
        "run.replay": 1,
    }  # fmt: skip
    args = [x for k, v in sets.items() for x in ("--set", f"{k}={v}")]
    # zero shots: the embedded model knows wordmath's prompt, not a GSM8K example before it
    code, out, err = seal_cli("run", "--task", "gsm8k", "--data", "train.jsonl", "--test-data",
                              "test.jsonl", "--shots", "0", "--name", "g", "--device", "cpu",
                              *args)  # fmt: skip
    assert code == 0, err
    run = tmp_path / "runs" / "g"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["final"]["n"] == 4 and summary["base"]["n"] == 4
    assert summary["iterations"][0]["candidates"] == 8
    assert f"data: {tmp_path / 'train.jsonl'}" in (run / "config.yaml").read_text()
    assert (run / "report" / "report.html").is_file() and "report:" in out
    # the train file moved: --resume names the key and where it is stored, not a flag
    (tmp_path / "train.jsonl").rename(tmp_path / "moved.jsonl")
    code, _, err = seal_cli("run", "--resume", str(run))
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"run.data {tmp_path / 'train.jsonl'} does not exist" in err
    assert f"stored in {run / 'config.yaml'}" in err and "--data" not in err


def test_critic_train_reads_the_same_carved_pool(
    tmp_path: Path, seal_cli, one_line_error, make_toy_config
) -> None:
    """`seal critic train` judges a benchmark's carved pool; a task with no train split, or
    rows too few to carve one, is one line before any model loads."""
    from seal.critic.service import critic_task

    out = tmp_path / "critic"
    code, _, err = seal_cli("critic", "train", "--task", "humaneval", "--output", str(out))
    one_line_error(code, err, "humaneval has only test")
    few = tmp_path / "few.jsonl"
    few.write_text('{"question": "q", "answer": "1 #### 1"}\n')
    code, _, err = seal_cli(
        "critic", "train", "--task", "gsm8k", "--data", str(few), "--output", str(out)
    )
    one_line_error(code, err, f"{few} gives no pool problems", "give more rows")
    assert not out.exists()
    train = _gsm8k_rows(tmp_path / "train.jsonl", "train", 400)
    cfg = _config(tmp_path, make_toy_config, data=train)
    cfg = cfg.model_copy(update={"eval": cfg.eval.model_copy(update={"task": "gsm8k"})})
    pool = [p.question for p in run_task(cfg).problems("pool", 5)]
    assert [p.question for p in critic_task(cfg, train).problems("pool", 5)] == pool


def test_a_benchmark_is_prompted_with_its_shots_everywhere(tmp_path, make_toy_config) -> None:
    """The run's task carries the benchmark's shots (gsm8k: 5, as `seal eval`), taken from the
    train rows given, in every prompt the loop makes; `run.shots=0` for none; wordmath
    (0 shots) is the task itself."""
    from seal.critic.service import critic_task

    train = _gsm8k_rows(tmp_path / "train.jsonl", "train", 400)
    test = _gsm8k_rows(tmp_path / "test.jsonl", "test", 20)
    first = [json.loads(line)["question"] for line in train.read_text().splitlines()[:6]]
    task = run_task(_config(tmp_path, make_toy_config, data=train, test_data=test))
    for split in ("pool", "test"):
        p = task.problems(split, 1)[0]
        prompt = task.prompt(p)
        assert prompt.startswith(f"Question: {first[0]}\nAnswer:")
        assert prompt.endswith(f"\n\nQuestion: {p.question}\nAnswer:")
        shots = prompt.removesuffix(f"Question: {p.question}\nAnswer:")
        assert all(q in shots for q in first[:5]) and first[5] not in shots
    bare = run_task(_config(tmp_path, make_toy_config, data=train, test_data=test, shots=0))
    p = bare.problems("pool", 1)[0]
    assert bare.prompt(p) == f"Question: {p.question}\nAnswer:"
    cfg = make_toy_config(tmp_path)
    assert run_task(cfg).prompt(p) == get_task("wordmath").prompt(p)  # wordmath: no shots
    critic = critic_task(cfg.model_copy(update={"eval": cfg.eval.model_copy(
        update={"task": "gsm8k"})}), train)  # fmt: skip
    assert critic.prompt(critic.problems("pool", 1)[0]).startswith(f"Question: {first[0]}")


def test_shots_a_task_cannot_give_are_refused_before_the_model(
    tmp_path: Path, seal_cli, one_line_error, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    train = _gsm8k_rows(tmp_path / "train.jsonl", "train", 400)
    test = _gsm8k_rows(tmp_path / "test.jsonl", "test", 8)
    files = ["--data", str(train), "--test-data", str(test)]
    code, out, err = seal_cli("run", "--task", "gsm8k_cot", *files, "--shots", "9")
    one_line_error(code, err, "gsm8k_cot has 8 chain-of-thought exemplars", "not 9")
    assert "run directory" not in out and not (tmp_path / "runs").exists()


def test_test_rows_that_are_train_rows_are_refused(
    tmp_path: Path, seal_cli, one_line_error, monkeypatch
) -> None:
    """``--test-data`` naming the ``--data`` file (by any path), or holding one of its
    questions (whitespace and case aside), would test on training rows."""
    monkeypatch.chdir(tmp_path)
    train = _gsm8k_rows(tmp_path / "train.jsonl", "train", 400)
    code, out, err = seal_cli(
        "run", "--task", "gsm8k", "--data", str(train), "--test-data", "./train.jsonl"
    )
    one_line_error(code, err, "is the --data file", "held-out rows")
    assert not (tmp_path / "runs").exists()
    test = _gsm8k_rows(tmp_path / "test.jsonl", "test", 8)
    rows = test.read_text().splitlines()
    copied = json.loads(train.read_text().splitlines()[5])  # a train row, re-spaced, in the test
    copied["question"] = "  " + copied["question"].upper().replace(" ", "  ")
    test.write_text("\n".join([*rows, json.dumps(copied)]) + "\n")
    code, out, err = seal_cli(
        "run", "--task", "gsm8k", "--data", str(train), "--test-data", str(test)
    )
    one_line_error(code, err, "1 test question(s) in", "also train rows", "remove them")
    assert not (tmp_path / "runs").exists()
