"""Keep the top-k candidates per prompt by score, without duplicates or low scorers."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    prompt_id: str
    text: str
    answer: str | None
    score: float


def select_top_k(
    candidates: list[Candidate],
    k: int,
    min_score: float = 0.5,
    max_per_answer: int | None = None,
) -> dict[str, list[Candidate]]:
    """Per prompt: drop exact duplicate texts, drop scores under ``min_score``, allow at most
    ``max_per_answer`` candidates with the same final answer, keep the best ``k``. Prompts with
    nothing left are absent from the result."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    by_prompt: dict[str, list[Candidate]] = defaultdict(list)
    for c in candidates:
        by_prompt[c.prompt_id].append(c)
    out: dict[str, list[Candidate]] = {}
    for pid, cands in by_prompt.items():
        seen_text: set[str] = set()
        per_answer: dict[str | None, int] = defaultdict(int)
        kept: list[Candidate] = []
        for c in sorted(cands, key=lambda c: -c.score):
            if c.score < min_score or c.text.strip() in seen_text:
                continue
            if max_per_answer is not None and per_answer[c.answer] >= max_per_answer:
                continue
            seen_text.add(c.text.strip())
            per_answer[c.answer] += 1
            kept.append(c)
            if len(kept) == k:
                break
        if kept:
            out[pid] = kept
    return out
