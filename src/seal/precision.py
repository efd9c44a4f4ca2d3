"""Mixed precision for training: bfloat16 autocast where the hardware does it natively.

On a CUDA GPU with bf16 support autocast runs the matmuls in bfloat16 and keeps losses and
softmaxes in float32. On CPUs the flag alone does not decide it: on one 2-core AMD EPYC with
AVX-512 BF16 autocast made critic training about 1.6x faster, on a 2-core Intel Xeon with
the same flag (no AMX) it made a training step 1.6x slower. So ``auto`` on a CPU with native
bf16 times a small training step both ways once per process and uses bf16 only if it wins.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from pathlib import Path

import torch

from seal.errors import SealError


@functools.cache
def cpu_has_native_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


@functools.cache
def cpu_bf16_is_faster() -> bool:
    """Does bf16 autocast speed up a transformer-sized MLP step on this CPU? (~0.2 s, once)"""
    import time

    gen = torch.Generator().manual_seed(0)
    layers = torch.nn.Sequential(
        torch.nn.Linear(256, 704), torch.nn.SiLU(), torch.nn.Linear(704, 256)
    )
    x = torch.randn(1024, 256, generator=gen)

    def step(bf16: bool) -> float:
        start = time.perf_counter()
        # the first caller may be inside torch.no_grad() (GRPO's reference log-probs)
        with torch.enable_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = layers(x).float().pow(2).mean()
            loss.backward()
        return time.perf_counter() - start

    for bf16 in (False, True):  # warm up both paths
        step(bf16)
    times: dict[bool, list[float]] = {False: [], True: []}
    for i in range(10):
        times[i % 2 == 1].append(step(i % 2 == 1))
    return sorted(times[True])[2] < 0.85 * sorted(times[False])[2]


def use_bf16(device: torch.device, mode: str = "auto") -> bool:
    if mode in ("on", "off"):
        return mode == "on"
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_has_native_bf16() and cpu_bf16_is_faster()


@contextlib.contextmanager
def train_autocast(device: torch.device, mode: str = "auto") -> Iterator[None]:
    """Autocast to bfloat16 for a training forward pass when ``use_bf16`` says so."""
    if use_bf16(device, mode):
        with torch.autocast(device.type, dtype=torch.bfloat16):
            yield
    else:
        yield


def clip_or_stop(params: list[torch.Tensor], what: str) -> None:
    """Clip gradients to norm 1. A NaN or infinite gradient stops training with a one-line
    error instead of stepping: one such step makes every weight NaN, and the run would go on
    to score every candidate NaN."""
    norm = torch.nn.utils.clip_grad_norm_(params, 1.0)
    if not torch.isfinite(norm):
        device = params[0].device if params else "cpu"
        raise SealError(
            f"{what}: the gradient is {norm.item()} on {device} (a numerical failure, not "
            "your data); rerun with --set model.train_bf16=off, or model.dtype=float32 "
            "(a run resumes from its last finished stage)"
        )
