"""Reading user data files (JSONL) with one-line errors that name the file and line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from seal.errors import SealError


def check_file(path: Path, what: str) -> None:
    """``path`` is a regular file; else a one-line error: ``{what} {path} does not exist``,
    ``... is a directory`` or ``... is not a regular file`` (a device, a pipe)."""
    if Path(path).is_file():
        return
    if not Path(path).exists():
        raise SealError(f"{what} {path} does not exist")
    kind = "a directory" if Path(path).is_dir() else "not a regular file"
    raise SealError(f"{what} {path} is {kind}; give a file")


def read_jsonl(path: Path, required: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """All rows of a JSONL file; blank lines are skipped, every row must hold ``required``."""
    return [row for _, row in iter_jsonl(path, required)]


def iter_jsonl(path: Path, required: tuple[str, ...] = ()) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, row)`` pairs, so callers can name the line of a row they reject."""
    path = Path(path)
    check_file(path, "data file")
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:  # a byte-order mark (Windows editors write one) is no part of the first row
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError:
                raise SealError(f"{path}:{lineno}: not UTF-8 text") from None
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise SealError(
                    f"{path}:{lineno}: not valid JSON ({err.msg} column {err.colno})"
                ) from None
            if not isinstance(row, dict):
                raise SealError(
                    f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}"
                )
            missing = [k for k in required if k not in row]
            if missing:
                raise SealError(f"{path}:{lineno}: missing field(s) {', '.join(missing)}")
            yield lineno, row
