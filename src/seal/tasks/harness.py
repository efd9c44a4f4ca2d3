"""Answer filters and exact match with lm-evaluation-harness semantics.

Published GSM8K / BBH numbers come from lm-evaluation-harness: a regex filter picks the
answer out of the completion and ``exact_match`` compares strings after removing some
patterns. Re-implemented here (no dependency on the harness at run time) with the same
rules, and tested against the harness's own code on the same outputs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

INVALID = "[invalid]"


def regex_extract(text: str, pattern: str, group_select: int = 0, fallback: str = INVALID) -> str:
    """``re.findall`` match number ``group_select`` (negative counts from the end); with
    several groups, the first non-empty one; stripped. ``fallback`` when nothing matches."""
    found = re.findall(pattern, text)
    if not found:
        return fallback
    match = found[group_select]
    if isinstance(match, tuple):
        parts = [m for m in match if m]
        match = parts[0] if parts else fallback
    return match.strip()


def exact_match(
    prediction: str,
    reference: str,
    ignore: Sequence[str] = (),
    ignore_case: bool = False,
) -> bool:
    """String equality after deleting every ``ignore`` pattern from both (in order)."""
    for pattern in ignore:
        prediction = re.sub(pattern, "", prediction)
        reference = re.sub(pattern, "", reference)
    if ignore_case:
        prediction, reference = prediction.lower(), reference.lower()
    return prediction == reference
