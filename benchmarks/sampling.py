"""Sampler throughput against plain ``model.generate`` on the embedded model, side by side.

Same prompts (wordmath, all levels), same rows per batch (prompts x samples), same
temperature and max new tokens, both stopping at EOS. Runs alternate between the two so
machine noise hits both alike; the table reports medians and their ratio.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

if __package__ in (None, ""):  # run as `python benchmarks/<name>.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import markdown_table, median_time, report
from seal.config import ModelConfig
from seal.generation.base import SamplingParams
from seal.generation.hf import HFSampler
from seal.models import load_model
from seal.tasks import get_task


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="tiny")
    ap.add_argument("--prompts", type=int, default=8, help="prompts per level")
    ap.add_argument("--n", type=int, default=8, help="samples per prompt")
    ap.add_argument("--batch", type=int, default=64, help="rows decoded together")
    ap.add_argument("--max-new-tokens", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()

    loaded = load_model(ModelConfig(name=args.model))
    model, tok = loaded.model, loaded.tokenizer
    task = get_task("wordmath")
    prompts = [task.prompt(p) for p in task.problems("validation", limit=args.prompts)]
    per_batch = max(1, args.batch // args.n)
    sampler = HFSampler(model, tok, batch_size=args.batch)
    params = SamplingParams(n=args.n, temperature=0.8, max_new_tokens=args.max_new_tokens, seed=0)

    def ours() -> int:
        out = sampler.sample(prompts, params, quiet=True)
        return sum(c.num_tokens for row in out for c in row)

    @torch.inference_mode()
    def generate() -> int:
        torch.manual_seed(0)
        tok.padding_side = "left"
        total = 0
        for i in range(0, len(prompts), per_batch):
            enc = tok(prompts[i : i + per_batch], return_tensors="pt", padding=True).to(
                loaded.device
            )
            out = model.generate(
                **enc,
                do_sample=True,
                temperature=0.8,
                top_k=0,
                top_p=1.0,
                max_new_tokens=args.max_new_tokens,
                num_return_sequences=args.n,
                pad_token_id=tok.pad_token_id,
            )
            new = out[:, enc.input_ids.shape[1] :]
            for row in new.tolist():
                total += next((j + 1 for j, t in enumerate(row) if t == tok.eos_token_id), len(row))
        return total

    ours(), generate()  # warm-up
    t_ours, t_gen, n_ours, n_gen = [], [], 0, 0
    for _ in range(args.repeats):
        t, n_ours = median_time(ours, 1)
        t_ours.append(t)
        t, n_gen = median_time(generate, 1)
        t_gen.append(t)
    t_ours.sort()
    t_gen.sort()
    mo, mg = t_ours[len(t_ours) // 2], t_gen[len(t_gen) // 2]
    rows = [
        [
            "seal HFSampler",
            len(prompts),
            args.n,
            args.batch,
            n_ours,
            f"{mo:.2f}",
            f"{n_ours / mo:,.0f}",
        ],
        [
            "model.generate",
            len(prompts),
            args.n,
            args.batch,
            n_gen,
            f"{mg:.2f}",
            f"{n_gen / mg:,.0f}",
        ],
    ]
    table = markdown_table(
        ["backend", "prompts", "samples/prompt", "rows/batch", "tokens", "median s", "tokens/s"],
        rows,
    )
    ratio = (n_ours / mo) / (n_gen / mg)
    report(
        f"Sampling throughput ({args.model})",
        table,
        f"Speed-up over `generate` (tokens/s ratio of medians, {args.repeats} alternating runs): "
        f"**{ratio:.2f}x**.",
        append=not args.no_append,
    )


if __name__ == "__main__":
    main()
