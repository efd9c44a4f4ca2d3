"""The critic from start to finish: bootstrap labels, train, self-label the rest, retrain, measure.

1. Sample candidate solutions from the policy for the task's ``pool`` problems.
2. Hold out a share of the problems (with all their trajectories) for measurement.
3. Label ``labels`` trajectories (balanced) with the task's verifier, or read a user file.
4. Train the critic adapter (CE + inconsistency penalty, injected negatives, step labels).
5. Self-annotation: the critic labels the unlabelled rest; verdicts with entropy below the
   threshold are kept; retrain on both. Self-consistency (how many of the prompt's samples
   reach the same answer) can sharpen the verdict (``vote_weight``) or filter it.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from typing import Any

from seal.config import CriticConfig
from seal.critic.data import Trajectory, balanced, outcome_examples
from seal.critic.model import Critic, Verdict
from seal.critic.train import heldout_metrics, train_critic
from seal.critic.votes import vote_share, with_votes
from seal.errors import SealError
from seal.generation.base import Sampler, SamplingParams
from seal.metrics import majority
from seal.stopwatch import Stopwatch
from seal.tasks.base import Problem, Task


def sample_trajectories(
    task: Task, problems: list[Problem], sampler: Sampler, plan: CriticConfig, quiet: bool = False
) -> list[Trajectory]:
    """Candidate solutions with the verifier's label attached (used only where allowed)."""
    prompts = [task.prompt(p) for p in problems]
    params = SamplingParams(
        n=plan.samples_per_problem,
        temperature=plan.temperature,
        max_new_tokens=plan.max_new_tokens,
        stop=tuple(task.stop),
        seed=plan.seed,
    )
    out = []
    for p, comps in zip(problems, sampler.sample(prompts, params, quiet=quiet), strict=True):
        for c in comps:
            out.append(
                Trajectory(
                    problem_id=p.id,
                    question=p.question,
                    solution=c.text,
                    answer=task.extract(c.text),
                    truth=int(task.verify(p, c.text)),
                    level=p.level,
                )
            )
    return out


def agreement(trajs: list[Trajectory]) -> dict[int, bool]:
    """Self-consistency: does each trajectory's answer equal its prompt's majority answer?"""
    by_problem: dict[str, list[int]] = defaultdict(list)
    for i, t in enumerate(trajs):
        by_problem[t.problem_id].append(i)
    out = {}
    for idx in by_problem.values():
        top = majority([trajs[i].answer for i in idx])
        for i in idx:
            out[i] = top is not None and trajs[i].answer == top
    return out


def self_label(
    critic: Critic,
    trajs: list[Trajectory],
    threshold: float,
    use_consistency: bool,
    quiet: bool = True,
    verdicts: list[Verdict] | None = None,
    vote_weight: float = 0.0,
    population: list[Trajectory] | None = None,
) -> tuple[list[Trajectory], dict[str, Any]]:
    """Confident critic labels for unlabelled trajectories, with their audit against truth
    (``verdicts``: the critic's, when the caller has already scored them). With
    ``vote_weight`` the verdicts are first combined with self-consistency (``with_votes``);
    with ``use_consistency`` a label must also agree with the prompt's majority answer.
    Votes are counted over ``population`` (default ``trajs``): every sample of the prompts,
    labelled ones included, not only the unlabelled remainder."""
    if verdicts is None:
        verdicts = critic.score(
            [t.question for t in trajs], [t.solution for t in trajs], quiet=quiet
        )
    every = population if population is not None else trajs
    index = {(t.problem_id, t.solution): i for i, t in enumerate(every)}
    shares_all, agree_all = vote_share(every), agreement(every)
    pos = [index[(t.problem_id, t.solution)] for t in trajs]
    verdicts = with_votes(verdicts, [shares_all[i] for i in pos], vote_weight)
    agree = {k: agree_all[i] for k, i in enumerate(pos)}
    kept = []
    for i, (t, v) in enumerate(zip(trajs, verdicts, strict=True)):
        if v.entropy >= threshold:
            continue
        if use_consistency and bool(v.label) != agree[i]:
            continue
        kept.append(Trajectory(t.problem_id, t.question, t.solution, t.answer, v.label, t.level))
    by_key = {(t.problem_id, t.solution): t.truth for t in trajs}
    known = [(k.truth, by_key[(k.problem_id, k.solution)]) for k in kept]
    known = [(a, b) for a, b in known if b is not None]
    truth = [t.truth for t in trajs]
    consistent = [bool(v.label) == agree[i] for i, v in enumerate(verdicts)]
    stats = {
        "pool": len(trajs),
        "kept": len(kept),
        "kept_fraction": len(kept) / max(1, len(trajs)),
        "accuracy": sum(a == b for a, b in known) / len(known) if known else None,
        "kept_good": sum(k.truth == 1 for k in kept),
        "vote_weight": vote_weight,
        "by_threshold": threshold_curve(verdicts, truth),
        "by_threshold_consistent": threshold_curve(verdicts, truth, mask=consistent),
    }
    return kept, stats


