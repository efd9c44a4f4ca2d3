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


def _cut(
    problems: list[Problem], limit: int | None, levels: list[int] | None, where: str
) -> list[Problem]:
    """A file's problems as a split's would be: only ``levels``, at most ``limit`` per level."""
    if levels is not None:
        if any(p.level is None for p in problems):
            raise SealError(f"{where}: --levels needs a level in every row")
        problems = [p for p in problems if p.level in levels]
    if limit is None:
        return problems
    seen: dict[int | None, int] = {}
    kept = []
    for p in problems:
        seen[p.level] = seen.get(p.level, 0) + 1
        if seen[p.level] <= limit:
            kept.append(p)
    return kept


def load_problems(
    task: Task,
    data: Path | None,
    split: str,
    limit: int | None,
    levels: list[int] | None = None,
) -> list[Problem]:
    """The problems to evaluate; an empty result is an error, not an empty report. A data
    file is cut by ``limit`` (per level) and ``levels`` like the task's own split."""
    if data is not None:
        problems = _cut(problems_from_jsonl(data), limit, levels, str(data))
        where = str(data) + (f" (levels {levels})" if levels is not None else "")
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
