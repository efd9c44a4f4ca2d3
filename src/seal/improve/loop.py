"""The self-improvement loop: bootstrap the critic, then iterate; evaluate at start and end.

One iteration, as named stages: choose the frontier levels from the last validation →
sample candidates there → score them (critic + self-consistency) → keep up to k distinct
ones per prompt → fine-tune the policy further on them plus replayed easy-level data
(or from the base on everything kept so far) → update the critic on its confident
self-labels → validate → accept or roll back.

Every stage writes its files atomically and then marks itself in the run's manifest. A killed
run resumes at the first stage not marked done; an unfinished iteration is redone from the
adapters and selections saved by the finished ones, with the same seeds, so the result
equals that of an uninterrupted run.
"""

from __future__ import annotations

import json
import resource
from pathlib import Path
from typing import Any

import torch

from seal import distributed, tracking
from seal.adapters import load_adapter, save_adapter, with_adapters
from seal.config import SealConfig
from seal.critic.data import Trajectory
from seal.critic.model import Critic
from seal.critic.pipeline import run_critic_training, sample_trajectories, self_update
from seal.evaluate import evaluate
from seal.improve.accept import accept
from seal.improve.candidates import make_candidates, score_candidates
from seal.improve.examples import report_examples
from seal.improve.frontier import Frontier, climbed, frontier_for
from seal.improve.guards import hacking_signal
from seal.improve.kept import kept_pairs, replay_levels, replay_pairs
from seal.improve.policy import Policy
from seal.improve.readings import iteration_metrics
from seal.improve.select import rule_scores, select_rows
from seal.improve.settings import check_settings
from seal.improve.splits import run_task
from seal.memory import trim
from seal.models import load_model
from seal.paired import problem_outcomes
from seal.progress import console
from seal.stopwatch import Stopwatch
from seal.store import RunDir, atomic_write_json, atomic_write_parquet, read_json
from seal.tasks import get_task
from seal.tasks.base import Problem, Task
from seal.tasks.chat import with_chat
from seal.tracking import Tracker


