"""The four splits self-training reads (train, pool, validation, test), for any generated task.

``wordmath`` has all four. A benchmark has a train split and an evaluation split only
(GSM8K: train and test; CommonsenseQA: train and validation), so the critic's bootstrap
pool and the loop's validation set are carved out of the train split, by a hash of each
question: the same rows every time, on every machine, disjoint from the prompts trained
on, and the benchmark's own evaluation split stays the final test, untouched by any choice
the loop makes. A task with no train split (HumanEval, BBH) or with no written solutions to
judge (MMLU and plain CommonsenseQA: multiple choice, by log-likelihood) cannot be trained
on: one line says so, before any model loads.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from seal.errors import SealError
from seal.tasks import get_task
from seal.tasks.base import Problem, Task, TaskView
from seal.tasks.hub import take

LOOP_SPLITS = ("train", "pool", "validation", "test")
HELD_OUT = {"pool": 0, "validation": 1}
"""Hash buckets (of ``BUCKETS``) of a train split that become the pool and validation."""
BUCKETS = 20  # 5% pool, 5% validation: GSM8K's 7,473 train rows give ~370 of each
TRAINABLE = "wordmath, gsm8k, gsm8k_cot or commonsense_qa_cot"


def _bucket(question: str) -> int:
    return int.from_bytes(hashlib.sha256(question.encode("utf-8")).digest()[:8], "big") % BUCKETS


class CarvedSplits(TaskView):
    """A task seen through the loop's splits: ``pool`` and ``validation`` are 5% each of
    its train split (by question hash), ``train`` the rest, ``test`` its own evaluation
    split. Everything else (prompt, stop, extract, verify) is the task's own."""

    splits = LOOP_SPLITS

    def __init__(self, train: Task, test: Task):
        super().__init__(train)
        self._test = test
        self.test_split = test.default_split
        self._rows: list[Problem] | None = None

    def _train_rows(self) -> list[Problem]:
        if self._rows is None:
            self._rows = self._task.problems("train", None)
        return self._rows

    def problems(self, split: str, limit: int | None = None) -> list[Problem]:
        if split == "test":
            return self._test.problems(self.test_split, limit)
        if split not in LOOP_SPLITS:
            raise SealError(f"no split {split!r}; the loop reads {', '.join(LOOP_SPLITS)}")
        held = {v: k for k, v in HELD_OUT.items()}
        rows = [p for p in self._train_rows() if held.get(_bucket(p.question), "train") == split]
        return take(rows, limit)


def shared_questions(task: Task) -> list[str]:
    """The test questions that are also train rows (whitespace and case aside): a test that
    scores rows the loop may train on measures memory, not improvement."""

    def key(question: str) -> str:
        return " ".join(question.split()).casefold()

    train = {key(p.question) for split in LOOP_SPLITS[:-1] for p in task.problems(split)}
    return [p.question for p in task.problems("test") if key(p.question) in train]


def trainable_task(
    name: str,
    levels: list[int] | None = None,
    data: Path | None = None,
    test_data: Path | None = None,
) -> Task:
    """The task ``name`` with the loop's four splits (a benchmark's train rows from ``data``
    and test rows from ``test_data`` when given, else from the hub); a task that cannot be
    trained on is a one-line error naming those that can."""
    if name == "wordmath":
        if data is not None or test_data is not None:
            raise SealError(
                "wordmath makes its own problems; --data / --test-data are for benchmark "
                "tasks such as gsm8k_cot"
            )
        return get_task("wordmath", levels=levels)
    task = get_task(name, data=data, fewshot_data=data)  # shots from the same train rows
    if getattr(task, "kind", "generate") != "generate":
        raise SealError(
            f"self-training samples and judges written solutions; {name} is multiple choice, "
            f"scored by log-likelihood: train on {TRAINABLE} and evaluate {name} with "
            "`seal eval --policy RUN/final/policy`"
        )
    if "train" not in task.splits:
        raise SealError(
            f"self-training needs a train split; {name} has only {', '.join(task.splits)}: "
            f"train on {TRAINABLE} and evaluate {name} with `seal eval --policy "
            "RUN/final/policy`"
        )
    return CarvedSplits(task, get_task(name, data=test_data))


def check_splits(
    task: Task, splits: tuple[str, ...], data: Path | None = None, test_data: Path | None = None
) -> None:
    """Each of ``splits`` has a problem: the rows are read (hub or file) before a model loads,
    so a missing dataset or a file too small is one line, not a failure minutes in."""
    for split in splits:
        if not task.problems(split, 1):
            source = test_data if split == "test" else data
            where = str(source) if source else f"{task.name} ({split})"
            carved = " (5% of the train rows, by question hash: give more rows)"
            raise SealError(
                f"{where} gives no {split} problems{carved if split in HELD_OUT else ''}"
            )
