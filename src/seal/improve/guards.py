"""Readings that warn of collapse and reward hacking, logged every iteration."""

from __future__ import annotations

import math
from collections import defaultdict


def diversity(
    prompt_ids: list[str], texts: list[str], answers: list[str | None]
) -> dict[str, float]:
    """Mean distinct answers per prompt, and distinct 3-grams / all 3-grams over all samples."""
    by_prompt: dict[str, set[str | None]] = defaultdict(set)
    for pid, a in zip(prompt_ids, answers, strict=True):
        by_prompt[pid].add(a)
    grams: list[tuple[str, ...]] = []
    for t in texts:
        words = t.split()
        grams += [tuple(words[i : i + 3]) for i in range(len(words) - 2)]
    return {
        "distinct_answers_per_prompt": sum(len(s) for s in by_prompt.values())
        / max(1, len(by_prompt)),
        "distinct_3grams": len(set(grams)) / max(1, len(grams)),
    }


def score_entropy(scores: list[float], bins: int = 10) -> float:
    """Entropy (bits) of the histogram of scores in [0, 1]; near 0 when rewards collapse."""
    counts = [0] * bins
    for s in scores:
        counts[min(bins - 1, max(0, int(s * bins)))] += 1
    n = sum(counts)
    return -sum(c / n * math.log2(c / n) for c in counts if c) if n else 0.0


def hacking_signal(history: list[dict[str, float]]) -> bool:
    """Critic's mean score rose while its audited accuracy fell, iteration over iteration."""
    if len(history) < 2:
        return False
    prev, cur = history[-2], history[-1]
    return (
        cur["mean_score"] > prev["mean_score"] + 0.02
        and cur["audit_accuracy"] < prev["audit_accuracy"] - 0.02
    )
