"""BIG-Bench Hard: 27 subtasks, 3-shot chain of thought, as lm-evaluation-harness runs it.

Prompt = the subtask's description + three worked exemplars + ``Q: ...\\nA: Let's think
step by step.\\n`` (exemplars shipped in ``assets/bbh_cot.json``, extracted from the
harness by ``scripts/extract_bbh_prompts.py``). The answer is what follows
``the answer is`` (minus the final character, the harness's regex), compared by exact match.
The aggregate is over all items (size-weighted); results by subtask are the groups.

Data: the hub's ``SaylorTwift/bbh`` (one config per subtask, split ``test``; the harness's
copy), or ``--data`` rows ``{"input", "target"[, "subtask"]}``.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path

from seal.errors import SealError
from seal.tasks import register
from seal.tasks.base import Problem
from seal.tasks.harness import exact_match, regex_extract
from seal.tasks.hub import load_rows, row_text, take

HUB_ID = "SaylorTwift/bbh"
ANSWER = r"(?<=the answer is )(.*)(?=.)"


@cache
def cot_prompts() -> dict[str, dict]:
    return json.loads(resources.files("seal.assets").joinpath("bbh_cot.json").read_text())


def subtask_names() -> list[str]:
    return sorted(cot_prompts())


class BBH:
    name = "bbh"
    splits = ("test",)
    default_split = "test"
    default_shots = 3
    kind = "generate"

    def __init__(self, subtask: str | None = None, data: Path | None = None, **_: object):
        known = cot_prompts()
        self.subtasks = subtask.split("+") if subtask else sorted(known)
        bad = [s for s in self.subtasks if s not in known]
        if bad:
            raise SealError(f"unknown BBH subtask {bad[0]!r}; known: {', '.join(sorted(known))}")
        self.data = data

    def problems(self, split: str, limit: int | None = None) -> list[Problem]:
        """``limit`` items per subtask."""
        out: list[Problem] = []
        if self.data is not None:
            rows = load_rows(HUB_ID, None, split, ("input", "target"), self.data)
            if len(self.subtasks) > 1 and any("subtask" not in r for r in rows):
                raise SealError(
                    f"{self.data}: rows need a 'subtask' field, or name one subtask "
                    "(--task bbh/<subtask>)"
                )
            for s in self.subtasks:
                mine = [r for r in rows if r.get("subtask", s) == s]
                out += self._make(s, take(mine, limit))
            return out
        for s in self.subtasks:
            out += self._make(s, take(load_rows(HUB_ID, s, split, ("input", "target")), limit))
        return out

    def _make(self, subtask: str, rows: list[dict]) -> list[Problem]:
        where = f"{self.data or HUB_ID}: {subtask} row"
        return [
            Problem(
                id=f"bbh/{subtask}/{i}",
                question=row_text(r["input"], "input", f"{where} {i + 1}"),
                answer=row_text(r["target"], "target", f"{where} {i + 1}", numbers=True),
                group=subtask,
            )
            for i, r in enumerate(rows)
        ]

    def description(self, problem: Problem) -> str:
        """The subtask's instruction the prompt starts with (a system turn when the prompt
        goes through a chat template, as in lm-eval)."""
        return cot_prompts()[problem.group or self.subtasks[0]]["description"]

    def prompt(self, problem: Problem, shots: int = 3) -> str:
        spec = cot_prompts()[problem.group or self.subtasks[0]]
        text = spec["doc_to_text"]
        parts = [self.description(problem)]
        for shot in spec["shots"][:shots]:
            parts.append(text.replace("{{input}}", shot["input"]) + shot["target"] + "\n\n")
        parts.append(text.replace("{{input}}", problem.question))
        return "".join(parts)

    @property
    def stop(self) -> list[str]:
        return ["</s>", "Q", "\n\n"]

    def extract(self, completion: str) -> str | None:
        found = regex_extract(completion, ANSWER)
        return None if found == "[invalid]" else found

    def verify(self, problem: Problem, completion: str) -> bool:
        return exact_match(regex_extract(completion, ANSWER), problem.answer)


@register("bbh")
def _bbh(**kwargs) -> BBH:
    return BBH(**kwargs)
