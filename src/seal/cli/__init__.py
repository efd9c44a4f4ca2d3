"""The ``seal`` command line: parse flags, build the config, call the library.

``app`` holds the shared options and checks; ``evaluate``, ``run`` and ``train`` the
commands. ``main`` turns a user's mistake into one line on stderr (exit 2), never a
traceback.
"""

from __future__ import annotations

import contextlib
import errno
import signal
import sys
import warnings

from rich.console import Console
from rich.text import Text

from seal.cli import evaluate, run, train  # noqa: F401 - registers the commands
from seal.cli.app import FLAG_NAMES, app, flag_name
from seal.errors import SealError

__all__ = ["FLAG_NAMES", "app", "flag_name", "main"]


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
    if len(flags) == len(args):
        return []  # `seal -q` alone is a bare `seal`: its help, not "Missing command"
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
