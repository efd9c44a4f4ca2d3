"""Finished `seal run`s side by side: test accuracy by level before -> after, and what each
iteration selected and how much of it was right.

For runs that share a bootstrap (the same critic-0 and base evaluations, as
`benchmarks/efficacy.py` makes them, or runs started with `seal run --resume` from a copy
of one run's `critic-0/ base/ base-test/`), the differences are the loop's alone. Reads
each run's `summary.json` and `iter-NN/selected.parquet`; runs nothing.

    python benchmarks/compare_runs.py runs/a=label runs/b="other label" [--no-append]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as `python benchmarks/compare_runs.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import markdown_table, report
from seal.paired import paired_change


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def selections(run: Path, summary: dict) -> str:
    """Per iteration: kept, with the share right (verifier labels), and rolled back ones."""
    import pyarrow.parquet as pq

    out = []
    for it in summary["iterations"]:
        n = it["iteration"]
        path = run / f"iter-{n:02d}" / "selected.parquet"
        rows = pq.read_table(path).to_pylist() if path.is_file() else []
        right = sum(int(r["truth"]) for r in rows)
        text = f"{len(rows)} ({right / len(rows):.2f})" if rows else "0"
        out.append(text + ("" if it["accepted"] else " rolled back"))
    return " / ".join(out)


def paired(summary: dict, levels: list[str | None]) -> str:
    """Test problems won / lost from base to final and the McNemar p-value, per level (None:
    all); ``-`` for runs made before per-problem outcomes were stored."""
    cells = []
    for lv in levels:
        c = paired_change(summary["base"], summary["final"], lv)
        if c is None:
            return "-"
        cells.append(f"+{c['won']}/-{c['lost']} ({c['p']:.2g})")
    return ", ".join(cells)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", help="RUN_DIR=label (label optional)")
    ap.add_argument("--title", default="Finished runs side by side")
    ap.add_argument(
        "--base-outcomes",
        type=Path,
        help="an eval.json with per-problem outcomes of the runs' base evaluation, for runs "
        "made before outcomes were stored (their base must have the same accuracy by level)",
    )
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()
    extra_base = None
    if args.base_outcomes:
        try:
            extra_base = json.loads(args.base_outcomes.read_text())
        except (OSError, ValueError) as err:
            raise SystemExit(f"error: --base-outcomes {args.base_outcomes}: {err}") from None
    loaded = []
    for spec in args.runs:
        path, _, label = spec.partition("=")
        run = Path(path)
        file = run / "summary.json"
        if not file.is_file():
            raise SystemExit(f"error: {file} does not exist: give a finished run directory")
        summary = json.loads(file.read_text())
        if extra_base is not None and "problems" not in summary["base"]:
            same = {
                lv: round(v["accuracy"], 6) for lv, v in extra_base.get("by_level", {}).items()
            } == {lv: round(v["accuracy"], 6) for lv, v in summary["base"]["by_level"].items()}
            if not same:
                raise SystemExit(
                    f"error: --base-outcomes {args.base_outcomes} is not {run}'s base "
                    "evaluation (accuracy by level differs)"
                )
            summary["base"] = {**summary["base"], "problems": extra_base.get("problems")}
        loaded.append((run, label or run.name, summary))
    levels = list(loaded[0][2]["final"]["by_level"])
    head = ["run", "selected per iteration (share right)"] + [f"L{lv}" for lv in levels]
    head += ["all", f"won / lost (p): L{levels[-2]}, L{levels[-1]}, all"]
    rows = []
    bases = {json.dumps(s["base"]["by_level"], sort_keys=True) for _, _, s in loaded}
    for i, (run, label, s) in enumerate(loaded):
        if i == 0 or len(bases) > 1:  # one base row when every run shares it
            b = s["base"]
            rows.append(
                [f"base of {label}" if len(bases) > 1 else "base", "-"]
                + [_pct(b["by_level"][lv]["accuracy"]) for lv in levels]
                + [_pct(b["metrics"]["accuracy"]), "-"]
            )
        f = s["final"]
        rows.append(
            [label, selections(run, s)]
            + [_pct(f["by_level"].get(lv, {"accuracy": float("nan")})["accuracy"]) for lv in levels]
            + [_pct(f["metrics"]["accuracy"]), paired(s, [levels[-2], levels[-1], None])]
        )
    report(
        args.title,
        markdown_table(head, rows),
        "Test accuracy (%) by level after the run (the base row: before). Selected: solutions "
        "kept per iteration, with the share the verifier calls right; a rolled-back "
        "iteration's selection is not kept. Won / lost: test problems wrong before and right "
        "after / right before and wrong after, with the exact McNemar p-value (the gain is "
        "noise unless p is small).",
        append=not args.no_append,
    )


if __name__ == "__main__":
    main()
