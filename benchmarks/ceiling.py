"""How far can fine-tuning move the embedded model on the hard levels at all?

The self-improvement loop can at best hand its fine-tuning step right solutions to the
problems it trains on. This benchmark skips the loop and fine-tunes the tiny model directly
on **gold reference solutions** of wordmath levels 4-5 (right by construction, and
distinct: data no selection rule can beat), at the loop's update settings (LoRA on the
policy adapter, `run.sft_lr`, `run.sft_epochs`), by number of examples; with a replay of
the easy levels 1-3 (against forgetting); with full fine-tuning; and, for comparison, on
the model's own right samples (what `--select oracle` keeps: N samples per prompt, the
distinct right ones, at most `--cap` per prompt). Each variant starts from the shipped
model and is scored by greedy accuracy on the test split, by level.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python benchmarks/ceiling.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from benchmarks.common import markdown_table, report
from seal.adapters import with_adapters
from seal.config import ModelConfig, RunConfig, SamplingConfig
from seal.evaluate import evaluate
from seal.generation.base import SamplingParams
from seal.generation.hf import HFSampler
from seal.improve.finetune import sft
from seal.models import load_model
from seal.tasks.wordmath import WordMath

HARD, EASY = [4, 5], [1, 2, 3]


def gold(levels: list[int], per_level: int, task: WordMath) -> list[tuple[str, str]]:
    return [
        (task.prompt(p), " " + (p.solution or ""))
        for p in WordMath(levels=levels).problems("train", per_level)
    ]


def own_right(
    sampler: HFSampler, task: WordMath, per_level: int, n: int, cap: int
) -> tuple[list[tuple[str, str]], str]:
    """The model's own distinct right samples on hard-level train prompts (the oracle's pick)."""
    problems = WordMath(levels=HARD).problems("train", per_level)
    params = SamplingParams(n=n, temperature=1.0, max_new_tokens=256, stop=tuple(task.stop))
    outs = sampler.sample([task.prompt(p) for p in problems], params, quiet=True)
    pairs, right, prompts = [], 0, 0
    for p, comps in zip(problems, outs, strict=True):
        good = list(dict.fromkeys(c.text for c in comps if task.verify(p, c.text)))
        right += sum(task.verify(p, c.text) for c in comps)
        prompts += bool(good)
        pairs += [(task.prompt(p), " " + t.lstrip()) for t in good[:cap]]
    note = (
        f"{right} of {len(problems) * n} samples right, {len(pairs)} distinct kept "
        f"from {prompts} of {len(problems)} prompts"
    )
    return pairs, note


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="250,1000", help="gold examples (levels 4-5) per variant")
    ap.add_argument("--replay", type=int, default=500, help="gold easy-level examples replayed")
    ap.add_argument("--test-per-level", type=int, default=100)
    ap.add_argument("--self-prompts", type=int, default=300, help="hard prompts per level")
    ap.add_argument("--samples", type=int, default=4, help="samples per prompt (own-right)")
    ap.add_argument("--cap", type=int, default=2, help="own right samples kept per prompt")
    ap.add_argument("--full-lr", type=float, default=3e-4, help="lr of the full fine-tune")
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()

    run = RunConfig()
    task = WordMath()
    test = task.problems("test", args.test_per_level)
    sizes = [int(s) for s in args.sizes.split(",")]
    largest = max(sizes)

    def fresh(full: bool):
        torch.manual_seed(0)
        loaded = load_model(ModelConfig())
        model = loaded.model
        if not full:
            model = with_adapters(model)
            model.set_adapter("policy")
        return model, loaded.tokenizer

    def score(model, tokenizer) -> dict[str, float]:
        sampler = HFSampler(model, tokenizer, batch_size=128)
        summary, _ = evaluate(task, test, sampler, SamplingConfig(), quiet=True)
        return {lv: 100 * m["accuracy"] for lv, m in summary["by_level"].items()}

    variants: list[tuple[str, str, bool, float]] = [("base (no fine-tuning)", "", False, 0)]
    variants += [(f"gold L4-5 x{n}", f"gold:{n}", False, run.sft_lr) for n in sizes]
    variants += [
        (f"gold L4-5 x{largest} + L1-3 x{args.replay}", f"replay:{largest}", False, run.sft_lr),
        (f"gold L4-5 x{largest}, full FT lr {args.full_lr:g}", f"gold:{largest}", True, 0),
        ("own right samples (oracle pick)", "self", False, run.sft_lr),
    ]
    rows, base, notes = [], None, []
    for name, data, full, lr in variants:
        model, tokenizer = fresh(full)
        start = time.perf_counter()
        if data.startswith("gold:"):
            pairs = gold(HARD, int(data.split(":")[1]) // 2, task)
        elif data.startswith("replay:"):
            pairs = gold(HARD, int(data.split(":")[1]) // 2, task)
            pairs += gold(EASY, args.replay // 3, task)
        elif data == "self":
            sampler = HFSampler(model, tokenizer, batch_size=128)
            pairs, note = own_right(sampler, task, args.self_prompts, args.samples, args.cap)
            notes.append(f"Own right samples: {note}.")
        else:
            pairs = []
        if pairs:
            sft(
                model,
                tokenizer,
                pairs,
                epochs=run.sft_epochs,
                lr=args.full_lr if full else lr,
                weight_decay=run.sft_weight_decay,
                quiet=True,
            )
        seconds = time.perf_counter() - start
        acc = score(model, tokenizer)
        base = base or acc
        hard = sum(acc[str(lv)] for lv in HARD)
        hard0 = sum(base[str(lv)] for lv in HARD)
        drop = max(base[k] - acc[k] for k in acc)
        rows.append(
            [name, len(pairs)]
            + [f"{acc[str(lv)]:.0f}" for lv in range(1, 6)]
            + [f"{100 * (hard - hard0) / max(hard0, 1e-9):+.0f}%", f"{drop:.0f}", f"{seconds:.0f}"]
        )
        print(rows[-1], flush=True)
    table = markdown_table(
        [
            "fine-tuned on",
            "examples",
            "L1 %",
            "L2 %",
            "L3 %",
            "L4 %",
            "L5 %",
            "rel. gain L4+5",
            "worst level drop (pts)",
            "train s",
        ],
        rows,
    )
    notes.append(
        f"Greedy test accuracy, {args.test_per_level} problems per level. LoRA r=16 on the "
        f"policy adapter at lr {run.sft_lr:g} x {run.sft_epochs} epochs (the loop's "
        "`run.sft_lr` / `run.sft_epochs`) unless marked full FT. The issue's loop target is "
        "+50% relative on levels 4+5 with no level down more than 2 points."
    )
    report(
        "Fine-tuning ceiling on the hard levels (tiny, wordmath)",
        table,
        " ".join(notes),
        append=not args.no_append,
    )


if __name__ == "__main__":
    main()
