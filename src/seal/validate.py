"""Cheap checks of the directories seal reads, before anything heavy loads them.

A model, adapter, critic or run directory is checked for the files it must hold, for JSON
of the right shape and for complete safetensors weights (the header's sizes against the
file's), so a broken one is one line naming the file and what is wrong, said before a
run directory exists or a model loads, instead of a library's traceback half way.
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path
from typing import Any

import yaml

from seal.errors import SealError
from seal.store import MANIFEST_SHAPE, read_json_object


def check_safetensors(path: Path) -> None:
    """The file's header parses and its tensors end exactly where the file ends."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(8)
            if len(head) < 8:
                raise SealError(f"{path} is truncated (no safetensors header)")
            (n,) = struct.unpack("<Q", head)
            if n > size - 8:
                raise SealError(f"{path} is truncated or not a safetensors file")
            header = json.loads(fh.read(n))
    except OSError as err:
        raise SealError(f"cannot read {path}: {err.strerror}") from None
    except (ValueError, UnicodeDecodeError):
        raise SealError(f"{path} is not a safetensors file (unreadable header)") from None
    if not isinstance(header, dict):
        raise SealError(f"{path} is not a safetensors file (unreadable header)")
    ends = [
        t["data_offsets"][1]
        for k, t in header.items()
        if k != "__metadata__" and isinstance(t, dict) and len(t.get("data_offsets", [])) == 2
    ]
    expected = 8 + n + max(ends, default=0)
    if size < expected:
        raise SealError(f"{path} is truncated ({size} of {expected} bytes)")


def check_model_dir(path: Path) -> None:
    """A Hugging Face model directory: ``config.json`` and complete weights."""
    path = Path(path)
    read_json_object(path / "config.json")
    index = path / "model.safetensors.index.json"
    if index.is_file():
        weight_map = read_json_object(index, {"weight_map": dict})["weight_map"]
        for shard in sorted(set(map(str, weight_map.values()))):
            if not (path / shard).is_file():
                raise SealError(f"model directory {path} is missing weight shard {shard}")
    for f in sorted(path.glob("*.safetensors")):
        check_safetensors(f)


def check_adapter_dir(path: Path, what: str = "adapter") -> None:
    """A PEFT adapter directory: ``adapter_config.json`` and complete weights."""
    path = Path(path)
    if not path.is_dir():
        raise SealError(f"{what} {path} does not exist or is not a directory")
    if not (path / "adapter_config.json").is_file():
        raise SealError(f"{path} is not a saved {what} (no adapter_config.json)")
    read_json_object(path / "adapter_config.json")
    weights = path / "adapter_model.safetensors"
    if weights.is_file():
        check_safetensors(weights)
    elif not (path / "adapter_model.bin").is_file():
        raise SealError(f"{what} {path} has no weights (adapter_model.safetensors)")


def is_full_policy(path: Path) -> bool:
    """A policy ``seal run`` fine-tuned whole (``run.finetune`` full): a model directory,
    not an adapter."""
    path = Path(path)
    return (path / "config.json").is_file() and not (path / "adapter_config.json").is_file()


def _run_of(path: Path) -> Path | None:
    """The run whose stage folder ``path`` is or lies in (``RUN/critic-0``, ``RUN/iter-NN/x``)."""
    return next(
        (d for d in (path.parent, path.parent.parent) if (d / "manifest.json").is_file()), None
    )


def is_critic_dir(path: Path) -> bool:
    """A critic as seal saves one: ``seal critic train``'s output, or a run's critic."""
    path = Path(path)
    if (path / "critic.json").is_file():
        return True
    return bool(re.fullmatch(r"critic(-\d+)?", path.name)) and _run_of(path) is not None


def not_a_model(path: Path) -> str:
    """What a folder given as ``--model`` is instead, when seal knows ("" when not): a LoRA
    adapter (give it as --policy or --critic, its base as --model) or a run."""
    final = path / "final" / "policy"
    if (path / "manifest.json").is_file() and final.is_dir():
        how = "--model" if is_full_policy(final) else "--policy, its base model as --model"
        return f"; {path} is a run: give its final policy {final} as {how}"
    if (path / "adapter_config.json").is_file():
        role = "critic" if is_critic_dir(path) else "policy"
        return f"; it is a LoRA adapter (a {role}): give it as --{role}, its base model as --model"
    return ""


