"""Time to run HumanEval's 164 canonical solutions through the sandbox (target: < 30 s on
2 cores), and the share that pass (must be 164/164)."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python benchmarks/sandbox.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import markdown_table, report
from seal.tasks import get_task


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()

    task = get_task("humaneval", workers=args.workers)
    problems = task.problems("test")
    solutions = [p.answer for p in problems]
    times, passed = [], 0
    for _ in range(args.repeats):
        start = time.perf_counter()
        results = task.execute(problems, solutions)
        times.append(time.perf_counter() - start)
        passed = sum(r.passed for r in results)
        print(f"{times[-1]:.1f}s, {passed}/{len(problems)} passed", flush=True)
    med = statistics.median(times)
    table = markdown_table(
        ["programs", "workers", "passed", "median s", "programs/s", "runs"],
        [
            [
                len(problems),
                args.workers,
                passed,
                f"{med:.1f}",
                f"{len(problems) / med:.1f}",
                ", ".join(f"{t:.1f}" for t in times),
            ]
        ],
    )
    report(
        "Sandbox: HumanEval canonical solutions",
        table,
        "Each completion judged by its own trusted judge process, which runs the tests against "
        "the completion jailed by bubblewrap (user/PID/mount/net namespaces, seccomp, an "
        "unprivileged uid, rlimits; audit hook inside). Target: under 30 s for all 164 on 2 "
        "cores.",
        append=not args.no_append,
    )


if __name__ == "__main__":
    main()
