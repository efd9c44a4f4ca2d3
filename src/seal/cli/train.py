"""``seal pretrain-tiny`` and ``seal critic train / score``: the embedded model and the critic."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from seal.cli.app import (
    ChatOpt,
    ConfigOpt,
    DeviceOpt,
    ForceOpt,
    ModelOpt,
    SeedOpt,
    SetOpt,
    TrainDataOpt,
    app,
    build_config,
    check_inputs,
    check_model,
    critic_app,
    out,
)
from seal.errors import SealError
from seal.outputs import check_output_dir, check_output_file


@app.command("pretrain-tiny")
def pretrain_tiny(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for the new model.")],
    steps: Annotated[int | None, typer.Option(help="Training steps (default: as shipped).")] = None,
    seed: SeedOpt = None,
    force: Annotated[
        bool,
        typer.Option(
            help="Replace an existing --out directory (and start an unfinished one over)."
        ),
    ] = False,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue the killed pre-training of --out from its last checkpoint, with the "
            "settings it started with.",
        ),
    ] = False,
    checkpoint_every: Annotated[
        int,
        typer.Option(
            min=0,
            help="Save a checkpoint every N steps, for --resume (0: none). Does not change the "
            "weights.",
        ),
    ] = 250,
    device: Annotated[
        str | None, typer.Option(help="cpu (the shipped recipe), cuda, cuda:N.")
    ] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Train the embedded tiny model from scratch (tokenizer + Llama) on easy wordmath levels.

    It trains in .OUT.partial beside --out, renamed to --out when done; killed, it continues
    with --resume from the last checkpoint (every --checkpoint-every steps) to the same
    weights."""
    from seal.config import PretrainConfig
    from seal.models import resolve_device
    from seal.pretrain import CHECKPOINT, checkpoint_info, pretrain

    partial = out_dir.parent / f".{out_dir.name}.partial"
    if resume:
        given = (
            [
                flag
                for flag, value in (("--steps", steps), ("--seed", seed), ("--config", config))
                if value is not None
            ]
            + ["--set"] * bool(set_)
            + ["--force"] * force
        )
        if given:
            raise SealError(
                f"--resume continues the pre-training with the settings it started with; "
                f"drop {' / '.join(given)}"
            )
        check_output_dir(out_dir, False, "--out")
        info = checkpoint_info(partial)
        if info is None:
            raise SealError(
                f"--resume: no unfinished pre-training of {out_dir} (no checkpoint in "
                f"{partial}); start one without --resume"
            )
        cfg = PretrainConfig(**{**info["config"], **({"device": device} if device else {})})
    else:
        cfg = build_config(
            config,
            set_,
            {"pretrain.steps": steps, "pretrain.seed": seed, "pretrain.device": device},
        ).pretrain
        check_output_dir(out_dir, force, "--out", inputs=[config])
        made = (out_dir / "pretrain.json").is_file()  # --force deletes --out at the end
        if force and out_dir.is_dir() and any(out_dir.iterdir()) and not made:
            raise SealError(
                f"--out {out_dir} holds files but no model of `seal pretrain-tiny` (no "
                "pretrain.json); --force replaces only such a model: give a new directory"
            )
        info = None if force else checkpoint_info(partial)
        if info is not None:
            raise SealError(
                f"--out {out_dir}: an unfinished pre-training is at step {info['step']} of "
                f"{info['steps']} ({partial}); --resume continues it, --force starts over"
            )
    resolve_device(cfg.device)
    if not resume:
        shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True, exist_ok=True)
    try:
        info = pretrain(
            cfg,
            partial,
            log_every=0 if sys.stderr.isatty() else 100,
            checkpoint_every=checkpoint_every,
            resume=resume,
        )
    except BaseException:
        if not (partial / CHECKPOINT).exists():  # nothing to resume from: leave no husk
            shutil.rmtree(partial, ignore_errors=True)
        raise
    if out_dir.exists():
        shutil.rmtree(out_dir)
    partial.rename(out_dir)
    out.print(
        f"trained {info['parameters']:,} parameters for {info['steps']} steps "
        f"({info['tokens']:,} tokens) in {info['seconds']:.0f}s, "
        f"final loss {info['final_loss']:.4f}"
        f" -> {out_dir}"
    )


