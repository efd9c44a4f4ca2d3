"""What ``seal critic train`` and ``seal critic score`` do, as library calls."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from seal import distributed
from seal.adapters import load_adapter, save_adapter, with_adapters
from seal.config import SealConfig, dump_config, load_config
from seal.critic.data import read_labels
from seal.critic.model import Critic, combine
from seal.critic.pipeline import check_pool, run_critic_training, sample_trajectories
from seal.data import iter_jsonl
from seal.errors import SealError
from seal.generation.hf import HFSampler
from seal.models import load_model
from seal.store import atomic_write_json, atomic_write_text
from seal.tasks.carved import trainable_task
from seal.tasks.chat import with_chat
from seal.tasks.shots import with_shots


def critic_task(cfg: SealConfig, data: Path | None = None):
    """The task whose pool problems the critic judges (a benchmark's pool is carved from its
    train split, or from the train rows in ``data``: ``seal.tasks.carved``), prompted with
    ``eval.shots`` examples (the task's default when null), as ``seal eval`` prompts it."""
    return with_shots(trainable_task(cfg.eval.task, cfg.eval.levels, data), cfg.eval.shots)


def train_and_save(
    cfg: SealConfig, output: Path, labels_file: Path | None = None, data: Path | None = None
) -> dict[str, Any]:
    """Train a critic as configured and write it (adapter, metrics, trajectories) to ``output``.

    Everything is written into a temporary directory renamed into place at the end, so a
    failure or a kill never leaves a half-written critic behind.
    """
    labelled = read_labels(labels_file) if labels_file is not None else None
    task = critic_task(cfg, data)
    c = cfg.critic
    problems = task.problems("pool", limit=c.problems_per_level)
    if labelled is None:
        check_pool(c, len(problems))
    loaded = load_model(cfg.model)
    task = with_chat(task, loaded.tokenizer, cfg.model.chat_template, cfg.model.name)
    model = with_adapters(loaded.model, c.lora_r, c.lora_alpha, c.lora_dropout)
    sampler = HFSampler(model, loaded.tokenizer, batch_size=cfg.sampling.batch_size)
    trajs = sample_trajectories(task, problems, sampler, c)
    critic = Critic(
        model, loaded.tokenizer, batch_size=cfg.sampling.batch_size, bf16=cfg.model.train_bf16
    )
    report = run_critic_training(critic, trajs, c, labelled=labelled)
    report.pop("labelled")
    final = report.get("heldout", {})
    metrics = {
        "auroc": final.get("auroc"),
        "accuracy": final.get("accuracy"),
        "ece": final.get("ece"),
        "heldout": final.get("n"),
        "self_label": report.get("self_label", {"kept_fraction": 0.0, "accuracy": None}),
        "injection": {"caught": final.get("injection_caught")},
        "labels": report["labels"],
        "labels_good": report["labels_good"],
        "bootstrap": report.get("bootstrap_heldout"),
        "losses": {"bootstrap": report["bootstrap_losses"], "final": report.get("final_losses")},
        "label_tokens": [critic.labels.good, critic.labels.bad],
        "seconds": report.get("seconds"),
    }
    # launched distributed: rank 0 writes, the others wait for the directory
    distributed.on_main(lambda: _write(Path(output), model, metrics, cfg, trajs))
    return metrics


def _write(output: Path, model, metrics: dict[str, Any], cfg: SealConfig, trajs) -> None:
    """The critic directory, built in a temporary sibling and renamed into place."""
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))
    try:
        save_adapter(model, "critic", tmp / "adapter")
        for f in (tmp / "adapter").iterdir():
            f.rename(tmp / f.name)
        (tmp / "adapter").rmdir()
        atomic_write_json(tmp / "metrics.json", metrics)
        atomic_write_json(tmp / "critic.json", {"model": cfg.model.name, "task": cfg.eval.task})
        atomic_write_text(tmp / "config.yaml", dump_config(cfg))
        atomic_write_text(
            tmp / "trajectories.jsonl",
            "".join(json.dumps(t.__dict__) + "\n" for t in trajs),
        )
        if output.exists():
            shutil.rmtree(output)
        tmp.rename(output)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def load_critic(
    critic_dir: Path, model_name: str | None = None, device: str | None = None
) -> Critic:
    """A ``Critic`` from a directory written by ``train_and_save``."""
    from seal.validate import critic_meta

    critic_dir = Path(critic_dir)
    config_file, model = critic_meta(critic_dir)
    if model is None:
        model = load_config(config_file).model.name
    overrides: dict[str, Any] = {"model.name": model_name or model}
    if device is not None:
        overrides["model.device"] = device
    cfg = load_config(config_file, overrides)
    loaded = load_model(cfg.model)
    c = cfg.critic
    model = with_adapters(loaded.model, c.lora_r, c.lora_alpha, c.lora_dropout)
    load_adapter(model, "critic", critic_dir)
    return Critic(model, loaded.tokenizer, batch_size=cfg.sampling.batch_size)


