"""Accuracy against generated tokens on the hardest wordmath levels: greedy, majority vote,
best-of-N ranked by the critic, and Tree-of-Thoughts, side by side on the same problems.

Needs a trained critic (`--critic DIR` from `seal critic train`; without it one is trained
first with the default config, which takes a few minutes).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python benchmarks/search.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import level_list, markdown_table, report
from seal.config import load_config
from seal.critic.service import load_critic, train_and_save
from seal.generation.hf import HFSampler
from seal.search import Searcher, SearchSettings
from seal.tasks import get_task

SETTINGS = {
    "greedy": SearchSettings(method="greedy"),
    "majority n=4": SearchSettings(method="majority", n=4),
    "majority n=8": SearchSettings(method="majority", n=8),
    "best-of-4 + critic": SearchSettings(method="best-of-n", n=4),
    "best-of-8 + critic": SearchSettings(method="best-of-n", n=8),
    "ToT b=2 w=2": SearchSettings(method="tot", branch=2, width=2, depth=12),
    "ToT b=3 w=2": SearchSettings(method="tot", branch=3, width=2, depth=12),
    "ToT b=2 w=2 vote": SearchSettings(method="tot", branch=2, width=2, depth=12, choose="vote"),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--critic", type=Path)
    ap.add_argument("--levels", default="4,5")
    ap.add_argument("--limit", type=int, default=50, help="test problems per level")
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()

    if args.critic is None:
        args.critic = Path(tempfile.mkdtemp(prefix="seal-critic-")) / "critic"
        t = time.perf_counter()
        train_and_save(load_config(None), args.critic)
        print(f"critic trained in {time.perf_counter() - t:.0f}s -> {args.critic}", flush=True)
    critic = load_critic(args.critic)
    sampler = HFSampler(critic.model, critic.tokenizer, batch_size=64)
    task = get_task("wordmath", levels=level_list(args.levels))
    problems = task.problems("test", args.limit)
    rows = []
    for name, settings in SETTINGS.items():
        t = time.perf_counter()
        res = Searcher(task, sampler, critic, settings).run(problems)
        wall = time.perf_counter() - t
        acc = sum(
            r.found and task.verify(p, r.text) for p, r in zip(problems, res, strict=True)
        ) / len(res)
        tokens = sum(r.tokens for r in res) / len(res)
        calls = sum(r.critic_calls for r in res) / len(res)
        rows.append(
            [name, f"{100 * acc:.1f}", f"{tokens:.0f}", f"{calls:.1f}", f"{wall / len(res):.2f}"]
        )
        print(rows[-1], flush=True)
    table = markdown_table(
        ["method", "accuracy %", "tokens / problem", "critic calls / problem", "s / problem"],
        rows,
    )
    report(
        f"Search: accuracy vs budget (tiny, wordmath levels {args.levels})",
        table,
        f"{len(problems)} test problems ({args.limit} per level), one trained critic for all "
        "rows. Compare rows at similar tokens / problem.",
        append=not args.no_append,
    )


if __name__ == "__main__":
    main()
