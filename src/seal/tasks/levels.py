"""Level lists as people type them: ``5``, ``1-7``, ``4,5`` or ``1-3,6``."""

from __future__ import annotations

from seal.errors import SealError

MOST = 1000
"""The highest level any option may name."""


def parse_levels(text: str, what: str = "levels") -> list[int]:
    """The levels ``text`` names, sorted and without repeats; a one-line ``SealError``
    naming ``what`` (the option) for anything else."""
    levels: set[int] = set()
    parts = [p.strip() for p in text.split(",") if p.strip()]
    for part in parts or [""]:
        lo, dash, hi = part.partition("-")
        try:
            first, last = int(lo), int(hi if dash else lo)
        except ValueError:
            first = last = 0
        if first < 1 or last < first:
            raise SealError(
                f"{what} expects levels such as 5, 1-7 or 4,5 (positive integers), got {text!r}"
            )
        if last > MOST:  # before building the range: 1-99999999999999 would fill the memory
            raise SealError(f"{what}: no task has a level {last} (at most {MOST}), got {text!r}")
        levels.update(range(first, last + 1))
    return sorted(levels)
