"""Does a critic setting rank the loop's own candidates? Bootstrap critics per setting,
measured on a `seal run`'s saved iteration candidates.

The critic's held-out AUROC is measured on its bootstrap pool (all levels), where most of
it comes from telling easy levels from hard ones. What the loop needs is different: among
the candidates of its frontier levels, right solutions above wrong ones, across prompts
(which prompts are solved) and within a prompt (which of its samples). This script samples
the bootstrap pool once (the `seal run` preset's: 24 pool problems per level, levels 1-8,
4 samples), trains a fresh bootstrap critic per setting (`--variant key=value,...`; the
first is the baseline), and scores the candidates in `RUN/iter-NN/samples.parquet` (with
their verifier labels) with each. Self-labelling is off (it costs minutes and is measured
in `benchmarks/critic.py`).

    python benchmarks/critic_on_candidates.py runs/<name> --variant critic.perturbations=0.5
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python benchmarks/critic_on_candidates.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydantic import ValidationError

from benchmarks.common import iteration_candidates, markdown_table, report
from benchmarks.critic import fresh_critic
from seal.adapters import with_adapters
from seal.config import PRESETS, CriticConfig, ModelConfig, parse_set
from seal.critic.data import Trajectory
from seal.critic.model import Critic
from seal.critic.pipeline import run_critic_training, sample_trajectories
from seal.critic.train import within_problem_ranking
from seal.errors import SealError
from seal.generation.hf import HFSampler
from seal.metrics import auroc
from seal.models import load_model
from seal.tasks import get_task


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path, help="a run directory whose candidates to score")
    ap.add_argument("--iteration", type=int, default=1)
    ap.add_argument(
        "--variant",
        action="append",
        default=[],
        help="critic settings beside the baseline, comma-separated key=value (critic.* keys)",
    )
    ap.add_argument("--problems-per-level", type=int, default=24)
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()
    rows = iteration_candidates(args.run, args.iteration)
    cands = [
        Trajectory(x["prompt_id"], x["question"], x["text"], x["answer"], x["truth"], x["level"])
        for x in rows
    ]
    levels = sorted({t.level for t in cands if t.level is not None})

    base = CriticConfig(problems_per_level=args.problems_per_level, epochs=2, self_label=False)
    settings: list[tuple[str, CriticConfig]] = [("baseline (seal run's critic)", base)]
    for variant in args.variant:
        try:
            sets = {k.removeprefix("critic."): v for k, v in parse_set(variant.split(",")).items()}
            cfg = CriticConfig.model_validate(base.model_dump() | sets)
        except SealError as err:
            raise SystemExit(f"error: --variant {variant!r}: {err}") from None
        except ValidationError as err:
            e = err.errors()[0]
            where = "critic." + ".".join(str(x) for x in e["loc"])
            raise SystemExit(f"error: --variant {variant!r}: {where}: {e['msg']}") from None
        settings.append((variant, cfg))

    loaded = load_model(ModelConfig(name="tiny"))
    model = with_adapters(loaded.model, base.lora_r, base.lora_alpha, base.lora_dropout)
    task = get_task("wordmath", levels=PRESETS["tiny-cpu"]["eval.levels"])
    sampler = HFSampler(model, loaded.tokenizer, batch_size=64)
    start = time.perf_counter()
    pool = sample_trajectories(
        task, task.problems("pool", limit=args.problems_per_level), sampler, base, quiet=True
    )
    sample_s = time.perf_counter() - start
    critic = Critic(model, loaded.tokenizer, batch_size=32)

    table = []
    for name, cfg in settings:
        fresh_critic(model, cfg, cfg.seed)
        start = time.perf_counter()
        r = run_critic_training(critic, pool, cfg, quiet=True)
        h = r.get("heldout") or r.get("bootstrap_heldout") or {}
        verdicts = critic.score([t.question for t in cands], [t.solution for t in cands])
        p = [v.p_good for v in verdicts]
        line = [
            name,
            str(r["bootstrap_examples"]),
            _fmt(h.get("auroc")),
            _fmt(h.get("within_problem")),
        ]
        for lv in levels:
            idx = [i for i, t in enumerate(cands) if t.level == lv]
            truth = [int(cands[i].truth or 0) for i in idx]
            mixed = 0 < sum(truth) < len(truth)
            line.append(_fmt(auroc([p[i] for i in idx], truth) if mixed else None))
            line.append(_fmt(within_problem_ranking([cands[i] for i in idx], [p[i] for i in idx])))
        line.append(f"{time.perf_counter() - start:.0f}")
        table.append(line)
        print(line, flush=True)

    head = ["critic setting", "training examples", "pool held-out AUROC", "pool within"]
    head += [f"L{lv} {m}" for lv in levels for m in ("AUROC", "within")] + ["train + score s"]
    counts = "; ".join(
        f"level {lv}: {sum(int(t.truth or 0) for t in cands if t.level == lv)}/"
        f"{sum(1 for t in cands if t.level == lv)} right"
        for lv in levels
    )
    report(
        "Critic settings on the loop's own candidates",
        markdown_table(head, table),
        f"Bootstrap pool: {len(pool)} trajectories ({sum(int(t.truth or 0) for t in pool)} "
        f"right) from {args.problems_per_level} pool problems per level x "
        f"{base.samples_per_problem} samples, levels {task.levels[0]}-{task.levels[-1]}, "
        f"sampled in {sample_s:.0f}s; 200 "
        "labels, 2 epochs, no self-labels. Candidates: iteration "
        f"{args.iteration} of run `{args.run.name}` ({counts}), scored by p(good) alone "
        "(no votes). AUROC over a level's candidates; within: right above wrong solutions of "
        "the same prompt, ties half. 0.5 = chance, under 0.5 = inverted.",
        append=not args.no_append,
    )


if __name__ == "__main__":
    main()
