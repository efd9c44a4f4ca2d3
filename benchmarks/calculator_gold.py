"""How often do the critic's checks veto a *right* solution? The calculator and both coverage
rules on GSM8K's human-written gold solutions (and wordmath's references).

Every gold solution is right, so each veto is a false alarm of the check (or a true slip
of the annotator: the table shows a few vetoed lines to tell which). This is the cost side
of `critic.calculator` and `critic.coverage` on free-form solutions; their benefit is in
`benchmarks/selection_signals.py` (precision of the selection on a run's candidates).

    python benchmarks/calculator_gold.py                      # GSM8K test split, from the hub
    python benchmarks/calculator_gold.py --data test.jsonl    # a local copy (question, answer)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as `python benchmarks/calculator_gold.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import markdown_table, report
from seal.critic.calculator import arithmetic_holds, uses_each_quantity, uses_every_quantity
from seal.errors import SealError
from seal.tasks.base import Problem
from seal.tasks.gsm8k import GSM8K
from seal.tasks.wordmath import WordMath, check_steps

CHECKS = {
    "calculator (`critic.calculator`)": lambda p: arithmetic_holds(p.solution or ""),
    "coverage `any`": lambda p: uses_every_quantity(p.question, p.solution or ""),
    "coverage `each` (counted)": lambda p: uses_each_quantity(p.question, p.solution or ""),
}


def veto_rows(sets: dict[str, list[Problem]]) -> list[list[str]]:
    """Per check, the vetoed share of each set's gold solutions."""
    out = []
    for name, check in CHECKS.items():
        line = [name]
        for problems in sets.values():
            vetoed = sum(not check(p) for p in problems)
            line.append(f"{vetoed} / {len(problems)} ({100 * vetoed / max(1, len(problems)):.1f}%)")
        out.append(line)
    return out


def false_lines(problems: list[Problem], limit: int = 5) -> list[str]:
    """The first ``limit`` lines the calculator finds false, as written."""
    lines = []
    for p in problems:
        for step in check_steps(p.solution or ""):
            if step.ok is False:
                lines.append(step.text.strip())
                break
        if len(lines) == limit:
            break
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", default="test", help="GSM8K split (default test)")
    ap.add_argument("--data", type=Path, help="a local GSM8K file (question, answer)")
    ap.add_argument("--limit", type=int, help="at most this many GSM8K problems")
    ap.add_argument("--wordmath", type=int, default=200, help="wordmath references per level")
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()
    if args.data is not None and not args.data.is_file():
        raise SystemExit(f"error: --data {args.data} is not a file: give a GSM8K JSONL or Parquet")
    try:
        gsm = GSM8K(data=args.data).problems(args.split, args.limit)
    except SealError as err:
        raise SystemExit(f"error: {err}") from None
    wordmath = WordMath().problems("test", args.wordmath)
    sets = {f"GSM8K {args.split} (gold)": gsm, "wordmath test (references)": wordmath}
    table = markdown_table(["check", *sets], veto_rows(sets))
    slips = false_lines(gsm)
    body = table + (
        "\n\nGSM8K gold lines the calculator finds false (first "
        f"{len(slips)}):\n\n" + "\n".join(f"- `{line}`" for line in slips)
        if slips
        else ""
    )
    report(
        "The critic's checks on gold solutions (false vetoes)",
        body,
        "Every solution here is right: a veto is a false alarm, or a slip of the annotator. "
        f"GSM8K from {args.data or 'the hub (openai/gsm8k, main)'}; wordmath "
        f"{args.wordmath} per level, levels 1-{max(p.level or 0 for p in wordmath)}.",
        append=not args.no_append,
    )


if __name__ == "__main__":
    main()
