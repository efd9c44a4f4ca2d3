"""The seed-style accuracy table of a run, from its summary (plain data: no torch, no loop),
shared by the terminal (``seal run``) and the HTML report."""

from __future__ import annotations

from typing import Any


def seed_rows(
    summary: dict[str, Any], base_val: dict[str, Any] | None = None
) -> tuple[list[str], list[list[str]]]:
    """Header and rows: rows = levels (and all), columns = base, each iteration (validation
    accuracy), then base and final on the test split with the relative improvement. A
    missing number (a run that stopped, a stage not reached) shows as ``-``."""
    iters = [m for m in summary.get("iterations") or [] if isinstance(m, dict)]
    base, final = summary.get("base"), summary.get("final")
    head = ["level"] + (["base (val)"] if base_val is not None else [])
    head += [f"iter {m.get('iteration', i + 1)} (val)" for i, m in enumerate(iters)]
    head += ["base (test)", "final (test)", "relative"]
    ref = final or base or base_val or {}
    levels = list(ref.get("by_level") or {}) + ["all"]

    def acc(summary_: dict[str, Any] | None, level: str) -> float | None:
        if not isinstance(summary_, dict):
            return None
        src = summary_.get("metrics") if level == "all" else (summary_.get("by_level") or {})
        src = src if level == "all" else (src or {}).get(level)
        return (src or {}).get("accuracy")

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{100 * x:.1f}"

    rows = []
    for lv in levels:
        row = [lv] + ([pct(acc(base_val, lv))] if base_val is not None else [])
        row += [pct(acc(m.get("validation"), lv)) for m in iters]
        b, f = acc(base, lv), acc(final, lv)
        rel = f"{100 * (f - b) / b:+.0f}%" if b and f is not None else "n/a"
        rows.append(row + [pct(b), pct(f), rel])
    return head, rows