def threshold_curve(
    verdicts: list[Verdict],
    truth: list[int | None],
    thresholds=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6),
    mask: list[bool] | None = None,
) -> list[dict[str, float | None]]:
    """Kept fraction and (where truth is known) label accuracy at each entropy threshold,
    optionally only where ``mask`` holds (self-consistency): the trade-off to read before
    choosing ``entropy_threshold``."""
    mask = mask or [True] * len(verdicts)
    out = []
    for th in thresholds:
        kept = [
            (v.label, y)
            for v, y, m in zip(verdicts, truth, mask, strict=True)
            if m and v.entropy < th
        ]
        known = [(a, y) for a, y in kept if y is not None]
        out.append(
            {
                "threshold": th,
                "kept_fraction": len(kept) / max(1, len(verdicts)),
                "accuracy": sum(a == y for a, y in known) / len(known) if known else None,
            }
        )
    return out


def split_heldout(
    trajs: list[Trajectory], fraction: float, seed: int
) -> tuple[list[Trajectory], list[Trajectory]]:
    """Split by problem, so no held-out problem has trajectories on the training side."""
    ids = sorted({t.problem_id for t in trajs})
    random.Random(seed).shuffle(ids)
    held = set(ids[: int(len(ids) * fraction)])
    return [t for t in trajs if t.problem_id not in held], [
        t for t in trajs if t.problem_id in held
    ]


def check_pool(plan: CriticConfig, problems: int) -> None:
    """``plan.labels`` fits the pool before anything is sampled: the labels come from the
    samples of the pool problems not held out, so more cannot be had."""
    side = problems - int(problems * plan.heldout_fraction)
    most = side * plan.samples_per_problem
    if plan.labels > most:
        raise SealError(
            f"--labels {plan.labels}: the critic's pool gives at most {most} solutions to label "
            f"({side} problems outside the held-out share x {plan.samples_per_problem} samples); "
            "lower --labels, or raise critic.problems_per_level / critic.samples_per_problem"
        )


def sampled_one_class(levels: bool) -> dict[str, str]:
    """What to do when a critic's sampled labels hold one class, by the class they hold;
    ``levels``: the task has difficulty levels (wordmath), so ``--levels`` is the fix."""
    if levels:
        return {
            "bad": "the model solved none of the pool problems it sampled; use easier levels "
            "(--levels), more critic.samples_per_problem, or a model that solves some",
            "good": "the model solved every pool problem it sampled; add harder levels (--levels)",
        }
    return {
        "bad": "the model solved none of the pool problems it sampled; raise "
        "critic.samples_per_problem or critic.problems_per_level, or use a model that solves some",
        "good": "the model solved every pool problem it sampled; raise critic.problems_per_level "
        "or critic.temperature, or use a harder task",
    }


