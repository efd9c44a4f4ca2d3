"""Right-padded training batches with the loss on completion tokens only."""

from __future__ import annotations

import torch


def completion_batch(
    pairs: list[tuple[list[int], list[int]]], pad: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(prompt ids, completion ids)`` pairs → ``input_ids``, ``attention_mask``, ``labels``
    (``-100`` on prompt and padding, so only completions are learned)."""
    width = max(len(p) + len(c) for p, c in pairs)
    ids = torch.full((len(pairs), width), pad, dtype=torch.long)
    labels = torch.full((len(pairs), width), -100, dtype=torch.long)
    mask = torch.zeros((len(pairs), width), dtype=torch.long)
    for row, (p, c) in enumerate(pairs):
        n = len(p) + len(c)
        ids[row, :n] = torch.tensor(p + c)
        labels[row, len(p) : n] = torch.tensor(c)
        mask[row, :n] = 1
    return ids, mask, labels
