"""Run a task's problems through a sampler and score them: accuracy, maj@k, pass@k by level.

``accuracy`` is greedy decoding (one answer per problem). With ``samples = k > 1`` every
problem also gets ``k`` temperature samples, from which ``maj@k`` (majority answer) and the
unbiased ``pass@k`` / ``pass@1`` are computed. With ``samples = 1`` the greedy answer is the
only sample, so all three equal greedy accuracy.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from rich.table import Table

from seal.config import MAX_SAMPLES, SamplingConfig
from seal.errors import SealError
from seal.generation.base import Completion, Sampler, SamplingParams
from seal.generation.loglik import loglikelihood
from seal.metrics import majority, pass_at_k
from seal.tasks.answers import answers_equal
from seal.tasks.base import ChoiceTask, Problem, Task


@dataclass
class ProblemResult:
    problem: Problem
    greedy: Completion
    greedy_answer: str | None
    greedy_ok: bool
    samples: list[Completion]
    answers: list[str | None]
    oks: list[bool]

    def record(self) -> dict[str, Any]:
        return {
            "id": self.problem.id,
            "level": self.problem.level,
            "question": self.problem.question,
            "answer": self.problem.answer,
            "greedy": {
                "text": self.greedy.text,
                "answer": self.greedy_answer,
                "correct": self.greedy_ok,
            },
            "samples": [
                {"text": s.text, "answer": a, "correct": ok, "logprob": round(s.logprob, 4)}
                for s, a, ok in zip(self.samples, self.answers, self.oks, strict=True)
            ],
        }


def _summary(results: list[ProblemResult], k: int) -> dict[str, Any]:
    n = len(results)
    acc = sum(r.greedy_ok for r in results) / n
    if k == 1:
        return {"n": n, "accuracy": acc, "maj@1": acc, "pass@1": acc}
    maj = sum(answers_equal(majority(r.answers), r.problem.answer) for r in results) / n
    p1 = sum(pass_at_k(k, sum(r.oks), 1) for r in results) / n
    pk = sum(pass_at_k(k, sum(r.oks), k) for r in results) / n
    return {"n": n, "accuracy": acc, f"maj@{k}": maj, "pass@1": p1, f"pass@{k}": pk}


def verify_all(task: Task, problems: list[Problem], completions: list[str]) -> list[bool]:
    """Ground-truth checks, in one batch where the task offers it (code execution)."""
    many = getattr(task, "verify_many", None)
    if many is not None:
        return list(many(problems, completions))
    return [task.verify(p, c) for p, c in zip(problems, completions, strict=True)]


def evaluate(
    task: Task,
    problems: list[Problem],
    sampler: Sampler,
    sampling: SamplingConfig,
    samples: int = 1,
    shots: int = 0,
    quiet: bool = False,
) -> tuple[dict[str, Any], list[ProblemResult]]:
    """Metrics overall and by level, plus per-problem results (for ``samples.jsonl``)."""
    if not isinstance(problems, list | tuple) or not problems:
        raise SealError("evaluate needs a non-empty list of problems (task.problems(split))")
    if not all(isinstance(p, Problem) for p in problems):
        raise SealError("evaluate takes Problem objects, as task.problems(split) returns them")
    if not isinstance(sampling, SamplingConfig):
        raise SealError("evaluate's sampling is a SamplingConfig (seal.config.SamplingConfig())")
    bounds = (("samples", samples, 1, MAX_SAMPLES), ("shots", shots, 0, 256))
    for name, value, least, most in bounds:
        if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
            raise SealError(f"evaluate's {name} must be an integer {least}-{most}, got {value!r}")
    start = time.perf_counter()
    prompts = [task.prompt(p, shots=shots) for p in problems]
    stop = tuple(task.stop)
    greedy_params = SamplingParams(
        n=1, temperature=0.0, max_new_tokens=sampling.max_new_tokens, stop=stop, seed=sampling.seed
    )
    greedy = [c[0] for c in sampler.sample(prompts, greedy_params, quiet=quiet)]
    if samples > 1:
        params = SamplingParams(
            n=samples,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            top_k=sampling.top_k,
            max_new_tokens=sampling.max_new_tokens,
            stop=stop,
            seed=sampling.seed,
        )
        sampled = sampler.sample(prompts, params, quiet=quiet)
    else:
        sampled = [[g] for g in greedy]
    greedy_ok = verify_all(task, problems, [g.text for g in greedy])
    if samples > 1:
        flat = [(p, o.text) for p, outs in zip(problems, sampled, strict=True) for o in outs]
        flat_ok = verify_all(task, [p for p, _ in flat], [t for _, t in flat])
        sample_ok = [flat_ok[i * samples : (i + 1) * samples] for i in range(len(problems))]
    else:
        sample_ok = [[ok] for ok in greedy_ok]
    results = []
    for problem, g, g_ok, outs, oks in zip(
        problems, greedy, greedy_ok, sampled, sample_ok, strict=True
    ):
        results.append(
            ProblemResult(
                problem=problem,
                greedy=g,
                greedy_answer=task.extract(g.text),
                greedy_ok=g_ok,
                samples=outs,
                answers=[task.extract(o.text) for o in outs],
                oks=oks,
            )
        )
    extra: dict[str, float] = {}
    scores = getattr(task, "scores", None)
    if scores is not None:  # the harness's own metrics (gsm8k strict / flexible match)
        per = [scores(r.problem, r.greedy.text) for r in results]
        extra = {k: sum(p[k] for p in per) / len(per) for k in per[0]} if per else {}
    by_level: dict[str, list[ProblemResult]] = defaultdict(list)
    by_group: dict[str, list[ProblemResult]] = defaultdict(list)
    for r in results:
        if r.problem.level is not None:
            by_level[str(r.problem.level)].append(r)
        if r.problem.group is not None:
            by_group[r.problem.group].append(r)
    tokens = sum(g.num_tokens for g in greedy) + (
        sum(o.num_tokens for outs in sampled for o in outs) if samples > 1 else 0
    )
    elapsed = time.perf_counter() - start
    summary = {
        "n": len(results),
        "samples": samples,
        "metrics": {k: v for k, v in _summary(results, samples).items() if k != "n"} | extra,
        "by_level": {lv: _summary(rs, samples) for lv, rs in sorted(by_level.items())},
        "by_group": {g: _summary(rs, samples) for g, rs in sorted(by_group.items())},
        "generated_tokens": tokens,
        "seconds": round(elapsed, 2),
        "tokens_per_second": round(tokens / max(elapsed, 1e-9), 1),
    }
    return summary, results


def evaluate_choices(
    task: ChoiceTask,
    problems: list[Problem],
    model: Any,
    tokenizer: Any,
    shots: int = 0,
    batch_size: int = 32,
    quiet: bool = False,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Multiple choice by log-likelihood: accuracy overall, by group and by category."""
    start = time.perf_counter()
    requests, spans = [], []
    for p in problems:
        ctx = task.prompt(p, shots=shots)
        conts = task.choices(p)
        spans.append((len(requests), len(conts)))
        requests += [(ctx, c) for c in conts]
    scores = loglikelihood(model, tokenizer, requests, batch_size=batch_size, quiet=quiet)
    records = []
    for p, (i, n) in zip(problems, spans, strict=True):
        lls = [s.logprob for s in scores[i : i + n]]
        pred = max(range(n), key=lambda j: lls[j])
        gold = task.gold(p)
        records.append(
            {
                "id": p.id,
                "group": p.group,
                "category": p.meta.get("category"),
                "gold": gold,
                "prediction": pred,
                "correct": pred == gold,
                "loglikelihoods": [round(x, 4) for x in lls],
            }
        )

    def acc(rs: list[dict[str, Any]]) -> dict[str, Any]:
        return {"n": len(rs), "accuracy": sum(r["correct"] for r in rs) / len(rs)}

    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    cats: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        if r["group"] is not None:
            groups[r["group"]].append(r)
        if r["category"] is not None:
            cats[r["category"]].append(r)
    summary = {
        "n": len(records),
        "samples": 1,
        "metrics": {"accuracy": acc(records)["accuracy"]},
        "by_level": {},
        "by_category": {c: acc(rs) for c, rs in sorted(cats.items())},
        "by_group": {g: acc(rs) for g, rs in sorted(groups.items())},
        "requests": len(requests),
        "seconds": round(time.perf_counter() - start, 2),
    }
    return summary, records


def results_table(summary: dict[str, Any], title: str, max_rows: int = 30) -> Table:
    """Rows = levels, categories or groups (and all), columns = the metrics, in percent."""
    k = summary["samples"]
    cols = ["accuracy", f"maj@{k}", "pass@1", f"pass@{k}"] if k > 1 else ["accuracy"]
    cols += [c for c in ("strict_match", "flexible_match") if c in summary["metrics"]]
    table = Table(title=title)
    kind = "level" if summary.get("by_level") else "group"
    table.add_column(kind)
    table.add_column("n", justify="right")
    for c in cols:
        table.add_column(c, justify="right")
    rows = summary.get("by_level") or summary.get("by_category") or summary.get("by_group") or {}
    if len(rows) <= max_rows:
        for lv, m in rows.items():
            table.add_row(lv, str(m["n"]), *(f"{100 * m[c]:.1f}" if c in m else "" for c in cols))
    table.add_row("all", str(summary["n"]), *(f"{100 * summary['metrics'][c]:.1f}" for c in cols))
    return table