def _instead(path: Path, want: str) -> str:
    """Where the ``want`` ("policy" / "critic") a user meant lies, for a folder that is not
    one: a run, a round of it, or the other role ("" when nothing better is known)."""
    if (path / "manifest.json").is_file():
        return (
            f"; {path} is a run: its policies are {path}/final/policy and {path}/iter-NN/policy"
            if want == "policy"
            else f"; {path} is a run: its critics are {path}/critic-0 and {path}/iter-NN/critic"
        )
    if (path / want).is_dir():
        return f"; the {want} in it is {path / want}"
    if want == "critic" and is_full_policy(path):
        return "; it is a fine-tuned model (a policy), not a critic"
    return ""


def check_policy_dir(path: Path) -> None:
    """A saved policy: a PEFT adapter, or a whole fine-tuned model directory (not a critic,
    whose adapter looks the same)."""
    path = Path(path)
    if is_critic_dir(path):
        raise SealError(
            f"{path} is a critic, not a policy: give --critic {path} to a search, or a "
            "policy such as RUN/final/policy or RUN/iter-NN/policy to --policy"
        )
    if is_full_policy(path):
        check_model_dir(path)
        return
    if path.is_dir() and not (path / "adapter_config.json").is_file():
        raise SealError(
            f"{path} is not a saved policy (no adapter_config.json){_instead(path, 'policy')}"
        )
    check_adapter_dir(path, "policy")


def critic_meta(path: Path) -> tuple[Path, str | None]:
    """Check a critic directory; ``(its config file, the model it was trained on or None)``.

    Either ``seal critic train``'s output (``critic.json`` + ``config.yaml``) or a critic
    inside a run (``RUN/critic-0``, ``RUN/iter-NN/critic``: the run's ``config.yaml``).
    """
    from seal.config import load_config

    path = Path(path)
    if not path.is_dir():
        raise SealError(f"critic {path} does not exist or is not a directory")
    meta = path / "critic.json"
    if meta.is_file():
        model: str | None = read_json_object(meta, {"model": str})["model"]
        config_file = path / "config.yaml"
    else:
        run = _run_of(path)
        if run is None:
            raise SealError(
                f"{path} is not a critic directory (no critic.json, not a critic in a run)"
                + _instead(path, "critic")
            )
        if not (path / "adapter_config.json").is_file():
            hint = _instead(path, "critic")
            raise SealError(f"{path} is not a saved critic (no adapter_config.json){hint}")
        config_file, model = run / "config.yaml", None
    if not config_file.is_file():
        raise SealError(f"critic {path} has no config file {config_file}")
    load_config(config_file)
    check_adapter_dir(path, "critic")
    return config_file, model


def check_run_dir(path: Path, kind: str | None = "run") -> dict[str, Any]:
    """A run directory made by ``seal run`` (of ``kind``; any with None): a manifest of the
    right shape and a valid ``config.yaml``."""
    from seal.config import load_config

    path = Path(path)
    if not (path / "manifest.json").is_file() or not (path / "config.yaml").is_file():
        raise SealError(f"{path} is not a run directory (no manifest.json / config.yaml)")
    manifest = read_json_object(path / "manifest.json", MANIFEST_SHAPE)
    if kind is not None and manifest["kind"] != kind:
        raise SealError(
            f"{path} was made by another command (kind {manifest['kind']!r}), not `seal run`: "
            "give a directory that `seal run` made"
        )
    load_config(path / "config.yaml")  # valid; the small file is read once more, for emptiness
    written = yaml.safe_load((path / "config.yaml").read_text(encoding="utf-8"))
    if not written:  # seal writes every section: an emptied file would resume on other defaults
        raise SealError(
            f"{path / 'config.yaml'} is empty, but seal writes a run's settings into it; "
            "restore the file (from a backup, or as the run was started)"
        )
    return manifest
