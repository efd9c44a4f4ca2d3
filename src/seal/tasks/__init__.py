"""Task registry: one module per task, looked up by name."""

from __future__ import annotations

import inspect
from collections.abc import Callable

from seal.errors import SealError
from seal.tasks.base import Problem, Task

_REGISTRY: dict[str, Callable[..., Task]] = {}


def register(name: str) -> Callable[[Callable[..., Task]], Callable[..., Task]]:
    def wrap(factory: Callable[..., Task]) -> Callable[..., Task]:
        _REGISTRY[name] = factory
        return factory

    return wrap


def task_names() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)


SUBTASKS = {"bbh", "mmlu"}
"""Tasks that take ``name/subtask`` (``+`` joins several: ``mmlu/anatomy+astronomy``)."""


def get_task(name: str, **kwargs: object) -> Task:
    """Build the task ``name`` (or ``name/subtask``); an unknown name is a one-line error
    listing the known ones."""
    _load_builtin()
    if not isinstance(name, str):
        raise SealError(f"a task name is a string such as 'wordmath', got {name!r}")
    base, _, sub = name.partition("/")
    if base not in _REGISTRY:
        raise SealError(f"unknown task {base!r}; known tasks: {', '.join(sorted(_REGISTRY))}")
    if sub:
        if base not in SUBTASKS:
            raise SealError(f"task {base} has no subtasks (only {', '.join(sorted(SUBTASKS))})")
        kwargs["subtask"] = sub
    factory = _REGISTRY[base]
    takes = inspect.signature(factory).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in takes.values()):
        unknown = sorted(set(kwargs) - set(takes))
        if unknown:
            raise SealError(
                f"task {base} takes no {', '.join(unknown)}; it takes: {', '.join(takes)}"
            )
    try:
        return factory(**kwargs)
    except TypeError as err:  # a factory passing **kwargs on to its class
        if "unexpected keyword argument" not in str(err):
            raise
        raise SealError(f"task {base}: {err}") from None


def _load_builtin() -> None:
    # each module registers itself
    from seal.tasks import bbh, commonsense_qa, gsm8k, humaneval, mmlu, wordmath  # noqa: F401


__all__ = ["Problem", "Task", "get_task", "register", "task_names"]