@critic_app.command("train")
def critic_train(
    output: Annotated[Path, typer.Option(help="Directory for the critic adapter and metrics.")],
    model: ModelOpt = None,
    task: Annotated[
        str | None,
        typer.Option(
            help="Task whose pool problems are judged: wordmath, gsm8k, gsm8k_cot, "
            "commonsense_qa_cot (a benchmark's pool: 5% of its train rows)."
        ),
    ] = None,
    data: TrainDataOpt = None,
    labels: Annotated[int | None, typer.Option(help="Bootstrap labels (balanced).")] = None,
    labels_file: Annotated[
        Path | None,
        typer.Option(help="JSONL {prompt, solution, label} instead of verifier labels."),
    ] = None,
    problems_per_level: Annotated[
        int | None, typer.Option(help="Pool problems per level the critic samples and judges.")
    ] = None,
    samples_per_problem: Annotated[
        int | None, typer.Option(help="Sampled solutions per pool problem.")
    ] = None,
    consistency: Annotated[float | None, typer.Option(help="Inconsistency penalty weight.")] = None,
    steps: Annotated[bool | None, typer.Option("--steps/--no-steps", help="Step critique.")] = None,
    self_consistency: Annotated[
        bool | None,
        typer.Option(
            "--self-consistency/--entropy-only",
            help="Keep a self-label only when it also agrees with majority vote (or on entropy "
            "alone).",
        ),
    ] = None,
    chat_template: ChatOpt = None,
    seed: SeedOpt = None,
    force: Annotated[bool, typer.Option(help="Replace an existing --output directory.")] = False,
    device: DeviceOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Bootstrap the critic from labels, let it label the rest, retrain, and measure it."""
    from seal.critic.service import train_and_save

    cfg = build_config(
        config,
        set_,
        {
            "model.name": model,
            "model.device": device,
            "model.chat_template": chat_template,
            "eval.task": task,
            "critic.labels": labels,
            "critic.problems_per_level": problems_per_level,
            "critic.samples_per_problem": samples_per_problem,
            "critic.consistency": consistency,
            "critic.steps": steps,
            "critic.self_consistency": self_consistency,
            "critic.seed": seed,
        },
    )
    check_output_dir(output, force, inputs=[labels_file, config, data])
    check_inputs({"--labels-file": labels_file, "--data": data})
    if labels_file is not None:  # all of it before the model loads and the pool is sampled
        from seal.critic.data import read_labels
        from seal.critic.pipeline import check_labelled

        fix = f"add rows to {labels_file} or lower --labels"
        one_class = {c: f"add {'bad' if c == 'good' else 'good'} rows to {labels_file}"
                     for c in ("good", "bad")}  # fmt: skip
        check_labelled(read_labels(labels_file), cfg.critic.labels, fix, one_class)
    from seal.critic.service import critic_task
    from seal.tasks.carved import check_splits

    check_splits(critic_task(cfg, data), ("pool",), data)  # the rows, before the model
    check_model(cfg, [cfg.eval.task])
    metrics = train_and_save(cfg, output, labels_file, data)
    out.print(f"critic: {_critic_summary(metrics)} -> {output}")


def _critic_summary(metrics: dict[str, Any]) -> str:
    """One line of held-out metrics; a metric that could not be measured (no held-out
    problems, one class only) shows as ``-``."""

    def fmt(value: float | None, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    boot = (metrics.get("bootstrap") or {}).get("auroc")
    sl = metrics["self_label"]
    return (
        f"AUROC {fmt(metrics['auroc'], '.3f')} (bootstrap only {fmt(boot, '.3f')}), "
        f"accuracy {fmt(metrics['accuracy'], '.3f')}, ECE {fmt(metrics['ece'], '.3f')}, "
        f"self-labels kept {sl['kept_fraction']:.0%} (accuracy {fmt(sl['accuracy'], '.1%')}), "
        f"injections caught {fmt(metrics['injection']['caught'], '.0%')}"
    )


@critic_app.command("score")
def critic_score(
    critic: Annotated[Path, typer.Option(help="Directory written by `seal critic train`.")],
    input_: Annotated[Path, typer.Option("--input", help="JSONL {prompt, solution}.")],
    output: Annotated[Path, typer.Option(help="JSONL with p_good, entropy, step scores.")],
    model: Annotated[str | None, typer.Option(help="Base model (default: the critic's).")] = None,
    device: DeviceOpt = None,
    force: ForceOpt = False,
) -> None:
    """Score trajectories with a trained critic."""
    from seal.critic.service import score_file
    from seal.validate import critic_meta

    if device is not None:
        from seal.models import resolve_device

        resolve_device(device)
    check_output_file(output, force, inputs=[input_, critic], suffix=".jsonl")
    check_inputs({"--input": input_, "--critic": critic})
    critic_meta(critic)
    n = score_file(critic, input_, output, model, device)
    out.print(f"scored {n} trajectories -> {output}")
