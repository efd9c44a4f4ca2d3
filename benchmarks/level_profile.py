"""The embedded model's level profile: where its edge of competence lies.

Per wordmath level: greedy accuracy, maj@k and pass@k from k samples at temperature 1
(what `seal eval --samples k` reports), the share of solution lines whose arithmetic is
right (by `check_steps`, over greedy and sampled solutions), and the share of problems with
at least two *distinct* right samples (what selection can keep beyond the greedy text).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as `python benchmarks/level_profile.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import markdown_table, report
from seal.config import ModelConfig, SamplingConfig
from seal.evaluate import evaluate
from seal.generation.hf import HFSampler
from seal.models import load_model
from seal.tasks.wordmath import WordMath, check_steps


def line_accuracy(texts: list[str]) -> tuple[int, int]:
    right = total = 0
    for t in texts:
        for step in check_steps(t):
            if step.ok is not None:
                total += 1
                right += bool(step.ok)
    return right, total


def _span(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="tiny")
    ap.add_argument("--levels", default="1-7", help="e.g. 1-7")
    ap.add_argument("--problems", type=int, default=200, help="test problems per level")
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument(
        "--sample-levels",
        default=None,
        help="levels that get --samples (e.g. 5-6); the others greedy only (default: all)",
    )
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()

    levels = _span(args.levels)
    sampled = set(_span(args.sample_levels) if args.sample_levels else levels)
    loaded = load_model(ModelConfig(name=args.model))
    sampler = HFSampler(loaded.model, loaded.tokenizer, batch_size=64)
    rows = []
    for lv in levels:  # one level at a time: a row is printed as soon as it is measured
        task = WordMath(levels=[lv])
        problems = task.problems("test", args.problems)
        k = args.samples if lv in sampled else 1
        summary, results = evaluate(
            task, problems, sampler, SamplingConfig(), samples=k, quiet=True
        )
        m = summary["metrics"]
        texts = [r.greedy.text for r in results] + [s.text for r in results for s in r.samples]
        right, total = line_accuracy(texts)
        distinct = sum(
            len({" ".join(s.text.split()) for s, ok in zip(r.samples, r.oks, strict=True) if ok})
            >= 2
            for r in results
        )
        pct = (lambda x: f"{100 * x:.1f}") if k > 1 else (lambda x: "-")  # noqa: E731
        rows.append(
            [
                lv,
                len(problems),
                f"{100 * m['accuracy']:.1f}",
                pct(m[f"maj@{k}"]),
                pct(m[f"pass@{k}"]),
                f"{100 * right / max(1, total):.2f}",
                pct(distinct / len(problems)),
            ]
        )
        print(rows[-1], flush=True)
    k = args.samples
    table = markdown_table(
        [
            "level (steps)",
            "problems",
            "greedy %",
            f"maj@{k} %",
            f"pass@{k} %",
            "lines right %",
            f">= 2 distinct right of {k} %",
        ],
        rows,
    )
    notes = (
        f"Model `{args.model}`, wordmath test split, {k} samples at temperature 1.0 per "
        f"problem on levels {args.sample_levels or args.levels} (the others greedy only). "
        "Lines right: solution lines whose every equation holds (`check_steps`), "
        "over greedy and sampled solutions."
    )
    report("Level profile (tiny, wordmath)", table, notes, append=not args.no_append)


if __name__ == "__main__":
    main()
