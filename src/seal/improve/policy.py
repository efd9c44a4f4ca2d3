"""The weights the loop improves, LoRA or full.

``run.finetune = lora`` (any size): the ``policy`` LoRA adapter on the shared base, beside
the critic's adapter. ``run.finetune = full`` (small models): a second, full copy of the
base model trained whole, while the critic keeps its LoRA adapter on the frozen base; saved
as a plain Hugging Face model directory. ``auto`` (default) picks by model size. Either way
the loop sees one object that samples, trains, resets, saves and loads.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from peft import PeftModel
from safetensors.torch import load_file

from seal import distributed
from seal.adapters import load_adapter, lora_config, save_adapter
from seal.config import SealConfig
from seal.errors import SealError
from seal.generation.hf import HFSampler
from seal.improve.finetune import sft
from seal.improve.grpo import GRPOSettings, grpo_update
from seal.models import load_model
from seal.store import usual_modes

FULL_MAX_PARAMS = 100_000_000
"""``run.finetune = auto`` trains models up to this size whole, larger ones through LoRA."""
LORA_LR, FULL_LR = 5e-4, 1e-4
"""``run.sft_lr`` when unset, by fine-tuning mode."""
CPU_MICRO_BATCH = 4
"""``run.sft_micro_batch: auto`` on the CPU (the fastest of 2, 4, 8 and 16 on 2 threads)."""


def finetune_mode(cfg: SealConfig, n_params: int) -> str:
    """``lora`` or ``full``: ``run.finetune`` as set, or what ``auto`` means for a base
    model of ``n_params`` parameters under these settings."""
    r = cfg.run
    if r.finetune != "auto":
        return r.finetune
    if cfg.model.backend == "vllm" or r.update == "ppo":  # both need a policy adapter
        return "lora"
    return "full" if n_params <= FULL_MAX_PARAMS else "lora"


def micro_batch_size(setting: int | str, device: torch.device) -> int | None:
    """Rows per forward pass of fine-tuning: ``run.sft_micro_batch`` as set, or what
    ``auto`` means on ``device`` (None: the whole batch in one pass)."""
    if setting != "auto":
        return int(setting)
    return CPU_MICRO_BATCH if device.type == "cpu" else None


def base_parameters(shared: torch.nn.Module) -> int:
    """Parameters of the base model (under the adapters, if any)."""
    return sum(p.numel() for n, p in shared.named_parameters() if "lora_" not in n)


class Policy:
    def __init__(self, shared: PeftModel, tokenizer: Any, cfg: SealConfig):
        self.shared, self.tokenizer, self.cfg = shared, tokenizer, cfg
        self.mode = finetune_mode(cfg, base_parameters(shared))
        self.full = self.mode == "full"
        self.lr = cfg.run.sft_lr or (FULL_LR if self.full else LORA_LR)
        """The fine-tuning learning rate in use (``run.sft_lr``, or the mode's default)."""
        if self.full:
            self.model = load_model(cfg.model).model  # a separate copy, trained whole
            self.initial = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        else:
            self.model = shared
        self.sampler = HFSampler(self.model, tokenizer, batch_size=cfg.sampling.batch_size)

    def reset(self) -> None:
        """Back to the base model (a fresh adapter, or the initial weights)."""
        torch.manual_seed(self.cfg.run.seed)
        if self.full:
            self.model.load_state_dict(self.initial)
            return
        c = self.cfg.critic
        self.shared.set_adapter("critic")  # never delete the active adapter
        self.shared.delete_adapter("policy")
        fresh = lora_config(c.lora_r, c.lora_alpha, c.lora_dropout, self.shared)
        self.shared.add_adapter("policy", fresh)
        self.shared.set_adapter("policy")

    def save(self, out: Path) -> None:
        """A PEFT adapter directory, or (full) a model directory ``from_pretrained`` loads.
        Launched distributed, rank 0 writes it and the others wait (every rank holds the
        same weights; two writers would race to replace the directory)."""
        if not self.full:
            save_adapter(self.shared, "policy", out)
            return
        distributed.on_main(lambda: self._save_full(Path(out)))

    def _save_full(self, out: Path) -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        try:
            self.model.save_pretrained(tmp)
            self.tokenizer.save_pretrained(tmp)
            usual_modes(tmp)
            if out.exists():
                shutil.rmtree(out)
            tmp.rename(out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def load(self, path: Path) -> None:
        if not self.full:
            load_adapter(self.shared, "policy", path)
            return
        weights = Path(path) / "model.safetensors"
        if not weights.is_file():
            raise SealError(f"{path} is not a saved full policy (no model.safetensors)")
        state = load_file(weights)
        if self.model.config.tie_word_embeddings:
            state.setdefault("lm_head.weight", state.get("model.embed_tokens.weight"))
        self.model.load_state_dict(state)

    def train_sft(self, pairs: list[tuple[str, str]], seed: int, quiet: bool) -> list[float]:
        r = self.cfg.run
        return sft(
            self.model, self.tokenizer, pairs, epochs=r.sft_epochs, lr=self.lr,
            weight_decay=r.sft_weight_decay, seed=seed, quiet=quiet,
            bf16=self.cfg.model.train_bf16, micro_batch=self.micro_batch,
        )  # fmt: skip

    @property
    def micro_batch(self) -> int | None:
        device = next(self.model.parameters()).device
        return micro_batch_size(self.cfg.run.sft_micro_batch, device)

    def train_grpo(
        self, rows: list[dict[str, Any]], rewards: list[float], seed: int, quiet: bool
    ) -> dict[str, float]:
        """A GRPO step over every candidate (``rows``: prompt_id, prompt, text), grouped by
        prompt, with one reward per row."""
        r = self.cfg.run
        settings = GRPOSettings(
            epochs=r.ppo_epochs, lr=r.ppo_lr, clip=r.ppo_clip, kl=r.ppo_kl,
            entropy=r.ppo_entropy, seed=seed, bf16=self.cfg.model.train_bf16,
        )  # fmt: skip
        groups: dict[str, list[tuple[dict[str, Any], float]]] = {}
        for x, reward in zip(rows, rewards, strict=True):
            groups.setdefault(x["prompt_id"], []).append((x, reward))
        return grpo_update(
            self.shared,
            self.tokenizer,
            [g[0][0]["prompt"] for g in groups.values()],
            [[x["text"] for x, _ in g] for g in groups.values()],
            [[reward for _, reward in g] for g in groups.values()],
            settings,
            quiet,
        )
