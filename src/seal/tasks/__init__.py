"""Task registry: one module per task, looked up by name."""

from __future__ import annotations

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


def get_task(name: str, **kwargs: object) -> Task:
    """Build the task ``name``; an unknown name is a one-line error listing the known ones."""
    _load_builtin()
    if name not in _REGISTRY:
        raise SealError(f"unknown task {name!r}; known tasks: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name](**kwargs)


def _load_builtin() -> None:
    from seal.tasks import wordmath  # noqa: F401  (registers itself)


__all__ = ["Problem", "Task", "get_task", "register", "task_names"]
