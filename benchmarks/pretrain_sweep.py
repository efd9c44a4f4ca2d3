"""Pre-training recipes side by side: which one puts the embedded model on the edge?

Each variant is `seal pretrain-tiny` with its own `--set` overrides, then `seal eval` greedy
on wordmath levels; variants run in parallel processes (a GPU holds several tiny models at
once). The table gives the recipe, its time and loss, and greedy accuracy per level, so a
recipe can be chosen before spending hours on it on a CPU.

    python benchmarks/pretrain_sweep.py --device cuda \\
        --variant "steps6k:pretrain.steps=6000" \\
        --variant "s5:pretrain.steps=6000;pretrain.stretch_share=0.05"
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

if __package__ in (None, ""):  # run as `python benchmarks/pretrain_sweep.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import markdown_table, report


def parse_variant(text: str) -> tuple[str, list[str]]:
    name, _, sets = text.partition(":")
    if not name or not sets:
        raise SystemExit(f"--variant {text!r}: write NAME:key=value[;key=value...]")
    return name, [s.strip() for s in sets.split(";") if s.strip()]


def run_variant(
    name: str, sets: list[str], out: Path, device: str, levels: str, problems: int, deadline: float
) -> dict:
    model_dir, log = out / name, out / f"{name}.log"
    seal = [sys.executable, "-m", "seal.cli"]
    with log.open("w") as fh:
        t0 = time.time()
        train = [*seal, "pretrain-tiny", "--out", str(model_dir), "--force", "--device", device]
        for s in sets:
            train += ["--set", s]
        left = lambda: max(1.0, deadline - time.time())  # noqa: E731
        subprocess.run(train, stdout=fh, stderr=subprocess.STDOUT, check=True, timeout=left())
        trained = time.time() - t0
        evaluation = out / f"{name}.eval.json"
        subprocess.run(
            [*seal, "eval", "--model", str(model_dir), "--task", "wordmath", "--levels", levels,
             "--limit", str(problems), "--device", device, "--output", str(evaluation), "--force",
             "--set", "model.dtype=float32"],
            stdout=fh, stderr=subprocess.STDOUT, check=True, timeout=left(),
        )  # fmt: skip
    info = json.loads((model_dir / "pretrain.json").read_text())
    by_level = json.loads(evaluation.read_text())["by_level"]
    return {"name": name, "sets": sets, "seconds": trained, "info": info, "by_level": by_level}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variant", action="append", required=True, help="NAME:key=value;...")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--levels", default="1,2,3,4,5,6,7")
    ap.add_argument("--problems", type=int, default=200, help="test problems per level")
    ap.add_argument("--parallel", type=int, default=4, help="variants at once")
    ap.add_argument("--out", type=Path, default=Path("runs/pretrain-sweep"))
    ap.add_argument("--deadline", type=float, default=0, help="seconds for all (0 = none)")
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()

    variants = [parse_variant(v) for v in args.variant]
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    deadline = time.time() + (args.deadline or 1e9)
    with ThreadPoolExecutor(args.parallel) as pool:
        futures = [
            pool.submit(
                run_variant, n, s, args.out, args.device, args.levels, args.problems, deadline
            )
            for n, s in variants
        ]
        results = []
        for f in futures:
            try:
                results.append(f.result())
                print(json.dumps({k: results[-1][k] for k in ("name", "sets", "seconds")}))
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as err:
                print(f"variant failed: {err}; see its log under {args.out}", file=sys.stderr)
    if not results:
        raise SystemExit("every variant failed")
    levels = [lv.strip() for lv in args.levels.split(",")]
    rows = []
    for r in results:
        acc = {str(k): v for k, v in r["by_level"].items()}
        rows.append(
            [
                r["name"],
                " ".join(s.removeprefix("pretrain.") for s in r["sets"]),
                f"{r['seconds']:.0f}",
                f"{r['info']['final_loss']:.4f}",
                *(f"{100 * acc[lv]['accuracy']:.1f}" if lv in acc else "-" for lv in levels),
            ]
        )
    table = markdown_table(
        ["variant", "overrides", "train+save s", "final loss", *(f"L{lv} %" for lv in levels)],
        rows,
    )
    machine = results[0]["info"]["machine"]
    notes = (
        f"`seal pretrain-tiny --device {args.device}` per variant ({args.parallel} at once, on "
        f"{machine}), then greedy `seal eval` on {args.problems} test problems per level. "
        "Weights trained on a GPU differ from the CPU recipe's (summation order); the table "
        "compares recipes, not shipped files."
    )
    report("Pre-training recipes (wordmath, greedy)", table, notes, append=not args.no_append)


if __name__ == "__main__":
    main()
