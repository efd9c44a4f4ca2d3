"""One base model, two LoRA adapters (``policy`` and ``critic``) sharing its weights.

``set_adapter`` switches roles; only the active adapter trains. Adapters are saved in
PEFT's format (``adapter_config.json`` + ``adapter_model.safetensors``) so PEFT,
Transformers and lm-evaluation-harness (``peft=DIR``) load them.
"""

from __future__ import annotations

import copy
import json
import shutil
import tempfile
from pathlib import Path

from peft import LoraConfig, PeftModel, get_peft_model
from transformers import PreTrainedModel

from seal import distributed
from seal.errors import SealError
from seal.store import usual_modes

ROLES = ("policy", "critic")


def lora_config(
    r: int = 16, alpha: int = 32, dropout: float = 0.05, base: object = None
) -> LoraConfig:
    """LoRA on every linear layer; for a base whose layers are GPT-2's ``Conv1D`` (weights
    stored transposed), with ``fan_in_fan_out`` set as PEFT needs (it warns otherwise)."""
    return LoraConfig(
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules="all-linear",
        task_type="CAUSAL_LM",
        fan_in_fan_out=base is not None and _has_conv1d(base),
    )


def _has_conv1d(model: object) -> bool:
    from transformers.pytorch_utils import Conv1D

    modules = getattr(model, "modules", None)
    return modules is not None and any(isinstance(m, Conv1D) for m in modules())


def with_adapters(
    base: PreTrainedModel, r: int = 16, alpha: int = 32, dropout: float = 0.05
) -> PeftModel:
    """Wrap ``base`` with fresh ``policy`` and ``critic`` adapters (policy active)."""
    cfg = lora_config(r, alpha, dropout, base)
    model = get_peft_model(base, cfg, adapter_name="policy")
    model.add_adapter("critic", copy.deepcopy(cfg))  # PEFT fills in a config it is given
    model.set_adapter("policy")
    return model


def save_adapter(model: PeftModel, role: str, out: Path) -> None:
    """Write one adapter to ``out`` atomically (a temporary directory renamed into place);
    launched distributed, rank 0 writes it and the others wait for it."""
    distributed.on_main(lambda: _save_adapter(model, role, Path(out)))


def _save_adapter(model: PeftModel, role: str, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        model.save_pretrained(tmp, selected_adapters=[role])
        src = tmp / role if (tmp / role).is_dir() else tmp
        usual_modes(src)
        if out.exists():
            shutil.rmtree(out)
        src.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def load_adapter(model: PeftModel, role: str, path: Path) -> None:
    """Replace adapter ``role`` with the one saved at ``path``; a mismatch is a one-line error."""
    from seal.validate import check_adapter_dir

    path = Path(path)
    check_adapter_dir(path)
    saved = json.loads((path / "adapter_config.json").read_text())
    base_type = model.get_base_model().config.model_type
    active = model.active_adapter
    probe = f"{role}__incoming"
    try:  # load under a spare name first, so a bad adapter never replaces a good one
        model.load_adapter(str(path), adapter_name=probe, is_trainable=True)
    except Exception as err:  # noqa: BLE001 - any loader failure is a bad adapter
        if probe in model.peft_config:
            model.delete_adapter(probe)
        first = (str(err).strip() or type(err).__name__).splitlines()[0][:160]
        raise SealError(
            f"adapter {path} does not match the base model ({base_type}; the adapter was "
            f"trained on {saved.get('base_model_name_or_path')}): {first}"
        ) from None
    model.set_adapter(probe)  # never delete the active adapter (PEFT warns and re-points)
    if role in model.peft_config:
        model.delete_adapter(role)
    model.load_adapter(str(path), adapter_name=role, is_trainable=True)
    model.set_adapter(active if active in model.peft_config else role)
    model.delete_adapter(probe)
