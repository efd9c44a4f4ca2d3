"""Where the loop samples: the levels at the edge of the model's competence.

Self-training adds ability only where the model is partly right: a level it always solves
teaches nothing new, a level it never solves gives nothing to select. So each iteration
reads the last validation accuracy per level and samples the levels inside a band
(``low`` <= accuracy <= ``high``), the hardest ``width`` of them (an easy level just under
``high`` has little left to teach: a first run that took the lowest sampled levels 1 and 3
at 89% and 80% and gained nothing); when fewer are in the band it adds the levels just
above it that are not at zero, so the loop moves up as levels are climbed. Levels are
integers (wordmath's reasoning depth); tasks without levels have none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Frontier:
    levels: list[int]
    reason: str
    accuracy: dict[int, float]
    """The validation accuracy per level the choice was made from."""


def choose_levels(accuracy: dict[int, float], low: float, high: float, width: int) -> Frontier:
    """The levels to sample next, from validation ``accuracy`` per level."""
    if not accuracy:
        return Frontier([], "no levels", {})
    levels = sorted(accuracy)
    band = [lv for lv in levels if low <= accuracy[lv] <= high]
    chosen = band[-width:]
    above = [lv for lv in levels if lv > (chosen[-1] if chosen else levels[0] - 1)]
    for lv in above:
        if len(chosen) >= width:
            break
        if accuracy[lv] > 0 and accuracy[lv] <= high and lv not in chosen:
            chosen.append(lv)
    if not chosen:
        below = [lv for lv in levels if accuracy[lv] < low]
        if below:
            chosen, why = [below[0]], f"no level in [{low:g}, {high:g}]; the lowest one below"
        else:
            chosen, why = [levels[-1]], f"every level above {high:g}; the hardest one"
        return Frontier(chosen, why, dict(accuracy))
    shown = ", ".join(f"L{lv} {100 * accuracy[lv]:.0f}%" for lv in chosen)
    return Frontier(sorted(chosen), f"partly solved ({shown})", dict(accuracy))


def frontier_for(run: Any, leveled: bool, validation: dict[str, Any]) -> Frontier:
    """An iteration's frontier under ``run`` (a ``RunConfig``): none for a task without
    levels, ``run.train_levels`` when fixed, else chosen from the last validation."""
    if not leveled:
        return Frontier([], f"{run.task} has no levels", {})
    if run.train_levels is not None:
        return Frontier(list(run.train_levels), "fixed by run.train_levels", {})
    acc = level_accuracy(validation)
    return choose_levels(acc, run.frontier_low, run.frontier_high, run.frontier_width)


def level_accuracy(summary: dict[str, Any]) -> dict[int, float]:
    """Validation accuracy per integer level (empty for tasks without levels)."""
    out = {}
    for k, v in (summary.get("by_level") or {}).items():
        if str(k).isdigit():
            out[int(k)] = v["accuracy"]
    return out


def climbed(before: dict[str, Any], after: dict[str, Any], levels: list[int]) -> bool:
    """Whether validation ``after`` is above ``before`` on ``levels`` (their mean accuracy):
    the frontier an iteration sampled can climb while the overall accuracy, mostly levels
    already solved, moves by noise only."""
    a, b = level_accuracy(after), level_accuracy(before)
    levels = [lv for lv in levels if lv in a and lv in b]
    return bool(levels) and sum(a[lv] for lv in levels) > sum(b[lv] for lv in levels)
