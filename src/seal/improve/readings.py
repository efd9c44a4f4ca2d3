"""What one iteration records in ``iter-NN/metrics.json``: selection, training, critic,
guards, validation and the accept decision."""

from __future__ import annotations

import random
from typing import Any

from seal.critic.data import Trajectory
from seal.critic.train import within_problem_ranking
from seal.improve.frontier import Frontier
from seal.improve.guards import diversity, score_entropy


def selection_order(rows: list[dict[str, Any]]) -> dict[str, float | None]:
    """Within-problem order of the selection score (right above wrong solutions of the same
    prompt, by the verifier: measurement only), overall and by level."""
    trajs = [Trajectory(x["prompt_id"], "", x["text"], truth=x["truth"]) for x in rows]
    out = {"all": within_problem_ranking(trajs, [x["score"] for x in rows])}
    for lv in sorted({x["level"] for x in rows if x["level"] is not None}):
        idx = [i for i, x in enumerate(rows) if x["level"] == lv]
        out[str(lv)] = within_problem_ranking(
            [trajs[i] for i in idx], [rows[i]["score"] for i in idx]
        )
    return out


def iteration_metrics(
    it: int,
    frontier: Frontier,
    rows: list[dict[str, Any]],
    selected: list[dict[str, Any]],
    training: dict[str, Any],
    critic_update: dict[str, Any],
    validation: dict[str, Any],
    accepted: bool,
    audit_size: int,
    seed: int,
) -> dict[str, Any]:
    audit = random.Random(seed).sample(rows, min(audit_size, len(rows)))
    return {
        "iteration": it,
        "frontier": {"levels": frontier.levels, "reason": frontier.reason},
        "candidates": len(rows),
        "candidate_accuracy": sum(x["truth"] for x in rows) / max(1, len(rows)),
        "selected": len(selected),
        "selected_prompts": len({x["prompt_id"] for x in selected}),
        "selected_precision": sum(x["truth"] for x in selected) / max(1, len(selected)),
        "within_problem_order": selection_order(rows),
        **training,
        "critic_update": critic_update,
        "mean_score": sum(x["score"] for x in rows) / max(1, len(rows)),
        # the critic against the verifier on a small random subset (never trained on)
        "audit_accuracy": (
            sum(int(x["p_good"] >= 0.5) == x["truth"] for x in audit) / len(audit)
            if audit
            else None
        ),
        "guards": {
            **diversity(
                [x["prompt_id"] for x in rows],
                [x["text"] for x in rows],
                [x["answer"] for x in rows],
            ),
            "score_entropy_bits": score_entropy([x["score"] for x in rows]),
        },
        "validation": validation,
        "accepted": accepted,
    }
