"""What every sampling backend shares (``generation.base.sample_sharded``): a prompt's samples
are drawn from its key, keys default to positions, and a key list of another length is
refused by each backend alike, before anything samples."""

from __future__ import annotations

import pytest

from seal.errors import SealError
from seal.generation.base import Completion, SamplingParams, sample_sharded


def _echo(prompts: list[str], params: SamplingParams, quiet: bool, keys: list[int]):
    return [
        [Completion(f"{p}@{k}/{j}", 1, 0.0, "stop") for j in range(params.n)]
        for p, k in zip(prompts, keys, strict=True)
    ]


def test_keys_default_to_positions_and_reach_the_backend() -> None:
    params = SamplingParams(n=2)
    out = sample_sharded(_echo, ["a", "b", "c"], params, True, None)
    assert [[c.text for c in row] for row in out] == [
        ["a@0/0", "a@0/1"], ["b@1/0", "b@1/1"], ["c@2/0", "c@2/1"]
    ]  # fmt: skip
    out = sample_sharded(_echo, ["a", "b"], params, True, [7, 3])
    assert [row[0].text for row in out] == ["a@7/0", "b@3/0"]


def test_a_key_list_of_another_length_is_refused_by_every_backend() -> None:
    from seal.generation.vllm_engine import VLLMSampler

    with pytest.raises(SealError, match="2 sampling keys for 3 prompts"):
        sample_sharded(_echo, ["a", "b", "c"], SamplingParams(), True, [0, 1])
    with pytest.raises(SealError, match="1 sampling keys for 2 prompts"):
        VLLMSampler(engine=None).sample(["a", "b"], SamplingParams(), keys=[0])  # type: ignore[arg-type]
