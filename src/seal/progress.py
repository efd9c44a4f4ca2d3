"""Progress bars with ETA and throughput for long stages; silent in quiet mode or off a TTY."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

console = Console(stderr=True)
_QUIET = False


def set_quiet(quiet: bool) -> None:
    """Quiet: seal's bars and the Hugging Face libraries' (transformers' "Writing model
    shards", the hub's downloads) are off."""
    global _QUIET
    _QUIET = quiet
    if quiet:
        # read by huggingface_hub when it is first imported; transformers follows it
        os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
        if "transformers" in sys.modules:
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()


class _Bar:
    def __init__(self, progress: Progress | None, task_id: int | None):
        self.progress, self.task_id = progress, task_id
        self.tokens = 0
        self.start = time.perf_counter()

    def advance(self, n: float = 1, tokens: int = 0, note: str = "") -> None:
        self.tokens += tokens
        if self.progress is None or self.task_id is None:
            return
        rate = self.tokens / max(1e-9, time.perf_counter() - self.start)
        info = f"{rate:,.0f} tok/s" if self.tokens else ""
        self.progress.update(self.task_id, advance=n, info=" ".join(x for x in (info, note) if x))


@contextmanager
def progress_bar(label: str, total: float, unit: str = "", quiet: bool = False) -> Iterator[_Bar]:
    """A bar showing done/total, elapsed, ETA and tokens/s (when ``advance`` is given tokens)."""
    if quiet or _QUIET or not sys.stderr.isatty():
        yield _Bar(None, None)
        return
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f} " + unit),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"),
        console=console,
        transient=False,
    )
    with progress:
        task_id = progress.add_task(label, total=total, info="")
        yield _Bar(progress, task_id)
