"""Supervised fine-tuning of the active adapter on (prompt, completion) pairs.

Loss on completion tokens only (the prompt is context), completions end with EOS so the
model learns to stop, AdamW weight decay is the L2 term, batches are drawn at random (each
holds several levels).

Launched distributed (``seal.distributed``), every rank forms the same batches and trains on
its share of each; a batch's loss is the sum of its completion tokens' losses over all
ranks divided by its token count over all ranks, and gradients are summed, so N processes
take the steps one process takes.
"""

from __future__ import annotations

import random
from typing import Any

import torch
import torch.nn.functional as F
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from seal import distributed
from seal.batching import completion_batch, fit_context, model_context
from seal.precision import clip_or_stop, train_autocast
from seal.progress import progress_bar


def token_loss_sum(model: PreTrainedModel, ids, mask, labels) -> torch.Tensor:
    """Summed cross-entropy of the labelled (completion) tokens; labels are unshifted."""
    logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
    return F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]),
        labels[:, 1:].reshape(-1),
        ignore_index=-100,
        reduction="sum",
    )


def epoch_batches(
    examples: list[Any], batch_size: int, rng: random.Random, mixed: bool = True
) -> list[list[Any]]:
    """One epoch's batches of ``(prompt ids, completion ids)`` examples, in random order.
    mixed: the examples shuffled, so a batch holds several levels (fine-tuning on one
    length per batch pulls each step towards that length); otherwise sorted by length
    first (less padding)."""
    if mixed:
        order = list(examples)
        rng.shuffle(order)
    else:
        order = sorted(examples, key=lambda pc: len(pc[0]) + len(pc[1]))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


def micro_batches(batch: list[Any], size: int | None) -> list[list[Any]]:
    """A batch's examples in forward passes of at most ``size`` rows, grouped by length
    so each pads only to its own longest (None: one pass)."""
    if not batch or size is None or size >= len(batch):
        return [batch] if batch else []
    ordered = sorted(batch, key=lambda pc: len(pc[0]) + len(pc[1]))
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


def accumulate_grads(
    model: PreTrainedModel,
    batch: list[tuple[list[int], list[int]]],
    n_tok: int,
    pad: int,
    bf16: str = "auto",
    micro_batch: int | None = None,
) -> float:
    """Add the gradients of ``batch``'s summed completion-token loss / ``n_tok`` to the
    model's, in forward passes of ``micro_batch`` rows; returns the summed loss."""
    device = next(model.parameters()).device
    loss_sum = 0.0
    for part in micro_batches(batch, micro_batch):
        ids, mask, labels = completion_batch(part, pad, limit=model_context(model))
        with train_autocast(device, bf16):
            summed = token_loss_sum(model, ids.to(device), mask.to(device), labels.to(device))
        (summed / n_tok).backward()
        loss_sum += summed.item()
    return loss_sum


def sft(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    pairs: list[tuple[str, str]],
    epochs: int = 2,
    lr: float = 5e-4,
    weight_decay: float = 0.01,
    batch_size: int = 16,
    seed: int = 0,
    quiet: bool = False,
    bf16: str = "auto",
    mixed: bool = True,
    micro_batch: int | None = None,
) -> list[float]:
    """Train the model's trainable parameters in place; returns the mean loss per epoch.
    ``mixed``: batches of examples in random order (levels mixed in every batch); False:
    length-sorted batches (less padding, one length per batch), shuffled. ``micro_batch``:
    rows per forward/backward pass (``micro_batches``; None: the whole batch in one)."""
    if not pairs:
        return []
    rng = random.Random(seed)
    torch.manual_seed(seed)
    eos = tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    encoded, context = [], model_context(model)
    for prompt, completion in pairs:
        p = tokenizer(prompt, add_special_tokens=True)["input_ids"]
        c = tokenizer(completion, add_special_tokens=False)["input_ids"] + [eos]
        encoded.append(fit_context(p, c, context))  # a long prompt + reference solution
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    n_batches = (len(encoded) + batch_size - 1) // batch_size
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1 - s / max(1, epochs * n_batches))
    model.train()
    losses = []
    quiet = quiet or not distributed.is_main()
    with progress_bar("fine-tuning", total=epochs * n_batches, unit="steps", quiet=quiet) as bar:
        for _ in range(epochs):
            batches = epoch_batches(encoded, batch_size, rng, mixed)
            total, count = 0.0, 0
            for batch in batches:
                # tokens learned in this batch on every rank: the loss's denominator
                n_tok = sum(len(c) for _, c in batch)
                mine = distributed.split(batch)
                loss_sum = accumulate_grads(model, mine, n_tok, pad, bf16, micro_batch)
                distributed.sum_grads(params)
                clip_or_stop(params, "fine-tuning")
                opt.step()
                sched.step()
                opt.zero_grad(set_to_none=True)
                loss = distributed.all_sum([loss_sum])[0] / n_tok
                total += loss * len(batch)
                count += len(batch)
                bar.advance(1, tokens=n_tok, note=f"loss {loss:.3f}")
            losses.append(total / count)
    model.eval()
    return losses
