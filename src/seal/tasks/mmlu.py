"""MMLU (``cais/mmlu``): 57 subjects, 4 choices, scored by log-likelihood of the answer letter.

The prompt is lm-evaluation-harness's: ``The following are multiple choice questions (with
answers) about <subject>.\\n\\n``, then ``shots`` solved questions from the subject's
``dev`` split (the first ones, as the harness's ``first_n`` sampler), then the question
with ``A. .. D.`` and ``Answer:``. The prediction is the most likely of `` A``..`` D``.
Accuracy is micro-averaged over all questions and within the four groups of the harness
(stem, humanities, social sciences, other); results by subject are kept too.

Data: the hub (one config per subject; ``test`` to evaluate, ``dev`` for shots), or
``--data`` rows ``{"question", "subject", "choices", "answer"}`` (``answer`` an index 0-3 or
a letter) with shots from ``--fewshot-data`` rows of the same schema.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from seal.errors import SealError
from seal.tasks import register
from seal.tasks.base import Problem
from seal.tasks.hub import FILE_INSTEAD, load_rows, shots_instead, take

HUB_ID = "cais/mmlu"
LETTERS = "ABCD"
FIELDS = ("question", "subject", "choices", "answer")

# Subject -> group, as in lm-evaluation-harness (tasks/mmlu/_generate_configs.py).
SUBJECTS = {
    "abstract_algebra": "stem",
    "anatomy": "stem",
    "astronomy": "stem",
    "business_ethics": "other",
    "clinical_knowledge": "other",
    "college_biology": "stem",
    "college_chemistry": "stem",
    "college_computer_science": "stem",
    "college_mathematics": "stem",
    "college_medicine": "other",
    "college_physics": "stem",
    "computer_security": "stem",
    "conceptual_physics": "stem",
    "econometrics": "social_sciences",
    "electrical_engineering": "stem",
    "elementary_mathematics": "stem",
    "formal_logic": "humanities",
    "global_facts": "other",
    "high_school_biology": "stem",
    "high_school_chemistry": "stem",
    "high_school_computer_science": "stem",
    "high_school_european_history": "humanities",
    "high_school_geography": "social_sciences",
    "high_school_government_and_politics": "social_sciences",
    "high_school_macroeconomics": "social_sciences",
    "high_school_mathematics": "stem",
    "high_school_microeconomics": "social_sciences",
    "high_school_physics": "stem",
    "high_school_psychology": "social_sciences",
    "high_school_statistics": "stem",
    "high_school_us_history": "humanities",
    "high_school_world_history": "humanities",
    "human_aging": "other",
    "human_sexuality": "social_sciences",
    "international_law": "humanities",
    "jurisprudence": "humanities",
    "logical_fallacies": "humanities",
    "machine_learning": "stem",
    "management": "other",
    "marketing": "other",
    "medical_genetics": "other",
    "miscellaneous": "other",
    "moral_disputes": "humanities",
    "moral_scenarios": "humanities",
    "nutrition": "other",
    "philosophy": "humanities",
    "prehistory": "humanities",
    "professional_accounting": "other",
    "professional_law": "humanities",
    "professional_medicine": "other",
    "professional_psychology": "social_sciences",
    "public_relations": "social_sciences",
    "security_studies": "social_sciences",
    "sociology": "social_sciences",
    "us_foreign_policy": "social_sciences",
    "virology": "other",
    "world_religions": "humanities",
}


def _answer_index(value: object, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 4:
        return value
    if isinstance(value, str) and value.strip().upper() in tuple(LETTERS):  # one letter
        return LETTERS.index(value.strip().upper())
    raise SealError(f"{where}: answer must be 0-3 or A-D, got {value!r}")


def _question(row: dict) -> str:
    choices = row["choices"]
    lines = [str(row["question"]).strip()]
    lines += [f"{LETTERS[i]}. {c}" for i, c in enumerate(choices)]
    return "\n".join(lines) + "\nAnswer:"


class MMLU:
    name = "mmlu"
    splits = ("test", "validation", "dev")
    default_split = "test"
    default_shots = 5
    kind = "choice"

    def __init__(
        self,
        subtask: str | None = None,
        data: Path | None = None,
        fewshot_data: Path | None = None,
        **_: object,
    ):
        self.subjects = subtask.split("+") if subtask else sorted(SUBJECTS)
        for s in self.subjects:
            if s not in SUBJECTS and s not in {"stem", "humanities", "social_sciences", "other"}:
                raise SealError(
                    f"unknown MMLU subject {s!r}; use one of the 57 subjects "
                    f"({', '.join(sorted(SUBJECTS)[:3])}, ...) or a group (stem, humanities, "
                    "social_sciences, other)"
                )
        groups = {s for s in self.subjects if s not in SUBJECTS}
        self.subjects = [s for s in self.subjects if s in SUBJECTS] + sorted(
            k for k, g in SUBJECTS.items() if g in groups
        )
        self.data, self.fewshot_data = data, fewshot_data
        self._dev: dict[str, list[dict]] | None = None

    def _rows(
        self, split: str, path: Path | None, instead: str = FILE_INSTEAD
    ) -> dict[str, list[dict]]:
        by_subject: dict[str, list[dict]] = defaultdict(list)
        if path is not None:
            for i, r in enumerate(load_rows(HUB_ID, None, split, FIELDS, path), start=1):
                if not isinstance(r["subject"], str) or r["subject"] not in SUBJECTS:
                    raise SealError(f"{path}: row {i}: unknown subject {r['subject']!r}")
                if not isinstance(r["choices"], list) or len(r["choices"]) != 4:
                    raise SealError(f"{path}: row {i}: choices must be a list of 4")
                _answer_index(r["answer"], f"{path}: row {i}")
                by_subject[r["subject"]].append(r)
        else:
            for s in self.subjects:
                by_subject[s] = load_rows(HUB_ID, s, split, FIELDS, None, instead)
        return by_subject

    def problems(self, split: str, limit: int | None = None) -> list[Problem]:
        """``limit`` questions per subject."""
        rows = self._rows(split, self.data)
        out = []
        for s in self.subjects:
            for i, r in enumerate(take(rows.get(s, []), limit)):
                gold = _answer_index(r["answer"], f"{s} row {i + 1}")
                out.append(
                    Problem(
                        id=f"mmlu/{s}/{i}",
                        question=_question(r),
                        answer=LETTERS[gold],
                        group=s,
                        meta={"category": SUBJECTS[s]},
                    )
                )
        return out

    def description(self, problem: Problem) -> str:
        """The header the prompt starts with (lm-eval's ``description``: a system turn when
        the prompt goes through a chat template)."""
        subject = problem.group or ""
        return (
            "The following are multiple choice questions (with answers) about "
            f"{' '.join(subject.split('_'))}.\n\n"
        )

    def prompt(self, problem: Problem, shots: int = 0) -> str:
        subject = problem.group or ""
        head = self.description(problem)
        parts = []
        if shots:
            if self._dev is None:
                self._dev = self._rows(
                    "dev", self.fewshot_data, shots_instead("mmlu", shots, "dev")
                )
            dev = self._dev.get(subject, [])
            if len(dev) < shots:
                raise SealError(
                    f"MMLU {subject}: {shots} shots asked, {len(dev)} dev questions available"
                )
            for r in dev[:shots]:
                parts.append(
                    _question(r) + " " + LETTERS[_answer_index(r["answer"], subject)] + "\n\n"
                )
        return head + "".join(parts) + problem.question

    def choices(self, problem: Problem) -> list[str]:
        return [f" {c}" for c in LETTERS]

    def gold(self, problem: Problem) -> int:
        return LETTERS.index(problem.answer)

    def category(self, problem: Problem) -> str:
        return SUBJECTS[problem.group or ""]


@register("mmlu")
def _mmlu(**kwargs) -> MMLU:
    return MMLU(**kwargs)
