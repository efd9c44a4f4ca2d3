"""Keep up to k distinct candidates per prompt by score, without low scorers.

Distinct means a different text (whitespace aside): copies of the policy's favourite
solution teach it nothing, several different right paths do (STaR, ReST-EM, RFT).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from seal.metrics import majority


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
            key = " ".join(c.text.split())
            if c.score < min_score or key in seen_text:
                continue
            if max_per_answer is not None and per_answer[c.answer] >= max_per_answer:
                continue
            seen_text.add(key)
            per_answer[c.answer] += 1
            kept.append(c)
            if len(kept) == k:
                break
        if kept:
            out[pid] = kept
    return out


def rule_scores(rows: list[dict[str, Any]], rule: str) -> list[float]:
    """Each candidate row's score under a selection rule: ``critic`` (the row's ``score``),
    ``oracle`` (the verifier's label: STaR / RFT), ``majority`` (1 for the prompt's most
    common answer: self-consistency) or ``none`` (every candidate alike)."""
    if rule == "critic":
        return [float(x["score"]) for x in rows]
    if rule == "oracle":
        return [float(x["truth"]) for x in rows]
    if rule == "majority":
        answers: dict[str, list[str | None]] = defaultdict(list)
        for x in rows:
            answers[x["prompt_id"]].append(x["answer"])
        top = {pid: majority(a) for pid, a in answers.items()}
        return [
            float(top[x["prompt_id"]] is not None and x["answer"] == top[x["prompt_id"]])
            for x in rows
        ]
    if rule == "none":
        return [1.0] * len(rows)
    raise ValueError(f"unknown selection rule {rule!r}")


def select_rows(
    rows: list[dict[str, Any]],
    rule: str,
    k: int,
    min_score: float = 0.5,
    max_per_answer: int | None = None,
) -> list[dict[str, Any]]:
    """Candidate rows kept under ``rule``: up to ``k`` distinct texts per prompt, as rows
    with the prompt, text, answer, level, verifier label and the rule's score."""
    cands = [
        Candidate(x["prompt_id"], x["text"], x["answer"], s)
        for x, s in zip(rows, rule_scores(rows, rule), strict=True)
    ]
    row_of = {(x["prompt_id"], x["text"]): x for x in rows}
    keys = ("prompt_id", "level", "prompt", "text", "answer", "truth")
    return [
        {**{key: row_of[(pid, c.text)][key] for key in keys}, "score": c.score}
        for pid, cs in select_top_k(cands, k, min_score, max_per_answer).items()
        for c in cs
    ]
