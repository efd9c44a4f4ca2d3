"""The critic's calculator: does every equation a solution writes hold?

A learned judge is weakest exactly where the policy is (a small model that slips on
``57 + 77`` also misses the slip when judging). Tool-interactive critiquing (CRITIC, Gou et
al. 2023, arXiv 2305.11738) checks such claims with a tool instead. Every ``a op b = c`` in
a solution is recomputed exactly (``seal.tasks.wordmath.check_steps``: plain text or
GSM8K's ``<<48/2=24>>`` annotations alike); a solution with a false equation is judged bad
whatever the learned verdict, and does not vote in self-consistency. Solutions without
equations (code, multiple choice) pass unchanged, and so does what is not plain arithmetic
(algebra, mixed numbers, clock times): on GSM8K's gold test solutions it vetoes 5 of 1,319
(0.4%; 154 before it read ``$``, ``.5`` and ``−`` and skipped algebra): one a true slip of
the annotators (``$32 - $20 = $300``), the rest forms it still misreads (a running sum
written as one chain, ``(1/2) 278``).

A solution can also be wrong with every equation true: it skips a step. The calculator
therefore also checks that every quantity the question states is used: each number of the
question appears in the solution's working, before its final answer (``uses_every_quantity``;
``critic.coverage``). A wrong level-5 wordmath sample that passed the calculator left a
question number unused in 87 of 177 cases, a right one in 1 of 340 (BENCHMARKS.md).

Where a question states each quantity for a step of its own (wordmath: one sentence, one
operation), a count is stricter: each quantity must be a *fresh operand* of its own, a
number an equation computes with that no earlier equation produced
(``uses_each_quantity``). A solution that loses its place and skips the last sentence
passes the plain check whenever that sentence's number appears anywhere else (``2``,
``5``, a result that happens to equal it); the count catches it. On 3,840 level-6 loop
candidates passing the calculator and the plain check it vetoed 338 of 666 wrong ones and
5 of 967 right ones (each right by luck: a skipped step and a second slip cancelling). It
is not for free-form solutions: GSM8K's gold ones reuse a stated number for two purposes
and restate results, and the count vetoes 18% of its test split (the plain check 9.4%;
``benchmarks/calculator_gold.py``), so ``critic.coverage`` ``auto`` counts only for tasks
that say every stated quantity enters one operation.
"""

from __future__ import annotations

import re
from collections import Counter

from seal.critic.model import Verdict
from seal.tasks.wordmath import check_steps


def arithmetic_holds(solution: str) -> bool:
    """False when an equation of the solution is false; True otherwise (none written too)."""
    return all(step.ok is not False for step in check_steps(solution))


_NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?:/(\d+))?(\s*%|\s+percent)?")


def _values(text: str) -> set[float]:
    """Every number written in ``text`` (``1,200`` is 1200; ``3/4`` gives 3, 4 and 0.75)."""
    out: set[float] = set()
    for group in _quantities(text):
        out |= group
    return out


def _quantities(text: str) -> list[set[float]]:
    """Each quantity ``text`` states, as the values a solution may write for it: a
    percentage ``p%`` as p, p/100, 100 - p or (100 - p)/100; a fraction ``a/b`` as a, b or
    its value."""
    found = []
    for m in _NUMBER.finditer(text):
        v = float(m.group(1).replace(",", "") + (m.group(2) or ""))
        group = {v}
        if m.group(3) and float(m.group(3)):
            group |= {float(m.group(3)), v / float(m.group(3))}
        if m.group(4):
            group |= {v / 100, 100 - v, (100 - v) / 100}
        found.append({round(x, 6) for x in group})
    return found


def uses_every_quantity(question: str, solution: str) -> bool:
    """False when a quantity the question states appears nowhere in the solution's working
    (the text before GSM8K's ``####`` answer marker); True otherwise, and for solutions that
    write no equation (code, multiple choice), where numbers need not be restated."""
    working = solution.split("####", 1)[0]
    if not any(step.equations for step in check_steps(working)):
        return True
    written = _values(working)
    return all(group & written for group in _quantities(question))


_OPERAND = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?|(?<![\w.])\.\d+")


def fresh_operands(working: str) -> Counter[float]:
    """Operands of the working's equations that no earlier equation produced (a result
    used again is carried, once per time it was produced), counted."""
    produced: Counter[float] = Counter()
    fresh: Counter[float] = Counter()
    for step in check_steps(working):
        for eq in step.equations:
            for token in _OPERAND.findall(eq.text.rsplit("=", 1)[0]):
                v = round(float(token.replace(",", "")), 6)
                if produced[v]:
                    produced[v] -= 1
                else:
                    fresh[v] += 1
            produced[round(float(eq.claimed), 6)] += 1
    return fresh


def uses_each_quantity(question: str, solution: str) -> bool:
    """False unless each quantity the question states (counted: ``5 boxes`` twice is two)
    is a fresh operand of its own in the solution's working (``fresh_operands``); True for
    solutions that write no equation, as ``uses_every_quantity``."""
    working = solution.split("####", 1)[0]
    if not any(step.equations for step in check_steps(working)):
        return True
    operands = [v for v, n in fresh_operands(working).items() for _ in range(n)]
    return _matched(_quantities(question), operands)


def _matched(groups: list[set[float]], operands: list[float]) -> bool:
    """Can each group take an operand of its own (a value in the group)? A bipartite
    matching (Kuhn's augmenting paths): ``20%`` may be written 80 or 20, and must not take
    the 20 another sentence needs."""
    owner: list[int | None] = [None] * len(operands)

    def place(g: int, seen: set[int]) -> bool:
        for i, v in enumerate(operands):
            if v in groups[g] and i not in seen:
                seen.add(i)
                if owner[i] is None or place(owner[i], seen):  # type: ignore[arg-type]
                    owner[i] = g
                    return True
        return False

    return all(place(g, set()) for g in range(len(groups)))


def covers_quantities(question: str, solution: str, rule: str) -> bool:
    """``critic.coverage`` resolved to a rule: ``each`` (``uses_each_quantity``), ``any``
    (``uses_every_quantity``) or ``off`` (always True)."""
    if rule == "each":
        return uses_each_quantity(question, solution)
    if rule == "any":
        return uses_every_quantity(question, solution)
    return True


def with_calculator(verdicts: list[Verdict], holds: list[bool]) -> list[Verdict]:
    """Verdicts with a failed calculation made a confident bad (p(good) 0)."""
    return [v if ok else Verdict(0.0, 0.0) for v, ok in zip(verdicts, holds, strict=True)]
