"""The embedded model's level profile: where its edge of competence lies.

Per wordmath level: greedy accuracy, maj@k and pass@k from k samples at temperature 1
(`--temperature`; what `seal eval --samples k` reports), the share of solution lines whose
arithmetic is right (by `check_steps`, over greedy and sampled solutions), and the share of
problems with at least two *distinct* right samples (what selection can keep beyond the
greedy text).
A second table says where wrong greedy solutions first leave the reference, by the
operation of that step: an arithmetic slip, a wrong number carried or copied, or a wrong
sentence restated. A third sorts the false lines by cause: a value no story holds (the
place lost before the line) or a slip. A fourth (sampled levels) gives lines right by step
number and operand size.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

if __package__ in (None, ""):  # run as `python benchmarks/level_profile.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import level_list, markdown_table, report
from seal.config import ModelConfig, SamplingConfig
from seal.errors import SealError
from seal.evaluate import evaluate
from seal.generation.hf import HFSampler
from seal.models import load_model
from seal.tasks.wordmath import CAP, WordMath, check_steps

NOT_STEPS = ("Check", "####")
"""Lines of a reference-format solution after its steps: the check and the answer."""


def lines_by_step(texts: list[str]) -> Counter[tuple[int, int, bool]]:
    """Step lines with arithmetic, counted by ``(step number, digits of the line's largest
    operand, right)``: step 1 is the first sentence's line (after the intro and the start
    value); the check and answer lines are left out. Separates the two things that grow with
    depth: how far into the solution a line is, and how large its numbers are."""
    counts: Counter[tuple[int, int, bool]] = Counter()
    for t in texts:
        for step in check_steps(t):
            if step.ok is None or step.index < 2 or step.text.startswith(NOT_STEPS):
                continue
            operands = [
                int(n) for e in step.equations for n in re.findall(r"\d+", e.text.split("=")[0])
            ]
            if operands:
                counts[step.index - 1, len(str(max(operands))), bool(step.ok)] += 1
    return counts


NO_WHOLE, NEGATIVE, OVER, SLIP = "no whole answer", "negative", f"over {CAP}", "slip"
CHECK_AFTER, CHECK_SLIP = "check after a false step", "check slip"
CAUSES = (NO_WHOLE, NEGATIVE, OVER, SLIP, CHECK_AFTER, CHECK_SLIP)
"""Why a false line is false. A step line, by the true value of its first false equation: a
value no wordmath story ever holds (a division or percentage that does not come out whole,
a value below 0 or above the ladder's cap), so its operand was already wrong (the place was
lost earlier); or a slip, a whole value in the story's range written wrong. The check line
(the last step undone): false after a false step line (it checks a wrong value) or a slip."""
SLIPS = (SLIP, CHECK_SLIP)


def false_line_causes(texts: list[str]) -> Counter[str]:
    """Lines with arithmetic (``"lines"``, the check line included) and the false ones by
    ``CAUSES``: every false line has exactly one, so the lines right are ``lines`` less
    their sum."""
    counts: Counter[str] = Counter()
    for t in texts:
        stepped_wrong = False
        for step in check_steps(t):
            if step.ok is None:
                continue
            counts["lines"] += 1
            if step.ok:
                continue
            true = next(e for e in step.equations if not e.ok).actual
            if step.text.startswith("Check"):
                cause = CHECK_AFTER if stepped_wrong else CHECK_SLIP
            elif true is None or true.denominator != 1:
                cause = NO_WHOLE  # no value at all (x / 0) counts here too
            elif true < 0:
                cause = NEGATIVE
            elif true > CAP:
                cause = OVER
            else:
                cause = SLIP
            counts[cause] += 1
            stepped_wrong = True
    return counts


def cause_row(level: int, counts: Counter[str]) -> list[object]:
    """A level's false lines by cause, and the lines right when only slips count as false."""
    lines = counts["lines"]
    false = sum(counts[c] for c in CAUSES)
    slips = sum(counts[c] for c in SLIPS)
    pct = (lambda n: f"{100 * n / lines:.2f}") if lines else (lambda n: "-")  # noqa: E731
    return [level, lines, false, *(counts[c] for c in CAUSES), pct(lines - false),
            pct(lines - slips)]  # fmt: skip


