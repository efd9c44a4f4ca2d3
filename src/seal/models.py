"""Load a base model and tokenizer: the embedded ``tiny``, a local directory, or a hub id.

All three go through ``from_pretrained``; the embedded model is just a directory inside the
package. A local directory is checked first (config, complete weights), a hub id is checked
for its form and, when the hub is unreachable, loaded from the local cache only, so an
offline machine fails at once. Failures are one-line ``SealError``s naming the model to fix.
"""

from __future__ import annotations

import json
import re
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
from seal.offline import offline_reason
from seal.validate import check_model_dir, not_a_model

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
            raise SealError(
                f"model directory {name} has no config.json (not a Hugging Face model)"
                + not_a_model(path)
            )
        check_model_dir(path)
        return str(path)
    if (
        name.startswith((".", "/", "~"))
        or name.count("/") > 1
        or name.endswith("/")
        or not _HUB_ID.fullmatch(name)
    ):
        raise SealError(
            f"model path {name} does not exist (use 'tiny', a model directory or a hub id)"
        )
    return name


_HUB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?")


def hub_kwargs(name: str, path: str) -> dict[str, bool]:
    """``local_files_only`` for a hub id when the hub is unreachable (cache only, fast)."""
    if path != name or Path(path).exists():  # 'tiny' or a local directory
        return {}
    reason = offline_reason()
    if reason is None:
        return {}
    from huggingface_hub import try_to_load_from_cache

    if not isinstance(try_to_load_from_cache(name, "config.json"), str):
        raise SealError(
            f"model {name} is not downloaded and the hub is unreachable ({reason}); "
            "give --model a local model directory or 'tiny'"
        )
    return {"local_files_only": True}


def resolve_device(device: str) -> torch.device:
    """The configured device; launched distributed on GPUs, ``auto`` and ``cuda`` mean this
    rank's GPU (``cuda:LOCAL_RANK``)."""
    local = distributed.device()
    if local is not None and device in ("auto", "cuda"):
        return local
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise SealError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda":
        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if n == 0:
            raise SealError(
                f"device {device!r}: this PyTorch ({torch.__version__}) sees no CUDA GPU; "
                "use --device cpu (or auto), or install a CUDA build of torch"
            )
        if dev.index is not None and dev.index >= n:
            raise SealError(f"device {device!r}: only {n} CUDA GPU(s) here (cuda:0..cuda:{n - 1})")
    elif dev.type != "cpu":  # mps, xpu, meta...: PyTorch knows them, seal is not tested there
        raise SealError(
            f"device {device!r} is not supported (seal runs on CPUs and CUDA GPUs); "
            "use auto, cpu, cuda or cuda:N"
        )
    return dev


def resolve_dtype(dtype: str, device: torch.device, path: str | None = None) -> torch.dtype:
    """``auto``: float32 on CPU; on a GPU bfloat16, except that a checkpoint saved in
    float32 (``config.json``; the embedded model) stays float32, so full fine-tuning updates
    float32 weights, not bfloat16 ones that round small steps away; autocast still runs its
    matmuls in bfloat16."""
    if dtype != "auto":
        return _DTYPES[dtype]
    if device.type != "cuda":
        return torch.float32
    try:
        config = json.loads((Path(path) / "config.json").read_text()) if path else {}
    except (OSError, ValueError):
        config = {}
    saved = (config.get("dtype") or config.get("torch_dtype")) if isinstance(config, dict) else None
    return torch.float32 if saved == "float32" else torch.bfloat16


@dataclass
class LoadedModel:
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    name: str
    device: torch.device


def _first_line(err: BaseException, most: int = 300) -> str:
    """The error's first line, or its first sentence where that line ends in a colon
    (a list follows: transformers' "Couldn't instantiate the backend tokenizer from one
    of:"), joined onto one line and cut at ``most`` characters."""
    lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
    if not lines:
        return type(err).__name__
    text = lines[0]
    for line in lines[1:]:
        if not text.endswith(":") and not text.endswith(","):
            break
        text += " " + line
    return text if len(text) <= most else text[: most - 3] + "..."


TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "tokenizer.model",
    "spiece.model",
    "vocab.json",
    "vocab.txt",
)
"""Any of these in a local model directory means a tokenizer was saved there."""


def load_tokenizer(name: str) -> PreTrainedTokenizerBase:
    path = resolve_model_path(name)
    if Path(path).is_dir() and not any((Path(path) / f).exists() for f in TOKENIZER_FILES):
        raise SealError(
            f"model directory {name} has no tokenizer (no tokenizer.json or "
            "tokenizer_config.json); save it beside the weights with tokenizer.save_pretrained(DIR)"
        )
    try:
        tok = AutoTokenizer.from_pretrained(path, **hub_kwargs(name, path))
    except Exception as err:  # noqa: BLE001 - any loader failure is a bad model
        raise SealError(f"cannot load tokenizer for model {name}: {_first_line(err)}") from None
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return tok


def load_model(cfg: ModelConfig) -> LoadedModel:
    """Base model in eval mode on the configured device, with its tokenizer."""
    hf_logging.disable_progress_bar()
    path = resolve_model_path(cfg.name)
    device = resolve_device(cfg.device)
    dtype = resolve_dtype(cfg.dtype, device, path)
    tokenizer = load_tokenizer(cfg.name)
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # its load report of missing weights: seal's line below
    try:
        model, info = AutoModelForCausalLM.from_pretrained(
            path, dtype=dtype, output_loading_info=True, **hub_kwargs(cfg.name, path)
        )
    except Exception as err:  # noqa: BLE001 - any loader failure is a bad model
        raise SealError(f"cannot load model {cfg.name}: {_first_line(err)}") from None
    finally:
        hf_logging.set_verbosity(verbosity)
    missing = sorted(info.get("missing_keys") or [])
    if missing:  # transformers would warn and run on random weights: nothing to measure
        raise SealError(
            f"cannot load model {cfg.name}: its weights do not fit the architecture its "
            f"config.json names ({type(model).__name__}: {len(missing)} weights missing, "
            f"e.g. {missing[0]}); check model_type and architectures there"
        )
    model.to(device)
    model.eval()
    return LoadedModel(model=model, tokenizer=tokenizer, name=cfg.name, device=device)
