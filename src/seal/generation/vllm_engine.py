"""vLLM backend (``model.backend: vllm``): sampling and critic scoring on one offline engine.

NOT RUN YET. No vLLM build installs on the machine this was written on (CPU only; vLLM
0.33.0's one PyPI wheel is a CUDA build pinning torch 2.14 and transformers < 5.21), so
this module has been checked against vLLM's documented API, not executed. ``benchmarks/
gpu.sh`` is the first thing to run on a GPU machine.

The design: the base model never changes during a run, only the two LoRA adapters do.
One ``vllm.LLM`` holds the frozen base with LoRA enabled; the policy and the critic reach
it as adapter directories written by PEFT (``save_adapter``), each new version under a
fresh name and integer id, so there is no weight broadcast and the adapter being served
is always the one on disk. A version is recognised by a digest of the in-process
adapter's weights: an unchanged adapter is not written or reloaded.

- Candidates: one request per prompt with ``SamplingParams(n=..., seed=...)``, the seed
  derived from (call seed, prompt key) as in the HF sampler, so they do not depend on
  sharding (they do differ from the HF sampler's: another random stream).
- Critic p(good): ``seal.critic.vllm_judge`` on the same engine.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path
from typing import Any

import torch
from peft import PeftModel

from seal import distributed
from seal.adapters import save_adapter
from seal.config import SealConfig
from seal.errors import SealError
from seal.generation.base import Completion, SamplingParams, sample_sharded
from seal.generation.hf import row_seed

VLLM_PIN = "vllm==0.33.0"
"""What ``seal-lm[vllm]`` installs: the newest release when this was written, read from its
wheel's metadata and its source; not yet run (see the module docstring)."""

LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
"""``max_lora_rank`` values vLLM accepts (``vllm/config/lora.py``); an adapter's rank must
not exceed the engine's."""

INSTALL = "model.backend vllm needs vLLM: pip install 'seal-lm[vllm]' (a CUDA machine)"


def import_vllm() -> Any:
    try:
        import vllm
    except ImportError:
        raise SealError(INSTALL) from None
    return vllm


def engine_rank(r: int) -> int:
    """The smallest ``max_lora_rank`` vLLM accepts that serves rank ``r``."""
    for allowed in LORA_RANKS:
        if r <= allowed:
            return allowed
    raise SealError(
        f"LoRA rank {r} is above what vLLM serves (at most {LORA_RANKS[-1]}); "
        "lower critic.lora_r or use model.backend hf"
    )


def check_adapter(path: Path) -> int:
    """The rank of the adapter saved at ``path``; one that vLLM cannot serve is a one-line
    error (vLLM's ``PEFTHelper`` refuses ``modules_to_save``, DoRA and trained biases)."""
    try:
        cfg = json.loads((Path(path) / "adapter_config.json").read_text())
    except (OSError, json.JSONDecodeError):
        raise SealError(
            f"{path} is not a saved adapter (no readable adapter_config.json)"
        ) from None
    if cfg.get("modules_to_save"):
        raise SealError(f"{path}: vLLM cannot serve an adapter with modules_to_save")
    if cfg.get("use_dora"):
        raise SealError(f"{path}: vLLM cannot serve a DoRA adapter")
    if cfg.get("bias", "none") != "none":
        raise SealError(f"{path}: vLLM cannot serve an adapter with trained biases")
    r = int(cfg.get("r", 0))
    engine_rank(r)
    return r


def _digest(model: PeftModel, role: str) -> str:
    h = hashlib.blake2b(digest_size=16)
    for name, p in model.named_parameters():
        if f".{role}." in name:
            h.update(name.encode())
            h.update(p.detach().float().cpu().numpy().tobytes())
    return h.hexdigest()


class Engine:
    """One offline ``vllm.LLM`` on the base model, serving adapters of ``model`` from files
    written under ``workdir``."""

    def __init__(
        self,
        base: str,
        model: PeftModel,
        workdir: Path,
        lora_r: int,
        dtype: str = "auto",
        memory: float = 0.5,
        seed: int = 0,
    ):
        vllm = import_vllm()
        self.model, self.workdir = model, Path(workdir)
        self._ids = itertools.count(1)
        self._served: dict[str, tuple[str, Any]] = {}  # role -> (digest, LoRARequest)
        self.llm = vllm.LLM(
            model=base,
            dtype=dtype,
            enable_lora=True,
            max_lora_rank=engine_rank(lora_r),
            max_loras=2,
            gpu_memory_utilization=memory,
            enable_prefix_caching=True,
            seed=seed,
        )

    def adapter(self, role: str) -> Any:
        """A ``LoRARequest`` for the current weights of adapter ``role``: written to a new
        directory under a fresh name and id when they changed since last served."""
        from vllm.lora.request import LoRARequest

        digest = _digest(self.model, role)
        served = self._served.get(role)
        if served is not None and served[0] == digest:
            return served[1]
        n = next(self._ids)
        path = self.workdir / f"{role}-{n:04d}"
        save_adapter(self.model, role, path)
        check_adapter(path)
        request = LoRARequest(f"{role}-{n}", n, str(path))
        self._served[role] = (digest, request)
        return request


class VLLMSampler:
    """``Sampler`` on the engine, with the policy adapter as it is now."""

    def __init__(self, engine: Engine, role: str = "policy"):
        self.engine, self.role = engine, role

    def sample(
        self,
        prompts: list[str],
        params: SamplingParams,
        quiet: bool = False,
        keys: list[int] | None = None,
    ) -> list[list[Completion]]:
        return sample_sharded(self._sample, prompts, params, quiet, keys)

    def _sample(
        self, prompts: list[str], params: SamplingParams, quiet: bool, keys: list[int]
    ) -> list[list[Completion]]:
        vllm = import_vllm()
        if not prompts:
            return []
        requests = [
            vllm.SamplingParams(
                n=params.n,
                temperature=params.temperature,
                top_p=params.top_p,
                top_k=params.top_k,  # 0 disables, as in seal
                max_tokens=params.max_new_tokens,
                stop=list(params.stop) or None,
                seed=row_seed(params.seed, key, 0),
                logprobs=0,  # the sampled token's log-probability, for cumulative_logprob
            )
            for key in keys
        ]
        outs = self.engine.llm.generate(
            prompts,
            requests,
            lora_request=self.engine.adapter(self.role),
            use_tqdm=not quiet and distributed.is_main(),
        )
        result = []
        for out in outs:
            row = []
            for c in out.outputs:
                reason = c.finish_reason
                if reason == "stop" and c.stop_reason is None:
                    reason = "eos"
                row.append(
                    Completion(
                        text=c.text,
                        num_tokens=len(c.token_ids),
                        logprob=float(c.cumulative_logprob or 0.0),
                        finish_reason=reason or "length",
                    )
                )
            result.append(row)
        return result


def check(cfg: SealConfig) -> None:
    """``model.backend vllm`` settings it cannot run are one-line errors before any work:
    vLLM missing, no GPU, a LoRA rank it does not serve."""
    import_vllm()
    engine_rank(cfg.critic.lora_r)
    if not torch.cuda.is_available():
        raise SealError("model.backend vllm needs a CUDA GPU; use model.backend hf here")
