"""The ``seal`` command end to end, in process, as a user would call it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


@pytest.fixture
def run(seal_cli):
    def call(args: list[str], *_: object) -> tuple[int, str, str]:
        return seal_cli(*args)

    return call


def test_config_show(run, capsys, monkeypatch) -> None:
    code, out, _ = run(["config", "show", "--set", "sampling.seed=4"], capsys, monkeypatch)
    assert code == 0
    assert yaml.safe_load(out)["sampling"]["seed"] == 4


def test_eval_writes_run_dir_and_json(tmp_path: Path, run, capsys, monkeypatch) -> None:
    out_json = tmp_path / "out.json"
    code, out, err = run(
        [
            "eval",
            "--model",
            "tiny",
            "--task",
            "wordmath",
            "--split",
            "test",
            "--limit",
            "2",
            "--samples",
            "3",
            "--levels",
            "1,4",
            "--output",
            str(out_json),
            "--log-samples",
            "--name",
            "e1",
            "--set",
            f"runs_dir={tmp_path / 'runs'}",
        ],
        capsys,
        monkeypatch,
    )
    assert code == 0, err
    result = json.loads(out_json.read_text())
    assert {"task", "model", "split", "n", "metrics", "by_level"} <= set(result)
    assert result["n"] == 4 and set(result["by_level"]) == {"1", "4"}
    assert {"accuracy", "maj@3", "pass@3", "pass@1"} <= set(result["metrics"])
    for m in result["metrics"].values():
        assert 0.0 <= m <= 1.0
    run_dir = tmp_path / "runs" / "e1"
    assert json.loads((run_dir / "eval.json").read_text()) == result
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["eval"]["limit"] == 2
    assert "eval:wordmath" in json.loads((run_dir / "manifest.json").read_text())["stages"]
    rows = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and all(len(r["samples"]) == 3 for r in rows)
    # --log-samples with a one-file --output: the samples beside it (was silently ignored)
    assert (tmp_path / "out.samples.jsonl").read_text() == (run_dir / "samples.jsonl").read_text()
    assert "level" in out and "accuracy" in out


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--model", "./no/such/model"], ["./no/such/model", "does not exist"]),
        (["--task", "nope"], ["unknown task 'nope'"]),
        (["--split", "dev"], ["no split 'dev'"]),
        (["--levels", "4,x"], ["--levels"]),
        (["--set", "sampling.top_p=abc"], ["sampling.top_p"]),
        (["--set", "sampling.temprature=1"], ["sampling.temprature", "temperature"]),
        (["--set", "eval.shots=true"], ["eval.shots", "not true/false"]),
        (["--shots", "100000"], ["--shots", "at most 256"]),  # was 40 s of prompt building
        (["--task", "wordmath,wordmath"], ["--task", "wordmath", "more than once"]),
        (["--log-samples"], ["--log-samples", "give --output"]),
        (["--critic", "."], ["--critic", "without --search", "unused"]),
        (["--critic", ".", "--search", "greedy"], ["--critic", "--search greedy", "unused"]),
    ],
)
def test_bad_arguments(
    one_line_error, args, needles, tmp_path: Path, run, capsys, monkeypatch
) -> None:
    code, _, err = run(
        ["eval", "--limit", "1", "--set", f"runs_dir={tmp_path}", *args], capsys, monkeypatch
    )
    one_line_error(code, err, *needles)


@pytest.mark.parametrize(
    ("content", "needles"),
    [
        (b'{"question": "q", "answer": 1}\n{"question": "q2"}\n', [":2:", "answer"]),
        (b'{"question": "q", "answer": 1}\nnot json\n', [":2:", "not valid JSON"]),
        (b'{"question": "q", "answer": 1}\n\xff\xfe\n', [":2:", "UTF-8"]),
        (b"", ["has no problems"]),
        (b'["a list"]\n', [":1:", "JSON object"]),
    ],
)
def test_bad_data_file_keeps_earlier_output(
    one_line_error, content, needles, tmp_path: Path, run, capsys, monkeypatch
) -> None:
    data = tmp_path / "data.jsonl"
    data.write_bytes(content)
    out_json = tmp_path / "out.json"
    out_json.write_text('{"earlier": true}')
    code, _, err = run(
        [
            "eval",
            "--data",
            str(data),
            "--output",
            str(out_json),
            "--force",  # allowed to replace it, but a bad data file fails before any write
            "--set",
            f"runs_dir={tmp_path / 'r'}",
        ],
        capsys,
        monkeypatch,
    )
    one_line_error(code, err, *needles)
    assert out_json.read_text() == '{"earlier": true}'


def test_eval_on_user_problems(tmp_path: Path, run, capsys, monkeypatch) -> None:
    data = tmp_path / "mine.jsonl"
    data.write_text(
        json.dumps(
            {
                "question": "Mia has 5 apples. She buys 3 more apples. "
                "How many apples does Mia have now?",
                "answer": 8,
                "level": 1,
            }
        )
        + "\n"
    )
    code, _, err = run(
        ["eval", "--data", str(data), "--name", "mine", "--set", f"runs_dir={tmp_path}"],
        capsys,
        monkeypatch,
    )
    assert code == 0, err
    result = json.loads((tmp_path / "mine" / "eval.json").read_text())
    assert result["n"] == 1 and result["split"] == str(data)


def test_pretrain_refuses_existing_dir(
    one_line_error, tmp_path: Path, run, capsys, monkeypatch
) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    code, _, err = run(
        ["pretrain-tiny", "--out", str(tmp_path), "--steps", "1"], capsys, monkeypatch
    )
    one_line_error(code, err, "--force")
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_quiet_silences_the_libraries_bars_too(tmp_path: Path, run, capsys, monkeypatch) -> None:
    """`seal -q pretrain-tiny` still printed transformers' "Writing model shards" bar."""
    from transformers.utils import logging as hf_logging

    hf_logging.enable_progress_bar()  # as in a fresh process, whatever ran before
    monkeypatch.delenv("HF_HUB_DISABLE_PROGRESS_BARS", raising=False)
    code, out, err = run(
        ["pretrain-tiny", "--out", str(tmp_path / "m"), "--steps", "1", "--set",
         "pretrain.layers=1"],
        capsys,
        monkeypatch,
    )  # fmt: skip
    assert code == 0, err
    assert err == "" and "trained" in out
