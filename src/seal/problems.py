"""Where evaluation problems come from: a task's own split, or a user's JSONL file."""

from __future__ import annotations

from pathlib import Path

from seal.data import iter_jsonl
from seal.errors import SealError
from seal.tasks.base import Problem, Task


def problems_from_jsonl(path: Path) -> list[Problem]:
    """Rows ``{"question", "answer"[, "id", "level", "solution"]}``; one-line errors per bad row."""
    problems = []
    for i, (lineno, row) in enumerate(iter_jsonl(path, required=("question", "answer"))):
        level = row.get("level")
        if level is not None and not isinstance(level, int):
            raise SealError(f"{path}:{lineno}: level must be an integer, got {level!r}")
        problems.append(
            Problem(
                id=str(row.get("id", f"{Path(path).stem}-{i}")),
                question=str(row["question"]),
                answer=str(row["answer"]),
                level=level,
                solution=row.get("solution"),
            )
        )
    return problems


def load_problems(task: Task, data: Path | None, split: str, limit: int) -> list[Problem]:
    """The problems to evaluate; an empty result is an error, not an empty report."""
    if data is not None:
        problems = problems_from_jsonl(data)
        where = str(data)
    else:
        if split not in task.splits:
            raise SealError(
                f"task {task.name} has no split {split!r}; splits: {', '.join(task.splits)}"
            )
        problems = task.problems(split, limit)
        where = f"split {split!r} of task {task.name}"
    if not problems:
        raise SealError(f"{where} has no problems")
    return problems