def step_table(counts: Counter[tuple[int, int, bool]], most: int = 8) -> tuple[list, list]:
    """Headers and rows: lines right % by step number (rows; ``most``+ pooled) and operand
    digits (columns), with the line counts."""
    pooled: Counter[tuple[int, int, bool]] = Counter()
    for (step, digits, ok), n in counts.items():
        pooled[min(step, most), min(digits, 3), ok] += n
    digits = sorted({d for _, d, _ in pooled})
    headers = ["step"] + [
        f"{d}{'+' if d == 3 else ''}-digit operands: right % (lines)" for d in digits
    ]
    rows = []
    for step in sorted({s for s, _, _ in pooled}):
        row: list[object] = [f"{step}+" if step == most else step]
        for d in digits:
            good, bad = pooled[step, d, True], pooled[step, d, False]
            row.append(f"{100 * good / (good + bad):.1f} ({good + bad})" if good + bad else "-")
        rows.append(row)
    return headers, rows


def _value(line: str) -> str | None:
    numbers = re.findall(r"-?\d+", line)
    return numbers[-1] if numbers else None


def first_slip(text: str, reference: str, ops: list[str]) -> tuple[str, str] | None:
    """Where a solution first leaves the reference: ``(operation, kind)`` for the first line
    whose value differs (the intro line is ``start``), kind ``sentence`` (it restates
    another sentence), ``arithmetic`` (its equation is false) or ``operand`` (a true
    equation on a wrong number); ``("answer", "answer")`` if every line agrees; None if the
    solution never leaves it."""
    got, ref = text.strip().splitlines(), reference.strip().splitlines()
    names = ["start", *ops]
    for i, op in enumerate(names, start=1):
        line = got[i] if i < len(got) else ""
        if _value(line) == _value(ref[i]):
            continue
        if line.partition(":")[0].strip() != ref[i].partition(":")[0].strip():
            return op, "sentence"
        return op, "arithmetic" if check_steps(line)[0].ok is False else "operand"
    return None if _value(got[-1] if got else "") == _value(ref[-1]) else ("answer", "answer")


