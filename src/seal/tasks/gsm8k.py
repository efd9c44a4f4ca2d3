"""GSM8K (``openai/gsm8k``, main, 1,319 test problems) in lm-evaluation-harness's two forms.

- ``gsm8k``: ``Question: ...\\nAnswer:`` with ``shots`` worked solutions from the train split
  (the first ``shots``; the harness draws 5 at random with seed 1234), stop at
  ``Question:``; strict match = ``#### N``.
- ``gsm8k_cot``: the 8 chain-of-thought exemplars of Wei et al. (2022), ``Q: ...\\nA:``,
  stop at ``Q:``; strict match = ``The answer is N.``

Both report strict and flexible (last number) exact match exactly as the harness computes
them (``seal.tasks.harness``); ``verify`` (used for pass@k, maj@k and the loop) is the
flexible match.
"""

from __future__ import annotations

from pathlib import Path

from seal.errors import SealError
from seal.tasks import register
from seal.tasks.answers import extract_answer
from seal.tasks.base import Problem
from seal.tasks.harness import exact_match, regex_extract
from seal.tasks.hub import load_rows, row_text, shots_instead, take

HUB_ID, CONFIG = "openai/gsm8k", "main"
IGNORE = (",", r"\$", "(?s).*#### ", r"\.$")
FLEXIBLE = r"(-?[$0-9.,]{2,})|(-?[0-9]+)"

# Wei et al. (2022), as in lm-evaluation-harness gsm8k-cot.yaml.
COT_EXEMPLARS = [
    (
        "There are 15 trees in the grove. Grove workers will plant trees in the grove today. "
        "After they are done, there will be 21 trees. How many trees did the grove workers "
        "plant today?",
        "There are 15 trees originally. Then there were 21 trees after some more were "
        "planted. So there must have been 21 - 15 = 6. The answer is 6.",
    ),
    (
        "If there are 3 cars in the parking lot and 2 more cars arrive, how many cars are in "
        "the parking lot?",
        "There are originally 3 cars. 2 more cars arrive. 3 + 2 = 5. The answer is 5.",
    ),
    (
        "Leah had 32 chocolates and her sister had 42. If they ate 35, how many pieces do "
        "they have left in total?",
        "Originally, Leah had 32 chocolates. Her sister had 42. So in total they had 32 + 42 "
        "= 74. After eating 35, they had 74 - 35 = 39. The answer is 39.",
    ),
    (
        "Jason had 20 lollipops. He gave Denny some lollipops. Now Jason has 12 lollipops. "
        "How many lollipops did Jason give to Denny?",
        "Jason started with 20 lollipops. Then he had 12 after giving some to Denny. So he "
        "gave Denny 20 - 12 = 8. The answer is 8.",
    ),
    (
        "Shawn has five toys. For Christmas, he got two toys each from his mom and dad. How "
        "many toys does he have now?",
        "Shawn started with 5 toys. If he got 2 toys each from his mom and dad, then that is "
        "4 more toys. 5 + 4 = 9. The answer is 9.",
    ),
    (
        "There were nine computers in the server room. Five more computers were installed "
        "each day, from monday to thursday. How many computers are now in the server room?",
        "There were originally 9 computers. For each of 4 days, 5 more computers were added. "
        "So 5 * 4 = 20 computers were added. 9 + 20 is 29. The answer is 29.",
    ),
    (
        "Michael had 58 golf balls. On tuesday, he lost 23 golf balls. On wednesday, he lost "
        "2 more. How many golf balls did he have at the end of wednesday?",
        "Michael started with 58 golf balls. After losing 23 on tuesday, he had 58 - 23 = 35. "
        "After losing 2 more, he had 35 - 2 = 33 golf balls. The answer is 33.",
    ),
    (
        "Olivia has $23. She bought five bagels for $3 each. How much money does she have left?",
        "Olivia had 23 dollars. 5 bagels for 3 dollars each will be 5 x 3 = 15 dollars. So "
        "she has 23 - 15 dollars left. 23 - 15 is 8. The answer is 8.",
    ),
]


