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

from seal.config import SamplingConfig
from seal.generation.base import Completion, Sampler, SamplingParams
from seal.metrics import majority, pass_at_k
from seal.tasks.answers import answers_equal
from seal.tasks.base import Problem, Task


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
    results = []
    for problem, g, outs in zip(problems, greedy, sampled, strict=True):
        answers = [task.extract(o.text) for o in outs]
        results.append(
            ProblemResult(
                problem=problem,
                greedy=g,
                greedy_answer=task.extract(g.text),
                greedy_ok=task.verify(problem, g.text),
                samples=outs,
                answers=answers,
                oks=[task.verify(problem, o.text) for o in outs],
            )
        )
    by_level: dict[str, list[ProblemResult]] = defaultdict(list)
    for r in results:
        if r.problem.level is not None:
            by_level[str(r.problem.level)].append(r)
    tokens = sum(g.num_tokens for g in greedy) + (
        sum(o.num_tokens for outs in sampled for o in outs) if samples > 1 else 0
    )
    elapsed = time.perf_counter() - start
    summary = {
        "n": len(results),
        "samples": samples,
        "metrics": {k: v for k, v in _summary(results, samples).items() if k != "n"},
        "by_level": {lv: _summary(rs, samples) for lv, rs in sorted(by_level.items())},
        "generated_tokens": tokens,
        "seconds": round(elapsed, 2),
        "tokens_per_second": round(tokens / max(elapsed, 1e-9), 1),
    }
    return summary, results


def results_table(summary: dict[str, Any], title: str) -> Table:
    """Rows = levels (and all), columns = the metrics, as percentages."""
    k = summary["samples"]
    cols = ["accuracy", f"maj@{k}", "pass@1", f"pass@{k}"] if k > 1 else ["accuracy"]
    table = Table(title=title)
    table.add_column("level")
    table.add_column("n", justify="right")
    for c in cols:
        table.add_column(c, justify="right")
    for lv, m in summary["by_level"].items():
        table.add_row(lv, str(m["n"]), *(f"{100 * m[c]:.1f}" for c in cols))
    table.add_row("all", str(summary["n"]), *(f"{100 * summary['metrics'][c]:.1f}" for c in cols))
    return table
