"""Critic training: cross-entropy on the label tokens plus an inconsistency penalty.

The penalty makes the same trajectory, judged twice (different dropout masks and a
paraphrased judge prompt), give the same verdict: the symmetric KL between the two
two-way distributions. AdamW's weight decay is the L2 term.

Launched distributed (``seal.distributed``), every rank forms the same batches and judges
its share of each; the loss keeps the whole batch's normalisers (total class weight, batch
size) and gradients are summed over ranks, so N processes take one process's steps (with
``critic.lora_dropout`` 0: dropout masks are drawn per process).
"""

from __future__ import annotations

import random

import torch
import torch.nn.functional as F

from seal import distributed
from seal.config import CriticConfig
from seal.critic.data import JudgeExample, Trajectory, inject
from seal.critic.model import Critic
from seal.critic.prompt import judge_prompt, step_prompt
from seal.critic.votes import vote_share, with_votes
from seal.metrics import auroc, ece
from seal.precision import clip_or_stop, train_autocast
from seal.progress import progress_bar


def _prompts(critic: Critic, batch: list[JudgeExample], template: int) -> list[str]:
    return [
        step_prompt(e.question, e.solution, critic.labels)
        if e.kind == "step"
        else judge_prompt(e.question, e.solution, critic.labels, template)
        for e in batch
    ]


def length_batches(
    examples: list[JudgeExample], size: int, rng: random.Random
) -> list[list[JudgeExample]]:
    """Shuffled batches of similar-length examples: shuffle, sort within windows of 16
    batches, cut, shuffle the batches. Padding shrinks without a fixed batch order."""
    order = examples[:]
    rng.shuffle(order)
    window = size * 16
    batches = []
    for start in range(0, len(order), window):
        chunk = sorted(
            order[start : start + window], key=lambda e: len(e.question) + len(e.solution)
        )
        batches += [chunk[i : i + size] for i in range(0, len(chunk), size)]
    rng.shuffle(batches)
    return batches


def sym_kl(logits_a: torch.Tensor, logits_b: torch.Tensor) -> torch.Tensor:
    la, lb = F.log_softmax(logits_a, -1), F.log_softmax(logits_b, -1)
    return 0.5 * ((la.exp() * (la - lb)).sum(-1) + (lb.exp() * (lb - la)).sum(-1)).mean()


def _accumulate(
    critic: Critic, batch: list[JudgeExample], settings: CriticConfig, weight: torch.Tensor
) -> float:
    """Gradients of one batch's loss, in micro-batches of ``settings.micro_batch_size``
    (activations of a whole batch, judged twice, are what bounds the critic's memory).

    The loss is the class-weighted cross-entropy (normalised by the batch's total weight,
    as ``F.cross_entropy`` does) averaged over the two judgings, plus the weighted
    symmetric KL between them; accumulated over micro-batches (and ranks) it equals the
    whole-batch loss. Returns this rank's share of its value."""
    target = torch.tensor([1 - e.label for e in batch], device=weight.device)
    norm = weight[target].sum()
    templates = (0, 1) if settings.consistency > 0 else (0,)
    size = settings.micro_batch_size
    total = 0.0
    mine = distributed.shard(len(batch))
    for i in range(0, len(mine), size):
        idx = mine[i : i + size]
        part, t = [batch[j] for j in idx], target[idx]
        with train_autocast(weight.device, critic.bf16):
            logits = [critic.label_logits(_prompts(critic, part, k)) for k in templates]
        ce = sum(F.cross_entropy(x, t, weight=weight, reduction="sum") for x in logits)
        loss = ce / (norm * len(logits))
        if len(logits) == 2:
            loss = loss + settings.consistency * sym_kl(*logits) * len(part) / len(batch)
        loss.backward()
        total += loss.item()
    return total


