"""Settings of ``seal run`` that cannot work together: checked before any model loads."""

from __future__ import annotations

from seal import tracking
from seal.config import SealConfig
from seal.errors import SealError


def check_settings(cfg: SealConfig) -> None:
    """Impossible settings are one-line errors before any work starts."""
    r = cfg.run
    if r.top_k > r.samples:
        raise SealError(f"run.top_k ({r.top_k}) cannot exceed run.samples ({r.samples})")
    if r.select == "oracle" and r.task not in ("wordmath", "gsm8k"):
        raise SealError(f"--select oracle needs a task with a verifier; {r.task} has none")
    if r.finetune == "full" and cfg.model.backend == "vllm":
        raise SealError("--backend vllm serves LoRA adapters; use run.finetune=lora")
    if r.finetune == "full" and r.update == "ppo":
        raise SealError("--update ppo needs run.finetune=lora (its KL reference is the base)")
    if r.replay_only and (r.replay <= 0 or r.update != "sft"):
        raise SealError("run.replay_only trains on replayed references: it needs run.replay "
                        "above 0 and --update sft")  # fmt: skip
    if r.frontier_low > r.frontier_high:
        raise SealError(
            f"run.frontier_low ({r.frontier_low}) is above run.frontier_high ({r.frontier_high})"
        )
    tracking.check(r.report_to)
    if cfg.model.backend == "vllm":
        from seal.generation.vllm_engine import check

        check(cfg)
