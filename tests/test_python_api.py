"""README's "From Python" blocks run as written (the loop's with the toy sizes the other
loop tests use, in a temporary runs directory)."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
LOOP_OVERRIDES = '{"run.iterations": 2}'


def _blocks() -> list[str]:
    section = README.read_text().split("### From Python", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_the_readme_names_two_python_blocks() -> None:
    blocks = _blocks()
    assert len(blocks) == 2 and LOOP_OVERRIDES in blocks[1]


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_evaluate_from_python_as_the_readme_shows() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(_blocks()[0], "README.md", "exec"), {})
    accuracy, by_level = out.getvalue().split(" ", 1)
    assert 0.0 <= float(accuracy) <= 1.0 and "1" in by_level and "2" in by_level


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_the_loop_from_python_as_the_readme_shows(tmp_path: Path, make_toy_config) -> None:
    toy = make_toy_config(tmp_path).model_dump(mode="json")
    overrides = {
        f"{section}.{key}": value
        for section in ("model", "sampling", "eval", "critic", "run")
        for key, value in toy[section].items()
    } | {"runs_dir": str(tmp_path)}
    code = _blocks()[1].replace(LOOP_OVERRIDES, repr(overrides))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    path, base, final = out.getvalue().split()
    assert Path(path).parent == tmp_path and (Path(path) / "summary.json").is_file()
    assert 0.0 <= float(base) <= 1.0 and 0.0 <= float(final) <= 1.0
