"""Is the Hugging Face hub reachable? Decided once, quickly, before a hub download starts.

``HF_HUB_OFFLINE`` says no outright; otherwise one TCP connection to the hub's host (3 s)
decides, instead of the libraries' own retries (about 40 s on a machine with no network).
When it fails, the hub libraries are told to work from their local cache only, so a model
or data set downloaded earlier still loads and a missing one fails at once.
"""

from __future__ import annotations

import os
import socket
from functools import lru_cache
from urllib.parse import urlparse

_TRUE = ("1", "true", "yes", "on")


def _env_offline() -> bool:
    return any(
        os.environ.get(k, "").lower() in _TRUE for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


@lru_cache(maxsize=1)
def _probe() -> str | None:
    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname
    try:
        socket.create_connection((host or "huggingface.co", 443), timeout=3).close()
    except OSError as err:
        return f"cannot connect to {host} ({err.strerror or type(err).__name__})"
    return None


def offline_reason() -> str | None:
    """``None`` if the hub may be used; else why not. Going offline also sets
    ``HF_HUB_OFFLINE`` / ``HF_DATASETS_OFFLINE`` for libraries imported after this call."""
    if _env_offline():
        return "HF_HUB_OFFLINE is set"
    reason = _probe()
    if reason is not None:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["HF_DATASETS_OFFLINE"] = "1"
    return reason
