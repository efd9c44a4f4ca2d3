"""The task interface shared by every benchmark: problems, prompts, answers, verification."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class Problem:
    """One task item. ``answer`` is the ground truth as a string; ``level`` (wordmath) or
    ``group`` (a benchmark's subject or subtask) groups results."""

    id: str
    question: str
    answer: str
    level: int | None = None
    solution: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    group: str | None = None


@runtime_checkable
class Task(Protocol):
    """What the sampler, critic, loop and evaluator need from a task."""

    name: str
    splits: tuple[str, ...]

    def problems(self, split: str, limit: int | None = None) -> list[Problem]:
        """Items of ``split`` in a fixed order; ``limit`` per level where the task has levels."""
        ...

    def prompt(self, problem: Problem, shots: int = 0) -> str:
        """The text the model continues; ``shots`` worked examples come first."""
        ...

    @property
    def stop(self) -> list[str]:
        """Strings that end a completion."""
        ...

    def extract(self, completion: str) -> str | None:
        """The final answer in a completion, or None."""
        ...

    def verify(self, problem: Problem, completion: str) -> bool:
        """Ground-truth check of a completion's final answer."""
        ...


@runtime_checkable
class ChoiceTask(Protocol):
    """A multiple-choice task scored by log-likelihood (lm-eval's ``multiple_choice``): the
    prediction is the choice whose continuation the model finds most likely."""

    name: str
    splits: tuple[str, ...]

    def problems(self, split: str, limit: int | None = None) -> list[Problem]: ...

    def prompt(self, problem: Problem, shots: int = 0) -> str: ...

    def choices(self, problem: Problem) -> list[str]:
        """Continuations to score after the prompt, e.g. ``[" A", " B", " C", " D"]``."""
        ...

    def gold(self, problem: Problem) -> int:
        """Index of the right choice."""
        ...


class TaskView:
    """A task seen differently in one respect (its splits, its shots): a subclass overrides
    that, and every other attribute is the wrapped task's own."""

    def __init__(self, task: Task):
        self._task = task

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # not yet set (a copy or unpickling): no recursion
            raise AttributeError(name)
        return getattr(self._task, name)
