"""Memory and speed of `seal pretrain-tiny` by batch padding (``pretrain.pad_multiple``).

Each setting trains the default recipe (``seal.pretrain``: tokenizer, model, optimizer, step)
on ``--steps`` fresh batches of its seeded stream in a process of its own, so the peak
resident memory is that setting's alone. Under bf16 autocast on a CPU, oneDNN builds and
keeps kernels for every new batch shape: exact widths (multiple 1) give a new shape almost
every step, a multiple of 16 a few dozen in all. The table gives the distinct widths seen,
the median and mean seconds per step, the resident memory after the last step and the
process's peak.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python benchmarks/<name>.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import markdown_table, report, run_child
from seal.errors import SealError

PRECISIONS = {"bf16": True, "float32": False}


def resident_gb() -> float:
    """This process's resident memory now (VmRSS), in GB."""
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024 / 1024


def child(steps: int, multiple: int, bf16: bool, out: Path) -> None:
    """Train ``steps`` fresh batches; write the step times, widths and final memory."""
    import torch

    from seal.config import PretrainConfig
    from seal.pretrain import batches, build_model, optimizer, train_step, train_tokenizer

    cfg = PretrainConfig(bf16=bf16, pad_multiple=multiple)
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    tokenizer = train_tokenizer(cfg)
    model = build_model(cfg, len(tokenizer), tokenizer.eos_token_id)
    opt = optimizer(model, cfg)
    stream = batches(tokenizer, cfg)
    model.train()
    times, widths = [], set()
    for _ in range(steps):
        batch = next(stream)
        widths.add(batch[0].shape[1])
        start = time.perf_counter()
        train_step(model, opt, batch, torch.device("cpu"), bf16)
        times.append(time.perf_counter() - start)
    out.write_text(json.dumps({"times": times, "widths": len(widths), "rss": resident_gb()}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=150, help="fresh batches per setting")
    ap.add_argument("--multiples", default="1,16", help="pad multiples to compare")
    ap.add_argument("--precisions", default="bf16", help="bf16, float32 or both (comma)")
    ap.add_argument("--no-append", action="store_true")
    ap.add_argument("--child", nargs=4, metavar=("STEPS", "MULTIPLE", "PRECISION", "OUT"))
    args = ap.parse_args()
    if args.child:
        steps, multiple, precision, out = args.child
        child(int(steps), int(multiple), PRECISIONS[precision], Path(out))
        return
    try:
        multiples = [int(m) for m in args.multiples.split(",")]
        precisions = [p.strip() for p in args.precisions.split(",")]
        if args.steps < 2 or any(not 1 <= m <= 256 for m in multiples):
            raise SealError("--steps must be 2 or more and each multiple 1-256")
        if any(p not in PRECISIONS for p in precisions):
            raise SealError(f"--precisions takes {' / '.join(PRECISIONS)}, got {args.precisions}")
    except ValueError:
        sys.exit(f"error: --multiples takes integers such as 1,16, got {args.multiples!r}")
    except SealError as err:
        sys.exit(f"error: {err}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for precision in precisions:
            for multiple in multiples:
                out = Path(tmp) / f"{precision}-{multiple}.json"
                cmd = [sys.executable, __file__, "--child", str(args.steps), str(multiple)]
                _, peak, code = run_child([*cmd, precision, str(out)])
                if code != 0:
                    sys.exit(f"error: the {precision} / {multiple} run failed (exit {code})")
                got = json.loads(out.read_text())
                t = got["times"][1:]
                rows.append(
                    [
                        precision,
                        multiple,
                        got["widths"],
                        f"{statistics.median(t):.3f}",
                        f"{statistics.mean(t):.3f}",
                        f"{got['rss']:.2f}",
                        f"{peak:.2f}",
                    ]
                )
    table = markdown_table(
        [
            "precision",
            "pad multiple",
            "distinct widths",
            "median s / step",
            "mean s / step",
            "resident GB at the end",
            "peak GB",
        ],
        rows,
    )
    report(
        "Pre-training memory by batch padding (tiny recipe, cpu)",
        table,
        f"The default `seal pretrain-tiny` recipe with `pretrain.pad_multiple` set, "
        f"{args.steps} fresh batches of its seeded stream per setting (the first step's time "
        "left out), each setting in a process of its own.",
        append=not args.no_append,
    )


if __name__ == "__main__":
    main()
