"""The typer apps, the options and the checks every ``seal`` command shares.

Every command first checks what it can cheaply (config, outputs, input files, model and
critic directories) and only then creates a directory, loads a model or starts work, so a
mistake is one line on stderr (exit 2) and leaves nothing behind. Help and messages never
read user text as Rich markup.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from seal import progress
from seal.config import MAX_SEED, SealConfig, dump_config, load_config, parse_set
from seal.errors import SealError
from seal.tasks.levels import parse_levels

# rich_markup_mode=None: help text is plain text (``mmlu[/subject]`` is not a Rich tag).
# no_args_is_help: a bare ``seal`` (or ``seal critic``) prints its help, the command list a
# newcomer needs, on stderr with exit 2 (click's NoArgsIsHelpError), as git or pip do.
_APP = {
    "add_completion": False,
    "no_args_is_help": True,
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
SeedOpt = Annotated[
    int | None,
    typer.Option(min=0, max=MAX_SEED, help="Random seed: the same seed, the same results."),
]
SetOpt = Annotated[
    list[str] | None, typer.Option("--set", help="Override any config key: section.key=value.")
]


ForceOpt = Annotated[bool, typer.Option(help="Replace an existing output.")]
ChatOpt = Annotated[
    bool | None,
    typer.Option(
        "--chat-template/--no-chat-template",
        help="Prompt through the model's chat template (instruct models; "
        "model.chat_template, default off).",
        show_default=False,
    ),
]
TrainDataOpt = Annotated[
    Path | None,
    typer.Option(
        help="A benchmark's train rows from this JSONL/Parquet file (the hub's schema); the "
        "critic pool and validation are carved from them."
    ),
]


def levels_option(text: str | None) -> list[int] | None:
    return None if text is None else parse_levels(text, "--levels")


def build_config(
    config: Path | None, sets: list[str] | None, flags: dict[str, Any], preset: str | None = None
) -> SealConfig:
    """Defaults < preset < YAML < --set < flags."""
    from seal.config import PRESETS

    if preset is not None and preset not in PRESETS:
        raise SealError(f"unknown preset {preset!r}; presets: {', '.join(PRESETS)}")
    overrides = parse_set(sets or [])
    given = typed_flags(flags)
    overrides.update(given)
    names = {k: flag_name(k) for k in given}
    return load_config(config, overrides, PRESETS[preset] if preset else None, names)


def typed_flags(flags: dict[str, Any]) -> dict[str, Any]:
    """The flags the user typed (an untyped flag is ``None``)."""
    return {k: v for k, v in flags.items() if v is not None}


FLAG_NAMES = {"model.name": "--model", "search.method": "--search"}
"""Config keys whose command-line flag is not ``--`` and the key's last part, dashed."""


def flag_name(key: str) -> str:
    """The flag that sets config key ``key``: ``eval.limit`` is ``--limit``."""
    return FLAG_NAMES.get(key, "--" + key.rsplit(".", 1)[-1].replace("_", "-"))


FILE_INPUTS = (
    "--data",
    "--test-data",
    "--fewshot-data",
    "--completions",
    "--labels-file",
    "--input",
)
"""Inputs that are files (the others, ``--resume``, ``--critic``, ``--policy``: directories)."""


def check_inputs(paths: dict[str, Path | None]) -> None:
    """Every given input path exists (``{"--data": path}``), a file where the option reads
    one: checked before anything else."""
    from seal.data import check_file
    from seal.outputs import not_a_stream

    for option, path in paths.items():
        if path is not None:
            not_a_stream(path, option, role="input")
        if path is not None and option in FILE_INPUTS:
            check_file(path, option)
        elif path is not None and not path.exists():
            raise SealError(f"{option} {path} does not exist")


def check_model(cfg: SealConfig, tasks: list[str] | None = None) -> None:
    """The model name and device, checked before anything loads (both are cheap); with
    ``model.chat_template``, that the tokenizer has a template the ``tasks`` can use."""
    from seal.models import hub_kwargs, load_tokenizer, resolve_device, resolve_model_path
    from seal.tasks.chat import check_chat

    hub_kwargs(cfg.model.name, resolve_model_path(cfg.model.name))  # offline: in the cache?
    resolve_device(cfg.model.device)
    if cfg.model.chat_template:
        check_chat(load_tokenizer(cfg.model.name), cfg.model.name, tasks or [])


def check_new_run_path(cfg: SealConfig, name: str | None) -> None:
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


def remove_if_unstarted(run: Any, had_root: bool, announced: bool = False) -> None:
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


def table_columns() -> int | None:
    """The terminal's width; None off a terminal (a log or a pipe takes any width)."""
    return out.width if out.is_terminal else None


def print_table(table: Any) -> None:
    """A table whole: at the terminal's width, or off one as wide as its widest row."""
    if out.is_terminal:
        out.print(table)
        return
    from seal.report_table import table_width

    # Console.print(width=) cannot widen past the console's own width (80 off a terminal)
    Console(markup=False, highlight=False, width=max(80, table_width(table))).print(table)


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
    cfg = build_config(config, set_, {}, preset)
    out.print(dump_config(cfg), end="", markup=False, highlight=False)
