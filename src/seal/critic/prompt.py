"""Judge prompts and the two label tokens the critic's verdict is read from."""

from __future__ import annotations

from dataclasses import dataclass

from transformers import PreTrainedTokenizerBase

from seal.errors import SealError

LABEL_CANDIDATES: tuple[tuple[str, str], ...] = (
    (" good", " bad"),
    (" Yes", " No"),
    (" yes", " no"),
    ("1", "0"),
)
"""First pair whose words are one token each wins: words for big vocabularies, digits for the
embedded model's arithmetic vocabulary."""

TEMPLATES: tuple[str, ...] = (
    "Question: {question}\nAnswer:{solution}\nIs this solution correct? Reply {good} or {bad}."
    "\nVerdict:",
    "Problem: {question}\nProposed solution:{solution}\nJudge the solution: {good} if it is "
    "right, {bad} if not.\nVerdict:",
)
"""Paraphrases of the judge question; the second serves the consistency penalty."""

STEP_TEMPLATE = (
    "Question: {question}\nAnswer:{solution}\nIs the last step correct? Reply {good} or {bad}."
    "\nVerdict:"
)


@dataclass(frozen=True)
class Labels:
    good: str
    bad: str
    good_id: int
    bad_id: int


def label_tokens(tokenizer: PreTrainedTokenizerBase) -> Labels:
    """The first candidate pair that the tokenizer encodes as two distinct single tokens."""
    for good, bad in LABEL_CANDIDATES:
        g = tokenizer(good, add_special_tokens=False)["input_ids"]
        b = tokenizer(bad, add_special_tokens=False)["input_ids"]
        if len(g) == 1 and len(b) == 1 and g != b:
            return Labels(good.strip(), bad.strip(), g[0], b[0])
    raise SealError(
        "the tokenizer has no single-token label pair for the critic (tried good/bad, "
        "Yes/No, yes/no, 1/0)"
    )


def judge_prompt(question: str, solution: str, labels: Labels, template: int = 0) -> str:
    solution = solution if solution.startswith((" ", "\n")) else " " + solution
    return TEMPLATES[template].format(
        question=question, solution=solution, good=labels.good, bad=labels.bad
    )


def step_prompt(question: str, partial: str, labels: Labels) -> str:
    partial = partial if partial.startswith((" ", "\n")) else " " + partial
    return STEP_TEMPLATE.format(
        question=question, solution=partial, good=labels.good, bad=labels.bad
    )
