"""Batched log-likelihood of continuations, for multiple-choice scoring (MMLU, CommonsenseQA).

Follows lm-evaluation-harness's ``loglikelihood``: the pair is tokenized as
``tokens(context + continuation)`` split at ``len(tokens(context))`` (trailing spaces of the
context move to the continuation first), and the score is the summed log-probability of
the continuation tokens given everything before them, plus whether each of them was the
greedy choice. Requests are sorted by length so batches carry little padding.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from seal.batching import model_context
from seal.errors import SealError
from seal.progress import progress_bar


@dataclass(frozen=True)
class LogLikelihood:
    logprob: float
    greedy: bool
    tokens: int


def encode_pair(
    tokenizer: PreTrainedTokenizerBase, context: str, continuation: str
) -> tuple[list[int], list[int]]:
    spaces = len(context) - len(context.rstrip())
    if spaces:
        context, continuation = context[:-spaces], context[-spaces:] + continuation
    whole = tokenizer(context + continuation, add_special_tokens=True)["input_ids"]
    ctx = tokenizer(context, add_special_tokens=True)["input_ids"]
    return whole[: len(ctx)], whole[len(ctx) :]


@torch.inference_mode()
def loglikelihood(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    requests: list[tuple[str, str]],
    batch_size: int = 32,
    quiet: bool = False,
) -> list[LogLikelihood]:
    """Score every ``(context, continuation)`` pair."""
    device = next(model.parameters()).device
    limit = model_context(model)
    encoded = []
    for i, (ctx, cont) in enumerate(requests):
        c, x = encode_pair(tokenizer, ctx, cont)
        if not x:
            raise SealError(f"request {i}: the continuation {cont!r} encodes to no tokens")
        seq = (c + x)[-(limit + 1) :]  # keep the end, as the harness does
        encoded.append((seq, len(x)))
    order = sorted(range(len(encoded)), key=lambda i: -len(encoded[i][0]))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    out: list[LogLikelihood | None] = [None] * len(requests)
    with progress_bar("scoring", total=len(requests), unit="requests", quiet=quiet) as bar:
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            width = max(len(encoded[i][0]) - 1 for i in idx)
            ids = torch.full((len(idx), width), pad, dtype=torch.long)
            attn = torch.zeros((len(idx), width), dtype=torch.long)
            for r, i in enumerate(idx):
                seq = encoded[i][0][:-1]
                ids[r, : len(seq)] = torch.tensor(seq)
                attn[r, : len(seq)] = 1
            logits = model(input_ids=ids.to(device), attention_mask=attn.to(device)).logits
            logp = torch.log_softmax(logits.float(), dim=-1)
            for r, i in enumerate(idx):
                seq, n = encoded[i]
                end = len(seq) - 1
                target = torch.tensor(seq[len(seq) - n :], device=device)
                rows = logp[r, end - n : end]
                chosen = rows.gather(-1, target[:, None]).squeeze(-1)
                out[i] = LogLikelihood(
                    logprob=chosen.sum().item(),
                    greedy=bool((rows.argmax(-1) == target).all().item()),
                    tokens=n,
                )
            bar.advance(len(idx))
    return out  # type: ignore[return-value]
