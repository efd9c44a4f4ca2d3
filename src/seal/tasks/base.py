"""The task interface shared by every benchmark: problems, prompts, answers, verification."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class Problem:
    """One task item. ``answer`` is the ground truth as a string; ``level`` groups results."""

    id: str
    question: str
    answer: str
    level: int | None = None
    solution: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


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
