"""The task ``seal run`` improves on (``run.task``), with the loop's four splits
(``seal.tasks.carved``), checked before any model loads."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from seal.config import SealConfig
from seal.critic.pipeline import check_pool
from seal.data import check_file
from seal.errors import SealError
from seal.tasks import get_task
from seal.tasks.base import Task
from seal.tasks.carved import LOOP_SPLITS, check_splits, shared_questions, trainable_task
from seal.tasks.shots import with_shots


def run_task(cfg: SealConfig) -> Task:
    r = cfg.run
    return with_shots(trainable_task(r.task, cfg.eval.levels, r.data, r.test_data), r.shots)


def _check_held_out(task: Task, test_data: Path | None) -> None:
    shared = shared_questions(task)
    if shared:
        where = test_data or f"{task.name}'s test split"
        raise SealError(
            f"{len(shared)} test question(s) in {where} are also train rows (the first: "
            f"{shared[0][:60]!r}); the test would score rows the loop trains on: remove them"
        )


def check_run_task(
    cfg: SealConfig, stored_in: str | None = None, given: Collection[str] = ()
) -> Task:
    """Everything the loop will read from its task, read once before the model loads: an
    unknown task or level, a missing hub dataset, a bad data file, a split too small.
    ``stored_in``: the config file a resumed run read its data paths from (an error names
    the key there, not a flag the user did not type, unless ``given`` holds the key).
    Returns the task, its rows read, for the loop (``Loop(task=...)``) to use."""
    r = cfg.run
    for key, path in (("data", r.data), ("test_data", r.test_data)):
        if path is None:
            continue
        if not stored_in or f"run.{key}" in given:
            check_file(path, "--" + key.replace("_", "-"))
            continue
        try:
            check_file(path, f"run.{key}")
        except SealError as err:
            raise SealError(f"{err} (the path stored in {stored_in}; put the file back)") from None
    same = r.data is not None and r.test_data is not None
    if same and Path(r.data).resolve() == Path(r.test_data).resolve():
        raise SealError(
            f"--test-data {r.test_data} is the --data file: the test would score the rows "
            "the loop trains on; give held-out rows"
        )
    task = run_task(cfg)
    if r.task == "wordmath":
        get_task("wordmath", levels=r.train_levels)
    else:
        check_splits(task, LOOP_SPLITS, r.data, r.test_data)
        task.prompt(task.problems("pool", 1)[0])  # its shots: read, and allowed by the task
        if r.data is not None or r.test_data is not None:  # rows a user gathered: one source?
            _check_held_out(task, r.test_data)
    check_pool(cfg.critic, len(task.problems("pool", cfg.critic.problems_per_level)))
    return task
