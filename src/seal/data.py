"""Reading user data files (JSONL, or a JSON array) with one-line errors that name the file
and line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from seal.errors import SealError
from seal.outputs import not_a_stream


def check_file(path: Path, what: str) -> None:
    """``path`` is a regular file; else a one-line error: ``{what} {path} does not exist``,
    ``... is a directory`` or ``... is not a regular file`` (a device, a pipe)."""
    not_a_stream(path, what, role="input")
    if Path(path).is_file():
        return
    if not Path(path).exists():
        raise SealError(f"{what} {path} does not exist")
    kind = "a directory" if Path(path).is_dir() else "not a regular file"
    raise SealError(f"{what} {path} is {kind}; give a file")


def read_jsonl(path: Path, required: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """All rows of a JSONL file; blank lines are skipped, every row must hold ``required``."""
    return [row for _, row in iter_jsonl(path, required)]


NOT_READ = (".csv", ".tsv", ".xlsx", ".xls")
"""Table formats a user may try whose columns cannot hold a list (MMLU's choices)."""


def iter_jsonl(path: Path, required: tuple[str, ...] = ()) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, row)`` pairs, so callers can name the line of a row they reject.
    JSONL (one object a line); a file that opens with ``[`` is read as a JSON array of
    objects, each row numbered by the line it starts on."""
    path = Path(path)
    check_file(path, "data file")
    if path.suffix.lower() in NOT_READ:
        raise SealError(
            f"{path}: {path.suffix} files are not read; give JSONL (one JSON object a line), "
            "a JSON array of objects or Parquet"
        )
    with open(path, "rb") as fh:
        opening = fh.read(256).removeprefix(b"\xef\xbb\xbf").lstrip()
    rows = _array_rows(path) if opening.startswith(b"[") else _line_rows(path)
    for lineno, row in rows:
        if not isinstance(row, dict):
            raise SealError(f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}")
        missing = [k for k in required if k not in row]
        if missing:
            raise SealError(f"{path}:{lineno}: missing field(s) {', '.join(missing)}")
        yield lineno, row


def _line_rows(path: Path) -> Iterator[tuple[int, Any]]:
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
            except (ValueError, RecursionError) as err:
                raise SealError(f"{path}:{lineno} {json_limit(err)}") from None
            yield lineno, row


def _array_rows(path: Path) -> Iterator[tuple[int, Any]]:
    """The items of a JSON array file, each with the line it starts on."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise SealError(f"{path}: not UTF-8 text (byte {err.start})") from None
    decoder, at = json.JSONDecoder(), text.index("[") + 1
    while True:
        at = _skip_space(text, at)
        if text.startswith("]", at):
            break
        try:
            item, end = decoder.raw_decode(text, at)
        except json.JSONDecodeError as err:
            raise SealError(
                f"{path}:{err.lineno}: not valid JSON ({err.msg} column {err.colno})"
            ) from None
        except (ValueError, RecursionError) as err:
            raise SealError(f"{path}:{_line(text, at)} {json_limit(err)}") from None
        yield _line(text, at), item
        at = _skip_space(text, end)
        if text.startswith(",", at):
            at += 1
        elif not text.startswith("]", at):
            raise SealError(
                f"{path}:{_line(text, at)}: not valid JSON (expected ',' or ']' in the array)"
            )
    if text[at + 1 :].strip():
        raise SealError(f"{path}:{_line(text, at)}: not valid JSON (text after the array)")


def json_limit(err: ValueError | RecursionError) -> str:
    """What a JSON (or YAML) parser refused beyond its syntax: Python reads no integer of more
    than 4,300 digits (a ``ValueError``), and nesting deeper than the stack allows is a
    ``RecursionError``."""
    if isinstance(err, RecursionError):
        return "is nested too deeply to read"
    if "digits" in str(err):
        return "holds a number too long to read (over 4,300 digits)"
    return f"cannot be read ({str(err).split(';')[0]})"


def _line(text: str, at: int) -> int:
    """The line (from 1) that character ``at`` of ``text`` stands on."""
    return text.count("\n", 0, at) + 1


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t\r\n":
        at += 1
    return at
