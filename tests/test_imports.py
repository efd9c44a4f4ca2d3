"""The light modules stay light: docs/architecture.md lists these as importing no torch, so
`seal runs`, `seal report` and every check before a model loads start without it."""

from __future__ import annotations

import subprocess
import sys

TORCH_FREE = (
    "config", "errors", "store", "outputs", "validate", "offline", "data", "problems",
    "metrics", "paired", "report_table", "report", "progress", "tasks", "sandbox", "memory",
    "stopwatch",
)  # fmt: skip


def test_modules_documented_torch_free_import_no_torch() -> None:
    code = (
        "import importlib, sys\n"
        f"for m in {TORCH_FREE!r}:\n"
        "    importlib.import_module('seal.' + m)\n"
        "    assert 'torch' not in sys.modules, m\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr.strip().splitlines()[-1:]
