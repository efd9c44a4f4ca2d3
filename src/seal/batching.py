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


def completion_batch(
    pairs: list[tuple[list[int], list[int]]], pad: int, multiple: int = PAD_MULTIPLE
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(prompt ids, completion ids)`` pairs → ``input_ids``, ``attention_mask``, ``labels``
    (``-100`` on prompt and padding, so only completions are learned), right-padded to a
    multiple of ``multiple``."""
    width = bucket_width(max(len(p) + len(c) for p, c in pairs), multiple)
    ids = torch.full((len(pairs), width), pad, dtype=torch.long)
    labels = torch.full((len(pairs), width), -100, dtype=torch.long)
    mask = torch.zeros((len(pairs), width), dtype=torch.long)
    for row, (p, c) in enumerate(pairs):
        n = len(p) + len(c)
        ids[row, :n] = torch.tensor(p + c)
        labels[row, len(p) : n] = torch.tensor(c)
        mask[row, :n] = 1
    return ids, mask, labels
