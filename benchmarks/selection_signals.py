"""What can pick the right candidates? Selection signals on a `seal run`'s saved candidates.

Reads `iter-NN/samples.parquet` of a run (every candidate with the verifier's label, the
critic's p(good), the selection score, the policy's log-probability and the verdict
entropy) and prints, per level, how well each signal separates right from wrong solutions:
over all candidates (AUROC: also which prompts are solved at all) and within a prompt
(within-problem order: what top-k among one prompt's samples needs); then the precision
and yield of the selection rules (critic, critic with votes at several weights, majority,
oracle) at the run's top-k and threshold. Nothing is sampled or trained: it costs seconds.

    python benchmarks/selection_signals.py runs/<name> [--iteration 1 | --iteration all]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as `python benchmarks/selection_signals.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import iteration_candidates, markdown_table, report
from seal.config import load_config
from seal.critic.calculator import (
    arithmetic_holds,
    covers_quantities,
    uses_each_quantity,
    uses_every_quantity,
    with_calculator,
)
from seal.critic.data import Trajectory
from seal.critic.model import Verdict
from seal.critic.train import within_problem_ranking
from seal.critic.votes import vote_share, with_votes
from seal.errors import SealError
from seal.improve.select import select_rows
from seal.metrics import auroc

SIGNALS = {
    "selection score (`score`)": lambda x, share: x["score"],
    "critic p(good)": lambda x, share: x["p_good"],
    "answer's vote share": lambda x, share: share,
    "log-prob per token": lambda x, share: x["logprob"] / max(1, x["tokens"]),
    "-verdict entropy": lambda x, share: -x["entropy"],
    "calculator (equations hold)": lambda x, share: float(arithmetic_holds(x["text"])),
    "calculator + coverage (every quantity used)": lambda x, share: float(
        arithmetic_holds(x["text"]) and uses_every_quantity(x["question"], x["text"])
    ),
    "calculator + counted coverage (each quantity an operand)": lambda x, share: float(
        arithmetic_holds(x["text"]) and uses_each_quantity(x["question"], x["text"])
    ),
    "solution length (tokens)": lambda x, share: x["tokens"],
}


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def shares_of(
    rows: list[dict], votes: list[bool] | None = None, among_voters: bool = False
) -> list[float]:
    trajs = [Trajectory(x["prompt_id"], "", "", x["answer"]) for x in rows]
    return vote_share(trajs, votes, among_voters)


def signal_rows(rows: list[dict], levels: list[int]) -> list[list[str]]:
    shares = shares_of(rows)
    out = []
    for name, f in SIGNALS.items():
        line = [name]
        for lv in levels:
            idx = [i for i, x in enumerate(rows) if x["level"] == lv]
            truth = [int(rows[i]["truth"]) for i in idx]
            values = [f(rows[i], shares[i]) for i in idx]
            trajs = [
                Trajectory(rows[i]["prompt_id"], "", "", truth=truth[j]) for j, i in enumerate(idx)
            ]
            line.append(_fmt(auroc(values, truth) if 0 < sum(truth) < len(truth) else None))
            line.append(_fmt(within_problem_ranking(trajs, values)))
        out.append(line)
    return out


def rule_rows(
    rows: list[dict],
    levels: list[int],
    k: int,
    min_score: float,
    calculated: bool = False,
    among_checked: bool = False,
) -> list[list[str]]:
    """Precision of the selection per level: the run's own score, the critic's p(good) moved
    by votes at several weights (``run.vote_weight``; 0 = the critic alone), without its
    checks, with the calculator (``critic.calculator``) and with the calculator and the
    coverage check (``critic.coverage`` ``any``), or counted (``each``), majority and
    oracle, all at the run's top-k and threshold. ``calculated``: the run's p(good) already
    has the calculator's verdicts in it (and a coverage check's, where the rows have a
    ``coverage`` column), so the variants without them are left out. ``among_checked``: an
    answer's vote share is of the samples passing the checks (``run.vote_among`` checked)."""
    arithmetic = [arithmetic_holds(x["text"]) for x in rows]

    def checked(rule: str) -> list[bool]:
        return [
            a and covers_quantities(x["question"], x["text"], rule)
            for a, x in zip(arithmetic, rows, strict=True)
        ]

    checks: dict[str, list[bool] | None] = {
        "": None,
        " + calculator": arithmetic,
        " + calculator + coverage": checked("any"),
        " + calculator + counted coverage": checked("each"),
    }
    if calculated:
        checks.pop("")
        if "coverage" in rows[0]:
            checks.pop(" + calculator")
    variants: list[tuple[str, list[dict], str]] = [("critic (the run's score)", rows, "critic")]
    for label, holds in checks.items():
        shares = shares_of(rows, holds, among_checked and holds is not None)
        verdicts = [Verdict(x["p_good"], x["entropy"]) for x in rows]
        if holds is not None:
            verdicts = with_calculator(verdicts, holds)
        for w in (0.0, 1.0, 4.0):
            moved = with_votes(verdicts, shares, w)
            rescored = [{**x, "score": v.p_good} for x, v in zip(rows, moved, strict=True)]
            variants.append((f"critic p(good){label}, vote weight {w:g}", rescored, "critic"))
    variants += [("majority", rows, "majority"), ("oracle", rows, "oracle")]
    out = []
    for name, scored, rule in variants:
        chosen = select_rows(scored, rule, k, min_score)
        line = [name]
        for lv in levels:
            sel = [x for x in chosen if x["level"] == lv]
            right = sum(int(x["truth"]) for x in sel)
            line.append(f"{right}/{len(sel)}" + (f" ({right / len(sel):.2f})" if sel else ""))
        out.append(line)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path, help="a run directory (runs/<name>)")
    ap.add_argument(
        "--iteration", default="1", help="an iteration number, or `all` (their candidates pooled)"
    )
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()
    if args.iteration == "all":
        its = sorted(int(d.name[5:]) for d in args.run.glob("iter-[0-9][0-9]") if d.is_dir())
        if not its:
            raise SystemExit(f"error: {args.run} has no iter-NN directories: give a run directory")
    elif args.iteration.isdigit() and int(args.iteration) > 0:
        its = [int(args.iteration)]
    else:
        raise SystemExit(f"error: --iteration {args.iteration!r}: give a number from 1, or all")
    rows = [x for it in its for x in iteration_candidates(args.run, it)]
    try:
        cfg = load_config(args.run / "config.yaml")
    except SealError as err:
        raise SystemExit(f"error: {err}") from None
    levels = sorted({x["level"] for x in rows if x["level"] is not None})
    lines = []
    for lv in levels:
        lv_rows = [x for x in rows if x["level"] == lv]
        prompts = {x["prompt_id"] for x in lv_rows}
        solved = {x["prompt_id"] for x in lv_rows if x["truth"]}
        right = sum(int(x["truth"]) for x in lv_rows)
        lines.append(
            f"level {lv}: {len(prompts)} prompts ({len(solved)} with a right sample), "
            f"{right}/{len(lv_rows)} candidates right"
        )
    head = ["signal"] + [f"L{lv} {m}" for lv in levels for m in ("AUROC", "within")]
    table = markdown_table(head, signal_rows(rows, levels))
    r = cfg.run
    calculated = "arithmetic" in rows[0]  # runs before the calculator scored with critic.*
    weight = r.vote_weight if calculated else cfg.critic.vote_weight
    rules = markdown_table(
        ["rule"] + [f"L{lv} right/selected" for lv in levels],
        rule_rows(rows, levels, r.top_k, r.min_score, calculated, r.vote_among == "checked"),
    )
    body = "\n".join(
        [
            f"Run `{args.run.name}`, candidates of iteration(s) "
            f"{', '.join(map(str, its))} (sampling "
            f"temperature {cfg.sampling.temperature:g}, N = {r.samples}, selection vote weight "
            f"{weight:g}, calculator {'on' if calculated else 'off'}): " + "; ".join(lines) + ".",
            "",
            table,
            "",
            f"Selection at the run's top-k {r.top_k} and threshold {r.min_score:g}:",
            "",
            rules,
        ]
    )
    report(
        "Selection signals on a run's candidates",
        body,
        "AUROC: over all candidates of the level (also rewards knowing which prompts are "
        "solved); within: right above wrong solutions of the same prompt, ties half (what "
        "top-k among a prompt's samples needs). 0.5 = chance; under 0.5 = inverted.",
        append=not args.no_append,
    )


if __name__ == "__main__":
    main()
