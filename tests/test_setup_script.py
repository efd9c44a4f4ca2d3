"""`scripts/setup.sh` (the first thing a newcomer runs, through `make run` / `make test`)
refuses an interpreter it cannot use in one line, before it makes a virtual environment."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

SETUP = Path(__file__).resolve().parents[1] / "scripts" / "setup.sh"


def _setup(tmp_path: Path, python: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"SEAL_VENV": str(tmp_path / "venv"), "PYTHON": python}
    return subprocess.run(["bash", str(SETUP)], env=env, capture_output=True, text=True)


@pytest.mark.parametrize(
    ("version", "needle"),
    [(None, "not found"), ("Python 3.10.12", "is Python 3.10.12")],
)
def test_a_python_too_old_or_missing_is_one_line(
    tmp_path: Path, version: str | None, needle: str
) -> None:
    python = str(tmp_path / "python-missing")
    if version is not None:  # answers -V like an old interpreter, fails the version check
        python = str(tmp_path / "python-old")
        Path(python).write_text(f'#!/bin/sh\n[ "$1" = -V ] && echo "{version}" && exit 0\nexit 1\n')
        Path(python).chmod(0o755)
    done = _setup(tmp_path, python)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Python >= 3.11" in lines[0] and needle in lines[0], lines
    assert "PYTHON=" in lines[0] and not (tmp_path / "venv").exists()
