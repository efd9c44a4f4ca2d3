"""The critic on the embedded model and wordmath: quality by label budget, ablations, speed.

Samples trajectories once (pool split, all levels), then trains a fresh critic adapter per
setting on the same trajectories and measures it on the same held-out problems:
labels 50 / 100 / 200 / 400, and at 200 labels without the inconsistency penalty, without
step critique, with self-labels by the critic alone (no self-consistency votes), with
the self-consistency filter and with contrastive labels; for the
200-label critic, each way of combining outcome and step verdicts into the reward. Also
times scoring (trajectories per second).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

if __package__ in (None, ""):  # run as `python benchmarks/<name>.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import markdown_table, report
from seal.adapters import lora_config, with_adapters
from seal.config import CriticConfig, ModelConfig
from seal.critic.model import Critic, combine
from seal.critic.pipeline import run_critic_training, sample_trajectories, split_heldout
from seal.critic.train import within_problem_ranking
from seal.generation.hf import HFSampler
from seal.metrics import auroc
from seal.models import load_model
from seal.tasks import get_task


def fresh_critic(model, cfg: CriticConfig, seed: int) -> None:
    """Replace the critic adapter by a newly initialised one."""
    torch.manual_seed(seed)
    model.delete_adapter("critic")
    model.add_adapter("critic", lora_config(cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout))
    model.set_adapter("policy")


def reward_combinations(critic: Critic, trajs, cfg: CriticConfig) -> list[list[str]]:
    """Held-out AUROC and within-problem order of each way of combining the outcome verdict
    with the step verdicts into the trajectory reward (``critic.combine``)."""
    _, heldout = split_heldout(trajs, cfg.heldout_fraction, cfg.seed)
    qs, ss = [t.question for t in heldout], [t.solution for t in heldout]
    outcome = [v.p_good for v in critic.score(qs, ss)]
    steps = critic.score_steps(qs, ss)
    labels = [int(t.truth or 0) for t in heldout]
    rows = []
    for how in ("outcome", "min", "mean", "product"):
        reward = [combine(o, s, how) for o, s in zip(outcome, steps, strict=True)]
        order = within_problem_ranking(heldout, reward)
        rows.append([how, f"{auroc(reward, labels):.3f}", "-" if order is None else f"{order:.3f}"])
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--problems-per-level", type=int, default=48)
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--labels", default="50,100,200,400")
    ap.add_argument("--no-ablations", action="store_true")
    ap.add_argument(
        "--set", action="append", default=[], help="critic setting, e.g. --set epochs=3"
    )
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()

    loaded = load_model(ModelConfig(name="tiny"))
    extra = dict(kv.split("=", 1) for kv in args.set)
    base = CriticConfig.model_validate(
        {"problems_per_level": args.problems_per_level, "samples_per_problem": args.samples} | extra
    )
    model = with_adapters(loaded.model, base.lora_r, base.lora_alpha, base.lora_dropout)
    task = get_task("wordmath")
    sampler = HFSampler(model, loaded.tokenizer, batch_size=64)
    t = time.perf_counter()
    trajs = sample_trajectories(
        task, task.problems("pool", limit=args.problems_per_level), sampler, base
    )
    sample_s = time.perf_counter() - t
    critic = Critic(model, loaded.tokenizer, batch_size=32)

    t = time.perf_counter()
    critic.score([x.question for x in trajs], [x.solution for x in trajs])
    score_rate = len(trajs) / (time.perf_counter() - t)

    settings = [
        (f"labels={n}", base.model_copy(update={"labels": int(n)})) for n in args.labels.split(",")
    ]
    if not args.no_ablations:
        settings += [
            ("labels=200, no inconsistency penalty", base.model_copy(update={"consistency": 0.0})),
            ("labels=200, no step critique", base.model_copy(update={"steps": False})),
            (
                "labels=200, self-labels by critic alone (no votes)",
                base.model_copy(update={"vote_weight": 0.0}),
            ),
            (
                "labels=200, self-consistency filter",
                base.model_copy(update={"self_consistency": True}),
            ),
            (
                "labels=200, contrastive labels",
                base.model_copy(update={"contrastive": not base.contrastive}),
            ),
        ]
    rows, curves, combine_rows = [], {}, []
    for name, cfg in settings:
        fresh_critic(model, cfg, cfg.seed)
        t = time.perf_counter()
        r = run_critic_training(critic, trajs, cfg, quiet=True)
        r.pop("labelled")
        if name == "labels=200":
            combine_rows = reward_combinations(critic, trajs, cfg)
        h, sl = r["heldout"], r.get("self_label", {})
        rows.append(
            [
                name,
                f"{r['bootstrap_heldout']['auroc']:.3f}",
                f"{h['auroc']:.3f}",
                "-" if h.get("within_problem") is None else f"{h['within_problem']:.3f}",
                "-"
                if h.get("within_problem_voted") is None
                else f"{h['within_problem_voted']:.3f}",
                f"{h['accuracy']:.3f}",
                f"{h['ece']:.3f}",
                f"{sl.get('kept_fraction', 0):.2f}",
                f"{sl['accuracy']:.3f}" if sl.get("accuracy") is not None else "-",
                f"{h['injection_caught']:.2f}",
                f"{time.perf_counter() - t:.0f}",
            ]
        )
        print(rows[-1], flush=True)
        if sl.get("by_threshold"):
            curves[name] = sl["by_threshold"]
            curves[name + ", with self-consistency"] = sl["by_threshold_consistent"]
            print(json.dumps(sl["by_threshold"]), flush=True)
            print(json.dumps(sl["by_threshold_consistent"]), flush=True)
    good = sum(x.truth for x in trajs)
    table = markdown_table(
        [
            "setting",
            "AUROC (bootstrap only)",
            "AUROC",
            "within-problem order",
            "... with votes",
            "accuracy",
            "ECE",
            "self-labels kept",
            "self-label accuracy",
            "injections caught",
            "train s",
        ],
        rows,
    )
    notes = (
        f"{len(trajs)} trajectories ({good} correct) from {args.problems_per_level} pool "
        f"problems per level x {args.samples} samples, sampled in {sample_s:.0f}s; held-out = "
        f"30% of problems. Scoring speed: **{score_rate:.1f} trajectories/s** (batch 32). "
        "'AUROC (bootstrap only)' is before self-labelling; the other columns after "
        "retraining. 'within-problem order': share of (right, wrong) pairs of the same problem "
        "ranked right (what top-k selection needs); '... with votes': the same for the verdict "
        "sharpened by self-consistency (`critic.vote_weight`; the loop scores with "
        "`run.vote_weight`). Columns after "
        "retraining on bootstrap + kept self-labels. Critic settings: "
        + ", ".join(
            f"{k}={v}"
            for k, v in base.model_dump().items()
            if k
            in (
                "epochs",
                "self_label_epochs",
                "batch_size",
                "lr",
                "entropy_threshold",
                "vote_weight",
                "consistency",
                "injections",
                "steps",
            )
        )
        + "."
    )
    for name, curve in curves.items():
        if name not in ("labels=200", "labels=200, with self-consistency"):
            continue  # the other settings' curves stay in the printed log
        cells = ", ".join(
            f"<{c['threshold']}: {c['kept_fraction']:.0%} kept"
            + (f" ({c['accuracy']:.0%} right)" if c["accuracy"] is not None else "")
            for c in curve
        )
        notes += f"\n\nSelf-labels by entropy threshold, {name}: {cells}."
    if combine_rows:
        notes += (
            "\n\nTrajectory reward = outcome verdict combined with the step verdicts "
            "(`critic.combine`), labels=200 critic, same held-out trajectories:\n\n"
            + markdown_table(["combine", "AUROC", "within-problem order"], combine_rows)
        )
    report(
        "Critic quality by label budget, ablations, scoring speed (tiny, wordmath)",
        table,
        notes,
        append=not args.no_append,
    )


if __name__ == "__main__":
    main()
