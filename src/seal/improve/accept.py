"""Whether an iteration's policy replaces the last accepted one.

Overall validation accuracy alone can hide a level given up for the others: a run that
trained on mostly wrong level-5 selections lost 12 points there while the average stayed
within tolerance. So a new policy is accepted only when overall accuracy drops by no more
than ``tolerance`` and no level drops by more than ``level_tolerance`` (None: no per-level
check). Returns the decision and, when rejected, why.
"""

from __future__ import annotations

from typing import Any

from seal.improve.frontier import level_accuracy


def accept(
    current: dict[str, Any], new: dict[str, Any], tolerance: float, level_tolerance: float | None
) -> tuple[bool, str]:
    before, after = current["metrics"]["accuracy"], new["metrics"]["accuracy"]
    if after < before - tolerance:
        return False, f"validation {after:.3f} < {before:.3f} - {tolerance:g}"
    if level_tolerance is not None:
        old, now = level_accuracy(current), level_accuracy(new)
        for lv in sorted(set(old) & set(now)):
            if now[lv] < old[lv] - level_tolerance:
                return False, f"level {lv} fell {old[lv]:.2f} -> {now[lv]:.2f}"
    return True, ""
