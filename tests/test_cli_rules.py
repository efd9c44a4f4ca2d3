"""The CLI's promises beyond the bad-input table: what options mean, what is never written,
and a report for every run that exists, however far it got. No model is loaded here."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest

from seal.errors import SealError
from seal.report import run_status, write_report
from seal.store import atomic_write_text

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


def _run_dir(run: Path, stages: dict, files: dict[str, object]) -> Path:
    run.mkdir(parents=True)
    (run / "config.yaml").write_text("model:\n  name: tiny\n")
    (run / "manifest.json").write_text(json.dumps({"kind": "run", "stages": stages}))
    for name, content in files.items():
        (run / name).parent.mkdir(parents=True, exist_ok=True)
        (run / name).write_text(json.dumps(content))
    return run


def _eval(acc: float) -> dict:
    return {"n": 4, "metrics": {"accuracy": acc}, "by_level": {"1": {"accuracy": acc}}}


def test_report_of_a_run_whose_critic_has_no_auroc(tmp_path: Path, seal_cli) -> None:
    no_auroc = {"auroc": None, "accuracy": None, "ece": None, "n": 0, "injection_caught": None}
    run = _run_dir(
        tmp_path / "r",
        {"critic": {}, "base": {}, "base-test": {}, "iter-1": {}, "final": {}},
        {
            "critic-0/metrics.json": {
                "labels": 8,
                "heldout": no_auroc,
                "bootstrap_heldout": {"auroc": None},
                "self_label": {"kept_fraction": 0.5, "accuracy": None},
            },
            "base/eval.json": _eval(0.5),
            "base-test/eval.json": _eval(0.5),
            "final/eval.json": _eval(0.75),
            "iter-01/metrics.json": {
                "iteration": 1,
                "validation": _eval(0.6),
                "accepted": True,
                "guards": {"distinct": None},
                "mean_score": None,
                "audit_accuracy": None,
            },
            "summary.json": {"base": _eval(0.5), "final": _eval(0.75)},
        },
    )
    code, out, err = seal_cli("report", str(run))
    assert code == 0, err
    page = (run / "report" / "report.html").read_text()
    assert "Critic (bootstrap)" in page and "<td>-</td>" in page
    assert "final (test)" in page and "75.0" in page
    assert run_status(run)["status"] == "done"


@pytest.mark.parametrize("stages", [{}, {"critic": {}}])
def test_report_of_a_run_killed_before_its_first_iteration(tmp_path: Path, stages) -> None:
    files = {"critic-0/metrics.json": {"heldout": {"auroc": 0.7}}} if stages else {}
    run = _run_dir(tmp_path / "r", stages, files)
    page = write_report(run).read_text()
    assert "did not finish" in page and "seal run --resume" in page


def test_report_reads_the_run_directory_only() -> None:
    import seal.report

    assert "seal.improve" not in Path(seal.report.__file__).read_text()


def test_runs_lists_a_broken_run_among_good_ones(tmp_path: Path, seal_cli) -> None:
    _run_dir(tmp_path / "runs" / "good", {"critic": {}}, {})
    bad = tmp_path / "runs" / "bad"
    bad.mkdir(parents=True)
    (bad / "manifest.json").write_text("[1, 2]")
    code, out, err = seal_cli("runs", str(tmp_path / "runs"))
    assert code == 0, err
    assert "broken" in out and "resumable" in out


def test_a_damaged_number_or_nesting_in_a_run_is_no_crash(tmp_path: Path, seal_cli) -> None:
    """An accuracy no float holds, or an examples file nested past the stack: ``seal runs``
    still lists every run and ``seal report`` still writes its page (the figure is ``-``)."""
    huge = 10**400
    run = _run_dir(
        tmp_path / "runs" / "r",
        {"critic": {}, "iter-1": {}, "final": {}},
        {
            "summary.json": {"base": _eval(0.5), "final": _eval(huge)},
            "iter-01/metrics.json": {
                "iteration": 1,
                "validation": _eval(0.6),
                "seconds": {"sample": huge},
            },
        },
    )
    (run / "iter-01" / "examples.json").write_text("[" * 100_000 + "]" * 100_000)
    os.mkfifo(run / "eval.json")  # a pipe where a file belongs: read, it would wait forever
    _run_dir(tmp_path / "runs" / "good", {"critic": {}}, {})
    code, out, err = seal_cli("runs", str(tmp_path / "runs"))
    assert code == 0 and "done" in out and "resumable" in out, err
    code, _, err = seal_cli("report", str(run))
    assert code == 0 and (run / "report" / "report.html").exists(), err


def test_resume_refuses_an_emptied_config(tmp_path: Path, seal_cli, one_line_error) -> None:
    """An empty (or comment-only) config.yaml read as 'all defaults' resumed the run on other
    settings than it was made with, and rewrote the file with them."""
    run = _run_dir(tmp_path / "r", {"critic": {}}, {})
    for text in ("", "# nothing\n"):
        (run / "config.yaml").write_text(text)
        code, _, err = seal_cli("run", "--resume", str(run), "--iterations", "20")
        one_line_error(code, err, "config.yaml is empty", "restore")
        assert (run / "config.yaml").read_text() == text


def test_outputs_keep_usual_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "new.txt", "x")
        assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o644
        (tmp_path / "kept.txt").write_text("old")
        os.chmod(tmp_path / "kept.txt", 0o640)
        atomic_write_text(tmp_path / "kept.txt", "new")
        assert stat.S_IMODE((tmp_path / "kept.txt").stat().st_mode) == 0o640
    finally:
        os.umask(old)


def test_a_run_that_fails_to_start_leaves_nothing(
    tmp_path: Path, seal_cli, monkeypatch, one_line_error
) -> None:
    monkeypatch.chdir(tmp_path)
    for bad in (["--set", "run.top_k=99"], ["--name", "../x"], ["--report-to", "nope"]):
        code, _, err = seal_cli("run", *bad)
        one_line_error(code, err)
    assert list(tmp_path.iterdir()) == []


def test_resume_refuses_a_broken_run(tmp_path: Path, seal_cli, one_line_error) -> None:
    run = _run_dir(tmp_path / "r", {}, {})
    (run / "manifest.json").write_text('{"kind": "run", "stages": []}')
    code, _, err = seal_cli("run", "--resume", str(run))
    one_line_error(code, err, "manifest.json", "stages")


def test_resume_and_report_take_only_what_seal_run_made(
    tmp_path: Path, seal_cli, one_line_error
) -> None:
    run = _run_dir(tmp_path / "e", {}, {})
    (run / "manifest.json").write_text('{"kind": "eval-wordmath", "stages": {}}')
    for command in (["run", "--resume"], ["report"]):
        code, _, err = seal_cli(*command, str(run))
        one_line_error(code, err, "eval-wordmath", "seal run")


def test_set_null_overrides(seal_cli) -> None:
    code, out, err = seal_cli("config", "show", "--set", "eval.limit=null")
    assert code == 0, err
    assert "limit: null" in out


def test_data_file_honours_limit_and_levels(tmp_path: Path) -> None:
    from seal.problems import load_problems
    from seal.tasks import get_task

    data = tmp_path / "d.jsonl"
    rows = [{"question": f"q{i}", "answer": i, "level": 1 + i % 3} for i in range(12)]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    task = get_task("wordmath")
    got = load_problems(task, data, "test", 2, [1, 3])
    assert [p.level for p in got] == [1, 3, 1, 3]
    assert len(load_problems(task, data, "test", None, None)) == 12


def test_zero_shots_never_need_the_hub(tmp_path: Path, monkeypatch) -> None:
    from seal.tasks import gsm8k
    from seal.tasks.base import Problem

    def no_hub(*_: object, **__: object) -> None:
        raise AssertionError("fetched the train split")

    monkeypatch.setattr(gsm8k, "load_rows", no_hub)
    task = gsm8k.GSM8K(data=tmp_path / "unused.jsonl")
    assert task.prompt(Problem(id="1", question="q", answer="1"), shots=0).endswith("Answer:")


def test_offline_hub_model_is_one_quick_line(monkeypatch) -> None:
    from seal.config import ModelConfig
    from seal.models import load_model

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(SealError, match="hub is unreachable"):
        load_model(ModelConfig(name="nobody-here/no-such-model-xyz", device="cpu"))


def test_a_local_model_directory_by_absolute_path_loads_offline(tmp_path, monkeypatch) -> None:
    """A directory is never mistaken for a hub id (offline or not)."""
    import shutil

    from seal.models import load_tokenizer, tiny_path

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    copy = tmp_path / "my-model"
    shutil.copytree(tiny_path(), copy)
    assert load_tokenizer(str(copy)).eos_token


def test_broken_critic_and_truncated_model_are_one_line(
    tmp_path: Path, seal_cli, monkeypatch, one_line_error
) -> None:
    from seal.models import tiny_path

    monkeypatch.chdir(tmp_path)
    critic = tmp_path / "critic"
    critic.mkdir()
    (critic / "critic.json").write_text('{"model": "tiny"')  # cut short
    code, _, err = seal_cli("eval", "--search", "tot", "--critic", str(critic))
    one_line_error(code, err, "critic.json", "not valid JSON")
    model = tmp_path / "model"
    model.mkdir()
    for f in tiny_path().iterdir():
        if f.is_file():
            (model / f.name).write_bytes(f.read_bytes())
    weights = model / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    code, _, err = seal_cli("eval", "--model", str(model))
    one_line_error(code, err, "model.safetensors", "truncated")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["critic", "model"]
    (model / "model.safetensors").write_bytes((tiny_path() / "model.safetensors").read_bytes())
    for f in model.glob("tokenizer*"):
        f.unlink()
    code, _, err = seal_cli("eval", "--model", str(model))  # was cut at "one of:"
    one_line_error(code, err, str(model), "has no tokenizer", "save_pretrained")


@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (["eval", "--levels", "1-99999999999999"], ("--levels", "at most")),  # not a MemoryError
        (["eval", "--levels", "1-900"], ("unknown wordmath level", "889 more", "1-8")),
        (["eval", "--task", "humaneval", "--timeout", "inf"], ("--timeout", "finite")),
        (["eval", "--task", "humaneval", "--timeout", "1e9"], ("--timeout", "86400")),
        (["eval", "--set", "eval.levels=[]"], ("eval.levels", "at least 1")),
        (["run", "--set", "run.train_levels=[]"], ("run.train_levels", "at least 1")),
        (["pretrain-tiny", "--out", "PT", "--set", "pretrain.heads=3"], ("pretrain.heads",)),
        (["pretrain-tiny", "--out", "PT", "--set", "pretrain.levels=[]"], ("pretrain.levels",)),
    ],
)
def test_values_no_run_can_use_are_one_line_errors(
    argv: list[str], needles: tuple[str, ...], tmp_path: Path, seal_cli, one_line_error
) -> None:
    argv = [str(tmp_path / "pt") if a == "PT" else a for a in argv]
    code, _, err = seal_cli(*argv)
    one_line_error(code, err, *needles)
    assert not (tmp_path / "pt").exists()


@pytest.mark.parametrize("timeout", ["inf", "nan", "1e20", "0"])
def test_score_refuses_a_timeout_that_is_no_limit(
    timeout: str, tmp_path: Path, seal_cli, one_line_error
) -> None:
    done = tmp_path / "c.jsonl"
    done.write_text('{"task_id": "HumanEval/0", "completion": "    return 1\\n"}\n')
    out = tmp_path / "r.json"
    code, _, err = seal_cli(
        "score", "--task", "humaneval", "--completions", str(done), "--output", str(out),
        "--timeout", timeout,
    )  # fmt: skip
    one_line_error(code, err, "--timeout", "86400")
    assert not out.exists()


@pytest.mark.parametrize(
    ("argv", "suffix"),
    [
        (["score", "--task", "humaneval", "--completions", "IN"], ".json"),
        (["critic", "score", "--critic", "DIR", "--input", "IN"], ".jsonl"),
    ],
)
def test_a_result_file_is_named_for_what_it_holds(
    argv: list[str], suffix: str, tmp_path: Path, seal_cli, one_line_error
) -> None:
    """`seal score --output x.txt` wrote JSON into x.txt."""
    done = tmp_path / "c.jsonl"
    done.write_text('{"task_id": "HumanEval/0", "completion": "    return 1\\n"}\n')
    out = tmp_path / "r.txt"
    swap = {"IN": str(done), "DIR": str(tmp_path)}
    code, _, err = seal_cli(*[swap.get(a, a) for a in argv], "--output", str(out))
    one_line_error(code, err, str(out), f"ending in {suffix}", f"r{suffix}")
    assert not out.exists()


def test_sandbox_limits_refuse_a_timeout_that_is_no_limit() -> None:
    from seal.errors import SealError
    from seal.sandbox import SandboxLimits

    for bad in (float("inf"), float("nan"), 0.0, -1.0, 1e20):
        with pytest.raises(SealError, match="timeout"):
            SandboxLimits(timeout=bad)


@pytest.mark.parametrize(
    "argv",
    [
        ["eval", "--data", "DIR"],
        ["score", "--task", "humaneval", "--completions", "DIR", "--output", "OUT"],
        ["config", "show", "-c", "DIR"],
    ],
)
def test_a_directory_given_for_a_file_says_so(
    argv: list[str], tmp_path: Path, seal_cli, one_line_error
) -> None:
    swap = {"DIR": str(tmp_path), "OUT": str(tmp_path / "out.json")}
    code, _, err = seal_cli(*[swap.get(a, a) for a in argv])
    one_line_error(code, err, str(tmp_path), "is a directory", "give a file")


@pytest.mark.parametrize("pid", [-1, 0, 1, "1", True])
def test_a_manifest_pid_that_is_no_owner_is_not_running(pid: object, tmp_path: Path) -> None:
    import socket

    from seal.report import run_status

    run = _run_dir(tmp_path / "r", {"critic": {}}, {})
    owner = {"pid": pid, "host": socket.gethostname()}
    (run / "manifest.json").write_text(json.dumps({"kind": "run", "stages": {}, "owner": owner}))
    assert run_status(run)["status"] != "running"


def test_a_run_another_live_process_works_on_is_not_resumed(
    tmp_path: Path, seal_cli, one_line_error
) -> None:
    """Two writers would interleave a run's files: `--resume` of a run whose owner is alive
    (its pid, started when the owner did) is one line; a later process given a dead owner's
    pid, or one on another host, is not the owner."""
    import socket
    import subprocess

    from seal.report import run_status
    from seal.store import _started, _stat, owner_alive

    run = _run_dir(tmp_path / "r", {"critic": {}}, {})
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        pid = sleeper.pid
        owner = {"pid": pid, "host": socket.gethostname(), "started": _started(pid)}
        manifest = {"kind": "run", "stages": {"critic": {}}, "owner": owner}
        (run / "manifest.json").write_text(json.dumps(manifest))
        code, _, err = seal_cli("run", "--resume", str(run))
        one_line_error(code, err, f"{run} is being run by process {pid}", f"kill {pid}")
        assert run_status(run)["status"] == "running"
        assert run_status(run)["headline"] == f"after critic, process {pid}"  # what to kill
        assert not owner_alive(owner | {"host": "elsewhere"})
        if owner["started"] is not None:  # where /proc tells when a process started
            assert not owner_alive(owner | {"started": owner["started"] + 1})
    finally:
        sleeper.kill()
    if owner["started"] is not None:  # killed, not yet reaped (a zombie): not alive either
        for _ in range(100):
            if (_stat(pid) or ["?"])[0] == "Z":
                break
            time.sleep(0.01)
        assert not owner_alive(owner) and run_status(run)["status"] == "resumable"
    sleeper.wait()
    assert not owner_alive(owner) and run_status(run)["status"] == "resumable"


def test_a_run_live_on_another_host_is_not_resumed(
    tmp_path: Path, seal_cli, one_line_error
) -> None:
    """On a filesystem two hosts share, a pid says nothing about the other host: its owner's
    heartbeat does. Renewed lately, the run is running there; gone stale (a killed owner),
    it resumes."""

    from seal.report import run_status
    from seal.store import HEARTBEAT, HEARTBEAT_STALE, owner_alive

    run = _run_dir(tmp_path / "r", {"critic": {}}, {})
    owner = {"pid": 4242, "host": "node-7", "started": 99}
    manifest = {"kind": "run", "stages": {"critic": {}}, "owner": owner}
    (run / "manifest.json").write_text(json.dumps(manifest))
    assert not owner_alive(owner, run) and run_status(run)["status"] == "resumable"
    (run / HEARTBEAT).write_text(json.dumps(owner))
    assert owner_alive(owner, run) and not owner_alive(owner)  # the heartbeat is the witness
    assert run_status(run)["headline"] == "after critic, process 4242 on node-7"
    code, _, err = seal_cli("run", "--resume", str(run))
    one_line_error(code, err, f"{run} is being run by process 4242 on host node-7", "heartbeat")
    assert not owner_alive(owner | {"pid": 4243}, run)  # another owner's heartbeat
    old = time.time() - HEARTBEAT_STALE - 5
    os.utime(run / HEARTBEAT, (old, old))
    assert not owner_alive(owner, run) and run_status(run)["status"] == "resumable"
    pidless = {"host": "node-7", "started": 99}  # a manifest edited by hand, or torn
    (run / "manifest.json").write_text(json.dumps(manifest | {"owner": pidless}))
    (run / HEARTBEAT).write_text(json.dumps(pidless))
    assert not owner_alive(pidless, run) and run_status(run)["status"] == "resumable"


def test_an_owned_run_renews_its_heartbeat_and_removes_it_at_the_end(
    tmp_path: Path, monkeypatch
) -> None:
    import seal.store as store

    run = _run_dir(tmp_path / "r", {"critic": {}}, {})
    monkeypatch.setattr(store, "HEARTBEAT_EVERY", 0.02)
    beat = run / store.HEARTBEAT
    with store.RunDir(run).owned():
        owner = json.loads((run / "manifest.json").read_text())["owner"]
        assert json.loads(beat.read_text()) == owner and store.owner_alive(owner, run)
        os.utime(beat, (0, 0))
        for _ in range(200):
            if beat.stat().st_mtime > 0:
                break
            time.sleep(0.01)
        assert time.time() - beat.stat().st_mtime < 5  # renewed
    assert not beat.exists()


def test_a_run_folder_given_for_the_wrong_role_says_which_to_give(
    tmp_path: Path, seal_cli, one_line_error
) -> None:
    """A critic's adapter looks like a policy's: `--policy RUN/critic-0` evaluated the critic
    as the policy. The run, a round or the other role given where one is expected names the
    folder meant; so does an adapter or a run given as --model."""
    run = _run_dir(tmp_path / "r", {"critic": {}, "iter-1": {}}, {})
    for critic in (run / "critic-0", run / "iter-01" / "critic"):
        critic.mkdir(parents=True)
        (critic / "adapter_config.json").write_text("{}")
    (run / "iter-01" / "policy").mkdir()
    (run / "iter-01" / "policy" / "config.json").write_text("{}")
    (run / "final" / "policy").mkdir(parents=True)  # the whole small model, fine-tuned
    (run / "final" / "policy" / "config.json").write_text("{}")
    adapter = tmp_path / "my-lora"  # a LoRA adapter from anywhere, given as the model
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    cases = [
        (["eval", "--policy", f"{run}/critic-0"], "is a critic, not a policy", "--critic"),
        (["eval", "--policy", f"{run}/iter-01/critic"], "is a critic, not a policy", "--critic"),
        (["eval", "--policy", str(run)], "is a run: its policies are", f"{run}/final/policy"),
        (["eval", "--policy", f"{run}/iter-01"], "the policy in it is", "iter-01/policy"),
        (["solve", "x", "--critic", str(run)], "is a run: its critics are", f"{run}/critic-0"),
        (["solve", "x", "--critic", f"{run}/iter-01"], "the critic in it is", "iter-01/critic"),
        (["solve", "x", "--critic", f"{run}/iter-01/policy"], "a fine-tuned model (a policy)"),
        (["eval", "--model", f"{run}/critic-0"], "a LoRA adapter (a critic)", "as --critic"),
        (["eval", "--model", str(adapter)], "a LoRA adapter (a policy)", "as --policy"),
        (["run", "--model", str(run)], "is a run: give its final policy", "as --model"),
    ]
    for argv, *needles in cases:
        code, _, err = seal_cli(*argv)
        one_line_error(code, err, *needles)


def test_short_help_and_version(seal_cli) -> None:
    from seal import __version__

    for path in ([], ["run"], ["critic", "train"], ["config", "show"]):
        code, out, err = seal_cli(*path, "-h")
        assert code == 0 and out.startswith("Usage: ") and "Options" in out, err
    code, out, _ = seal_cli("--version")
    assert code == 0 and out.strip() == f"seal-lm {__version__}"


@pytest.mark.parametrize("out", [".", "", ".."])
@pytest.mark.parametrize("command", [["pretrain-tiny", "--out"], ["critic", "train", "--output"]])
def test_force_never_replaces_the_working_directory(
    command: list[str], out: str, tmp_path: Path, monkeypatch, seal_cli, one_line_error
) -> None:
    """`--force` on `.` (an empty argument too) or a parent of it would delete the user's
    files: refused before any work, whatever --force says."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "precious.txt").write_text("keep me")
    monkeypatch.chdir(work)
    code, _, err = seal_cli(*command, out, "--force")
    one_line_error(code, err, "is the current directory or holds it", "give a new directory")
    assert (work / "precious.txt").read_text() == "keep me"


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_an_unwritable_output_is_refused_before_the_work(seal_cli, one_line_error) -> None:
    """/proc takes no new files, not even from root: said before a model is loaded."""
    code, _, err = seal_cli("eval", "--output", "/proc/seal-out.json", "--limit", "1")
    one_line_error(code, err, "cannot write in /proc", "give a path you can write")
    code, _, err = seal_cli("eval", "--output", "/proc/seal-results", "--limit", "1")
    one_line_error(code, err, "--output /proc/seal-results: cannot write in /proc")


