"""Is a change between two evaluations of the same problems real? The exact McNemar test.

Two evaluations on one problem set are paired: what decides is how many problems one got
right and the other wrong, in each direction. Under "no change" those discordant problems
split like fair coin flips; the two-sided binomial tail is the p-value. A level of 200
problems at 60% has a standard error of 3.5 points, so a run's few-point gain needs this
before anyone believes it.
"""

from __future__ import annotations

import math
from typing import Any


def mcnemar_p(won: int, lost: int) -> float:
    """Exact two-sided p-value of ``won`` problems gained against ``lost`` lost."""
    n = won + lost
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(won, lost) + 1)) / 2**n
    return min(1.0, 2 * tail)


def problem_outcomes(records: list[Any]) -> list[dict[str, Any]]:
    """What an evaluation stores per problem for later pairing: id, level, greedy right."""
    return [
        {"id": r.problem.id, "level": r.problem.level, "correct": int(r.greedy_ok)} for r in records
    ]


def paired_change(
    before: dict[str, Any], after: dict[str, Any], level: str | int | None = None
) -> dict[str, Any] | None:
    """Problems won and lost from ``before`` to ``after`` (two ``eval.json`` summaries with
    per-problem ``problems``), on one level or all, with the McNemar p-value; None when
    either lacks per-problem outcomes (runs made before they were stored)."""
    a, b = before.get("problems"), after.get("problems")
    if not isinstance(a, list) or not isinstance(b, list):
        return None

    def outcomes(rows: list[Any]) -> dict[str, int]:
        return {
            str(r["id"]): int(r["correct"])
            for r in rows
            if isinstance(r, dict)
            and "id" in r
            and isinstance(r.get("correct"), int | bool)
            and (level is None or str(r.get("level")) == str(level))
        }

    x, y = outcomes(a), outcomes(b)
    common = [i for i in x if i in y]
    won = sum(1 for i in common if not x[i] and y[i])
    lost = sum(1 for i in common if x[i] and not y[i])
    return {"n": len(common), "won": won, "lost": lost, "p": mcnemar_p(won, lost)}
