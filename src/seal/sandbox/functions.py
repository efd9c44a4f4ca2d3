"""Score function completions (HumanEval) with unforgeable verdicts, in parallel.

``judge_many`` starts one trusted judge process per case (``seal.sandbox.judge``); each
runs the case's tests itself against the completion jailed in another process, and only
the judge's verdict counts. See ``seal.sandbox.judge`` for why nothing the completion does
can turn a failure into a pass.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from seal.sandbox.programs import RunResult, SandboxLimits

_SRC = str(Path(__file__).resolve().parents[2])  # the directory that holds ``seal``
_JUDGE = f"import sys; sys.path.insert(0, {_SRC!r}); from seal.sandbox.judge import main; main()"
_GRACE = 10.0  # seconds for the judge's own start and clean-up, past the case's limit


@dataclass(frozen=True)
class FunctionCase:
    """``solution``: the code that defines ``entry_point`` (prompt + completion), run in
    the jail. ``tests``: trusted code defining ``check(candidate)`` (with whatever helpers
    it needs, e.g. the prompt), run by the judge."""

    solution: str
    entry_point: str
    tests: str


def judge_one(case: FunctionCase, limits: SandboxLimits, isolated: bool) -> RunResult:
    """One case's verdict from a fresh judge process."""
    with tempfile.TemporaryDirectory(prefix="seal-judge-") as tmp:
        os.chmod(tmp, 0o711)  # the unjailed fallback's uid must reach its directory inside
        return _judge(case, limits, isolated, tmp)


def _judge(case: FunctionCase, limits: SandboxLimits, isolated: bool, tmp: str) -> RunResult:
    """``judge_one`` with the judge's files under ``tmp``, removed even if it is killed."""
    job = asdict(case) | {
        "limits": limits.jail_limits().as_dict(),
        "timeout": limits.timeout,
        "isolated": isolated,
        "tmpdir": tmp,
    }
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", _JUDGE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(json.dumps(job).encode(), timeout=limits.timeout + _GRACE)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return RunResult(False, "timed out", time.perf_counter() - start)
    try:
        verdict = json.loads(out)
    except ValueError:
        lines = err.decode("utf-8", "replace").strip().splitlines() or ["no verdict"]
        return RunResult(False, f"judge failed: {lines[-1]}", time.perf_counter() - start)
    return RunResult(**verdict)


def judge_many(
    cases: list[FunctionCase],
    limits: SandboxLimits | None = None,
    workers: int | None = None,
    quiet: bool = True,
) -> list[RunResult]:
    """Verdicts for ``cases``, in input order; a ``SealError`` first if there is no jail
    and ``limits.unsafe_local_execution`` is not set."""
    from seal.progress import progress_bar

    limits = limits or SandboxLimits()
    isolated = limits.isolated()
    workers = workers or max(1, os.cpu_count() or 1)
    results: list[RunResult | None] = [None] * len(cases)
    with (
        progress_bar("executing", total=len(cases), unit="programs", quiet=quiet) as bar,
        ThreadPoolExecutor(max_workers=workers) as pool,
    ):
        futures = {pool.submit(judge_one, c, limits, isolated): i for i, c in enumerate(cases)}
        for future in futures:
            results[futures[future]] = future.result()
            bar.advance(1)
    return results  # type: ignore[return-value]
