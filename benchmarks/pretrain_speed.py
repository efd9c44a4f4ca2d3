"""Pre-training speed of `seal pretrain-tiny`: float32 against bfloat16 autocast, side by side.

The default recipe's tokenizer, model and length-bucketed batches (``seal.pretrain``); each
repeat trains a fresh copy of the seeded initial model for ``--steps`` steps on the same
batches, once in float32 and once under bf16 autocast (weights and optimizer stay float32),
the two alternating so machine noise hits both alike. The table gives the median seconds per
step, tokens per second, the speed-up against float32 and the mean loss of the last steps
(the same batches: how far the two precisions' updates drift apart this early). Whether bf16
pays depends on the CPU (native bf16 instructions, e.g. AVX-512 BF16 or AMX) or the GPU.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python benchmarks/<name>.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from benchmarks.common import markdown_table, report
from seal.config import PretrainConfig
from seal.errors import SealError
from seal.models import resolve_device
from seal.precision import cpu_has_native_bf16
from seal.pretrain import batches, build_model, optimizer, train_step, train_tokenizer


def train_steps(
    model: torch.nn.Module, data: list, device: torch.device, bf16: bool
) -> tuple[float, float]:
    """Median seconds per step and mean loss of the last half, over ``data``'s batches: the
    recipe's own optimizer and step (``seal.pretrain``), at its peak learning rate."""
    cfg = PretrainConfig()
    opt = optimizer(model, cfg)
    model.train()
    times, losses = [], []
    for batch in data:
        start = time.perf_counter()
        loss, _ = train_step(model, opt, batch, device, bf16)  # .item() syncs a GPU
        losses.append(loss)
        times.append(time.perf_counter() - start)
    half = losses[len(losses) // 2 :]
    return statistics.median(times[1:] or times), sum(half) / len(half)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--device", default="cpu")
    ap.add_argument(
        "--steps", type=int, default=12, help="timed steps per run (the first is warm-up)"
    )
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()
    try:
        if args.steps < 2 or args.repeats < 1:
            raise SealError("--steps must be 2 or more and --repeats 1 or more")
        device = resolve_device(args.device)
    except SealError as err:
        sys.exit(f"error: {err}")
    cfg = PretrainConfig()
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    tokenizer = train_tokenizer(cfg)
    initial = build_model(cfg, len(tokenizer), tokenizer.eos_token_id).to(device)
    stream = batches(tokenizer, cfg)
    data = [next(stream) for _ in range(args.steps)]
    tokens = sum(int(mask.sum()) for _, mask, _ in data[1:]) / (len(data) - 1)

    modes = {"float32": False, "bf16 autocast": True}
    times: dict[str, list[float]] = {m: [] for m in modes}
    loss: dict[str, float] = {}
    for _ in range(args.repeats):
        for name, bf16 in modes.items():
            t, loss[name] = train_steps(copy.deepcopy(initial), data, device, bf16)
            times[name].append(t)
    base = statistics.median(times["float32"])
    rows = []
    for name in modes:
        med = statistics.median(times[name])
        rows.append(
            [name, f"{med:.3f}", f"{tokens / med:,.0f}", f"{base / med:.2f}x", f"{loss[name]:.3f}"]
        )
    table = markdown_table(
        ["precision", "median s / step", "tokens / s", "speed-up", "mean loss, last half"], rows
    )
    native = "yes" if device.type == "cpu" and cpu_has_native_bf16() else "-"
    report(
        f"Pre-training speed by precision (tiny recipe, {args.device})",
        table,
        f"The default `seal pretrain-tiny` recipe ({cfg.layers} layers, hidden {cfg.hidden_size}, "
        f"batch {cfg.batch_size}, {cfg.threads} threads), {args.steps} steps on the same "
        f"batches ({tokens:,.0f} tokens a step, padding aside) from the same initial weights, "
        f"{args.repeats} alternating runs; CPU native bf16: {native}.",
        append=not args.no_append,
    )


if __name__ == "__main__":
    main()
