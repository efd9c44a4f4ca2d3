"""The seed-style results table (levels x base, iterations, final): rows for the HTML report
and a Rich table for the terminal. It reads the dictionaries a run writes (``summary.json``,
``*/eval.json``, ``iter-NN/metrics.json``) and shows any missing number as ``-``.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table

from seal.paired import paired_change


def seed_rows(
    summary: dict[str, Any], base_val: dict[str, Any] | None = None
) -> tuple[list[str], list[list[str]]]:
    """The seed-style table's header and rows: rows = levels (and all), columns = base,
    each iteration (validation accuracy), then base and final on the test split with the
    relative improvement, and (runs that store per-problem outcomes) the problems won and
    lost from base to final with the exact McNemar p-value: whether a gain is more than
    noise. A missing final (a run that stopped) shows as ``-``."""
    iters = [m for m in summary.get("iterations") or [] if isinstance(m, dict)]
    base, final = summary.get("base"), summary.get("final")
    head = ["level"] + (["base (val)"] if base_val is not None else [])
    head += [f"iter {m.get('iteration', i + 1)} (val)" for i, m in enumerate(iters)]
    head += ["base (test)", "final (test)", "relative"]
    paired = isinstance(base, dict) and isinstance(final, dict)
    paired = paired and paired_change(base, final) is not None
    head += ["paired: won / lost (p)"] if paired else []
    ref = next((x for x in (final, base, base_val) if isinstance(x, dict)), {})
    by_level = ref.get("by_level")
    levels = [str(lv) for lv in by_level] if isinstance(by_level, dict) else []
    levels.append("all")

    def acc(summary_: Any, level: str) -> float | None:
        if not isinstance(summary_, dict):
            return None
        part = summary_.get("metrics") if level == "all" else summary_.get("by_level")
        if not isinstance(part, dict):
            return None
        src = part if level == "all" else part.get(level)
        value = src.get("accuracy") if isinstance(src, dict) else None
        return value if isinstance(value, int | float) else None

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{100 * x:.1f}"

    rows = []
    for lv in levels:
        row = [lv] + ([pct(acc(base_val, lv))] if base_val is not None else [])
        row += [pct(acc(m.get("validation"), lv)) for m in iters]
        b, f = acc(base, lv), acc(final, lv)
        rel = f"{100 * (f - b) / b:+.0f}%" if b and f is not None else "n/a"
        row += [pct(b), pct(f), rel]
        if paired:
            c = paired_change(base, final, None if lv == "all" else lv)
            row.append(f"+{c['won']} / -{c['lost']} (p {c['p']:.2g})" if c else "-")
        rows.append(row)
    return head, rows


def seed_table(
    summary: dict[str, Any], base_val: dict[str, Any] | None = None, width: int | None = None
) -> Table:
    """``seed_rows`` as a rich table for the terminal. Where the whole table is wider than
    ``width`` (a narrow terminal), the validation columns (base and each iteration) are left
    out (the report and ``metrics.json`` keep them) rather than wrapping every cell."""
    head, rows = seed_rows(summary, base_val)
    table = _table(head, rows)
    if width is not None and table_width(table) > width:
        keep = [i for i, h in enumerate(head) if not h.endswith("(val)")]
        if len(keep) < len(head):
            table = _table([head[i] for i in keep], [[r[i] for i in keep] for r in rows])
            table.caption = "validation columns: in the report (terminal too narrow)"
    return table


def _table(head: list[str], rows: list[list[str]]) -> Table:
    table = Table(title="accuracy (%) by level")
    for i, h in enumerate(head):
        table.add_column(h, justify="left" if i == 0 else "right", no_wrap=i > 0)
    for row in rows:
        table.add_row(*row)
    return table


def table_width(table: Table) -> int:
    """Columns the table needs without wrapping a cell."""
    from rich.console import Console

    probe = Console(width=10_000)
    return probe.measure(table).maximum
