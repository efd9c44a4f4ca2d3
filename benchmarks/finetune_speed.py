"""Fine-tuning speed by rows per forward pass (``run.sft_micro_batch``), side by side.

One of `seal run`'s rounds, rebuilt: ``--selected`` gold solutions of the frontier level
stand in for the round's selection, with ``--replay`` x as many reference solutions of the
levels below (the loop's ``replay_pairs``), in the loop's batches of 16 with levels mixed.
Each setting fine-tunes a fresh copy of the model on them for one epoch (full fine-tuning at
the loop's learning rate); settings alternate so machine noise hits each alike. The table
gives medians, the padded tokens each setting computes per real token, and the mean loss
(the same update in every setting, up to float rounding).
"""

from __future__ import annotations

import argparse
import copy
import random
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python benchmarks/<name>.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import markdown_table, report
from seal.batching import bucket_width
from seal.config import ModelConfig
from seal.errors import SealError
from seal.improve.finetune import epoch_batches, micro_batches, sft
from seal.improve.kept import replay_pairs
from seal.improve.policy import FULL_LR
from seal.models import load_model
from seal.tasks import get_task

BATCH = 16
"""The loop's fine-tuning batch (``sft``'s default)."""


def sizes_arg(text: str) -> list[int | None]:
    """``whole,2,4,8`` -> [None, 2, 4, 8] (whole: one pass per batch)."""
    out: list[int | None] = []
    for part in text.split(","):
        part = part.strip()
        if part == "whole":
            out.append(None)
        elif part.isdigit() and int(part) > 0:
            out.append(int(part))
        else:
            raise SealError(f"--sizes: '{part}' is neither 'whole' nor a positive number")
    return out


def padding_ratio(encoded: list[tuple[list[int], list[int]]], size: int | None) -> float:
    """Tokens computed (each pass padded to a multiple of 32) per real token, one epoch."""
    real = padded = 0
    for batch in epoch_batches(encoded, BATCH, random.Random(0)):
        for part in micro_batches(batch, size):
            lengths = [len(p) + len(c) for p, c in part]
            real += sum(lengths)
            padded += bucket_width(max(lengths)) * len(lengths)
    return padded / real


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="tiny")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--frontier", type=int, default=6, help="the level standing in as frontier")
    ap.add_argument("--selected", type=int, default=100, help="frontier solutions in the round")
    ap.add_argument("--replay", type=int, default=10, help="references per frontier solution")
    ap.add_argument("--sizes", default="whole,2,4,8", help="rows per pass; whole: the batch")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()
    try:
        sizes = sizes_arg(args.sizes)
        if args.frontier < 2 or args.selected < 1 or args.replay < 0 or args.repeats < 1:
            raise SealError("--frontier must be 2 or more; --selected, --repeats 1 or more")
        loaded = load_model(ModelConfig(name=args.model, device=args.device))
    except SealError as err:
        sys.exit(f"error: {err}")
    tok = loaded.tokenizer
    top = get_task("wordmath", levels=[args.frontier])
    pairs = replay_pairs(top, top.problems("train", args.selected), args.selected, 0)
    below = list(range(1, args.frontier))
    n = args.replay * len(pairs)
    low = get_task("wordmath", levels=below)
    pairs += replay_pairs(low, low.problems("train", -(-n // len(below)) * len(below)), n, 0)
    encoded = [
        (tok(p)["input_ids"], tok(c, add_special_tokens=False)["input_ids"] + [tok.eos_token_id])
        for p, c in pairs
    ]

    def one(size: int | None) -> tuple[float, float]:
        model = copy.deepcopy(loaded.model)
        start = time.perf_counter()
        losses = sft(model, tok, pairs, epochs=1, lr=FULL_LR, quiet=True, micro_batch=size)
        return time.perf_counter() - start, losses[0]

    one(sizes[0])  # warm-up
    times: dict[int | None, list[float]] = {s: [] for s in sizes}
    loss: dict[int | None, float] = {}
    for _ in range(args.repeats):
        for s in sizes:
            t, loss[s] = one(s)
            times[s].append(t)
    base = statistics.median(times[sizes[0]])
    rows = []
    for s in sizes:
        med = statistics.median(times[s])
        rows.append(
            [
                "whole batch" if s is None else s,
                f"{padding_ratio(encoded, s):.2f}",
                f"{med:.1f}",
                f"{base / med:.2f}x",
                f"{loss[s]:.5f}",
            ]
        )
    table = markdown_table(
        ["rows per pass", "padded / real tokens", "median s per epoch", "speed-up", "mean loss"],
        rows,
    )
    report(
        f"Fine-tuning speed by rows per pass ({args.model}, {args.device})",
        table,
        f"One epoch of a round rebuilt: {args.selected} gold level-{args.frontier} solutions and "
        f"{n} references of levels {below[0]}-{below[-1]}, {len(pairs)} examples in batches of "
        f"{BATCH} (levels mixed), full fine-tuning at lr {FULL_LR}; {args.repeats} alternating "
        "runs, speed-up against the first setting's median.",
        append=not args.no_append,
    )


if __name__ == "__main__":
    main()
