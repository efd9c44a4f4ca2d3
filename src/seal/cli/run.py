"""``seal run`` (the loop, fresh or resumed), ``seal report`` and ``seal runs``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from seal import distributed
from seal.config import SealConfig, dump_config, load_config
from seal.errors import SealError
from seal.outputs import check_output_dir

if TYPE_CHECKING:
    from seal.store import RunDir

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
    check_new_run_path,
    out,
    print_table,
    remove_if_unstarted,
    table_columns,
    typed_flags,
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
    iterations: Annotated[
        int | None, typer.Option(help="Rounds of sample, select, fine-tune (default 12).")
    ] = None,
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
        Path | None,
        typer.Option(
            help="Continue the run in this directory as it was made (only --iterations or "
            "--set run.patience=N may change: to go further)."
        ),
    ] = None,
    chat_template: ChatOpt = None,
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

    check_inputs({"--data": data, "--test-data": test_data})  # before they are made absolute
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
        "model.chat_template": chat_template,
    }
    if resume is not None:
        if name is not None or preset != "tiny-cpu":
            raise SealError("--resume continues a run as it was made; drop --name / --preset")
        check_inputs({"--resume": resume})
        manifest = check_run_dir(resume)
        if distributed.is_main():  # the other ranks would find rank 0 once it owns the run
            check_not_running(resume, manifest)
        stored = load_config(resume / "config.yaml")
        given = typed_flags(flags)
        cfg, run, fresh = stored, RunDir(resume), False
        if config is not None or set_ or given:
            wanted = build_config(config or resume / "config.yaml", set_, given)
            cfg = _extended(run, stored, wanted, "run.iterations" in given)
    else:
        cfg = build_config(config, set_, flags, preset)
        fresh = True
    check_settings(cfg)
    task = check_run_task(cfg, None if fresh else str(resume / "config.yaml"), typed_flags(flags))
    check_model(cfg, [cfg.run.task])
    if not fresh and cfg is not stored:  # only now, when nothing can fail before the loop
        kept = run.reopen(dump_config(cfg))
        if kept is not None:
            out.print(f"reopened {run.path}: its earlier final test is kept in {kept}")
    # launched distributed, rank 0 checks and makes the run directory; every rank follows
    had_root = distributed.on_main(lambda: Path(cfg.runs_dir).exists())
    if fresh:
        distributed.on_main(lambda: check_new_run_path(cfg, name))
        run = RunDir.create(cfg.runs_dir, name, "run", dump_config(cfg))
    main_rank, announced = distributed.is_main(), False
    try:
        loop = Loop(cfg, run, task=task)  # loads the model: a bad one fails before the run is named
        if main_rank:
            announced = True  # first: a signal right after the line must still see it
            out.print(f"run directory: {run.path}")
        summary = loop.execute()
    except BaseException:  # a fresh run with no stage done leaves no husk, whatever failed
        if fresh:
            distributed.on_main(lambda: remove_if_unstarted(run, had_root, announced))
        raise
    if main_rank:
        print_table(seed_table(summary, summary.get("base_validation"), table_columns()))
        out.print(f"-> {run.path}/summary.json")
    distributed.on_main(lambda: _write_report(run.path))


def _write_report(path: Path) -> None:
    """The HTML report of a finished run; a run is complete without one (e.g. no matplotlib)."""
    from seal.report import write_report

    try:
        out.print(f"report: {write_report(path)}")
    except SealError as err:
        out.print(f"no report: {err}")


EXTENDABLE = ("run.iterations", "run.patience")
"""What ``seal run --resume`` may change: how far the loop goes, not what it does."""


def _extended(
    run: RunDir, stored: SealConfig, wanted: SealConfig, iterations_flag: bool = False
) -> SealConfig:
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
        n = wanted.run.iterations
        asked = f"--iterations {n}" if iterations_flag else f"run.iterations={n}"
        raise SealError(
            f"{run.path} has run {done} iterations; {asked} would drop some: give at least "
            f"{done}, or evaluate an earlier round with `seal eval --policy "
            f"{run.path}/iter-NN/policy`"
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
        root = build_config(config, set_, {}).runs_dir
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
    print_table(table)