def train_critic(
    critic: Critic,
    examples: list[JudgeExample],
    settings: CriticConfig,
    quiet: bool = False,
    epochs: int | None = None,
) -> list[float]:
    """Train the critic adapter in place (``epochs`` overrides the configured number);
    returns the mean loss of each epoch."""
    n_epochs = settings.epochs if epochs is None else epochs
    if not examples:
        return []
    model = critic.model
    rng = random.Random(settings.seed)
    torch.manual_seed(settings.seed)
    n_good = sum(e.label for e in examples)
    # class weights keep a lopsided set from teaching "always good" (or "always bad")
    w_good = len(examples) / (2 * max(1, n_good))
    w_bad = len(examples) / (2 * max(1, len(examples) - n_good))
    weight = torch.tensor([w_good, w_bad], device=next(model.parameters()).device)
    epoch_losses = []
    with critic.active():
        model.train()
        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)
        steps = n_epochs * ((len(examples) + settings.batch_size - 1) // settings.batch_size)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1 - s / max(1, steps))
        quiet = quiet or not distributed.is_main()
        with progress_bar("critic training", total=steps, unit="steps", quiet=quiet) as bar:
            for _ in range(n_epochs):
                total = 0.0
                for batch in length_batches(examples, settings.batch_size, rng):
                    loss = _accumulate(critic, batch, settings, weight)
                    distributed.sum_grads(params)
                    loss = distributed.all_sum([loss])[0]
                    clip_or_stop(params, "critic training")
                    opt.step()
                    sched.step()
                    opt.zero_grad(set_to_none=True)
                    total += loss * len(batch)
                    bar.advance(1, note=f"loss {loss:.3f}")
                epoch_losses.append(total / len(examples))
        model.eval()
    return epoch_losses


def heldout_metrics(
    critic: Critic,
    trajs: list[Trajectory],
    seed: int = 0,
    quiet: bool = True,
    vote_weight: float = 1.0,
) -> dict[str, float]:
    """AUROC, accuracy and ECE on labelled trajectories the critic never saw, the share of
    injected wrong solutions it still calls bad, and how it orders right above wrong
    solutions of the same problem: alone, and sharpened by self-consistency votes at
    ``vote_weight`` (the loop's selection score)."""
    labels = [int(t.truth or 0) for t in trajs]
    verdicts = critic.score([t.question for t in trajs], [t.solution for t in trajs], quiet=quiet)
    probs = [v.p_good for v in verdicts]
    rng = random.Random(seed)
    bad = [t for t in trajs if t.truth == 0]
    injected = critic.score(
        [t.question for t in bad],
        [inject(t.solution, rng, critic.labels.good) for t in bad],
        quiet=quiet,
    )
    return {
        "n": len(trajs),
        "positives": sum(labels),
        "auroc": auroc(probs, labels) if 0 < sum(labels) < len(labels) else None,
        "accuracy": sum(int(p >= 0.5) == y for p, y in zip(probs, labels, strict=True))
        / len(labels),
        "ece": ece(probs, labels),
        "injection_caught": sum(v.p_good < 0.5 for v in injected) / max(1, len(injected)),
        "within_problem": within_problem_ranking(trajs, probs),
        "within_problem_voted": within_problem_ranking(
            trajs, [v.p_good for v in with_votes(verdicts, vote_share(trajs), vote_weight)]
        ),
    }


def within_problem_ranking(trajs: list[Trajectory], probs: list[float]) -> float | None:
    """Share of (right, wrong) solution pairs of the same problem that the critic orders
    correctly (ties count half): what top-k selection among one prompt's samples needs,
    which plain AUROC over all problems can hide (it also rewards knowing which problems
    are hard)."""
    by_problem: dict[str, list[tuple[float, int]]] = {}
    for t, p in zip(trajs, probs, strict=True):
        by_problem.setdefault(t.problem_id, []).append((p, int(t.truth or 0)))
    right = total = 0.0
    for items in by_problem.values():
        goods = [p for p, y in items if y == 1]
        bads = [p for p, y in items if y == 0]
        for g in goods:
            for b in bads:
                right += 1.0 if g > b else 0.5 if g == b else 0.0
                total += 1
    return right / total if total else None
