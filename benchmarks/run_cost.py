"""What the README's main job costs: wall time per stage and peak memory of `seal run`.

Runs the embedded default (`seal --quiet run`, plus any `--set` overrides) as a child
process, `--repeats` times, each in a fresh run directory. Stage times come from the run's
`manifest.json` (when each stage finished, from the start of the run); peak memory is the
child's max RSS from `wait4`. Quote it from a quiet machine: on shared cores the seconds
stretch (memory does not).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):  # run as `python benchmarks/run_cost.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import markdown_table, report, run_child
from seal.report import time_rows


def one_run(root: Path, sets: list[str], timeout: float | None, keep: Path | None) -> dict:
    cmd = [sys.executable, "-m", "seal.cli", "--quiet", "run", "--name", "cost"]
    cmd += ["--set", f"runs_dir={root}", *(x for s in sets for x in ("--set", s))]
    wall, peak, code = run_child(cmd, timeout)
    run = root / "cost"
    if keep:  # the small files, for a machine that is given back after the run
        keep.mkdir(parents=True, exist_ok=True)
        for f in [*run.glob("*.json"), *run.glob("*.log"), *run.glob("*/metrics.json")]:
            shutil.copy(f, keep / str(f.relative_to(run)).replace("/", "_"))
    if code and not (timeout and wall >= timeout):
        raise SystemExit(f"seal run exited {code}")
    manifest = json.loads((run / "manifest.json").read_text())
    start = manifest["created"]
    stages = {k: v["done"] - start for k, v in manifest["stages"].items() if "done" in v}
    if code:  # stopped at the deadline: the stages it finished, no accuracy
        return {"wall_s": wall, "peak_gb": peak, "stages": stages, "timed_out": True,
                "accuracy": None, "levels": {}, "iterations": []}  # fmt: skip
    summary = json.loads((run / "summary.json").read_text())
    critic = json.loads((run / "critic-0" / "metrics.json").read_text())
    return {
        "seconds": time_rows(critic, summary["iterations"]),
        "wall_s": wall,
        "peak_gb": peak,
        "stages": stages,
        "accuracy": (
            summary["base"]["metrics"]["accuracy"],
            summary["final"]["metrics"]["accuracy"],
        ),
        "levels": {
            lv: (summary["base"]["by_level"][lv]["accuracy"], fin["accuracy"], fin["n"])
            for lv, fin in (summary["final"].get("by_level") or {}).items()
        },
        "iterations": [
            (m.get("frontier", {}).get("levels"), m["accepted"]) for m in summary["iterations"]
        ],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--set", action="append", default=[], help="extra seal --set overrides")
    ap.add_argument("--timeout", type=float, help="stop a run after this many seconds and "
                    "report the stages it finished")  # fmt: skip
    ap.add_argument("--keep", type=Path, help="copy each run's JSON files and log here")
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()

    runs = []
    for i in range(args.repeats):
        keep = args.keep / f"run{i + 1}" if args.keep else None
        with tempfile.TemporaryDirectory(prefix="seal-cost-") as tmp:
            runs.append(one_run(Path(tmp), args.set, args.timeout, keep))
        r = runs[-1]
        print(f"run {i + 1}: {r['wall_s']:.0f} s, peak {r['peak_gb']:.2f} GB", flush=True)
    stages = list(max((r["stages"] for r in runs), key=len))
    rows = [
        [
            f"run {i + 1}",
            *(f"{r['stages'].get(s, float('nan')):.0f}" for s in stages),
            f"{r['wall_s'] / 60:.1f}",
            f"{r['peak_gb']:.2f}",
            f"{100 * r['accuracy'][0]:.1f} → {100 * r['accuracy'][1]:.1f}"
            if r["accuracy"]
            else f"stopped at {args.timeout:.0f} s",
        ]
        for i, r in enumerate(runs)
    ]
    table = markdown_table(
        [
            "",
            *(f"{s} done (s)" for s in stages),
            "wall min",
            "peak GB",
            "test accuracy",
        ],
        rows,
    )
    notes = (
        f"Median of {len(runs)}: **{statistics.median(r['wall_s'] for r in runs) / 60:.1f} "
        f"min**, peak resident memory **{statistics.median(r['peak_gb'] for r in runs):.2f} "
        "GB** (targets: <= 10 min, <= 3 GB). Stage columns: seconds from the start of the run "
        "until the stage finished (from manifest.json); the loop stops early when validation "
        "stops improving (`run.patience`)."
    )
    if runs[-1]["levels"]:  # what the target is about: test accuracy per level
        per_level = [
            [lv, n, f"{100 * b:.1f}", f"{100 * f:.1f}", f"{100 * (f - b):+.1f}",
             f"{100 * (f - b) / b:+.0f}%" if b else "-"]
            for lv, (b, f, n) in runs[-1]["levels"].items()
        ]  # fmt: skip
        table += "\n\nTest accuracy by level (last run):\n\n" + markdown_table(
            ["level", "problems", "base %", "final %", "points", "relative"], per_level
        )
        its = ", ".join(
            f"{i + 1}: levels {lv} {'accepted' if ok else 'rolled back'}"
            for i, (lv, ok) in enumerate(runs[-1]["iterations"])
        )
        notes += f" Iterations (last run): {its}."
    if runs[-1].get("seconds"):  # inside the stages: what each part took (last run)
        table += "\n\nSeconds inside each stage (last run):\n\n" + markdown_table(
            *runs[-1]["seconds"]
        )
    report(
        "`seal run` cost: wall time and memory (tiny, default config)",
        table,
        notes,
        append=not args.no_append,
    )


if __name__ == "__main__":
    main()
