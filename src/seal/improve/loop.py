"""The self-improvement loop: bootstrap the critic, then iterate sample → score → select →
fine-tune → update critic → validate → accept or roll back; evaluate at the start and end.

Every stage writes its files atomically and then marks itself in the run's manifest. A killed
run resumes at the first stage not marked done; an unfinished iteration is redone from the
adapters saved by the last finished one, with the same seeds, so the result equals that of an
uninterrupted run.
"""

from __future__ import annotations

import json
import random
import resource
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import torch
from rich.table import Table

from seal import distributed, tracking
from seal.adapters import load_adapter, lora_config, save_adapter, with_adapters
from seal.config import SealConfig
from seal.critic.data import Trajectory, balanced, outcome_examples
from seal.critic.model import Critic, combine
from seal.critic.pipeline import run_critic_training, sample_trajectories, self_label
from seal.critic.train import train_critic
from seal.errors import SealError
from seal.evaluate import evaluate
from seal.generation.base import SamplingParams
from seal.generation.hf import HFSampler
from seal.improve.finetune import sft
from seal.improve.grpo import GRPOSettings, grpo_update
from seal.improve.guards import diversity, hacking_signal, score_entropy
from seal.improve.select import Candidate, select_top_k
from seal.memory import trim
from seal.metrics import majority
from seal.models import load_model
from seal.progress import console
from seal.store import RunDir, atomic_write_bytes, atomic_write_json, read_json
from seal.tasks import get_task
from seal.tasks.base import Problem
from seal.tracking import Tracker


def _parquet(path: Path, rows: list[dict[str, Any]]) -> None:
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(rows), sink)
    atomic_write_bytes(path, sink.getvalue().to_pybytes())


def check_settings(cfg: SealConfig) -> None:
    """Impossible settings are one-line errors before any work starts."""
    r = cfg.run
    if r.top_k > r.samples:
        raise SealError(f"run.top_k ({r.top_k}) cannot exceed run.samples ({r.samples})")
    if r.select == "oracle" and r.task != "wordmath" and r.task not in ("gsm8k",):
        raise SealError(f"--select oracle needs a task with a verifier; {r.task} has none")
    if r.prompts_per_level < 1:
        raise SealError("run.prompts_per_level must be at least 1 (zero prompts)")
    tracking.check(r.report_to)
    if cfg.model.backend == "vllm":
        from seal.generation.vllm_engine import check

        check(cfg)


