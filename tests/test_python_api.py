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


def test_the_python_api_names_a_wrong_argument_in_one_line(tmp_path: Path) -> None:
    """A library user's slip is a SealError naming the argument, not an AttributeError from
    deep inside (or, for levels [1.0], a silently different problem stream)."""
    from seal.config import PRESETS, SamplingConfig, load_config
    from seal.errors import SealError
    from seal.evaluate import evaluate
    from seal.store import RunDir
    from seal.tasks import get_task

    task = get_task("wordmath", levels=[1])
    problems = task.problems("test", 2)
    for kwargs, needle in [
        ({"problems": []}, "non-empty list of problems"),
        ({"problems": [{"question": "q"}]}, "Problem objects"),
        ({"sampling": None}, "SamplingConfig"),
        ({"samples": 0}, "samples must be an integer 1-"),
        ({"shots": 10**7}, "shots must be an integer 0-256"),
    ]:
        args = {"problems": problems, "sampling": SamplingConfig()} | kwargs
        with pytest.raises(SealError, match=needle):
            evaluate(
                task,
                args["problems"],
                None,
                args["sampling"],
                **{k: v for k, v in kwargs.items() if k in ("samples", "shots")},
            )
    for make, needle in [
        (lambda: get_task("wordmath", level=[1]), "takes no level; it takes: levels, seed"),
        (lambda: get_task(None), "a task name is a string"),
        (lambda: get_task("wordmath", levels=5), "levels are a list"),
        (lambda: get_task("wordmath", levels=[1.0]), "unknown wordmath level"),
        (lambda: get_task("wordmath", seed="a"), "seed is an integer"),
        (lambda: task.problems("test", "5"), "--limit must be an integer"),
        (lambda: load_config(None, ["eval.limit=3"]), "overrides is a dict"),
        (lambda: load_config(None, None, "tiny-gpu"), "unknown preset 'tiny-gpu'"),
        (lambda: RunDir.create(tmp_path, None, "run", {}), "config is YAML text"),
    ]:
        with pytest.raises(SealError, match=needle):
            make()
    assert load_config(None, None, "tiny-cpu") == load_config(None, None, PRESETS["tiny-cpu"])
    assert list(tmp_path.iterdir()) == []  # no run directory made for a refused config
