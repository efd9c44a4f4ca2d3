"""Benchmark metrics: accuracy, majority vote (maj@k) and the unbiased pass@k estimator."""

from __future__ import annotations

from collections import Counter
from math import comb


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of ``k`` draws from ``n`` samples (``c`` correct) is correct
    (Chen et al. 2021, the HumanEval estimator)."""
    if k > n:
        raise ValueError(f"k={k} exceeds n={n}")
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def majority(answers: list[str | None]) -> str | None:
    """Most frequent non-empty answer; ties go to the answer seen first."""
    counts = Counter(a for a in answers if a is not None)
    if not counts:
        return None
    best = max(counts.values())
    return next(a for a in answers if a is not None and counts[a] == best)