class Loop:
    """One run of the loop in ``run`` (a ``RunDir``) with configuration ``cfg``."""

    def __init__(self, cfg: SealConfig, run: RunDir, quiet: bool = False):
        check_settings(cfg)
        # launched distributed: every rank runs the loop, rank 0 alone prints
        self.cfg, self.run, self.quiet = cfg, run, quiet or not distributed.is_main()
        kwargs: dict[str, Any] = {"levels": cfg.eval.levels} if cfg.run.task == "wordmath" else {}
        self.task = get_task(cfg.run.task, **kwargs)
        train_kwargs = {"levels": cfg.run.train_levels} if cfg.run.task == "wordmath" else {}
        self.train_task = get_task(cfg.run.task, **train_kwargs)
        loaded = load_model(cfg.model)
        c = cfg.critic
        torch.manual_seed(cfg.run.seed)
        self.model = with_adapters(loaded.model, c.lora_r, c.lora_alpha, c.lora_dropout)
        self.tokenizer = loaded.tokenizer
        self.sampler = HFSampler(self.model, self.tokenizer, batch_size=cfg.sampling.batch_size)
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

    # ------------------------------------------------------------------ helpers
    def _eval(self, split: str, per_level: int) -> dict[str, Any]:
        problems = self.task.problems(split, per_level)
        sampling = self.cfg.sampling.model_copy(update={"seed": self.cfg.run.seed})
        summary, _ = evaluate(self.task, problems, self.sampler, sampling, quiet=self.quiet)
        return summary

    def _reset_policy(self) -> None:
        torch.manual_seed(self.cfg.run.seed)
        c = self.cfg.critic
        self.model.set_adapter("critic")  # never delete the active adapter
        self.model.delete_adapter("policy")
        self.model.add_adapter("policy", lora_config(c.lora_r, c.lora_alpha, c.lora_dropout))
        self.model.set_adapter("policy")

    def _prompts(self, iteration: int) -> list[Problem]:
        """Fresh training prompts each iteration: a disjoint slice of the train stream."""
        per = self.cfg.run.prompts_per_level
        problems = self.train_task.problems("train", per * iteration)
        by_level: dict[int | None, list[Problem]] = {}
        for p in problems:
            by_level.setdefault(p.level, []).append(p)
        return [p for ps in by_level.values() for p in ps[per * (iteration - 1) :]]

    # ------------------------------------------------------------------ stages
    def stage_critic(self) -> None:
        path = self.run.path / "critic-0"
        if self.run.is_done("critic"):
            load_adapter(self.model, "critic", path)
            self.bootstrap = [Trajectory(**t) for t in read_json(path / "bootstrap.json")]
            return
        c = self.cfg.critic
        trajs = sample_trajectories(
            self.task, self.task.problems("pool", c.problems_per_level), self.sampler, c, self.quiet
        )
        report = run_critic_training(self.critic, trajs, c, quiet=self.quiet)
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

    def iteration(self, it: int, best_val: float) -> dict[str, Any]:
        r, c = self.cfg.run, self.cfg.critic
        d = self.run.path / f"iter-{it:02d}"
        seed = r.seed * 1000 + it
        problems = self._prompts(it)
        rows = []
        for p, comps in zip(problems, self._candidates(problems, seed), strict=True):
            for text, logprob, tokens in comps:
                rows.append(
                    {
                        "prompt_id": p.id,
                        "level": p.level,
                        "question": p.question,
                        "text": text,
                        "answer": self.train_task.extract(text),
                        "logprob": logprob,
                        "tokens": tokens,
                        "truth": int(self.train_task.verify(p, text)),
                    }
                )
        trim()  # the sampler's KV buffers are gone; give their memory back
        # score every candidate with the critic (outcome, and steps when combined)
        verdicts = self.critic.score(
            [x["question"] for x in rows], [x["text"] for x in rows], quiet=self.quiet
        )
        steps = (
            self.critic.score_steps(
                [x["question"] for x in rows], [x["text"] for x in rows], quiet=self.quiet
            )
            if c.combine != "outcome"
            else [[] for _ in rows]
        )
        for x, v, s in zip(rows, verdicts, steps, strict=True):
            x["p_good"], x["entropy"], x["score"] = (
                v.p_good,
                v.entropy,
                combine(v.p_good, s, c.combine),
            )
        _parquet(d / "samples.parquet", rows)

        # select
        by_prompt: dict[str, list[dict[str, Any]]] = {}
        for x in rows:
            by_prompt.setdefault(x["prompt_id"], []).append(x)
        majority_answer = {
            pid: majority([x["answer"] for x in xs]) for pid, xs in by_prompt.items()
        }

        def sel_score(x: dict[str, Any]) -> float:
            if r.select == "critic":
                return x["score"]
            if r.select == "oracle":
                return float(x["truth"])
            if r.select == "majority":
                top = majority_answer[x["prompt_id"]]
                return float(top is not None and x["answer"] == top)
            return 1.0

        cands = [Candidate(x["prompt_id"], x["text"], x["answer"], sel_score(x)) for x in rows]
        chosen = select_top_k(cands, r.top_k, r.min_score, r.max_per_answer)
        question = {p.id: p for p in problems}
        selected = [
            {
                "prompt_id": pid,
                "text": cand.text,
                "answer": cand.answer,
                "score": cand.score,
                "truth": int(self.train_task.verify(question[pid], cand.text)),
            }
            for pid, cs in chosen.items()
            for cand in cs
        ]
        _parquet(d / "selected.parquet", selected)
        self._examples(d, problems, by_prompt, selected)

        # update the policy: fine-tune on the selection, or policy gradient on everything
        if not r.continue_policy:
            self._reset_policy()
        sft_losses: list[float] = []
        ppo_stats: dict[str, float] = {}
        if r.update == "sft":
            pairs = [
                (self.train_task.prompt(question[x["prompt_id"]]), " " + x["text"].lstrip())
                for x in selected
            ]
            sft_losses = sft(
                self.model,
                self.tokenizer,
                pairs,
                epochs=r.sft_epochs,
                lr=r.sft_lr,
                weight_decay=r.sft_weight_decay,
                seed=seed,
                quiet=self.quiet,
                bf16=self.cfg.model.train_bf16,
            )
        else:
            ids = list(by_prompt)
            ppo_stats = grpo_update(
                self.model,
                self.tokenizer,
                [self.train_task.prompt(question[pid]) for pid in ids],
                [[x["text"] for x in by_prompt[pid]] for pid in ids],
                [[sel_score(x) for x in by_prompt[pid]] for pid in ids],
                GRPOSettings(
                    epochs=r.ppo_epochs,
                    lr=r.ppo_lr,
                    clip=r.ppo_clip,
                    kl=r.ppo_kl,
                    entropy=r.ppo_entropy,
                    seed=seed,
                    bf16=self.cfg.model.train_bf16,
                ),
                quiet=self.quiet,
            )

        # update the critic with confident self-labels of the new candidates
        trajs = [
            Trajectory(
                x["prompt_id"], x["question"], x["text"], x["answer"], x["truth"], x["level"]
            )
            for x in rows
        ]
        critic_report: dict[str, Any] = {}
        if r.critic_update:
            kept, stats = self_label(
                self.critic,
                trajs,
                c.entropy_threshold,
                c.self_consistency,
                self.quiet,
                verdicts=verdicts,  # the scores from above: the critic has not changed since
                vote_weight=c.vote_weight,
            )
            critic_report = stats
            if kept:
                # new confident self-labels (capped, both classes) plus a replay of the
                # bootstrap labels so the critic does not drift to its own verdicts alone
                rng = random.Random(seed)
                new = balanced(kept, r.critic_update_size, rng)
                replay = rng.sample(self.bootstrap, min(len(self.bootstrap), len(new) // 2))
                examples = outcome_examples(
                    replay + new, rng, self.critic.labels.good, c.injections, steps=False
                )
                train_critic(
                    self.critic,
                    examples,
                    c.model_copy(update={"epochs": 1, "seed": seed}),
                    quiet=self.quiet,
                )

        trim()
        # audit the critic against the verifier on a small random subset (never trained on)
        audit = random.Random(seed).sample(rows, min(r.audit_size, len(rows)))
        audit_acc = (
            sum(int(x["p_good"] >= 0.5) == x["truth"] for x in audit) / len(audit)
            if audit
            else None
        )

        # validate; accept or roll back
        val = self._eval("validation", r.validation_per_level)
        val_acc = val["metrics"]["accuracy"]
        accepted = val_acc >= best_val - r.tolerance
        metrics = {
            "iteration": it,
            "candidates": len(rows),
            "candidate_accuracy": sum(x["truth"] for x in rows) / max(1, len(rows)),
            "selected": len(selected),
            "selected_prompts": len(chosen),
            "selected_precision": sum(x["truth"] for x in selected) / max(1, len(selected)),
            "sft_losses": sft_losses,
            "ppo": ppo_stats,
            "critic_update": critic_report,
            "mean_score": sum(x["score"] for x in rows) / max(1, len(rows)),
            "audit_accuracy": audit_acc,
            "guards": {
                **diversity(
                    [x["prompt_id"] for x in rows],
                    [x["text"] for x in rows],
                    [x["answer"] for x in rows],
                ),
                "score_entropy_bits": score_entropy([x["score"] for x in rows]),
            },
            "validation": val,
            "accepted": accepted,
        }
        return metrics

    def _candidates(self, problems: list[Problem], seed: int) -> list[list[tuple[str, float, int]]]:
        """``(text, log-prob, tokens)`` candidates per prompt: N samples, or with
        ``run.search = tot`` every finished solution of a Tree-of-Thoughts search (valued by
        the critic step by step; log-prob not tracked, tokens = the search's share)."""
        r = self.cfg.run
        if r.search == "tot":
            from seal.search import Searcher, SearchSettings

            settings = SearchSettings.from_config(self.cfg, method="tot", seed=seed)
            results = Searcher(self.train_task, self.sampler, self.critic, settings).run(problems)
            out = []
            for res in results:
                finished, stack = [], [res.tree]
                while stack:
                    node = stack.pop()
                    finished += [c for c in node.children if c.finished]
                    stack += node.children
                share = res.tokens // max(1, len(finished))
                out.append([(n.text, 0.0, share) for n in finished])
            return out
        params = SamplingParams(
            n=r.samples,
            temperature=self.cfg.sampling.temperature,
            top_p=self.cfg.sampling.top_p,
            top_k=self.cfg.sampling.top_k,
            max_new_tokens=self.cfg.sampling.max_new_tokens,
            stop=tuple(self.train_task.stop),
            seed=seed,
        )
        prompts = [self.train_task.prompt(p) for p in problems]
        outs = self.sampler.sample(prompts, params, quiet=self.quiet)
        return [[(c.text, c.logprob, c.num_tokens) for c in comps] for comps in outs]

    def _examples(self, d: Path, problems, by_prompt, selected, prompts: int = 3) -> None:
        """For the report: a few prompts' best selected and rejected candidates, with the
        critic's step scores (a few dozen extra critic calls)."""
        chosen = {(x["prompt_id"], x["text"]) for x in selected}
        out = []
        for p in problems[:: max(1, len(problems) // prompts)][:prompts]:
            xs = sorted(by_prompt.get(p.id, []), key=lambda x: -x["score"])
            sel = [x for x in xs if (p.id, x["text"]) in chosen][:2]
            rej = [x for x in xs if (p.id, x["text"]) not in chosen]
            picked = sel + rej[:1] + rej[-1:] if len(rej) > 1 else sel + rej
            if not picked:
                continue
            steps = self.critic.score_steps([p.question] * len(picked), [x["text"] for x in picked])
            out.append(
                {
                    "question": p.question,
                    "candidates": [
                        {
                            "text": x["text"],
                            "score": x["score"],
                            "truth": x["truth"],
                            "selected": (p.id, x["text"]) in chosen,
                            "steps": st,
                        }
                        for x, st in zip(picked, steps, strict=True)
                    ],
                }
            )
        atomic_write_json(d / "examples.json", out)

    # ------------------------------------------------------------------ the run
    def execute(self) -> dict[str, Any]:
        r = self.cfg.run
        self.run.set_owner()
        tracker = Tracker(r.report_to, self.run.path, self.cfg.model_dump(mode="json"))
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
        best_val = base["metrics"]["accuracy"]
        history: list[dict[str, Any]] = []
        stale = 0
        last_good: Path | None = None
        for it in range(1, r.iterations + 1):
            name = f"iter-{it}"
            d = self.run.path / f"iter-{it:02d}"
            if self.run.is_done(name):
                m = read_json(d / "metrics.json")
            else:
                if last_good is not None:  # resume: start from the last accepted adapters
                    load_adapter(self.model, "policy", last_good / "policy")
                    load_adapter(self.model, "critic", last_good / "critic")
                m = self.iteration(it, best_val)
                if not m["accepted"]:
                    if last_good is not None:
                        load_adapter(self.model, "policy", last_good / "policy")
                    else:
                        self._reset_policy()
                save_adapter(self.model, "policy", d / "policy")
                save_adapter(self.model, "critic", d / "critic")
                atomic_write_json(d / "metrics.json", m)
                self.run.mark_done(
                    name, accepted=m["accepted"], validation=m["validation"]["metrics"]["accuracy"]
                )
            last_good = d
            history.append(m)
            tracker.log(
                {
                    "validation": {
                        "accuracy": m["validation"]["metrics"]["accuracy"],
                        "by_level": {
                            k: v["accuracy"] for k, v in m["validation"]["by_level"].items()
                        },
                    },
                    "selection": {
                        "candidates": m["candidates"],
                        "selected": m["selected"],
                        "precision": m["selected_precision"],
                        "candidate_accuracy": m["candidate_accuracy"],
                    },
                    "critic": {
                        "mean_score": m["mean_score"],
                        "audit_accuracy": m["audit_accuracy"],
                        "self_label_kept": m["critic_update"].get("kept_fraction"),
                    },
                    "guards": m["guards"],
                    "train": {"sft_loss": (m["sft_losses"] or [None])[-1], **m.get("ppo", {})},
                    "accepted": m["accepted"],
                },
                step=it,
            )
            m["hacking"] = hacking_signal(
                [
                    {"mean_score": h["mean_score"], "audit_accuracy": h["audit_accuracy"] or 0.0}
                    for h in history
                ]
            )
            val_acc = m["validation"]["metrics"]["accuracy"]
            if m["accepted"] and val_acc > best_val:
                best_val, stale = val_acc, 0
            else:
                stale += 1
            if not self.quiet:
                verdict = "accepted" if m["accepted"] else "rolled back"
                console.print(
                    f"iteration {it}: validation {val_acc:.3f} ({verdict}), selected "
                    f"{m['selected']} of {m['candidates']} "
                    f"(precision {m['selected_precision']:.2f})"
                )
            if stale >= r.patience:
                break
        if last_good is not None and not self.run.is_done("final"):
            load_adapter(self.model, "policy", last_good / "policy")
        if not self.run.is_done("final"):
            # the policy the final numbers are for: a PEFT adapter any tool can load
            save_adapter(self.model, "policy", self.run.path / "final" / "policy")
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
        try:
            from seal.report import write_report

            page = write_report(self.run.path)
            if not self.quiet:
                console.print(f"report: {page}")
        except SealError as err:  # e.g. matplotlib missing: the run itself is complete
            console.print(f"no report: {err}")
        return summary


def seed_rows(
    summary: dict[str, Any], base_val: dict[str, Any] | None = None
) -> tuple[list[str], list[list[str]]]:
    """The seed-style table's header and rows: rows = levels (and all), columns = base,
    each iteration (validation accuracy), then base and final on the test split with the
    relative improvement. A missing final (a run that stopped) shows as ``-``."""
    iters = summary.get("iterations", [])
    base, final = summary.get("base"), summary.get("final")
    head = ["level"] + (["base (val)"] if base_val is not None else [])
    head += [f"iter {m['iteration']} (val)" for m in iters]
    head += ["base (test)", "final (test)", "relative"]
    ref = final or base or base_val or {"by_level": {}}
    levels = list(ref.get("by_level", {})) + ["all"]

    def acc(summary_: dict[str, Any] | None, level: str) -> float | None:
        if not summary_:
            return None
        src = summary_["metrics"] if level == "all" else summary_["by_level"].get(level, {})
        return src.get("accuracy")

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{100 * x:.1f}"

    rows = []
    for lv in levels:
        row = [lv] + ([pct(acc(base_val, lv))] if base_val is not None else [])
        row += [pct(acc(m["validation"], lv)) for m in iters]
        b, f = acc(base, lv), acc(final, lv)
        rel = f"{100 * (f - b) / b:+.0f}%" if b and f is not None else "n/a"
        rows.append(row + [pct(b), pct(f), rel])
    return head, rows


def seed_table(summary: dict[str, Any], base_val: dict[str, Any] | None = None) -> Table:
    """``seed_rows`` as a rich table for the terminal."""
    head, rows = seed_rows(summary, base_val)
    table = Table(title="accuracy (%) by level")
    for i, h in enumerate(head):
        table.add_column(h, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*row)
    return table
