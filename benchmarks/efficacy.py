"""Does the loop improve the embedded model? `seal run` with each selection rule, side by side.

Runs the embedded default (tiny model, wordmath, tiny-cpu preset) once per ``--select``
(critic, oracle, majority, none), each as its own `seal run` process, and tabulates test
accuracy by level before and after, relative improvement on the two hardest levels, the
share of the oracle's gain each rule reaches, wall time and peak memory.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import markdown_table, report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--select", default="critic,oracle,majority,none")
    ap.add_argument("--set", action="append", default=[], help="extra seal --set overrides")
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()

    root = Path(tempfile.mkdtemp(prefix="seal-efficacy-"))
    results = {}
    for select in args.select.split(","):
        cmd = [sys.executable, "-m", "seal.cli", "--quiet", "run", "--select", select, "--name", select,
               "--set", f"runs_dir={root}", *[x for s in args.set for x in ("--set", s)]]
        t = time.perf_counter()
        subprocess.run(cmd, check=True)
        summary = json.loads((root / select / "summary.json").read_text())
        summary["wall_s"] = time.perf_counter() - t
        results[select] = summary
        print(select, summary["final"]["metrics"], flush=True)

    levels = list(next(iter(results.values()))["final"]["by_level"])
    hard = levels[-2:]

    def hard_acc(s: dict) -> float:
        return sum(s["by_level"][lv]["accuracy"] for lv in hard) / len(hard)

    base_hard = hard_acc(next(iter(results.values()))["base"])
    oracle_gain = hard_acc(results["oracle"]["final"]) - base_hard if "oracle" in results else None
    rows = []
    for select, s in results.items():
        gain = hard_acc(s["final"]) - base_hard
        rows.append([
            select,
            *(f"{100 * s['base']['by_level'][lv]['accuracy']:.1f} → {100 * s['final']['by_level'][lv]['accuracy']:.1f}"
              for lv in levels),
            f"{100 * gain / base_hard:+.0f}%" if base_hard else "n/a",
            f"{gain / oracle_gain:.2f}" if oracle_gain else "-",
            f"{s['wall_s'] / 60:.1f}",
            f"{s['peak_rss_mb'] / 1024:.2f}",
        ])
    table = markdown_table(
        ["select", *(f"level {lv} (test %)" for lv in levels), f"relative gain, levels {'+'.join(hard)}",
         "share of oracle gain", "wall min", "peak GB"],
        rows,
    )
    report("Self-improvement efficacy (seal run, tiny-cpu preset)", table,
           "Each row is one `seal run --select X`; cells are base → final test accuracy.",
           append=not args.no_append)


if __name__ == "__main__":
    main()
