"""Headroom: how far can fine-tuning on right solutions of the frontier move the model?

The self-improvement loop can at best hand its fine-tuning step right solutions of the
problems it samples. This benchmark skips the loop and fine-tunes the model directly on
**gold reference solutions** of the first level above pre-training (right by construction,
and distinct: data no selection rule can beat), as many as three loop iterations could
select, with the loop's replay of easy-level references and its update settings
(`run.finetune`, `run.sft_lr`, `run.sft_epochs`, `run.replay`), or other update recipes
(`--recipe`). Then it scores greedy
test accuracy by level. If gold data cannot lift the hard levels, nothing the loop selects
will; if it can, the loop has room to climb.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python benchmarks/ceiling.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from benchmarks.common import level_list, markdown_table, report
from seal.adapters import with_adapters
from seal.config import ModelConfig, RunConfig, SamplingConfig, SealConfig
from seal.evaluate import evaluate
from seal.generation.hf import HFSampler
from seal.improve.finetune import sft
from seal.improve.policy import FULL_LR, LORA_LR, base_parameters, finetune_mode
from seal.models import load_model
from seal.tasks.wordmath import WordMath


def gold(levels: list[int], per_level: int, task: WordMath) -> list[tuple[str, str]]:
    return [
        (task.prompt(p), " " + (p.solution or ""))
        for p in WordMath(levels=levels).problems("train", per_level)
    ]


def recipe(text: str, run: RunConfig, easy: str) -> dict:
    """``lora`` or ``full``, then ``:key=value`` settings (lr, epochs, r, replay, easy): one
    update recipe. The loop's own (``run.sft_lr`` or the mode's default, ``run.sft_epochs``,
    ``run.replay``) and ``--easy`` fill the gaps."""
    kind, *pairs = text.split(":")
    if kind not in ("lora", "full"):
        raise SystemExit(f"recipe {text!r}: start with lora or full, e.g. lora:lr=0.001:epochs=3")
    lr = run.sft_lr or (FULL_LR if kind == "full" else LORA_LR)
    out = {"kind": kind, "lr": lr, "epochs": run.sft_epochs, "r": 16, "replay": run.replay,
           "easy": easy}  # fmt: skip
    parsers = {"lr": float, "epochs": int, "r": int, "replay": float, "easy": str}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key not in parsers or not value:
            raise SystemExit(f"recipe {text!r}: settings are lr=, epochs=, r=, replay= and easy=")
        try:
            out[key] = parsers[key](value)
        except ValueError:
            raise SystemExit(f"recipe {text!r}: {key}={value!r} is not a valid value") from None
    level_list(out["easy"], f"recipe {text!r}: easy=")  # a typo fails here, not after a variant
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="tiny")
    ap.add_argument("--levels", default="1-8", help="evaluated levels, e.g. 1-8")
    ap.add_argument(
        "--frontier",
        default="6",
        help="levels whose gold solutions are used (the first above "
        "the embedded model's pre-training levels, 1-5)",
    )
    ap.add_argument("--sizes", default="150,300", help="gold examples per variant")
    ap.add_argument("--easy", default="1-5", help="levels whose references are replayed")
    ap.add_argument("--test-per-level", type=int, default=200)
    ap.add_argument(
        "--recipe",
        action="append",
        default=[],
        help="another update recipe, run on the largest size: lora or full, then :lr=, "
        ":epochs=, :r=, :replay= (references per gold example), :easy= (their levels) "
        "(e.g. full:lr=0.0001:replay=3:easy=4-5); repeatable",
    )
    ap.add_argument("--skip-sizes", action="store_true", help="only the --recipe rows")
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()

    run = RunConfig()
    levels, frontier = level_list(args.levels), level_list(args.frontier, "--frontier")
    hard = levels[-2:]
    task = WordMath(levels=levels)
    test = task.problems("test", args.test_per_level)

    def fresh(how: dict):
        torch.manual_seed(0)
        loaded = load_model(ModelConfig(name=args.model))
        if how["kind"] == "full":
            return loaded.model, loaded.tokenizer
        model = with_adapters(loaded.model, r=how["r"], alpha=2 * how["r"])
        model.set_adapter("policy")
        return model, loaded.tokenizer

    def score(model, tokenizer) -> dict[int, float]:
        sampler = HFSampler(model, tokenizer, batch_size=64)
        summary, _ = evaluate(task, test, sampler, SamplingConfig(), quiet=True)
        return {int(lv): 100 * m["accuracy"] for lv, m in summary["by_level"].items()}

    probe = load_model(ModelConfig(name=args.model)).model
    loop = recipe(finetune_mode(SealConfig(), base_parameters(probe)), run, args.easy)
    del probe
    sizes = [int(s) for s in args.sizes.split(",")]
    variants = [("base (no fine-tuning)", 0, {**loop, "replay": 0.0})]
    for n in [] if args.skip_sizes else sizes:
        variants += [(f"gold L{args.frontier} x{n}", n, {**loop, "replay": 0.0})]
        variants += [(f"gold L{args.frontier} x{n} + replay x{run.replay:g}", n, loop)]
    for text in args.recipe:
        how, n = recipe(text, run, args.easy), sizes[-1]
        variants += [(f"gold L{args.frontier} x{n}, {text}", n, how)]
    rows, base = [], None
    for name, n, how in variants:
        replay, easy = how["replay"], level_list(how["easy"])
        model, tokenizer = fresh(how)
        start = time.perf_counter()
        pairs = gold(frontier, -(-n // len(frontier)), task)[:n] if n else []
        if replay:
            pairs += gold(easy, -(-int(replay * n) // len(easy)), task)[: int(replay * n)]
        if pairs:
            sft(model, tokenizer, pairs, epochs=how["epochs"], lr=how["lr"],
                weight_decay=run.sft_weight_decay, quiet=True)  # fmt: skip
        seconds = time.perf_counter() - start
        acc = score(model, tokenizer)
        base = base or acc
        gain = sum(acc[lv] for lv in hard) / max(sum(base[lv] for lv in hard), 1e-9) - 1
        drop = max(base[lv] - acc[lv] for lv in acc)
        rows.append(
            [name, len(pairs)]
            + [f"{acc[lv]:.1f}" for lv in levels]
            + [f"{100 * gain:+.0f}%", f"{drop:.1f}", f"{seconds:.0f}"]
        )
        print(rows[-1], flush=True)
    head = ["fine-tuned on", "examples"] + [f"L{lv} %" for lv in levels]
    head += [f"rel. gain L{hard[0]}+{hard[1]}", "worst drop (pts)", "train s"]
    notes = (
        f"Model `{args.model}`. Greedy test accuracy, {args.test_per_level} problems per level. "
        f"Unless the row names another recipe, the loop's own update: {loop['kind']} "
        f"(`run.finetune` auto), lr {loop['lr']:g} x {loop['epochs']} epochs; full = every "
        "weight trained, lora = a fresh LoRA policy adapter (r=16 unless given); replay = "
        f"reference solutions of levels {args.easy} (unless the row says) per gold example "
        "(`run.replay`). Issue 17's headroom target: +80% "
        "relative on the two hardest evaluated levels with no level down more than 2 points."
    )
    report(
        "Headroom: gold frontier solutions (tiny, wordmath)",
        markdown_table(head, rows),
        notes,
        append=not args.no_append,
    )


if __name__ == "__main__":
    main()
