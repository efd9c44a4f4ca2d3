"""The run report: renders in a real (headless) browser, also for a run that stopped."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from seal.errors import SealError
from seal.report import run_status, write_report
from seal.tracking import Tracker, check, flatten

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::FutureWarning")]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _browser_dom(page: Path) -> str:
    out = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=5000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_report_of_a_finished_run(uninterrupted, tmp_path: Path) -> None:
    _, run, _ = uninterrupted
    page = write_report(run, tmp_path / "report")
    text = page.read_text()
    assert 'class="results"' in text and "final (test)" in text
    for name in ("accuracy", "calibration", "rewards", "guards"):
        assert (tmp_path / "report" / f"{name}.png").stat().st_size > 1000
        assert f'alt="{name}"' in text
    assert "Selected vs rejected" in text and "critic step p(good)" in text
    assert "Where the time went" in text and "<td>iteration 2</td>" in text
    assert "<th>critic_update</th>" in text and "<th>self_label</th>" in text
    assert "http://" not in text and "https://" not in text  # self-contained
    assert run_status(run)["status"] == "done"
    if CHROMIUM is None:
        pytest.skip("chromium not installed")
    dom = _browser_dom(page)
    assert 'data-plots-rendered="4"' in dom
    assert "<table" in dom and "final (test)" in dom


def test_report_of_a_run_that_stopped(uninterrupted, tmp_path: Path) -> None:
    _, run, _ = uninterrupted
    half = tmp_path / "half"
    shutil.copytree(run, half)
    manifest = json.loads((half / "manifest.json").read_text())
    for stage in ("iter-2", "final"):
        manifest["stages"].pop(stage)
    manifest.pop("owner", None)
    (half / "manifest.json").write_text(json.dumps(manifest))
    (half / "summary.json").unlink()
    shutil.rmtree(half / "final")
    shutil.rmtree(half / "iter-02")
    metrics = json.loads((half / "iter-01" / "metrics.json").read_text())
    metrics.update(accepted=False, rejected_because="level 5 fell 0.54 -> 0.42")
    metrics["seconds"]["train"] = "slow"  # hand-edited: shown as "-", not a crash
    (half / "iter-01" / "metrics.json").write_text(json.dumps(metrics))
    page = write_report(half)
    text = page.read_text()
    assert "did not finish" in text and "iter-1" in text and "seal run --resume" in text
    assert "rolled back: level 5 fell 0.54 -&gt; 0.42" in text  # the reason, escaped
    assert "<td>iteration 1</td>" in text and "<td>iteration 2</td>" not in text
    assert "<th>train</th>" in text
    assert run_status(half)["status"] == "resumable"
    if CHROMIUM is not None:
        assert "<table" in _browser_dom(page)


def test_report_leaves_out_what_it_cannot_read(uninterrupted, tmp_path: Path) -> None:
    """Files of a run that hold other types than seal writes cost their section, not the
    report (and the terminal table reads them the same way)."""
    from seal.report_table import seed_rows

    _, run, _ = uninterrupted
    odd = tmp_path / "odd"
    shutil.copytree(run, odd)
    metrics = json.loads((odd / "iter-01" / "metrics.json").read_text())
    metrics.update(frontier="x", train_examples=5, within_problem_order=[1], guards=[1])
    (odd / "iter-01" / "metrics.json").write_text(json.dumps(metrics))
    (odd / "iter-02" / "examples.json").write_text('[{"question": "q", "candidates": 5}]')
    test = json.loads((odd / "base-test" / "eval.json").read_text())
    (odd / "base-test" / "eval.json").write_text(json.dumps({**test, "by_level": [1, 2]}))
    text = write_report(odd).read_text()
    assert "Left out: the iterations table" in text
    assert "Left out: the example trajectories" in text
    assert "final (test)" in text and "Configuration" in text  # the rest is there
    head, rows = seed_rows({"base": {"by_level": [1, 2]}, "final": {"by_level": "x"}})
    assert rows == [["all", "-", "-", "n/a"]]


def test_seal_runs_lists_status(seal_cli, uninterrupted, tmp_path: Path) -> None:
    _, run, _ = uninterrupted
    root = tmp_path / "runs"
    shutil.copytree(run, root / "a")
    (root / "b").mkdir()
    (root / "b" / "manifest.json").write_text(json.dumps({"kind": "run", "stages": {}}))
    code, out, err = seal_cli("runs", str(root))
    assert code == 0, err
    assert "done" in out and "failed" in out


def test_tensorboard_tracker_writes_scalars(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    t = Tracker(["tensorboard"], tmp_path, {"a": 1})
    t.log({"validation": {"accuracy": 0.5, "by_level": {"1": 0.9}}, "accepted": True}, step=1)
    t.log({"validation": {"accuracy": 0.6, "by_level": {"1": 0.95}}}, step=2)
    t.close()
    acc = EventAccumulator(str(tmp_path / "tensorboard"))
    acc.Reload()
    values = [e.value for e in acc.Scalars("validation/accuracy")]
    assert values == pytest.approx([0.5, 0.6])
    assert "validation/by_level/1" in acc.Tags()["scalars"]


def test_tracker_errors_and_flatten() -> None:
    with pytest.raises(SealError, match="unknown --report-to 'tensorbored'"):
        check(["tensorbored"])
    assert flatten({"a": {"b": 1, "c": None, "d": "x"}, "e": True}) == {"a/b": 1.0, "e": 1.0}


def test_wandb_offline_and_mlflow_file_store(tmp_path: Path, monkeypatch) -> None:
    """The W&B (offline mode, no account) and MLflow (local file store) paths log for real."""
    pytest.importorskip("wandb")
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    store = tmp_path / "mlruns"
    mlflow.set_tracking_uri(store.as_uri())
    t = Tracker(["wandb", "mlflow"], tmp_path / "run", {"run": {"samples": 8}})
    t.log({"validation": {"accuracy": 0.5}, "maj@8": 0.4}, step=1)
    t.log({"validation": {"accuracy": 0.6}}, step=2)
    t.close()
    assert t.failed == set()
    assert list(tmp_path.glob("wandb/offline-run-*"))
    run = mlflow.search_runs(experiment_ids=["0"], output_format="list")[0]
    history = mlflow.MlflowClient().get_metric_history(run.info.run_id, "validation/accuracy")
    assert [m.value for m in history] == [0.5, 0.6]
    assert run.data.params["run/samples"] == "8"


def test_seed_rows_show_problems_won_and_lost_when_outcomes_are_stored() -> None:
    from seal.report_table import seed_rows

    def ev(correct: list[int]) -> dict:
        rows = [{"id": str(i), "level": 1, "correct": c} for i, c in enumerate(correct)]
        acc = sum(correct) / len(correct)
        return {"metrics": {"accuracy": acc}, "by_level": {"1": {"accuracy": acc}},
                "problems": rows}  # fmt: skip

    summary = {"base": ev([0] * 10 + [1] * 10), "final": ev([1] * 10 + [1] * 9 + [0])}
    head, rows = seed_rows(summary)
    assert head[-1] == "paired: won / lost (p)"
    assert rows[0][-1] == rows[-1][-1] == "+10 / -1 (p 0.012)"
    old = {k: {x: y for x, y in v.items() if x != "problems"} for k, v in summary.items()}
    assert "paired: won / lost (p)" not in seed_rows(old)[0]  # runs made before: no column


def test_seed_table_fits_a_narrow_terminal_and_prints_whole_off_one() -> None:
    """Five iterations and the paired column are wider than 80 columns: a narrow terminal
    gets the test columns alone (no cell wrapped), a wide one the whole table."""
    from rich.console import Console

    from seal.report_table import seed_table, table_width

    def ev(acc: float) -> dict:
        rows = [{"id": str(i), "level": 1, "correct": int(i < acc * 20)} for i in range(20)]
        return {"metrics": {"accuracy": acc}, "by_level": {"1": {"accuracy": acc}},
                "problems": rows}  # fmt: skip

    iters = [{"iteration": i, "validation": ev(0.5 + i / 20)} for i in range(1, 6)]
    summary = {"base": ev(0.5), "final": ev(0.75), "iterations": iters}
    whole = seed_table(summary, ev(0.5))
    assert table_width(whole) > 80 and len(whole.columns) == 11
    narrow = seed_table(summary, ev(0.5), width=80)
    assert table_width(narrow) <= 80
    assert [c.header for c in narrow.columns] == [
        "level", "base (test)", "final (test)", "relative", "paired: won / lost (p)"
    ]  # fmt: skip
    console = Console(width=80, record=True)
    console.print(narrow)
    assert "+5 / -0 (p 0.062)" in console.export_text()  # one line, not wrapped
    assert len(seed_table(summary, ev(0.5), width=200).columns) == 11


@pytest.mark.filterwarnings("error")
def test_plots_of_iterations_without_guards_warn_nothing() -> None:
    """matplotlib's "No artists with labels found to put in legend" leaked into `seal
    report` for a run whose iterations logged no guards."""
    from seal.report import _plots

    data = {
        "iterations": [{"iteration": 1, "validation": {"accuracy": 0.5}}],
        "base_validation": {"accuracy": 0.4},
        "samples": {},
    }
    plots = _plots(data)
    assert set(plots) == {"accuracy", "guards"}
    assert all(png.startswith(b"\x89PNG") for png in plots.values())


def test_a_tracker_that_cannot_start_is_one_line(tmp_path, monkeypatch) -> None:
    """A backend's own error (wandb without an API key) is a SealError naming the fix, so
    `seal run` cleans up its new run directory and prints one line."""
    import sys
    import types

    from seal.errors import SealError

    def init(**kwargs):
        raise RuntimeError("No API key configured. Use `wandb login` to log in.\nmore")

    monkeypatch.setitem(sys.modules, "wandb", types.SimpleNamespace(init=init))
    monkeypatch.setattr("seal.tracking.check", lambda names: None)
    with pytest.raises(SealError, match=r"--report-to wandb could not start: No API key.*login"):
        Tracker(["wandb"], tmp_path, {})