def critic_config_file(critic_dir: Path) -> Path:
    """The config a critic was trained with (checked: see ``seal.validate.critic_meta``)."""
    from seal.validate import critic_meta

    return critic_meta(critic_dir)[0]


def score_file(
    critic_dir: Path,
    input_path: Path,
    output: Path,
    model: str | None = None,
    device: str | None = None,
) -> int:
    """Score JSONL rows ``{prompt|question, solution}``; writes rows + ``p_good``, ``entropy``,
    ``step_scores`` and the combined ``reward``."""
    rows = []
    for lineno, row in iter_jsonl(input_path, required=("solution",)):
        if "prompt" not in row and "question" not in row:
            raise SealError(f"{input_path}:{lineno}: missing field prompt (or question)")
        rows.append(row)
    if not rows:
        raise SealError(f"{input_path} has no rows to score")
    critic = load_critic(critic_dir, model, device)
    how = load_config(critic_config_file(critic_dir)).critic.combine
    questions = [str(r.get("prompt", r.get("question"))) for r in rows]
    solutions = [str(r["solution"]) for r in rows]
    verdicts = critic.score(questions, solutions)
    steps = critic.score_steps(questions, solutions)
    out = []
    for row, v, s in zip(rows, verdicts, steps, strict=True):
        scored = {
            **row,
            "p_good": v.p_good,
            "entropy": v.entropy,
            "step_scores": s,
            "reward": combine(v.p_good, s, how),
        }
        out.append(json.dumps(scored) + "\n")
    atomic_write_text(output, "".join(out))
    return len(rows)


def load_with_adapters(
    cfg: SealConfig, critic_dir: Path | None = None, policy_dir: Path | None = None
) -> tuple[Any, Any, Critic | None]:
    """The configured base model with a saved policy and/or critic adapter on it:
    ``(model, tokenizer, critic or None)``. Without either directory, the plain model.
    A policy fine-tuned whole (a model directory) is the model itself; the critic then
    judges on its own copy of the base, as in the loop. Both directories are checked
    before the model loads."""
    from seal.validate import check_policy_dir, critic_meta, is_full_policy

    if critic_dir is not None:
        critic_meta(critic_dir)
    if policy_dir is not None:
        check_policy_dir(policy_dir)
    if policy_dir is not None and is_full_policy(policy_dir):
        full = load_model(cfg.model.model_copy(update={"name": str(policy_dir)}))
        critic = None
        if critic_dir is not None:
            critic = load_critic(critic_dir, cfg.model.name, cfg.model.device)
        return full.model, full.tokenizer, critic
    if critic_dir is None and policy_dir is None:
        loaded = load_model(cfg.model)
        return loaded.model, loaded.tokenizer, None
    critic = None
    if critic_dir is not None:
        critic = load_critic(critic_dir, cfg.model.name, cfg.model.device)
        model, tokenizer = critic.model, critic.tokenizer
    else:
        loaded = load_model(cfg.model)
        c = cfg.critic
        model = with_adapters(loaded.model, c.lora_r, c.lora_alpha, c.lora_dropout)
        tokenizer = loaded.tokenizer
    if policy_dir is not None:
        load_adapter(model, "policy", policy_dir)
        model.set_adapter("policy")
    return model, tokenizer, critic