def _row(r: dict, where: str) -> tuple[str, str]:
    """A row's question and its worked answer (``... #### 42``; a bare number is taken)."""
    return row_text(r["question"], "question", where), row_text(
        r["answer"], "answer", where, numbers=True
    )


def _final(answer: str) -> str:
    return answer.split("####")[-1].strip()


class GSM8K:
    splits = ("train", "test")
    default_split = "test"
    kind = "generate"

    def __init__(
        self, cot: bool = False, data: Path | None = None, fewshot_data: Path | None = None
    ):
        self.cot = cot
        self.name = "gsm8k_cot" if cot else "gsm8k"
        self.default_shots = 8 if cot else 5
        self.data, self.fewshot_data = data, fewshot_data
        self._train: list[dict] | None = None
        self.strict = r"The answer is (\-?[0-9\.\,]+)." if cot else r"#### (\-?[0-9\.\,]+)"

    def problems(self, split: str, limit: int | None = None) -> list[Problem]:
        rows = load_rows(HUB_ID, CONFIG, split, ("question", "answer"), self.data)
        out = []
        for i, r in enumerate(take(rows, limit)):
            question, answer = _row(r, f"{self.data or HUB_ID}: row {i + 1}")
            out.append(
                Problem(
                    id=str(r.get("id", f"{self.name}-{split}-{i}")),
                    question=question,
                    answer=_final(answer),
                    solution=answer,
                )
            )
        return out

    def _shots(self, k: int) -> list[tuple[str, str]]:
        if k == 0:  # zero shots need no train split (and no hub)
            return []
        if self.cot:
            if k > len(COT_EXEMPLARS):
                raise SealError(
                    f"gsm8k_cot has {len(COT_EXEMPLARS)} chain-of-thought exemplars (lm-eval's); "
                    f"use --shots {len(COT_EXEMPLARS)} or fewer, not {k}"
                )
            return COT_EXEMPLARS[:k]
        if self._train is None:
            self._train = load_rows(
                HUB_ID,
                CONFIG,
                "train",
                ("question", "answer"),
                self.fewshot_data,
                shots_instead(self.name, k, "train"),
            )
        where = self.fewshot_data or f"{HUB_ID} train"
        return [_row(r, f"{where}: row {i + 1}") for i, r in enumerate(self._train[:k])]

    def prompt(self, problem: Problem, shots: int = 0) -> str:
        q, a = ("Q:", "A:") if self.cot else ("Question:", "Answer:")
        parts = [f"{q} {x}\n{a} {y}" for x, y in self._shots(shots)]
        parts.append(f"{q} {problem.question}\n{a}")
        return "\n\n".join(parts)

    @property
    def stop(self) -> list[str]:
        return ["Q:" if self.cot else "Question:", "</s>", "<|im_end|>"]

    def extract(self, completion: str) -> str | None:
        return extract_answer(completion)

    def scores(self, problem: Problem, completion: str) -> dict[str, bool]:
        """The harness's two metrics for one completion."""
        strict = regex_extract(completion, self.strict)
        flexible = regex_extract(completion, FLEXIBLE, group_select=-1)
        ref = problem.solution or problem.answer
        return {
            "strict_match": exact_match(strict, ref, IGNORE, ignore_case=True),
            "flexible_match": exact_match(flexible, ref, IGNORE, ignore_case=True),
        }

    def verify(self, problem: Problem, completion: str) -> bool:
        return self.scores(problem, completion)["flexible_match"]


@register("gsm8k")
def _plain(**kwargs) -> GSM8K:
    return GSM8K(cot=False, **kwargs)


@register("gsm8k_cot")
def _cot(**kwargs) -> GSM8K:
    return GSM8K(cot=True, **kwargs)
