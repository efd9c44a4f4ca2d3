"""Load a base model and tokenizer: the embedded ``tiny``, a local directory, or a hub id.

All three go through ``from_pretrained``; the embedded model is just a directory inside the
package. Failures are one-line ``SealError``s naming the model to fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)
from transformers.utils import logging as hf_logging

from seal import distributed
from seal.config import ModelConfig
from seal.errors import SealError

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def tiny_path() -> Path:
    """Directory of the embedded tiny model shipped inside the package."""
    return Path(str(resources.files("seal") / "assets" / "tiny"))


def resolve_model_path(name: str) -> str:
    """``tiny`` → package directory; an existing path → itself; ``org/name`` → hub id."""
    if name == "tiny":
        return str(tiny_path())
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise SealError(f"model directory {name} has no config.json (not a Hugging Face model)")
        return str(path)
    if name.startswith((".", "/", "~")) or name.count("/") > 1 or name.endswith("/"):
        raise SealError(
            f"model path {name} does not exist (use 'tiny', a model directory or a hub id)"
        )
    return name


def resolve_device(device: str) -> torch.device:
    """The configured device; launched distributed on GPUs, ``auto`` and ``cuda`` mean this
    rank's GPU (``cuda:LOCAL_RANK``)."""
    local = distributed.device()
    if local is not None and device in ("auto", "cuda"):
        return local
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except RuntimeError:
        raise SealError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N") from None


def resolve_dtype(dtype: str, device: torch.device) -> torch.dtype:
    if dtype == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    return _DTYPES[dtype]


@dataclass
class LoadedModel:
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    name: str
    device: torch.device


def load_tokenizer(name: str) -> PreTrainedTokenizerBase:
    path = resolve_model_path(name)
    try:
        tok = AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError) as err:
        raise SealError(
            f"cannot load tokenizer for model {name}: {str(err).splitlines()[0]}"
        ) from None
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return tok


def load_model(cfg: ModelConfig) -> LoadedModel:
    """Base model in eval mode on the configured device, with its tokenizer."""
    hf_logging.disable_progress_bar()
    path = resolve_model_path(cfg.name)
    device = resolve_device(cfg.device)
    dtype = resolve_dtype(cfg.dtype, device)
    tokenizer = load_tokenizer(cfg.name)
    try:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    except (OSError, ValueError) as err:
        raise SealError(f"cannot load model {cfg.name}: {str(err).splitlines()[0]}") from None
    model.to(device)
    model.eval()
    return LoadedModel(model=model, tokenizer=tokenizer, name=cfg.name, device=device)
