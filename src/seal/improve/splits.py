"""The task ``seal run`` improves on (``run.task``), with the loop's four splits
(``seal.tasks.carved``), checked before any model loads."""

from __future__ import annotations

from seal.config import SealConfig
from seal.data import check_file
from seal.tasks import get_task
from seal.tasks.base import Task
from seal.tasks.carved import LOOP_SPLITS, check_splits, trainable_task


def run_task(cfg: SealConfig) -> Task:
    r = cfg.run
    return trainable_task(r.task, cfg.eval.levels, r.data, r.test_data)


def check_run_task(cfg: SealConfig) -> None:
    """Everything the loop will read from its task, read once before the model loads: an
    unknown task or level, a missing hub dataset, a bad data file, a split too small."""
    r = cfg.run
    for option, path in (("--data", r.data), ("--test-data", r.test_data)):
        if path is not None:
            check_file(path, option)
    task = run_task(cfg)
    if r.task == "wordmath":
        get_task("wordmath", levels=r.train_levels)
        return
    check_splits(task, LOOP_SPLITS, r.data, r.test_data)
