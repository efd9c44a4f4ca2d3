"""Self-consistency as a confidence signal: how many of a prompt's samples reach the same
answer, and verdicts sharpened by it (used for self-labels and for the loop's selection)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict

from seal.critic.data import Trajectory
from seal.critic.model import Verdict, two_way_entropy


def vote_share(
    trajs: list[Trajectory], votes: list[bool] | None = None, among_voters: bool = False
) -> list[float]:
    """Share of each trajectory's prompt's samples that reach the same answer (0 without one).
    With ``votes``, only the samples marked True vote (e.g. only solutions whose arithmetic
    holds); the others get 0 and count in the denominator, unless ``among_voters``: then an
    answer's share is of the prompt's voting samples alone (two of three checked samples
    agreeing is 2/3, however many others failed the checks)."""
    if votes is None:
        votes = [True] * len(trajs)
    by_problem: dict[str, Counter] = defaultdict(Counter)
    total: Counter = Counter()
    for t, vote in zip(trajs, votes, strict=True):
        total[t.problem_id] += int(vote or not among_voters)
        if vote:
            by_problem[t.problem_id][t.answer] += 1
    return [
        0.0
        if t.answer is None or not vote
        else by_problem[t.problem_id][t.answer] / total[t.problem_id]
        for t, vote in zip(trajs, votes, strict=True)
    ]


def with_votes(verdicts: list[Verdict], shares: list[float], weight: float) -> list[Verdict]:
    """Verdicts sharpened by self-consistency: log-odds of p(good) plus ``weight`` x
    (2 x vote share - 1), so an answer most samples agree on leans good, a lone one bad,
    and a 50/50 split leaves the critic's verdict as it is. ``weight`` 0 changes nothing."""
    if weight == 0:
        return verdicts
    out = []
    for v, share in zip(verdicts, shares, strict=True):
        p = min(max(v.p_good, 1e-9), 1 - 1e-9)
        q = 1 / (1 + math.exp(-(math.log(p / (1 - p)) + weight * (2 * share - 1))))
        out.append(Verdict(q, two_way_entropy(q)))
    return out
