"""The ``seal`` command line: parse flags, build the config, call the library."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console

from seal import progress
from seal.config import SealConfig, dump_config, load_config, parse_set
from seal.errors import SealError

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="seal-lm: a language model that improves itself by judging its own reasoning.",
)
config_app = typer.Typer(no_args_is_help=True, help="Inspect the effective configuration.")
app.add_typer(config_app, name="config")
critic_app = typer.Typer(
    no_args_is_help=True, help="Train and apply the self-critique reward model."
)
app.add_typer(critic_app, name="critic")
out = Console()

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="YAML config file.")]
ModelOpt = Annotated[str | None, typer.Option(help="'tiny', a model directory or a hub id.")]
DeviceOpt = Annotated[str | None, typer.Option(help="auto, cpu, cuda, cuda:N.")]
SeedOpt = Annotated[int | None, typer.Option()]
SetOpt = Annotated[
    list[str] | None, typer.Option("--set", help="Override any config key: section.key=value.")
]


def _levels(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise SealError(
            f"--levels expects comma-separated integers such as 4,5, got {text!r}"
        ) from None


def _config(
    config: Path | None, sets: list[str] | None, flags: dict[str, Any], preset: str | None = None
) -> SealConfig:
    """Defaults < preset < YAML < --set < flags."""
    from seal.config import PRESETS

    if preset is not None and preset not in PRESETS:
        raise SealError(f"unknown preset {preset!r}; presets: {', '.join(PRESETS)}")
    overrides = parse_set(sets or [])
    overrides.update({k: v for k, v in flags.items() if v is not None})
    return load_config(config, overrides, PRESETS[preset] if preset else None)


def _refuse_existing(path: Path, force: bool) -> None:
    """Never overwrite a user's non-empty directory unless asked to."""
    if path.exists() and (not path.is_dir() or any(path.iterdir())) and not force:
        raise SealError(f"{path} already exists and is not empty; pass --force to replace it")


