"""The sampling protocol every backend implements: prompts in, n completions each out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from seal import distributed
from seal.errors import SealError


@dataclass(frozen=True)
class SamplingParams:
    """How to decode. ``temperature == 0`` is greedy; ``top_k == 0`` and ``top_p == 1`` disable
    those filters. The same ``seed`` with the same inputs gives the same outputs."""

    n: int = 1
    temperature: float = 0.8
    top_p: float = 1.0
    top_k: int = 0
    max_new_tokens: int = 256
    stop: tuple[str, ...] = ()
    seed: int = 0

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0


@dataclass(frozen=True)
class Completion:
    """One sampled continuation. ``logprob`` is the summed log-probability of its tokens under
    the model (temperature 1, no filtering); ``finish_reason``: ``stop``, ``eos`` or ``length``."""

    text: str
    num_tokens: int
    logprob: float
    finish_reason: str


@runtime_checkable
class Sampler(Protocol):
    def sample(
        self,
        prompts: list[str],
        params: SamplingParams,
        quiet: bool = False,
        keys: list[int] | None = None,
    ) -> list[list[Completion]]:
        """``params.n`` completions for each prompt, in prompt order; sample ``j`` of prompt
        ``i`` draws from a stream seeded by ``(params.seed, keys[i], j)``."""
        ...


Shard = Callable[[list[str], SamplingParams, bool, list[int]], list[list[Completion]]]
"""A backend's sampling of some prompts: (prompts, params, quiet, keys) -> completions."""


def sample_sharded(
    sample: Shard,
    prompts: list[str],
    params: SamplingParams,
    quiet: bool,
    keys: list[int] | None,
) -> list[list[Completion]]:
    """``sample`` over ``prompts``; ``keys`` default to the prompts' positions, so a prompt
    draws the same samples wherever it stands. Launched distributed, each rank samples its
    share of the prompts (rank 0 alone shows progress) and all get every result: the same
    candidates as one process."""
    keys = list(range(len(prompts))) if keys is None else keys
    if len(keys) != len(prompts):
        raise SealError(f"{len(keys)} sampling keys for {len(prompts)} prompts")
    return distributed.map_sharded(
        lambda idx: sample(
            [prompts[i] for i in idx],
            params,
            quiet or not distributed.is_main(),
            [keys[i] for i in idx],
        ),
        len(prompts),
    )
