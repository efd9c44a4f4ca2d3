"""For the report: a few prompts' selected and rejected candidates with the critic's step
scores (a few dozen extra critic calls per iteration)."""

from __future__ import annotations

from typing import Any

from seal.critic.model import Critic
from seal.tasks.base import Problem


def report_examples(
    critic: Critic,
    problems: list[Problem],
    rows: list[dict[str, Any]],
    selected: list[dict[str, Any]],
    prompts: int = 3,
) -> list[dict[str, Any]]:
    chosen = {(x["prompt_id"], x["text"]) for x in selected}
    by_prompt: dict[str, list[dict[str, Any]]] = {}
    for x in rows:
        by_prompt.setdefault(x["prompt_id"], []).append(x)
    out = []
    for p in problems[:: max(1, len(problems) // prompts)][:prompts]:
        xs = sorted(by_prompt.get(p.id, []), key=lambda x: -x["score"])
        sel = [x for x in xs if (p.id, x["text"]) in chosen][:2]
        rej = [x for x in xs if (p.id, x["text"]) not in chosen]
        picked = sel + rej[:1] + rej[-1:] if len(rej) > 1 else sel + rej
        if not picked:
            continue
        steps = critic.score_steps([p.question] * len(picked), [x["text"] for x in picked])
        out.append(
            {
                "question": p.question,
                "candidates": [
                    {
                        "text": x["text"],
                        "score": x["score"],
                        "truth": x["truth"],
                        "selected": (p.id, x["text"]) in chosen,
                        "steps": st,
                    }
                    for x, st in zip(picked, steps, strict=True)
                ],
            }
        )
    return out
