from __future__ import annotations

import os

import pytest

# Tests never reach the hub: fail fast instead of retrying a network that is not there.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from seal.config import ModelConfig
from seal.models import LoadedModel, load_model


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
