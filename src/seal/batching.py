"""Padded batches: widths rounded up to a bucket, and completion-only training labels."""

from __future__ import annotations

import torch

PAD_MULTIPLE = 32
"""Batch widths are rounded up to a multiple of this. With a handful of distinct tensor
shapes, freed activations are reused exactly instead of fragmenting the allocator's heap:
critic training on the embedded model peaked at 4.4 GB resident with exact widths and
2.7 GB with widths in multiples of 32, at the same speed (the padding is masked out)."""


def bucket_width(width: int, multiple: int = PAD_MULTIPLE) -> int:
    """``width`` rounded up to a multiple of ``multiple``."""
    return -(-width // multiple) * multiple


def model_context(model: object, default: int = 10**9) -> int:
    """The most positions ``model`` reads (its config's ``max_position_embeddings``, which
    GPT-2's ``n_positions`` maps to), or ``default`` where the config does not say."""
    config = getattr(model, "config", None)
    return getattr(config, "max_position_embeddings", None) or default


def fit_context(
    prompt: list[int], completion: list[int], context: int
) -> tuple[list[int], list[int]]:
    """A training example cut to ``context`` tokens: the prompt loses its start first (a long
    few-shot prompt keeps its question, as lm-eval cuts a long context), keeping one token,
    then the completion its end. A model with learned positions (GPT-2) fails on more."""
    over = len(prompt) + len(completion) - context
    if over <= 0:
        return prompt, completion
    prompt = prompt[min(over, max(len(prompt) - 1, 0)) :]
    return prompt, completion[: max(context - len(prompt), 0)]


def completion_batch(
    pairs: list[tuple[list[int], list[int]]],
    pad: int,
    multiple: int = PAD_MULTIPLE,
    limit: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(prompt ids, completion ids)`` pairs → ``input_ids``, ``attention_mask``, ``labels``
    (``-100`` on prompt and padding, so only completions are learned), right-padded to a
    multiple of ``multiple`` but not past ``limit`` positions (the model's context) where
    the rows fit in it."""
    longest = max(len(p) + len(c) for p, c in pairs)
    width = bucket_width(longest, multiple)
    if limit is not None:
        width = max(min(width, limit), longest)
    ids = torch.full((len(pairs), width), pad, dtype=torch.long)
    labels = torch.full((len(pairs), width), -100, dtype=torch.long)
    mask = torch.zeros((len(pairs), width), dtype=torch.long)
    for row, (p, c) in enumerate(pairs):
        n = len(p) + len(c)
        ids[row, :n] = torch.tensor(p + c)
        labels[row, len(p) : n] = torch.tensor(c)
        mask[row, :n] = 1
    return ids, mask, labels