def check_labelled(
    labelled: list[Trajectory], wanted: int, fix: str, one_class: dict[str, str] | None = None
) -> None:
    """At least ``wanted`` labels, of both classes; else a one-line error ending in ``fix``
    (or, for labels of one class, ``one_class[that class]``)."""
    if len(labelled) < wanted:
        raise SealError(f"only {len(labelled)} labelled trajectories for --labels {wanted}; {fix}")
    counts = Counter(t.truth for t in labelled)
    if counts[1] == 0 or counts[0] == 0:
        only = "good" if counts[1] else "bad"
        hint = (one_class or {}).get(only, f"add {'bad' if counts[1] else 'good'} ones")
        raise SealError(
            f"all {len(labelled)} labels are {only}; the critic needs both classes: {hint}"
        )


def run_critic_training(
    critic: Critic,
    trajs: list[Trajectory],
    plan: CriticConfig,
    labelled: list[Trajectory] | None = None,
    quiet: bool = False,
) -> dict[str, Any]:
    """Bootstrap, self-label, retrain, measure. ``labelled`` replaces verifier labels when given.
    The report's ``seconds`` says where the time went (train, measure, self_label)."""
    clock = Stopwatch()
    rng = random.Random(plan.seed)
    train_side, heldout = split_heldout(trajs, plan.heldout_fraction, plan.seed)
    levels = any(t.level is not None for t in trajs)
    one_class = sampled_one_class(levels) if labelled is None else None
    if labelled is None:
        labelled = balanced(train_side, plan.labels, rng, plan.contrastive)
        chosen = {(t.problem_id, t.solution) for t in labelled}
        unlabelled = [t for t in train_side if (t.problem_id, t.solution) not in chosen]
    else:
        unlabelled = train_side
    check_labelled(labelled, plan.labels, "sample more problems or lower --labels", one_class)
    good_word = critic.labels.good
    examples = outcome_examples(
        labelled, rng, good_word, plan.injections, plan.steps, plan.perturbations
    )
    with clock("train"):
        losses = train_critic(critic, examples, plan, quiet=quiet)
    report: dict[str, Any] = {
        "labelled": labelled,
        "labels": len(labelled),
        "labels_good": sum(t.truth == 1 for t in labelled),
        "bootstrap_examples": len(examples),
        "bootstrap_losses": losses,
    }
    if heldout:
        with clock("measure"):
            report["bootstrap_heldout"] = heldout_metrics(
                critic, heldout, plan.seed, vote_weight=plan.vote_weight
            )
    if plan.self_label and unlabelled:
        with clock("self_label"):
            kept, stats = self_label(
                critic,
                unlabelled,
                plan.entropy_threshold,
                plan.self_consistency,
                quiet=quiet,
                vote_weight=plan.vote_weight,
                population=train_side,
            )
        report["self_label"] = stats
        if kept:
            examples = outcome_examples(
                labelled + kept, rng, good_word, plan.injections, plan.steps, plan.perturbations
            )
            with clock("train"):
                report["final_losses"] = train_critic(
                    critic, examples, plan, quiet=quiet, epochs=plan.self_label_epochs
                )
    if heldout:
        with clock("measure"):
            report["heldout"] = heldout_metrics(
                critic, heldout, plan.seed, vote_weight=plan.vote_weight
            )
    report["seconds"] = clock.seconds
    return report


def self_update(
    critic: Critic,
    trajs: list[Trajectory],
    verdicts: list[Verdict],
    bootstrap: list[Trajectory],
    c: CriticConfig,
    size: int,
    seed: int,
    quiet: bool = False,
) -> dict[str, Any]:
    """One epoch on the confident self-labels of new trajectories (at most ``size``, both
    classes) and a replay of half as many bootstrap labels, so the critic does not drift
    to its own verdicts. Returns the self-labelling statistics."""
    kept, stats = self_label(
        critic, trajs, c.entropy_threshold, c.self_consistency, quiet,
        verdicts=verdicts, vote_weight=c.vote_weight,
    )  # fmt: skip
    if kept:
        rng = random.Random(seed)
        new = balanced(kept, size, rng)
        replay = rng.sample(bootstrap, min(len(bootstrap), len(new) // 2))
        good = critic.labels.good
        examples = outcome_examples(replay + new, rng, good, c.injections, False, c.perturbations)
        plan = c.model_copy(update={"epochs": 1, "seed": seed})
        train_critic(critic, examples, plan, quiet=quiet)
    return stats
