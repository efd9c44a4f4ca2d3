"""Rows of a standard benchmark: from the Hugging Face hub, or from a local file in its schema.

``load_rows`` is the one place a benchmark task gets data. With ``path`` it reads JSONL or
Parquet (the hub's own export format) and checks every row for the fields the task needs,
naming file and line (or row) on a bad one. Without it, ``datasets.load_dataset`` fetches
the hub dataset (install ``seal-lm[hub]``); any failure there is one line that says to pass
``--data`` instead.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from seal.data import check_file, iter_jsonl
from seal.errors import SealError

FILE_INSTEAD = (
    "give the rows as a file instead (--data FILE, JSONL or Parquet in the hub's schema; "
    "`seal run --test-data` for a run's test rows)"
)


def shots_instead(task: str, shots: int, split: str) -> str:
    """What to give when the split a task's worked examples come from cannot be loaded."""
    return (
        f"{task}'s {shots} worked examples come from its {split} split: give that split as a "
        "file (--fewshot-data FILE, JSONL or Parquet in the hub's schema), --shots 0,"
    )


def _read_parquet(path: Path) -> list[dict[str, Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise SealError(f"{path}: reading Parquet needs pyarrow (pip install pyarrow)") from None
    try:
        return pq.read_table(path).to_pylist()
    except Exception as err:  # noqa: BLE001 - any reader failure is a bad file
        raise SealError(f"{path}: not a readable Parquet file ({err})") from None


def iter_rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(where, row)`` for each row of a local JSONL or Parquet file, every row holding
    ``required``; ``where`` names the file and line (JSONL) or row (Parquet) for errors."""
    path = Path(path)
    check_file(path, "data file")
    if path.suffix.lower() != ".parquet":
        for lineno, row in iter_jsonl(path, required):
            yield f"{path}:{lineno}", row
        return
    for i, row in enumerate(_read_parquet(path), start=1):
        missing = [k for k in required if k not in row]
        if missing:
            raise SealError(f"{path}: row {i}: missing field(s) {', '.join(missing)}")
        yield f"{path}: row {i}", row


def row_text(value: Any, field: str, where: str, numbers: bool = False) -> str:
    """A row's text field: a non-empty string (or, for ``numbers``, an int or float)."""
    if isinstance(value, str) and value.strip():
        return value
    finite = isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))
    if numbers and finite and not isinstance(value, bool):
        return str(value)
    kind = "an empty string" if isinstance(value, str) else repr(value)
    want = "a non-empty string or a number" if numbers else "a non-empty string"
    raise SealError(f"{where}: {field} must be {want}, got {kind}")


def read_rows(path: Path, required: tuple[str, ...]) -> list[dict[str, Any]]:
    """A local JSONL or Parquet file whose rows all hold ``required``."""
    return [row for _, row in iter_rows(path, required)]


def load_rows(
    hub_id: str,
    config: str | None,
    split: str,
    required: tuple[str, ...],
    path: Path | None = None,
    instead: str = FILE_INSTEAD,
) -> list[dict[str, Any]]:
    """Rows of ``split`` of ``hub_id`` (``config``), or of the file at ``path``; ``instead``
    ends a hub failure's message with what to give in its place."""
    if path is not None:
        return read_rows(path, required)
    from seal.offline import offline_reason

    offline = offline_reason()  # unreachable: cache only, so a missing data set fails at once
    try:
        import datasets
    except ImportError:
        raise SealError(
            f"loading {hub_id} needs the `datasets` package (pip install 'seal-lm[hub]'), "
            "or pass --data FILE (JSONL or Parquet in the hub's schema)"
        ) from None
    try:
        ds = datasets.load_dataset(hub_id, config, split=split)
    except Exception as err:  # noqa: BLE001 - offline, unknown config, ...: all one message
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise SealError(
            f"could not load {hub_id}"
            + (f" ({config})" if config else "")
            + f" split {split!r} from the hub"
            + (f" (offline: {offline})" if offline else "")
            + f": {first[:200]}; {instead} or fill the hub cache where the hub is reachable"
        ) from None
    rows = [dict(r) for r in ds]
    for i, row in enumerate(rows, start=1):
        missing = [k for k in required if k not in row]
        if missing:
            raise SealError(f"{hub_id} row {i}: missing field(s) {', '.join(missing)}")
    return rows


def take(rows: list[Any], limit: int | None) -> list[Any]:
    if limit is not None and limit <= 0:
        raise SealError(f"--limit must be positive, got {limit}")
    return rows if limit is None else rows[:limit]
