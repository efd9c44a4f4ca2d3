"""CommonsenseQA (``tau/commonsense_qa``, validation: 1,221 questions, 5 choices).

- ``commonsense_qa``: lm-evaluation-harness's prompt ``Question: ...\\nA. ..\\n...E. ..\\n
  Answer:``, prediction = the most likely of `` A``..`` E`` (log-likelihood).
- ``commonsense_qa_cot``: the same question followed by ``Answer: Let's think step by
  step.``; the model reasons, and its answer is the letter after ``the answer is`` (else
  the last standalone letter A-E). Generative, so it takes samples, maj@k and the critic.

Data: the hub, or ``--data`` rows in the hub schema ``{"question", "choices": {"label",
"text"}, "answerKey"[, "id"]}``.
"""

from __future__ import annotations

import re
from pathlib import Path

from seal.errors import SealError
from seal.tasks import register
from seal.tasks.base import Problem
from seal.tasks.hub import load_rows, row_text, take

HUB_ID = "tau/commonsense_qa"
LETTERS = "ABCDE"
_SAID = re.compile(r"answer is[:\s]*\(?([A-E])\b")
_LETTER = re.compile(r"\b([A-E])\b")


class CommonsenseQA:
    splits = ("train", "validation")
    default_split = "validation"
    default_shots = 0

    def __init__(self, cot: bool = False, data: Path | None = None, **_: object):
        self.cot = cot
        self.name = "commonsense_qa_cot" if cot else "commonsense_qa"
        self.kind = "generate" if cot else "choice"
        self.data = data

    def problems(self, split: str, limit: int | None = None) -> list[Problem]:
        rows = load_rows(HUB_ID, None, split, ("question", "choices", "answerKey"), self.data)
        out = []
        for i, r in enumerate(take(rows, limit)):
            where = f"{self.data or HUB_ID}: row {i + 1}"
            choices = r["choices"]
            texts = choices.get("text") if isinstance(choices, dict) else None
            if not isinstance(texts, list) or len(texts) != 5:
                raise SealError(f"{where}: choices.text must be a list of 5 answers")
            if not isinstance(r["answerKey"], str) or r["answerKey"] not in tuple(LETTERS):
                raise SealError(f"{where}: answerKey must be one of A-E, got {r['answerKey']!r}")
            text = row_text(r["question"], "question", where).strip()
            question = f"Question: {text}\n" + "".join(
                f"{LETTERS[j]}. {t}\n" for j, t in enumerate(texts)
            )
            out.append(
                Problem(
                    id=str(r.get("id", f"csqa-{split}-{i}")),
                    question=question,
                    answer=r["answerKey"],
                )
            )
        return out

    def prompt(self, problem: Problem, shots: int = 0) -> str:
        if shots:
            raise SealError("commonsense_qa is zero-shot here (as in the harness); use --shots 0")
        return problem.question + ("Answer: Let's think step by step." if self.cot else "Answer:")

    # log-likelihood form
    def choices(self, problem: Problem) -> list[str]:
        return [f" {c}" for c in LETTERS]

    def gold(self, problem: Problem) -> int:
        return LETTERS.index(problem.answer)

    # generative (chain-of-thought) form
    @property
    def stop(self) -> list[str]:
        return ["\n\n", "Question:"]

    def extract(self, completion: str) -> str | None:
        said = _SAID.findall(completion)
        if said:
            return said[-1]
        letters = _LETTER.findall(completion)
        return letters[-1] if letters else None

    def verify(self, problem: Problem, completion: str) -> bool:
        return self.extract(completion) == problem.answer


@register("commonsense_qa")
def _csqa(**kwargs) -> CommonsenseQA:
    return CommonsenseQA(cot=False, **kwargs)


@register("commonsense_qa_cot")
def _csqa_cot(**kwargs) -> CommonsenseQA:
    return CommonsenseQA(cot=True, **kwargs)
