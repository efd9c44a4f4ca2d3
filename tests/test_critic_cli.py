"""`seal critic train` / `seal critic score` end to end, as a user runs them, and their errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

SMALL = [
    "--set", "eval.levels=[4,5]",
    "--set", "sampling.max_new_tokens=200",
    "--set", "critic.problems_per_level=3",
    "--set", "critic.samples_per_problem=4",
    "--set", "critic.epochs=1",
    "--labels", "6",
    "--no-steps",
]  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """One small critic trained through the CLI, shared by the tests below."""
    import sys

    from seal.cli import main

    out = tmp_path_factory.mktemp("critic") / "critic"
    argv = sys.argv
    sys.argv = ["seal", "--quiet", "critic", "train", "--output", str(out), *SMALL]
    try:
        main()
    finally:
        sys.argv = argv
    return out


def test_train_writes_adapter_and_metrics(trained: Path) -> None:
    for name in ("adapter_config.json", "adapter_model.safetensors", "metrics.json",
                 "config.yaml", "trajectories.jsonl"):  # fmt: skip
        assert (trained / name).is_file(), name
    m = json.loads((trained / "metrics.json").read_text())
    for key in ("auroc", "accuracy", "ece"):
        assert key in m
    assert 0.0 <= m["self_label"]["kept_fraction"] <= 1.0
    assert "accuracy" in m["self_label"]
    assert m["injection"]["caught"] is None or 0.0 <= m["injection"]["caught"] <= 1.0
    assert m["labels"] == 6 and 0 < m["labels_good"] < 6  # balanced, both classes
    assert m["seconds"] and all(s >= 0 for s in m["seconds"].values())  # where the time went
    trajs = [json.loads(line) for line in (trained / "trajectories.jsonl").read_text().splitlines()]
    assert len(trajs) == 2 * 3 * 4  # levels x problems x samples


def test_score_file(trained: Path, tmp_path: Path, seal_cli) -> None:
    q = "Mia has 5 apples. She buys 3 more. How many now?"
    rows = [{"prompt": q, "solution": f"5 + 3 = {n}\n#### {n}"} for n in (8, 9)]
    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, out, err = seal_cli(
        "critic", "score", "--critic", str(trained), "--input", str(inp),
        "--output", str(tmp_path / "out.jsonl"),
    )  # fmt: skip
    assert code == 0, err
    scored = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(scored) == 2
    for row, src in zip(scored, rows, strict=True):
        assert row["solution"] == src["solution"]
        assert 0.0 <= row["p_good"] <= 1.0 and row["entropy"] >= 0.0


def test_existing_output_is_refused_and_kept(one_line_error, trained: Path, seal_cli) -> None:
    before = (trained / "metrics.json").read_bytes()
    code, _, err = seal_cli("critic", "train", "--output", str(trained), *SMALL)
    one_line_error(code, err, "already exists", "--force")
    assert (trained / "metrics.json").read_bytes() == before


@pytest.mark.parametrize(
    ("rows", "needles"),
    [
        ([{"prompt": "q", "solution": "s", "label": "good"}] * 6, ["all 6 labels are good"]),
        (
            [{"prompt": "q", "solution": s, "label": y} for s, y in (("s", 1), ("t", 0))],
            ["only 2 labelled", "--labels 6"],
        ),
        ([{"prompt": "q", "label": 1}], ["labels.jsonl:1", "solution"]),
        ([{"prompt": "q", "solution": "s", "label": "maybe"}], ["labels.jsonl:1", "good/bad"]),
    ],
)  # fmt: skip
def test_bad_labels_file(
    one_line_error, rows, needles, tmp_path: Path, seal_cli, monkeypatch
) -> None:
    import seal.cli.train

    def no_model(cfg):  # every check of the file comes before the minutes of loading/sampling
        raise AssertionError("the model was loaded before the labels file was checked")

    monkeypatch.setattr(seal.cli.train, "check_model", no_model)
    labels = tmp_path / "labels.jsonl"
    labels.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "critic"
    code, _, err = seal_cli(
        "critic", "train", "--output", str(out), "--labels-file", str(labels), *SMALL
    )
    one_line_error(code, err, *needles)
    assert not out.exists()  # nothing half-written


def test_train_without_heldout_problems(tmp_path: Path, seal_cli) -> None:
    """No held-out share: the metrics that need one are null and print as '-'."""
    out = tmp_path / "critic"
    code, stdout, err = seal_cli(
        "critic", "train", "--output", str(out), "--set", "critic.heldout_fraction=0", *SMALL
    )
    assert code == 0, err
    assert "AUROC - (bootstrap only -)" in " ".join(stdout.split())
    assert json.loads((out / "metrics.json").read_text())["auroc"] is None


@pytest.mark.parametrize("command", [["critic", "train", "--output", "c"], ["run"]])
def test_more_labels_than_the_pool_holds_is_refused_first(
    command: list[str], one_line_error, tmp_path: Path, seal_cli, monkeypatch
) -> None:
    """--labels above what the pool's samples can give failed minutes in, after sampling; now
    one line naming the pool's size and the settings to change, before the model loads."""
    monkeypatch.chdir(tmp_path)
    small = ["--set", "eval.levels=[4,5]", "--set", "critic.problems_per_level=3"]
    code, _, err = seal_cli(*command, *small, "--labels", "100")
    one_line_error(code, err, "--labels 100", "at most", "critic.problems_per_level")
    assert list(tmp_path.iterdir()) == []  # no run directory, no critic directory
