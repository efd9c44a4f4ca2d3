"""Where evaluation problems come from: a task's own split, or a user's JSONL/Parquet file."""

from __future__ import annotations

from pathlib import Path

from seal.errors import SealError
from seal.tasks.base import Problem, Task
from seal.tasks.hub import iter_rows, row_text


def problems_from_file(path: Path) -> list[Problem]:
    """Rows ``{"question", "answer"[, "id", "level", "solution"]}`` of a JSONL or Parquet
    file; a bad row (a null question, a non-integer level, an id seen before) is a
    one-line error naming its line."""
    problems = []
    seen: dict[str, str] = {}
    for i, (where, row) in enumerate(iter_rows(path, required=("question", "answer"))):
        level = row.get("level")
        if level is not None and (not isinstance(level, int) or isinstance(level, bool)):
            raise SealError(f"{where}: level must be an integer, got {level!r}")
        raw_id = row.get("id")
        if raw_id is not None and (isinstance(raw_id, bool) or not isinstance(raw_id, str | int)):
            raise SealError(f"{where}: id must be a string or an integer, got {raw_id!r}")
        pid = f"{Path(path).stem}-{i}" if raw_id is None else str(raw_id)
        if pid in seen:
            raise SealError(f"{where}: id {pid!r} already used at {seen[pid]}; ids must differ")
        seen[pid] = where
        solution = row.get("solution")
        if solution is not None and not isinstance(solution, str):
            raise SealError(f"{where}: solution must be a string, got {type(solution).__name__}")
        problems.append(
            Problem(
                id=pid,
                question=row_text(row["question"], "question", where),
                answer=row_text(row["answer"], "answer", where, numbers=True),
                level=level,
                solution=solution,
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
        problems = _cut(problems_from_file(data), limit, levels, str(data))
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