def step_lines(text: str) -> int:
    """Lines between the intro (the second line) and the check: one per step written."""
    lines = [ln for ln in text.strip().splitlines() if ln.strip()][2:]
    return sum(not ln.startswith(NOT_STEPS) for ln in lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="tiny")
    ap.add_argument("--levels", default="1-8", help="e.g. 1-8")
    ap.add_argument("--problems", type=int, default=200, help="test problems per level")
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument(
        "--sample-levels",
        default=None,
        help="levels that get --samples (e.g. 5-6); the others greedy only (default: all)",
    )
    ap.add_argument(
        "--temperature", type=float, default=1.0, help="of the samples (greedy is greedy)"
    )
    ap.add_argument("--device", default="auto", help="cpu, cuda, auto (CUDA when present)")
    ap.add_argument("--batch", type=int, default=64, help="rows a sampling batch (GPU: 512)")
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()

    levels = level_list(args.levels)
    if not 0 < args.temperature < float("inf"):
        raise SystemExit(f"error: --temperature must be above 0, got {args.temperature}")
    sampled = set(levels)
    if args.sample_levels:
        sampled = set(level_list(args.sample_levels, "--sample-levels"))
    # float32 on every device, so a GPU profile compares with the CPU's
    try:
        loaded = load_model(ModelConfig(name=args.model, device=args.device, dtype="float32"))
        sampler = HFSampler(loaded.model, loaded.tokenizer, batch_size=args.batch)
    except SealError as err:  # a bad --model, --device or --batch: one line, not a traceback
        raise SystemExit(f"error: {err}") from None
    rows = []
    slips: Counter[tuple[str, str]] = Counter()
    wrong: Counter[int] = Counter()
    short: Counter[int] = Counter()
    steps_of: Counter[str] = Counter()
    by_step: Counter[tuple[int, int, bool]] = Counter()
    cause_rows = []
    for lv in levels:  # one level at a time: a row is printed as soon as it is measured
        task = WordMath(levels=[lv])
        problems = task.problems("test", args.problems)
        k = args.samples if lv in sampled else 1
        summary, results = evaluate(
            task,
            problems,
            sampler,
            SamplingConfig(temperature=args.temperature),
            samples=k,
            quiet=True,
        )
        m = summary["metrics"]
        for p, r in zip(problems, results, strict=True):
            steps_of.update(p.meta["ops"])
            if not r.greedy_ok:
                wrong[lv] += 1
                short[lv] += step_lines(r.greedy.text) < len(p.meta["ops"])
            if not r.greedy_ok and p.solution:
                slip = first_slip(r.greedy.text, p.solution, p.meta["ops"])
                if slip:
                    slips[slip] += 1
        texts = [r.greedy.text for r in results] + [s.text for r in results for s in r.samples]
        causes = false_line_causes(texts)  # one pass over the lines for both tables
        total = causes["lines"]
        right = total - sum(causes[c] for c in CAUSES)
        cause_rows.append(cause_row(lv, causes))
        if lv in sampled and k > 1:
            by_step.update(lines_by_step(texts))
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
                f"{100 * short[lv] / wrong[lv]:.0f}" if wrong[lv] else "-",
            ]
        )
        print(rows[-1], flush=True)
    k = args.samples
    headers = ["level (steps)", "problems", "greedy %", f"maj@{k} %", f"pass@{k} %"]
    headers += ["lines right %", f">= 2 distinct right of {k} %", "wrong greedy: too few steps %"]
    if k == 1:  # greedy only: no sampled columns
        keep = [0, 1, 2, 5, 7]
        headers, rows = [headers[i] for i in keep], [[r[i] for i in keep] for r in rows]
    table = markdown_table(headers, rows)
    notes = (
        f"Model `{args.model}`, wordmath test split, "
        + (
            f"{k} samples at temperature {args.temperature:g} per problem on levels "
            f"{args.sample_levels or args.levels} (the others greedy only). "
            if k > 1
            else "greedy only. "
        )
        + "Lines right: solution lines whose every equation holds (`check_steps`), over "
        + ("greedy and sampled solutions." if k > 1 else "greedy solutions.")
        + " Too few steps: wrong greedy solutions that write fewer step lines than the level"
        " has sentences (a sentence skipped or merged, or an early stop)."
    )
    kinds = ["arithmetic", "operand", "sentence"]
    slip_rows = []
    for op in sorted({op for op, _ in slips}, key=lambda o: -sum(slips[o, k] for k in kinds)):
        n = sum(v for (o, _), v in slips.items() if o == op)
        per = f"{100 * n / steps_of[op]:.2f}" if steps_of[op] else "-"
        slip_rows.append([op, steps_of[op] or "-", n, per, *(slips[op, k] for k in kinds)])
    table += "\n\n" + markdown_table(
        [
            "first slip at",
            "steps of it (greedy)",
            "wrong solutions",
            "per 100 steps",
            "arithmetic",
            "wrong operand",
            "wrong sentence",
        ],
        slip_rows,
    )
    notes += (
        " Second table: where each wrong greedy solution first leaves the reference (the"
        " first line whose value differs), by that step's operation; arithmetic: the line's"
        " equation is false; wrong operand: a true equation on a number that is not the"
        " sentence's or the previous line's; wrong sentence: it restates another sentence."
    )
    table += "\n\n" + markdown_table(
        ["level", "lines with arithmetic", "false", *(f"false: {c}" for c in CAUSES),
         "lines right %", "lines right % (only slips false)"],
        cause_rows,
    )  # fmt: skip
    notes += (
        " Third table: every false line (greedy and sampled solutions). A step line by the"
        " true value of its first false equation: one no story holds (not whole: a division"
        f" or percentage of a number it does not divide; below 0; above {CAP}), so the line"
        " works on a number the story never had, or a slip (a whole value in range, written"
        " wrong). The check line (the last step undone): after a false step line, or a slip."
        " The last column counts only the slips as false."
    )
    if by_step:
        table += "\n\n" + markdown_table(*step_table(by_step))
        notes += (
            " Fourth table: the step lines of the sampled levels (greedy and sampled"
            " solutions), right % by how far into the solution the line is (step 1: the"
            " first sentence's line) and by the digits of its largest operand: a fall down"
            " a column is depth alone, at the same size of numbers."
        )
    report("Level profile (tiny, wordmath)", table, notes, append=not args.no_append)


if __name__ == "__main__":
    main()
