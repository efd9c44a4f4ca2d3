from __future__ import annotations

import pytest

from seal.config import ModelConfig
from seal.models import LoadedModel, load_model


@pytest.fixture(scope="session")
def tiny() -> LoadedModel:
    """The embedded tiny model, loaded once for the whole session."""
    return load_model(ModelConfig(name="tiny", device="cpu"))
