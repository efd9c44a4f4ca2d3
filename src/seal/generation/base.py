"""The sampling protocol every backend implements: prompts in, n completions each out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


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
        self, prompts: list[str], params: SamplingParams, quiet: bool = False
    ) -> list[list[Completion]]:
        """``params.n`` completions for each prompt, in prompt order."""
        ...
