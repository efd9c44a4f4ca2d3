import json
from pathlib import Path

import pytest

from seal.errors import SealError
from seal.store import RunDir, _atomic, atomic_write_json, atomic_write_text


def test_atomic_write_replaces_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    atomic_write_json(target, {"a": 1})
    atomic_write_json(target, {"a": 2})
    assert json.loads(target.read_text()) == {"a": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_interrupted_write_keeps_old_file(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    atomic_write_text(target, "old content")

    def half_write(tmp: Path) -> None:
        tmp.write_text("half of the new")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _atomic(target, half_write)
    assert target.read_text() == "old content"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_unwritable_target_is_one_line_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(SealError, match="cannot write"):
        atomic_write_text(blocker / "sub" / "out.txt", "data")
    assert blocker.read_text() == "x"


def test_run_dir_manifest(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, "r1", "eval", "a: 1\n")
    assert (run.path / "config.yaml").read_text() == "a: 1\n"
    assert not run.is_done("eval")
    run.mark_done("eval", n=3)
    assert run.is_done("eval") and run.manifest["stages"]["eval"]["n"] == 3
    with pytest.raises(SealError, match="already exists"):
        RunDir.create(tmp_path, "r1", "eval", "a: 2\n")
    assert (run.path / "config.yaml").read_text() == "a: 1\n"


def test_generated_run_names_never_collide(tmp_path: Path, monkeypatch) -> None:
    """Runs started in the same second (two `seal eval`s in a script) get `-2`, `-3`, not an
    error; a name the user chose is still refused when taken."""
    import time

    monkeypatch.setattr(time, "strftime", lambda fmt: "20261129-120000")
    paths = [RunDir.create(tmp_path, None, "eval-wordmath", f"a: {i}\n").path for i in range(3)]
    assert [p.name for p in paths] == [
        "eval-wordmath-20261129-120000", "eval-wordmath-20261129-120000-2",
        "eval-wordmath-20261129-120000-3",
    ]  # fmt: skip
    assert [(p / "config.yaml").read_text() for p in paths] == ["a: 0\n", "a: 1\n", "a: 2\n"]
    with pytest.raises(SealError, match="already exists"):
        RunDir.create(tmp_path, "eval-wordmath-20261129-120000", "eval", "a: 9\n")
