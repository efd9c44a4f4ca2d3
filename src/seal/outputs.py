"""The one rule for what a command writes: an existing output is refused unless ``--force``,
an input is never an output, and a file is never written where a directory is meant (or
the other way round). Checked before any work starts, so a refusal costs nothing.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from seal.errors import SealError


def _same_or_inside(a: Path, b: Path) -> bool:
    """``a`` is ``b`` or lies inside it (after resolving links)."""
    ra, rb = a.resolve(), b.resolve()
    return ra == rb or rb in ra.parents


def not_a_stream(path: Path | str, option: str, role: str = "output") -> None:
    """``-`` is a file name to seal, not standard output or input: refused, not written as a
    file (or directory) called ``-`` that the user would look for on the terminal."""
    if str(path) == "-":
        where = "standard output" if role == "output" else "standard input"
        raise SealError(
            f"{option} -: seal does not use {where}; give a file or directory name "
            f"(e.g. {option} results.json)"
            if role == "output"
            else f"{option} -: seal does not read {where}; save the rows to a file and give "
            "its name"
        )


def check_writable_dir(path: Path, option: str) -> None:
    """``path`` is, or can become, a directory a file can be made in (``runs_dir``)."""
    path = Path(path)
    not_a_stream(path, option)
    if path.exists() and not path.is_dir():
        raise SealError(f"{option} {path} is a file, not a directory")
    _check_parents(path, option, (path, *path.parents))


def _check_parents(path: Path, option: str, where: tuple[Path, ...] | None = None) -> None:
    """The nearest existing parent is a directory a file can be made in (tried, not inferred
    from permission bits: root may not write /proc or a read-only mount either), so an
    unwritable output is refused before the work, not after it."""
    for parent in path.parents if where is None else where:
        if parent.exists():
            if not parent.is_dir():
                raise SealError(f"{option} {path}: {parent} is a file, not a directory")
            try:
                fd, probe = tempfile.mkstemp(prefix=".seal-probe-", dir=parent)
            except OSError as e:
                raise SealError(
                    f"{option} {path}: cannot write in {parent} ({e.strerror}); "
                    "give a path you can write"
                ) from None
            os.close(fd)
            os.unlink(probe)
            return


def samples_beside(results: Path) -> Path:
    """Where ``--log-samples`` puts the samples of a one-file ``--output``: ``x.json`` ->
    ``x.samples.jsonl``."""
    return Path(results).with_suffix(".samples.jsonl")


def check_output_file(
    path: Path,
    force: bool,
    option: str = "--output",
    inputs: Iterable[Path | None] = (),
    suffix: str | None = None,
) -> None:
    """``path`` may be written as a file (named ``*suffix``, when given)."""
    _check_file(path, force, option, inputs, suffix)
    _check_parents(Path(path), option)


def _check_file(
    path: Path,
    force: bool,
    option: str,
    inputs: Iterable[Path | None] = (),
    suffix: str | None = None,
) -> None:
    """All ``check_output_file`` checks but the write probe of the parent directory."""
    not_a_stream(path, option)
    path = Path(path)
    for inp in inputs:
        if inp is not None and path.resolve() == Path(inp).resolve():
            raise SealError(f"{option} {path} is also an input; write the result elsewhere")
    if path.is_dir():
        raise SealError(f"{option} {path} is a directory; give a file name")
    if path.exists() and not force:
        raise SealError(f"{option} {path} already exists; pass --force to replace it")
    if suffix is not None and path.suffix != suffix:
        raise SealError(
            f"{option} {path}: the file written is {suffix[1:].upper()}; "
            f"give a name ending in {suffix} (e.g. {path.with_suffix(suffix).name})"
        )


def check_output_dir(
    path: Path, force: bool, option: str = "--output", inputs: Iterable[Path | None] = ()
) -> None:
    """``path`` may be made (or, with ``force``, replaced) as a directory. Never the working
    directory or one holding it: replacing that would delete the user's files."""
    not_a_stream(path, option)
    path = Path(path)
    if _same_or_inside(Path.cwd(), path):
        raise SealError(
            f"{option} {path} is the current directory or holds it; give a new directory"
        )
    for inp in inputs:
        if inp is not None and Path(inp).exists() and _same_or_inside(Path(inp), path):
            raise SealError(f"{option} {path} holds the input {inp}; write the result elsewhere")
    if path.exists() and not path.is_dir():
        raise SealError(f"{option} {path} is a file; give a directory")
    if path.is_dir() and any(path.iterdir()) and not force:
        raise SealError(
            f"{option} {path} already exists and is not empty; pass --force to replace it"
        )
    _check_parents(path, option)


def check_output_files(
    directory: Path,
    names: Iterable[str],
    force: bool,
    option: str = "--output",
    inputs: Iterable[Path | None] = (),
) -> None:
    """Files ``names`` may be written into ``directory`` (other files in it are left alone)."""
    not_a_stream(directory, option)
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise SealError(f"{option} {directory} is a file; give a directory")
    inputs = list(inputs)
    for name in names:
        _check_file(directory / name, force, option, inputs)
    check_writable_dir(directory, option)  # one probe for the directory
