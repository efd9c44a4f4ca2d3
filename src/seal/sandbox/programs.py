"""Run whole untrusted programs in the jail (``run_program``, ``run_many``).

Each program runs in its own jailed interpreter (``seal.sandbox.jail``) behind the audit
hook (``seal.sandbox.guard``), with a time limit enforced from outside. ``passed`` means the
program ran to its end: a one-time token printed after it guards against accidental early
exits (``sys.exit(0)``, ``os._exit(0)``), not against a hostile program, which can find the
token in its own process. Scores that a program must not be able to forge come from
``seal.sandbox.functions`` instead.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from seal.errors import SealError
from seal.sandbox import guard, jail

MAX_TIMEOUT = 86400.0
"""The longest time limit a program may be given: a day (``inf`` is not a limit)."""


def check_timeout(seconds: float, what: str) -> None:
    """A time limit that is one: ``0 < seconds <= MAX_TIMEOUT`` (not inf or nan); else a
    one-line error naming ``what``."""
    if not 0 < seconds <= MAX_TIMEOUT:  # also false for nan
        raise SealError(
            f"{what} must be more than 0 and at most {MAX_TIMEOUT:.0f} seconds, got {seconds}"
        )


@dataclass(frozen=True)
class SandboxLimits:
    """Per-program limits. ``memory_mb`` caps each process's address space and the resident
    memory of all the program's processes together; ``output_kb`` each of
    stdout/stderr (and any file the program writes); ``processes`` those it may run at
    once. ``unsafe_local_execution`` runs code without the OS jail where it is unavailable
    (instead of refusing): only for code you would run outside a sandbox anyway."""

    timeout: float = 10.0
    memory_mb: int = 1024
    output_kb: int = 1024
    processes: int = 16
    open_files: int = 64
    unsafe_local_execution: bool = False

    def __post_init__(self) -> None:
        check_timeout(self.timeout, "the sandbox's timeout")

    def jail_limits(self) -> jail.Limits:
        return jail.Limits(
            cpu=int(self.timeout) + 1,
            memory=self.memory_mb << 20,
            fsize=self.output_kb << 10,
            files=self.open_files,
            procs=self.processes,
        )

    def isolated(self) -> bool:
        """True to run in the jail; False only with ``unsafe_local_execution`` where the
        jail is unavailable; otherwise a one-line ``SealError`` naming what is missing."""
        try:
            return jail.check(self.unsafe_local_execution)
        except jail.Unavailable as exc:
            raise SealError(str(exc)) from None


@dataclass(frozen=True)
class RunResult:
    passed: bool
    reason: str
    """``passed``, ``timed out``, ``memory limit exceeded``, ``killed by signal N``, ``exit
    code N``, ``exited before the end of the program`` or the last line of the error (e.g.
    ``AssertionError``)."""
    seconds: float
    stdout: str = ""
    stderr: str = ""


def _reason(code: int | None, stderr: str, token_seen: bool, timed_out: bool) -> str:
    if timed_out:
        return "timed out"
    if code is not None and code < 0:
        sig = -code
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else sig
        return f"killed by signal {name}"
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    if code:
        return lines[-1][:300] if lines else f"exit code {code}"
    if not token_seen:
        return "exited before the end of the program"
    return "passed"


def _run(source: str, limits: SandboxLimits, isolated: bool) -> RunResult:
    token = secrets.token_hex(16)
    start = time.perf_counter()
    files = {"program.py": source, "boot.py": guard.PROGRAM}
    args = ["boot.py", "program.py", *jail.python_roots()]
    run = jail.launch(files, args, limits.jail_limits(), isolated, stdin=subprocess.PIPE)
    try:
        with contextlib.suppress(OSError):
            run.proc.stdin.write((token + "\n").encode())  # type: ignore[union-attr]
            run.proc.stdin.close()  # type: ignore[union-attr]
        timed_out = False
        try:
            run.proc.wait(timeout=limits.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        code = run.proc.returncode
        run.kill()  # the whole session, done or not
        stdout, stderr = run.output()
    finally:
        run.close()
    lines = stdout.rstrip("\n").splitlines()
    token_seen = bool(lines) and lines[-1] == token
    reason = run.killed_for or _reason(code, stderr, token_seen, timed_out)
    if token_seen:
        stdout = "\n".join(lines[:-1])
    return RunResult(reason == "passed", reason, time.perf_counter() - start, stdout, stderr)


def run_program(source: str, limits: SandboxLimits | None = None) -> RunResult:
    """Run ``source`` as a program in the sandbox; never raises for anything it does (a
    ``SealError`` if there is no sandbox, see ``SandboxLimits.isolated``)."""
    limits = limits or SandboxLimits()
    return _run(source, limits, limits.isolated())


def run_many(
    sources: list[str],
    limits: SandboxLimits | None = None,
    workers: int | None = None,
    quiet: bool = True,
) -> list[RunResult]:
    """Run programs in parallel (each in its own sandbox), results in input order."""
    from seal.progress import progress_bar

    limits = limits or SandboxLimits()
    isolated = limits.isolated()
    workers = workers or max(1, os.cpu_count() or 1)
    results: list[RunResult | None] = [None] * len(sources)
    with (
        progress_bar("executing", total=len(sources), unit="programs", quiet=quiet) as bar,
        ThreadPoolExecutor(max_workers=workers) as pool,
    ):
        futures = {pool.submit(_run, s, limits, isolated): i for i, s in enumerate(sources)}
        for future in futures:
            results[futures[future]] = future.result()
            bar.advance(1)
    return results  # type: ignore[return-value]
