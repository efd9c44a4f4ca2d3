"""The critic's calculator: does every equation a solution writes hold?

A learned judge is weakest exactly where the policy is (a small model that slips on
``57 + 77`` also misses the slip when judging). Tool-interactive critiquing (CRITIC, Gou et
al. 2023, arXiv 2305.11738) checks such claims with a tool instead. Every ``a op b = c`` in
a solution is recomputed exactly (``seal.tasks.wordmath.check_steps``: plain text or
GSM8K's ``<<48/2=24>>`` annotations alike); a solution with a false equation is judged bad
whatever the learned verdict, and does not vote in self-consistency. Solutions without
equations (code, multiple choice) pass unchanged.
"""

from __future__ import annotations

from seal.critic.model import Verdict
from seal.tasks.wordmath import check_steps


def arithmetic_holds(solution: str) -> bool:
    """False when an equation of the solution is false; True otherwise (none written too)."""
    return all(step.ok is not False for step in check_steps(solution))


def with_calculator(verdicts: list[Verdict], holds: list[bool]) -> list[Verdict]:
    """Verdicts with a failed calculation made a confident bad (p(good) 0)."""
    return [v if ok else Verdict(0.0, 0.0) for v, ok in zip(verdicts, holds, strict=True)]
