"""Shared by the benchmark scripts: machine description and appending tables to BENCHMARKS.md."""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import torch

from seal.errors import SealError
from seal.tasks.levels import parse_levels
from seal.tasks.wordmath import MAX_LEVEL

ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = f", GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    return (
        f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads){gpu}, Python {platform.python_version()}"
    )


def run_child(cmd: list[str], timeout: float | None = None) -> tuple[float, float, int]:
    """Run ``cmd``; its wall seconds, peak resident memory in GB (max RSS of the child,
    from ``wait4``) and exit code (negative: killed by that signal; ``-9`` after
    ``timeout`` seconds)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd)
    timer = threading.Timer(timeout, proc.kill) if timeout else None
    if timer:
        timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        if timer:
            timer.cancel()
    wall = time.perf_counter() - start
    return wall, usage.ru_maxrss / 1024 / 1024, os.waitstatus_to_exitcode(status)  # KiB


def median_time(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def markdown_table(headers: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join("---" for _ in headers) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def this_command() -> str:
    """The benchmark command as run from the repository root."""
    return "python " + " ".join([os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]])


def report(
    title: str,
    table: str,
    notes: str = "",
    append: bool = True,
    measured: tuple[str, str] | None = None,
) -> None:
    """Print the table and append it, with machine, command and date, to BENCHMARKS.md.
    ``measured``: (machine, command) of runs made elsewhere and tabulated here."""
    where, command = measured or (machine(), this_command())
    block = (
        f"\n## {title}\n\n- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}\n"
        f"- machine: {where}\n- command: `{command}`\n\n{table}\n"
        + (f"\n{notes}\n" if notes else "")
    )
    print(block)
    if append:
        path = ROOT / "BENCHMARKS.md"
        existing = path.read_text() if path.exists() else "# Benchmarks\n"
        path.write_text(existing.rstrip("\n") + "\n" + block)


def iteration_candidates(run: Path, iteration: int) -> list[dict]:
    """The candidate rows a `seal run` saved for one iteration (``iter-NN/samples.parquet``),
    or a one-line exit naming what to give instead."""
    import pyarrow.parquet as pq

    path = Path(run) / f"iter-{iteration:02d}" / "samples.parquet"
    if not path.is_file():
        raise SystemExit(f"error: {path} does not exist: give a run directory with that iteration")
    return pq.read_table(path).to_pylist()


def level_list(text: str, what: str = "--levels") -> list[int]:
    """wordmath levels as ``5``, ``1-7``, ``4,5`` (`seal.tasks.levels.parse_levels`); a
    one-line exit on a typo or a level the ladder does not have."""
    try:
        levels = parse_levels(text, what)
    except SealError as err:
        raise SystemExit(f"error: {err}") from None
    if levels[-1] > MAX_LEVEL:
        raise SystemExit(f"error: {what} {text!r}: wordmath levels are 1-{MAX_LEVEL}")
    return levels