def test_search_on_a_multiple_choice_task_is_one_line(
    tmp_path: Path, seal_cli, one_line_error
) -> None:
    """mmlu is scored by log-likelihood: no answer to search, said before the model loads."""
    rows = tmp_path / "mmlu.jsonl"
    rows.write_text(
        json.dumps(
            {"question": "2+2?", "choices": ["1", "2", "3", "4"], "answer": 3, "subject": "math"}
        )
        + "\n"
    )
    code, _, err = seal_cli("eval", "--task", "mmlu", "--data", str(rows), "--search", "greedy")
    one_line_error(code, err, "--search greedy", "mmlu is multiple choice")
    code, _, err = seal_cli("solve", "2+2?", "--task", "mmlu", "--search", "greedy")
    one_line_error(code, err, "--search greedy", "mmlu is multiple choice")


def test_a_problems_file_in_parquet_and_its_bad_rows(tmp_path: Path, one_line_error) -> None:
    """wordmath --data reads Parquet as the help says, and a row it cannot evaluate (a null
    question, an id used twice, a level that is not an integer) is named, not evaluated."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from seal.problems import problems_from_file

    rows = [{"question": f"q{i}", "answer": i, "level": 1, "id": f"p{i}"} for i in range(3)]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "ok.parquet")
    got = problems_from_file(tmp_path / "ok.parquet")
    assert [(p.id, p.answer) for p in got] == [("p0", "0"), ("p1", "1"), ("p2", "2")]
    bad = {
        "null question": ({"question": None, "answer": 1}, "question must be"),
        "empty answer": ({"question": "q", "answer": " "}, "answer must be"),
        "true level": ({"question": "q", "answer": 1, "level": True}, "level must be"),
        "same id": ({"question": "q9", "answer": 1, "id": "p1"}, "already used at"),
        "list id": ({"question": "q9", "answer": 1, "id": [1]}, "id must be"),
        "number solution": ({"question": "q", "answer": 1, "solution": 3}, "solution must"),
    }
    for what, (row, needle) in bad.items():
        path = tmp_path / f"{what.replace(' ', '_')}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in [*rows, row]))
        with pytest.raises(SealError, match=needle) as err:
            problems_from_file(path)
        assert f"{path}:4" in str(err.value), what


def test_seal_run_names_the_tasks_it_can_train_on(
    tmp_path: Path, seal_cli, monkeypatch, one_line_error
) -> None:
    """A benchmark with no train split, or with no written answers, is refused before any
    model loads and leaves no run directory; so are data files given to wordmath."""
    monkeypatch.chdir(tmp_path)
    for task, needle in (
        ("humaneval", "has only test"),
        ("bbh", "has only test"),
        ("mmlu", "multiple choice"),
        ("commonsense_qa", "multiple choice"),
    ):
        code, _, err = seal_cli("run", "--task", task)
        one_line_error(code, err, needle, "gsm8k_cot")
    (tmp_path / "rows.jsonl").write_text('{"question": "q", "answer": "1"}\n')
    code, _, err = seal_cli("run", "--data", "rows.jsonl")
    one_line_error(code, err, "wordmath makes its own problems")
    (tmp_path / "test.jsonl").write_text('{"question": "q2", "answer": "2"}\n')
    code, _, err = seal_cli("run", "--task", "gsm8k", "--data", "rows.jsonl", "--test-data",
                            "test.jsonl")  # fmt: skip
    one_line_error(code, err, "rows.jsonl gives no", "give more rows")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.jsonl", "test.jsonl"]


def test_runs_dir_and_model_are_checked_before_any_work(
    tmp_path: Path, seal_cli, monkeypatch, one_line_error
) -> None:
    """An unwritable runs_dir or a hub model not in the cache (offline) is one line before
    the model loads, and `seal run` names no run directory it then removes."""
    monkeypatch.chdir(tmp_path)
    code, _, err = seal_cli("eval", "--limit", "1", "--set", "runs_dir=/proc/runs")
    one_line_error(code, err, "runs_dir /proc/runs")
    (tmp_path / "taken").write_text("")
    code, _, err = seal_cli("run", "--set", "runs_dir=taken")
    one_line_error(code, err, "runs_dir taken is a file")
    monkeypatch.setattr("seal.models.offline_reason", lambda: "no network in this test")
    code, out, err = seal_cli("run", "--model", "someone/not-downloaded")
    one_line_error(code, err, "someone/not-downloaded is not downloaded")
    assert "run directory" not in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_runs_in_a_fresh_directory_and_quiet_after_the_command(
    tmp_path: Path, seal_cli, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = seal_cli("runs")
    assert code == 0 and "no runs yet" in out, err
    from seal.cli import _hoisted

    assert _hoisted(["eval", "-q", "--limit", "1"]) == ["-q", "eval", "--limit", "1"]
    assert _hoisted(["solve", "--", "-q"]) == ["solve", "--", "-q"]
    code, out, err = seal_cli("config", "show", "--quiet", "--set", "run.top_k=1")
    assert code == 0 and "top_k: 1" in out, err


def test_runs_lists_the_configs_runs_dir(tmp_path: Path, seal_cli, monkeypatch) -> None:
    """A config that moves runs_dir moves where `seal runs` looks, as it moved `seal run`."""
    monkeypatch.chdir(tmp_path)
    _run_dir(tmp_path / "elsewhere" / "r1", {"critic": {}}, {})
    (tmp_path / "c.yaml").write_text(f"runs_dir: {tmp_path / 'elsewhere'}\n")
    code, out, err = seal_cli("runs", "--config", "c.yaml")
    assert code == 0 and "r1" in out, err
    code, out, err = seal_cli("runs", "--set", "runs_dir=none-yet")
    assert code == 0 and "no runs yet: none-yet/" in out, err
    code, _, err = seal_cli("runs", "elsewhere", "--config", "c.yaml")
    assert code == 2 and "not both" in err


@pytest.mark.slow
def test_kill_ends_a_fresh_run_as_ctrl_c_does(tmp_path: Path) -> None:
    """SIGTERM (plain `kill`) runs the same cleanup as Ctrl-C: a run with no stage done
    leaves no directory to trip over, and the exit code says it was interrupted."""
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "seal.cli", "-q", "run", "--name", "k", "--device", "cpu"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # printed once the model has loaded
    assert first.startswith("run directory:"), first + proc.stderr.read()
    proc.send_signal(signal.SIGTERM)
    rest, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert not (tmp_path / "runs").exists()
    assert "removed runs/k: no stage had finished" in rest  # the path printed is gone, said


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["eval", "--limit", "0"], "error: --limit should be at least 1 (got 0)"),
        (["eval", "--top-p", "2"], "error: --top-p should be at most 1 (got 2.0)"),
        # wordmath makes problems on demand: 10**20 a level was a silent hang
        (["eval", "--limit", "2000000"], "error: --limit should be at most 1000000 (got"),
        (["solve", "x", "--model", ""], "error: --model should not be empty (got '')"),
        (["run", "--select", "best"], "error: --select should be 'critic', "),
        (["eval", "--model", "tiny", "--search", "beam"], "error: --search should be 'greedy'"),
        # the same value through --set names the config key, as the config file would
        (["eval", "--set", "eval.limit=0"], "error: config key 'eval.limit': should be at least"),
    ],
)
def test_a_bad_flag_value_names_the_flag(args: list[str], message: str, seal_cli) -> None:
    """A value a flag gave is reported under the flag the user typed, in plain words."""
    code, _, err = seal_cli(*args)
    assert code == 2
    assert err.strip().startswith(message), err
    assert len(err.strip().splitlines()) == 1


def test_config_show_with_the_preset_seal_run_uses(seal_cli) -> None:
    """`config show --preset tiny-cpu` prints what `seal run` runs with by default."""
    code, plain, err = seal_cli("config", "show")
    assert code == 0 and "problems_per_level: 48" in plain, err
    code, preset, err = seal_cli("config", "show", "--preset", "tiny-cpu")
    assert code == 0 and "problems_per_level: 24" in preset, err
    code, _, err = seal_cli("config", "show", "--preset", "laptop")
    assert code == 2 and "unknown preset 'laptop'; presets: tiny-cpu, paper" in err


def test_eval_output_an_existing_directory_with_a_dot_is_a_directory(tmp_path: Path) -> None:
    from seal.cli.evaluate import _one_file

    (tmp_path / "results.d").mkdir()
    assert not _one_file(tmp_path / "results.d") and not _one_file(tmp_path / "out")
    assert _one_file(tmp_path / "gsm8k.json") and not _one_file(None)
