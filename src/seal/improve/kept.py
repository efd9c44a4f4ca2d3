"""The data the policy trains on: the newest selection (or, ``run.accumulate``, every
accepted iteration's), plus replay.

Each fine-tuning also sees reference solutions of the levels below the frontier (the original
data), so the policy does not trade the easy levels for the hard ones. Everything is read
back from the run directory, so a resumed run trains on exactly what an uninterrupted one
would.
"""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow.parquet as pq

from seal.tasks.base import Problem, Task


def kept_pairs(iteration_dirs: list[Path]) -> list[tuple[str, str]]:
    """``(prompt, completion)`` of every selected solution in these iteration directories."""
    pairs: list[tuple[str, str]] = []
    for d in iteration_dirs:
        path = d / "selected.parquet"
        if path.is_file():
            for row in pq.read_table(path).to_pylist():
                pairs.append((row["prompt"], " " + row["text"].lstrip()))
    return pairs


def replay_pairs(task: Task, problems: list[Problem], n: int, seed: int) -> list[tuple[str, str]]:
    """``n`` reference solutions drawn from ``problems`` (those that have one)."""
    pool = [p for p in problems if p.solution]
    rng = random.Random(seed)
    rng.shuffle(pool)
    return [(task.prompt(p), " " + str(p.solution)) for p in pool[:n]]


def replay_levels(levels: list[int], frontier: list[int]) -> list[int]:
    """The levels below the frontier (the lowest level when there are none)."""
    below = [lv for lv in levels if not frontier or lv < min(frontier)]
    return below or levels[:1]
