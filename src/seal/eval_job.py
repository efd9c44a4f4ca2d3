"""One ``seal eval`` job: several tasks, one model, results written as each task finishes.

Generative tasks go through the sampler (greedy + optional samples); multiple-choice tasks
(``kind == "choice"``) through batched log-likelihood. Each task's JSON and per-sample log
are written atomically as soon as it is done, so a failure in a later task leaves the
earlier results whole.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seal.config import SealConfig
from seal.errors import SealError
from seal.evaluate import evaluate, evaluate_choices
from seal.generation.hf import HFSampler
from seal.models import LoadedModel
from seal.problems import load_problems
from seal.store import atomic_write_json, atomic_write_text
from seal.tasks import get_task
from seal.tasks.base import Problem, Task
from seal.tasks.chat import with_chat


@dataclass
class TaskResult:
    name: str
    result: dict[str, Any]
    records: list[dict[str, Any]]


def build_task(name: str, cfg: SealConfig, data: Path | None, fewshot_data: Path | None) -> Task:
    if name == "wordmath":
        if fewshot_data is not None:
            raise SealError("--fewshot-data applies to gsm8k and mmlu only, not wordmath")
        return get_task(name, levels=cfg.eval.levels)
    kwargs: dict[str, Any] = {"data": data}
    if fewshot_data is not None and name.partition("/")[0] not in ("gsm8k", "mmlu"):
        raise SealError(f"--fewshot-data applies to gsm8k and mmlu only, not {name}")
    if fewshot_data is not None:
        kwargs["fewshot_data"] = fewshot_data
    if name.startswith("humaneval"):
        kwargs["timeout"] = cfg.eval.timeout
        kwargs["unsafe_local_execution"] = cfg.eval.unsafe_local_execution
    return get_task(name, **kwargs)


def select_problems(name: str, task: Task, cfg: SealConfig, data: Path | None) -> list[Problem]:
    """The problems ``seal eval`` runs: ``--data``'s rows or the split's, cut by ``--limit``
    (per level for wordmath) and ``--levels`` the same way for both."""
    ev = cfg.eval
    split = ev.split or getattr(task, "default_split", "test")
    if name == "wordmath":
        return load_problems(task, data, split, ev.limit, ev.levels)
    if data is None and split not in task.splits:
        raise SealError(f"task {name} has no split {split!r}; splits: {', '.join(task.splits)}")
    problems = task.problems(split, ev.limit)
    if not problems:
        raise SealError(f"{data or f'split {split!r} of task {name}'} has no problems")
    return problems


def file_stem(task: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", task)


def run_task(
    name: str,
    cfg: SealConfig,
    loaded: LoadedModel,
    sampler: HFSampler,
    data: Path | None = None,
    fewshot_data: Path | None = None,
) -> TaskResult:
    ev = cfg.eval
    task = with_chat(
        build_task(name, cfg, data, fewshot_data),
        loaded.tokenizer,
        cfg.model.chat_template,
        cfg.model.name,
    )
    split = ev.split or getattr(task, "default_split", "test")
    shots = ev.shots if ev.shots is not None else getattr(task, "default_shots", 0)
    problems = select_problems(name, task, cfg, data)
    if getattr(task, "kind", "generate") == "choice":
        summary, records = evaluate_choices(
            task,  # type: ignore[arg-type]
            problems,
            loaded.model,
            loaded.tokenizer,
            shots=shots,
            batch_size=cfg.sampling.batch_size,
        )
    else:
        summary, results = evaluate(
            task, problems, sampler, cfg.sampling, samples=ev.samples, shots=shots
        )
        records = [r.record() for r in results]
    result = {
        "task": name,
        "model": cfg.model.name,
        "split": split if data is None else str(data),
        "shots": shots,
        **({"chat_template": True} if cfg.model.chat_template else {}),
        **summary,
    }
    return TaskResult(name, result, records)


def run_search(
    name: str,
    cfg: SealConfig,
    sampler: HFSampler,
    critic: Any,
    data: Path | None = None,
) -> TaskResult:
    """Evaluate with an answer-time search (``--search``): accuracy and the budget it took."""
    from seal.search import Searcher, SearchSettings

    ev = cfg.eval
    task = with_chat(
        build_task(name, cfg, data, None),
        sampler.tokenizer,
        cfg.model.chat_template,
        cfg.model.name,
    )
    split = ev.split or getattr(task, "default_split", "test")
    problems = select_problems(name, task, cfg, data)
    sc = cfg.search
    settings = SearchSettings.from_config(cfg)
    results = Searcher(task, sampler, critic, settings).run(problems)
    records, by_level = [], {}
    for p, r in zip(problems, results, strict=True):
        ok = bool(r.found and task.verify(p, r.text))
        records.append(
            {
                "id": p.id,
                "level": p.level,
                "answer": p.answer,
                "predicted": r.answer,
                "correct": ok,
                "text": r.text,
                "tokens": r.tokens,
                "critic_calls": r.critic_calls,
            }
        )
    n = len(records)

    def stats(rs: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "n": len(rs),
            "accuracy": sum(r["correct"] for r in rs) / len(rs),
            "tokens_per_problem": sum(r["tokens"] for r in rs) / len(rs),
        }

    for lv in sorted({r["level"] for r in records if r["level"] is not None}):
        by_level[str(lv)] = stats([r for r in records if r["level"] == lv])
    summary = {
        "task": name,
        "model": cfg.model.name,
        "split": split,
        "shots": 0,
        **({"chat_template": True} if cfg.model.chat_template else {}),
        "search": sc.method,
        "n": n,
        "samples": 1,
        "metrics": {"accuracy": stats(records)["accuracy"]},
        "by_level": by_level,
        "budget": {
            "tokens_per_problem": sum(r.tokens for r in results) / n,
            "critic_calls_per_problem": sum(r.critic_calls for r in results) / n,
            "seconds_per_problem": sum(r.seconds for r in results) / n,
            "no_solution": sum(not r.found for r in results),
        },
        "settings": sc.model_dump(),
    }
    return TaskResult(name, summary, records)


def write_task(result: TaskResult, directory: Path, samples: bool = True) -> None:
    """``<directory>/eval.json`` and ``samples.jsonl``."""
    if samples:
        atomic_write_text(
            directory / "samples.jsonl", "".join(json.dumps(r) + "\n" for r in result.records)
        )
    atomic_write_json(directory / "eval.json", result.result)


def summary_markdown(results: list[TaskResult]) -> str:
    lines = ["| task | n | shots | metric | value |", "| --- | --- | --- | --- | --- |"]
    for r in results:
        for metric, value in r.result["metrics"].items():
            lines.append(
                f"| {r.name} | {r.result['n']} | {r.result['shots']} | {metric} | "
                f"{100 * value:.1f} |"
            )
    return "\n".join(lines) + "\n"