@app.callback()
def _main(
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    progress.set_quiet(quiet)


@config_app.command("show")
def config_show(config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Print the effective configuration (defaults < YAML < --set) as YAML."""
    out.print(dump_config(_config(config, set_, {})), end="", markup=False, highlight=False)


@app.command("eval")
def eval_cmd(
    model: ModelOpt = None,
    task: Annotated[str | None, typer.Option(help="Task name, e.g. wordmath.")] = None,
    split: Annotated[str | None, typer.Option(help="train, pool, validation or test.")] = None,
    limit: Annotated[int | None, typer.Option(help="Problems per level.")] = None,
    samples: Annotated[
        int | None, typer.Option(help="Samples per problem for maj@k/pass@k.")
    ] = None,
    shots: Annotated[int | None, typer.Option(help="Worked examples in the prompt.")] = None,
    levels: Annotated[str | None, typer.Option(help="Comma-separated wordmath levels.")] = None,
    data: Annotated[
        Path | None, typer.Option(help="JSONL problems {question, answer[, level, id]}.")
    ] = None,
    output: Annotated[Path | None, typer.Option(help="Also write the result JSON here.")] = None,
    name: Annotated[str | None, typer.Option(help="Run directory name under runs_dir.")] = None,
    temperature: Annotated[float | None, typer.Option()] = None,
    top_p: Annotated[float | None, typer.Option()] = None,
    top_k: Annotated[int | None, typer.Option()] = None,
    max_new_tokens: Annotated[int | None, typer.Option()] = None,
    batch_size: Annotated[int | None, typer.Option()] = None,
    seed: SeedOpt = None,
    device: DeviceOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Evaluate a model on a task: a table by level, JSON with accuracy, maj@k and pass@k."""
    from seal.evaluate import evaluate, results_table
    from seal.generation.hf import HFSampler
    from seal.models import load_model
    from seal.problems import load_problems
    from seal.store import RunDir, atomic_write_json, atomic_write_text
    from seal.tasks import get_task

    cfg = _config(
        config,
        set_,
        {
            "model.name": model,
            "model.device": device,
            "eval.task": task,
            "eval.split": split,
            "eval.limit": limit,
            "eval.samples": samples,
            "eval.shots": shots,
            "eval.levels": _levels(levels),
            "sampling.temperature": temperature,
            "sampling.top_p": top_p,
            "sampling.top_k": top_k,
            "sampling.max_new_tokens": max_new_tokens,
            "sampling.batch_size": batch_size,
            "sampling.seed": seed,
        },
    )
    ev = cfg.eval
    task_kwargs: dict[str, Any] = {"levels": ev.levels} if ev.task == "wordmath" else {}
    task_obj = get_task(ev.task, **task_kwargs)
    problems = load_problems(task_obj, data, ev.split, ev.limit)
    loaded = load_model(cfg.model)
    run = RunDir.create(cfg.runs_dir, name, f"eval-{ev.task}", dump_config(cfg))
    sampler = HFSampler(loaded.model, loaded.tokenizer, batch_size=cfg.sampling.batch_size)
    summary, results = evaluate(
        task_obj,
        problems,
        sampler,
        cfg.sampling,
        samples=ev.samples,
        shots=ev.shots,
    )
    result = {
        "task": ev.task,
        "model": cfg.model.name,
        "split": ev.split if data is None else str(data),
        **summary,
        "run_dir": str(run.path),
    }
    atomic_write_text(
        run.path / "samples.jsonl", "".join(json.dumps(r.record()) + "\n" for r in results)
    )
    atomic_write_json(run.path / "eval.json", result)
    if output is not None:
        atomic_write_json(output, result)
    run.mark_done("eval", n=summary["n"])
    out.print(results_table(summary, f"{ev.task} / {cfg.model.name} / {result['split']}"))
    out.print(
        f"{summary['generated_tokens']:,} tokens in {summary['seconds']:.1f}s "
        f"({summary['tokens_per_second']:,.0f} tok/s) -> {run.path}/eval.json"
    )


@app.command("run")
def run_cmd(
    model: ModelOpt = None,
    task: Annotated[str | None, typer.Option(help="Task to improve on.")] = None,
    preset: Annotated[str, typer.Option(help="tiny-cpu (default) or paper.")] = "tiny-cpu",
    iterations: Annotated[int | None, typer.Option()] = None,
    samples: Annotated[int | None, typer.Option(help="N: candidates per prompt.")] = None,
    top_k: Annotated[int | None, typer.Option(help="k: kept per prompt.")] = None,
    select: Annotated[str | None, typer.Option(help="critic, oracle, majority or none.")] = None,
    labels: Annotated[int | None, typer.Option(help="Critic bootstrap labels.")] = None,
    name: Annotated[str | None, typer.Option(help="Run directory name under runs_dir.")] = None,
    resume: Annotated[Path | None, typer.Option(help="Continue the run in this directory.")] = None,
    seed: SeedOpt = None,
    device: DeviceOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """The self-improvement loop: critic bootstrap, N iterations, final evaluation."""
    from seal.improve.loop import Loop, seed_table
    from seal.store import RunDir

    flags = {
        "model.name": model,
        "model.device": device,
        "run.task": task,
        "run.iterations": iterations,
        "run.samples": samples,
        "run.top_k": top_k,
        "run.select": select,
        "critic.labels": labels,
        "run.seed": seed,
    }
    if resume is not None:
        if not (resume / "manifest.json").is_file() or not (resume / "config.yaml").is_file():
            raise SealError(f"{resume} is not a run directory (no manifest.json / config.yaml)")
        stored = load_config(resume / "config.yaml")
        given = {k: v for k, v in flags.items() if v is not None}
        if config is not None or set_ or given:
            wanted = _config(config or resume / "config.yaml", set_, given)
            if wanted.model_dump() != stored.model_dump():
                diff = _first_difference(stored.model_dump(), wanted.model_dump())
                raise SealError(
                    f"{resume} was made with a different config ({diff}); resume it without "
                    "changes or start a new run"
                )
        cfg, run = stored, RunDir(resume)
    else:
        cfg = _config(config, set_, flags, preset)
        run = RunDir.create(cfg.runs_dir, name, "run", dump_config(cfg))
    out.print(f"run directory: {run.path}")
    summary = Loop(cfg, run).execute()
    out.print(seed_table(summary, summary.get("base_validation")))
    out.print(f"-> {run.path}/summary.json")


def _first_difference(a: Any, b: Any, prefix: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in a:
            if a[k] != b.get(k):
                return _first_difference(a[k], b.get(k), f"{prefix}{k}.")
    return f"{prefix.rstrip('.')}: run has {a!r}, given {b!r}"


@app.command("pretrain-tiny")
def pretrain_tiny(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for the new model.")],
    steps: Annotated[int | None, typer.Option(help="Training steps (default: as shipped).")] = None,
    seed: SeedOpt = None,
    force: Annotated[bool, typer.Option(help="Replace an existing --out directory.")] = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Train the embedded tiny model from scratch (tokenizer + Llama) on easy wordmath levels."""
    from seal.pretrain import pretrain

    cfg = _config(config, set_, {"pretrain.steps": steps, "pretrain.seed": seed})
    _refuse_existing(out_dir, force)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        info = pretrain(cfg.pretrain, tmp, log_every=0 if sys.stderr.isatty() else 100)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
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
    task: Annotated[str | None, typer.Option(help="Task whose pool problems are judged.")] = None,
    labels: Annotated[int | None, typer.Option(help="Bootstrap labels (balanced).")] = None,
    labels_file: Annotated[
        Path | None,
        typer.Option(help="JSONL {prompt, solution, label} instead of verifier labels."),
    ] = None,
    problems_per_level: Annotated[int | None, typer.Option()] = None,
    samples_per_problem: Annotated[int | None, typer.Option()] = None,
    consistency: Annotated[float | None, typer.Option(help="Inconsistency penalty weight.")] = None,
    steps: Annotated[bool | None, typer.Option("--steps/--no-steps", help="Step critique.")] = None,
    self_consistency: Annotated[
        bool | None, typer.Option("--self-consistency/--entropy-only")
    ] = None,
    seed: SeedOpt = None,
    force: Annotated[bool, typer.Option(help="Replace an existing --output directory.")] = False,
    device: DeviceOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Bootstrap the critic from labels, let it label the rest, retrain, and measure it."""
    from seal.critic.service import train_and_save

    cfg = _config(
        config,
        set_,
        {
            "model.name": model,
            "model.device": device,
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
    _refuse_existing(output, force)
    metrics = train_and_save(cfg, output, labels_file)
    out.print(
        f"critic: AUROC {metrics['auroc']:.3f}, accuracy {metrics['accuracy']:.3f}, "
        f"ECE {metrics['ece']:.3f}, self-labels kept {metrics['self_label']['kept_fraction']:.0%} "
        f"(accuracy {metrics['self_label']['accuracy'] or 0:.1%}), injections caught "
        f"{metrics['injection']['caught']:.0%} -> {output}"
    )


@critic_app.command("score")
def critic_score(
    critic: Annotated[Path, typer.Option(help="Directory written by `seal critic train`.")],
    input_: Annotated[Path, typer.Option("--input", help="JSONL {prompt, solution}.")],
    output: Annotated[Path, typer.Option(help="JSONL with p_good, entropy, step scores.")],
    model: Annotated[str | None, typer.Option(help="Base model (default: the critic's).")] = None,
    device: DeviceOpt = None,
) -> None:
    """Score trajectories with a trained critic."""
    from seal.critic.service import score_file

    n = score_file(critic, input_, output, model, device)
    out.print(f"scored {n} trajectories -> {output}")


def main() -> None:
    """Entry point: user errors become one line on stderr and exit code 2."""
    err_console = Console(stderr=True)
    try:
        app(standalone_mode=False)
    except SealError as err:
        err_console.print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except click.exceptions.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except (KeyboardInterrupt, click.exceptions.Abort):
        err_console.print("interrupted; files already written are intact")
        sys.exit(130)
    except click.exceptions.Exit as err:
        sys.exit(err.exit_code)


if __name__ == "__main__":
    main()
