"""Policy-gradient update of the policy adapter on scored samples (GRPO-style PPO).

For each prompt, its ``N`` sampled completions form a group; a completion's advantage is
its reward minus the group mean, divided by the group's standard deviation (groups whose
rewards are all equal carry no signal and are skipped). The loss per completion token is

    -min(ratio * A, clip(ratio, 1 - eps, 1 + eps) * A) + beta * KL(pi || ref) - alpha * H(pi)

with ``ratio = pi / pi_old`` (``pi_old``: the policy that sampled, recomputed once before
the update), ``KL`` the k3 estimator against the frozen reference (the base model: every
adapter disabled) and ``H`` the entropy of the next-token distribution.

Why not TRL's ``GRPOTrainer``: it samples inside its own loop with ``model.generate`` and
owns the data flow, while here the samples already exist (drawn by seal's sampler, 1.4x
``generate`` on CPU, scored by the critic on the same model) and the update must fit the
loop's stages (resume, rollback, audit).

Launched distributed (``seal.distributed``), every rank forms the same batches and computes
its share of each; per-token losses are summed over ranks and divided by the batch's token
count over all ranks, gradients are summed: N processes take the steps one process takes.
"""

from __future__ import annotations

import random
import statistics
from dataclasses import dataclass

import torch
from peft import PeftModel
from transformers import PreTrainedTokenizerBase

from seal import distributed
from seal.batching import completion_batch, fit_context, model_context
from seal.errors import SealError
from seal.precision import clip_or_stop, train_autocast
from seal.progress import progress_bar


@dataclass(frozen=True)
class GRPOSettings:
    epochs: int = 1
    lr: float = 2e-4
    clip: float = 0.2
    kl: float = 0.05
    entropy: float = 0.001
    batch_size: int = 16
    weight_decay: float = 0.0
    seed: int = 0
    bf16: str = "auto"


def group_advantages(rewards: list[list[float]]) -> list[list[float]]:
    """(r - mean) / std within each group; all zeros for a group with no spread."""
    out = []
    for group in rewards:
        if len(group) < 2:
            out.append([0.0] * len(group))
            continue
        mean, std = statistics.fmean(group), statistics.pstdev(group)
        out.append([0.0] * len(group) if std < 1e-6 else [(r - mean) / std for r in group])
    return out


def _token_logprobs(model, ids, mask, labels) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-position log-probability of the label token and entropy (positions of the
    completion only matter; labels are already shifted by the caller)."""
    logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
    logp = torch.log_softmax(logits, -1)
    target = labels[:, 1:].clamp(min=0)
    chosen = logp.gather(-1, target[..., None]).squeeze(-1)
    entropy = -(logp.exp() * logp).sum(-1)
    return chosen, entropy


def grpo_update(
    model: PeftModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: list[str],
    completions: list[list[str]],
    rewards: list[list[float]],
    settings: GRPOSettings = GRPOSettings(),
    quiet: bool = False,
) -> dict[str, float]:
    """Update the active (trainable) adapter in place; returns the update's statistics."""
    if not (len(prompts) == len(completions) == len(rewards)):
        raise SealError("grpo: prompts, completions and rewards must have the same length")
    advantages = group_advantages(rewards)
    eos = tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    items, context = [], model_context(model)  # (prompt ids, completion ids, advantage)
    for prompt, comps, advs in zip(prompts, completions, advantages, strict=True):
        p = tokenizer(prompt, add_special_tokens=True)["input_ids"]
        for text, a in zip(comps, advs, strict=True):
            if a != 0.0:
                c = tokenizer(" " + text.lstrip(), add_special_tokens=False)["input_ids"] + [eos]
                items.append((*fit_context(p, c, context), a))
    stats = {"groups": len(prompts), "trained": len(items)}
    if not items:
        return stats | {"loss": 0.0, "kl": 0.0, "entropy": 0.0, "clipped": 0.0}
    device = next(model.parameters()).device
    rng = random.Random(settings.seed)
    torch.manual_seed(settings.seed)
    order = sorted(range(len(items)), key=lambda i: len(items[i][0]) + len(items[i][1]))
    size = settings.batch_size
    batches = [order[i : i + size] for i in range(0, len(order), size)]

    # tokens learned per batch, over all ranks: the losses' denominator
    batch_tokens = [sum(len(items[i][1]) for i in batch) for batch in batches]
    batches = [distributed.split(batch) for batch in batches]  # this rank's share

    def tensors(batch: list[int]):
        pairs = [(items[i][0], items[i][1]) for i in batch]
        ids, mask, labels = completion_batch(pairs, pad, limit=context)
        adv = torch.tensor([items[i][2] for i in batch], dtype=torch.float32)
        return ids.to(device), mask.to(device), labels.to(device), adv.to(device)

    # pi_old and the reference, once, without gradients
    old, ref = {}, {}
    model.eval()
    with torch.no_grad():
        for b, batch in enumerate(batches):
            if not batch:
                continue
            ids, mask, labels, _ = tensors(batch)
            with train_autocast(device, settings.bf16):
                old[b] = _token_logprobs(model, ids, mask, labels)[0]
                with model.disable_adapter():
                    ref[b] = _token_logprobs(model, ids, mask, labels)[0]

    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)
    # eval mode throughout: no dropout, so the ratio measures the update and nothing else
    totals = {"loss": 0.0, "kl": 0.0, "entropy": 0.0, "clipped": 0.0}
    steps = 0
    quiet = quiet or not distributed.is_main()
    with progress_bar(
        "policy gradient", total=settings.epochs * len(batches), unit="steps", quiet=quiet
    ) as bar:
        for _ in range(settings.epochs):
            visit = list(range(len(batches)))
            rng.shuffle(visit)
            for b in visit:
                n_tok = max(1, batch_tokens[b])
                sums = [0.0, 0.0, 0.0, 0.0]  # loss, kl, entropy, clipped: token sums
                if batches[b]:
                    ids, mask, labels, adv = tensors(batches[b])
                    with train_autocast(device, settings.bf16):
                        new, ent = _token_logprobs(model, ids, mask, labels)
                    live = (labels[:, 1:] != -100).float()
                    ratio = torch.exp(new - old[b])
                    a = adv[:, None]
                    clipped = torch.clamp(ratio, 1 - settings.clip, 1 + settings.clip)
                    pg = -torch.minimum(ratio * a, clipped * a)
                    delta = ref[b] - new
                    kl = torch.exp(delta) - delta - 1  # k3: unbiased, always >= 0
                    loss_tok = pg + settings.kl * kl - settings.entropy * ent
                    loss_sum = (loss_tok * live).sum()
                    (loss_sum / n_tok).backward()
                    with torch.no_grad():
                        out = ((ratio - 1).abs() > settings.clip).float()
                        sums = [
                            loss_sum.item(),
                            (kl * live).sum().item(),
                            (ent * live).sum().item(),
                            (out * live).sum().item(),
                        ]
                distributed.sum_grads(params)
                clip_or_stop(params, "policy-gradient update")
                opt.step()
                opt.zero_grad(set_to_none=True)
                sums = distributed.all_sum(sums)
                for key, value in zip(("loss", "kl", "entropy", "clipped"), sums, strict=True):
                    totals[key] += value / n_tok
                steps += 1
                bar.advance(1, note=f"loss {sums[0] / n_tok:.3f}")
    return stats | {k: v / max(1, steps) for k, v in totals.items()}
