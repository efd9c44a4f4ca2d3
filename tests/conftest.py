from __future__ import annotations

import os

import pytest

# Tests never reach the hub: fail fast instead of retrying a network that is not there.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from pathlib import Path  # noqa: E402

from seal.config import ModelConfig, SealConfig, dump_config  # noqa: E402
from seal.improve.loop import Loop  # noqa: E402
from seal.models import LoadedModel, load_model  # noqa: E402
from seal.store import RunDir  # noqa: E402


@pytest.fixture(scope="session")
def tiny() -> LoadedModel:
    """The embedded tiny model, loaded once for the whole session."""
    return load_model(ModelConfig(name="tiny", device="cpu"))


@pytest.fixture
def seal_cli(capsys, monkeypatch):
    """Run ``seal ARGS...`` in process as a user would; returns (exit code, stdout, stderr)."""
    import sys

    from seal.cli import main

    def call(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["seal", "--quiet", *args])
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = int(exc.code or 0)
        cap = capsys.readouterr()
        return code, cap.out, cap.err

    return call


def _assert_one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture
def one_line_error():
    """``one_line_error(code, stderr, *needles)``: exit code 2 and exactly one stderr line,
    containing every needle (the project's promise for bad input)."""
    return _assert_one_line_error


def toy_config(tmp_path: Path) -> SealConfig:
    return SealConfig.model_validate(
        {
            "model": {"name": "tiny", "device": "cpu"},
            "sampling": {"max_new_tokens": 200, "batch_size": 32},
            "eval": {"levels": [4, 5]},
            "critic": {
                "labels": 8,
                "problems_per_level": 4,
                "samples_per_problem": 4,
                "epochs": 1,
                "steps": False,
            },
            "run": {
                "iterations": 2,
                "prompts_per_level": 2,
                "samples": 3,
                "top_k": 2,
                "validation_per_level": 3,
                "test_per_level": 3,
                "audit_size": 4,
                "patience": 5,
            },
            "runs_dir": str(tmp_path),
        }
    )


@pytest.fixture(scope="session")
def uninterrupted(tmp_path_factory) -> tuple[SealConfig, Path, dict]:
    """One uninterrupted toy run, shared by the tests that compare a resumed run with it."""
    tmp_path = tmp_path_factory.mktemp("full")
    cfg = toy_config(tmp_path)
    run = RunDir.create(tmp_path, "full", "run", dump_config(cfg))
    return cfg, run.path, Loop(cfg, run, quiet=True).execute()


@pytest.fixture(scope="session")
def make_toy_config():
    """``toy_config`` for tests that build their own toy run."""
    return toy_config