class Loop:
    """One run of the loop in ``run`` (a ``RunDir``) with configuration ``cfg``."""

    def __init__(self, cfg: SealConfig, run: RunDir, quiet: bool = False, task: Task | None = None):
        check_settings(cfg)
        # launched distributed: every rank runs the loop, rank 0 alone prints
        self.cfg, self.run, self.quiet = cfg, run, quiet or not distributed.is_main()
        self.leveled = cfg.run.task == "wordmath"
        task = run_task(cfg) if task is None else task  # given: checked and read
        loaded = load_model(cfg.model)
        self.task = with_chat(task, loaded.tokenizer, cfg.model.chat_template, cfg.model.name)
        c = cfg.critic
        torch.manual_seed(cfg.run.seed)
        self.model = with_adapters(loaded.model, c.lora_r, c.lora_alpha, c.lora_dropout)
        self.tokenizer = loaded.tokenizer
        self.policy = Policy(self.model, self.tokenizer, cfg)
        self.sampler = self.policy.sampler
        self.critic = Critic(
            self.model,
            self.tokenizer,
            batch_size=cfg.sampling.batch_size,
            bf16=cfg.model.train_bf16,
        )
        if cfg.model.backend == "vllm":  # sampling and judging on vLLM, adapters as files
            from seal.critic.vllm_judge import attach

            self.sampler = attach(cfg, self.model, self.tokenizer, self.critic, run.path / "serve")
        self.bootstrap: list[Trajectory] = []

    def _task(self, levels: list[int] | None) -> Any:
        """The task at these levels (all with None; the task itself when it has none)."""
        if not self.leveled:
            return self.task
        task = get_task(self.cfg.run.task, levels=levels)
        return with_chat(task, self.tokenizer, self.cfg.model.chat_template, self.cfg.model.name)

    def _eval(self, split: str, per_level: int) -> dict[str, Any]:
        problems = self.task.problems(split, per_level)
        sampling = self.cfg.sampling.model_copy(update={"seed": self.cfg.run.seed})
        summary, records = evaluate(self.task, problems, self.sampler, sampling, quiet=self.quiet)
        summary["problems"] = problem_outcomes(records)  # for a paired test of base vs final
        return summary

    # ------------------------------------------------------------------ run stages
    def stage_critic(self) -> None:
        path = self.run.path / "critic-0"
        if self.run.is_done("critic"):
            load_adapter(self.model, "critic", path)
            self.bootstrap = [Trajectory(**t) for t in read_json(path / "bootstrap.json")]
            return
        c = self.cfg.critic
        clock, pool = Stopwatch(), self.task.problems("pool", c.problems_per_level)
        with clock("sample"):
            trajs = sample_trajectories(self.task, pool, self.sampler, c, self.quiet)
        report = run_critic_training(self.critic, trajs, c, quiet=self.quiet)
        report["seconds"] = {**clock.seconds, **report["seconds"]}
        self.bootstrap = report.pop("labelled")
        save_adapter(self.model, "critic", path)
        atomic_write_json(path / "metrics.json", report)
        atomic_write_json(path / "bootstrap.json", [t.__dict__ for t in self.bootstrap])
        self.run.mark_done("critic", auroc=report.get("heldout", {}).get("auroc"))
        trim()

    def stage_eval(self, name: str, split: str, per_level: int) -> dict[str, Any]:
        path = self.run.path / name / "eval.json"
        if self.run.is_done(name):
            return read_json(path)
        summary = self._eval(split, per_level)
        atomic_write_json(path, summary)
        self.run.mark_done(name, accuracy=summary["metrics"]["accuracy"])
        trim()
        return summary

    # ------------------------------------------------------------------ iteration stages
    def prompts(self, it: int, levels: list[int]) -> list[Problem]:
        """Fresh training prompts each iteration: a disjoint slice of each level's stream."""
        per = self.cfg.run.prompts_per_level
        by_level: dict[int | None, list[Problem]] = {}
        for p in self._task(levels or None).problems("train", per * it):
            by_level.setdefault(p.level, []).append(p)
        return [p for ps in by_level.values() for p in ps[per * (it - 1) :]]

    def training_pairs(
        self, kept_dirs: list[Path], frontier: Frontier, seed: int
    ) -> tuple[list[tuple[str, str]], int]:
        """Everything selected so far (not with ``run.replay_only``), plus ``run.replay`` x as
        many reference solutions of the levels below the frontier; pairs, and how many replay."""
        r = self.cfg.run
        kept = kept_pairs(kept_dirs if r.accumulate else kept_dirs[-1:])
        n = int(r.replay * len(kept))
        if not n:
            return kept, 0
        every = self._task(None).levels if self.leveled else []  # all levels, not only evaluated
        below = replay_levels(every, frontier.levels) if self.leveled else None
        task = self._task(below)
        problems = task.problems("train", -(-n // len(below or [0])) * len(kept_dirs))
        replay = replay_pairs(task, problems, n, seed)
        return (replay if r.replay_only else kept + replay), n

    def update_policy(self, pairs, rows, seed: int) -> dict[str, Any]:
        """Fine-tune on the kept data, or a GRPO step over all candidates."""
        r = self.cfg.run
        if not r.continue_policy:
            self.policy.reset()
        if r.update == "sft":
            return {"sft_losses": self.policy.train_sft(pairs, seed, self.quiet), "ppo": {}}
        stats = self.policy.train_grpo(rows, rule_scores(rows, r.select), seed, self.quiet)
        return {"sft_losses": [], "ppo": stats}

    def update_critic(self, rows, verdicts, seed: int) -> dict[str, Any]:
        """Retrain on confident self-labels of the new candidates plus bootstrap replay."""
        if not self.cfg.run.critic_update:
            return {}
        trajs = [
            Trajectory(
                x["prompt_id"], x["question"], x["text"], x["answer"], x["truth"], x["level"]
            )
            for x in rows
        ]
        c = self.cfg.critic.model_copy(update={"vote_weight": self.cfg.run.vote_weight})
        return self_update(self.critic, trajs, verdicts, self.bootstrap, c,
                           self.cfg.run.critic_update_size, seed, self.quiet)  # fmt: skip

    def iteration(self, it: int, current_val: dict[str, Any], kept_dirs: list[Path]) -> dict:
        r = self.cfg.run
        d = self.run.path / f"iter-{it:02d}"
        seed = r.seed * 1000 + it
        clock = Stopwatch()
        frontier = frontier_for(r, self.leveled, current_val)
        if not self.quiet:
            where = f"levels {frontier.levels}" if frontier.levels else "train prompts"
            console.print(f"iteration {it}: sampling {where} ({frontier.reason})")
        problems = self.prompts(it, frontier.levels)
        task = self._task(frontier.levels or None)
        with clock("sample"):
            rows = make_candidates(
                self.cfg, task, self.sampler, self.critic, problems, seed, self.quiet
            )
            trim()  # the sampler's KV buffers are gone; give their memory back
        with clock("score"):
            verdicts = score_candidates(self.cfg, task, self.critic, rows, self.quiet)
            atomic_write_parquet(d / "samples.parquet", rows)
            selected = select_rows(rows, r.select, r.top_k, r.min_score, r.max_per_answer)
            atomic_write_parquet(d / "selected.parquet", selected)
            atomic_write_json(
                d / "examples.json", report_examples(self.critic, problems, rows, selected)
            )
        with clock("train"):
            pairs, n_replay = self.training_pairs([*kept_dirs, d], frontier, seed)
            training = self.update_policy(pairs, rows, seed)
        training["train_examples"] = {"total": len(pairs), "replay": n_replay}
        training["finetune"] = {"mode": self.policy.mode, "lr": self.policy.lr}
        with clock("critic_update"):
            critic_update = self.update_critic(rows, verdicts, seed)
            trim()
        with clock("validate"):
            val = self._eval("validation", r.validation_per_level)
        accepted, why = accept(current_val, val, r.tolerance, r.level_tolerance)
        m = iteration_metrics(it, frontier, rows, selected, training, critic_update, val,
                              accepted, r.audit_size, seed)  # fmt: skip
        m["seconds"] = clock.seconds
        return {**m, "rejected_because": why} if why else m

    def stage_iteration(
        self, it: int, d: Path, current: dict, kept_dirs: list[Path], last_good: Path | None
    ) -> dict[str, Any]:
        """An iteration, or its saved metrics when done; a rejected policy is rolled back
        before the adapters are saved, so ``iter-NN/policy`` is always the current one."""
        if self.run.is_done(f"iter-{it}"):
            return read_json(d / "metrics.json")
        if last_good is not None:  # resume: start from the last saved adapters
            self.policy.load(last_good / "policy")
            load_adapter(self.model, "critic", last_good / "critic")
        m = self.iteration(it, current, kept_dirs)
        if not m["accepted"] and last_good is not None:
            self.policy.load(last_good / "policy")
        elif not m["accepted"]:
            self.policy.reset()
        self.policy.save(d / "policy")
        save_adapter(self.model, "critic", d / "critic")
        atomic_write_json(d / "metrics.json", m)
        val = m["validation"]["metrics"]["accuracy"]
        self.run.mark_done(f"iter-{it}", accepted=m["accepted"], validation=val)
        return m

    # ------------------------------------------------------------------ the run
    def execute(self) -> dict[str, Any]:
        with self.run.owned():
            tracker = Tracker(
                self.cfg.run.report_to, self.run.path, self.cfg.model_dump(mode="json")
            )
            try:
                return self._execute(tracker)
            finally:
                tracker.close()

    def _execute(self, tracker: Tracker) -> dict[str, Any]:
        r = self.cfg.run
        self.stage_critic()
        base = self.stage_eval("base", "validation", r.validation_per_level)
        tracker.log({"validation": {"accuracy": base["metrics"]["accuracy"]}}, step=0)
        base_test = self.stage_eval("base-test", "test", r.test_per_level)
        current, best_val, stale = base, base["metrics"]["accuracy"], 0
        history: list[dict[str, Any]] = []
        kept_dirs: list[Path] = []  # iterations whose selection was accepted
        last_good: Path | None = None
        for it in range(1, r.iterations + 1):
            d = self.run.path / f"iter-{it:02d}"
            m = self.stage_iteration(it, d, current, kept_dirs, last_good)
            last_good, before = d, current
            history.append(m)
            if m["accepted"]:
                kept_dirs.append(d)
                current = m["validation"]
            m["hacking"] = hacking_signal(
                [{"mean_score": h["mean_score"], "audit_accuracy": h["audit_accuracy"] or 0.0}
                 for h in history]
            )  # fmt: skip
            tracker.log(tracking.iteration_record(m), step=it)
            val_acc = m["validation"]["metrics"]["accuracy"]
            gained = val_acc > best_val or climbed(before, m["validation"], m["frontier"]["levels"])
            stale = 0 if m["accepted"] and gained else stale + 1
            best_val = max(best_val, val_acc) if m["accepted"] else best_val
            if not self.quiet:
                console.print(
                    f"iteration {it}: validation {val_acc:.3f} "
                    f"({'accepted' if m['accepted'] else 'rolled back'}"
                    f"{': ' + m['rejected_because'] if m.get('rejected_because') else ''}), "
                    "selected "
                    f"{m['selected']} of {m['candidates']} "
                    f"(precision {m['selected_precision']:.2f})"
                )
            if stale >= r.patience:
                break
        if not self.run.is_done("final"):
            if last_good is not None:
                self.policy.load(last_good / "policy")
            # the policy the final numbers are for: a PEFT adapter (or, full, a model
            # directory) any tool can load
            self.policy.save(self.run.path / "final" / "policy")
        final = self.stage_eval("final", "test", r.test_per_level)
        summary = {
            "base": base_test,
            "base_validation": base,
            "final": final,
            "iterations": history,
            # max resident memory of this process (Linux reports KiB)
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
        atomic_write_json(
            self.run.path / "summary.json", json.loads(json.dumps(summary, default=str))
        )
        return summary
