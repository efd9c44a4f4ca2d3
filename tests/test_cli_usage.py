"""Every command, as a new user meets it: bad input is a short message, never a traceback.

The commands come from the typer app's click tree, so a newly registered command or option
joins every table here without a test written for it. Each case runs ``seal`` in process
(``main()``, as the console script does) in an empty working directory and asserts: a
non-zero exit, no traceback, a few lines on stderr, no file changed, nothing left behind.
"""

from __future__ import annotations

import functools
import json
import struct
from collections.abc import Iterator
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin, get_type_hints

import pytest
import typer.main

from seal.cli import app

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

OUTPUTS = {"output", "out_dir"}  # parameter names of the options that name what is written
MARKUP = "[bold]m[/bold][/x]"  # markup-like text in user input: must be shown literally
# (command, parameter): bad-looking inputs it rightly accepts. ``seal runs DIR`` lists any
# directory (a broken run in it is listed as broken), so an odd directory is not an error.
ACCEPTS = {("runs", "root"): {"wrong-shape-dir", "truncated-dir"}}
RANGE = ("-5", "greater than", "range")  # how click, typer and pydantic word a range error


def _commands(cmd: Any = None, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    cmd = cmd if cmd is not None else typer.main.get_command(app)
    subs = getattr(cmd, "commands", None)
    if subs is None:
        yield path, cmd
        return
    yield path, cmd  # a group is a command too (its own --help, its usage errors)
    for name, sub in sorted(subs.items()):
        yield from _commands(sub, (*path, name))


COMMANDS = list(_commands())
LEAVES = [(p, c) for p, c in COMMANDS if getattr(c, "commands", None) is None]


@functools.cache
def _hints(callback: Any) -> dict[str, Any]:
    return get_type_hints(getattr(callback, "__wrapped__", callback), include_extras=True)


def _annotation(cmd: Any, name: str) -> Any:
    """The Python type of a command's parameter, from the function typer wraps (the same on
    every typer version, unlike typer's parameter objects)."""
    hint = _hints(cmd.callback).get(name, str)
    if get_origin(hint) is Annotated:
        hint = get_args(hint)[0]
    args = [a for a in get_args(hint) if a is not type(None)]
    return args[0] if args and get_origin(hint) in (Union, UnionType) else hint


def _kind(cmd: Any, param: Any) -> str:
    hint = _annotation(cmd, param.name)
    if hint is bool:
        return "flag"
    if hint in (int, float):
        return hint.__name__
    if hint is Path:
        return "output" if param.name in OUTPUTS else "input"
    return "text"


def _flag(param: Any) -> str | None:
    longs = [o for o in param.opts if o.startswith("--")]
    return longs[0] if longs else None


def _is_option(param: Any) -> bool:
    return type(param).__name__.endswith("Option") and _flag(param) is not None


def _fill(cmd: Any, param: Any, root: Path) -> str:
    """A plausible value for a required parameter, so the case's own bad input is reached."""
    kind = _kind(cmd, param)
    if kind == "output":  # named for what it holds (`seal critic score` writes JSONL)
        suffix = ".jsonl" if "JSONL" in (getattr(param, "help", "") or "") else ".json"
        return str(root / f"fresh-output{suffix}")
    if kind == "input":
        return str(root / "input.jsonl")
    if kind in ("int", "float"):
        return "1"
    return "wordmath" if param.name == "task" else "What is 1 + 1?"


def _args(cmd: Any, root: Path, skip: str | None, extra: list[str]) -> list[str]:
    """Required parameters filled in (except ``skip``), then ``extra``."""
    opts, positional = [], []
    for p in cmd.params:
        if not p.required or p.name == skip:
            continue
        value = _fill(cmd, p, root)
        if _is_option(p):
            opts += [_flag(p), value]
        else:
            positional.append(value)
    return [*opts, *extra, *positional]


def _case_table(root: Path) -> list[tuple[str, list[str], tuple[str, ...]]]:
    """``(case id, argv, needles)``: needles are alternatives, one must be on stderr."""
    cases = []
    for path, cmd in LEAVES:
        cid = " ".join(path)
        params = list(cmd.params)
        cases.append((f"{cid}: unknown option", [*path, "--no-such-option"], ("No such option",)))
        if any(p.required for p in params):
            cases.append((f"{cid}: missing option", [*path], ("Missing",)))
        for p in params:
            flag, kind = _flag(p), _kind(cmd, p)
            if not _is_option(p) or kind == "flag":
                continue
            with_ = lambda value, p=p, flag=flag, path=path, cmd=cmd: [  # noqa: E731
                *path,
                *_args(cmd, root, p.name, [flag, value]),
            ]
            if kind in ("int", "float"):
                cases.append((f"{cid} {flag}: wrong type", with_("two"), ("Invalid value",)))
                cases.append((f"{cid} {flag}: out of range", with_("-5"), RANGE))
            elif kind == "input":
                missing = str(root / f"missing{MARKUP}.json")
                cases.append((f"{cid} {flag}: missing file", with_(missing), (missing,)))
                for bad in ("corrupt.bin", "wrong-shape.json", "wrong-shape-dir", "truncated-dir"):
                    cases.append((f"{cid} {flag}: {bad}", with_(str(root / bad)), ()))
                cases.append((f"{cid} {flag}: stdin", with_("-"), ("standard input",)))
            elif kind == "output":
                for existing in ("existing.json", "existing-dir"):
                    cases.append(
                        (
                            f"{cid} {flag}: {existing}",
                            with_(str(root / existing)),
                            ("--force", "is a file", "is a directory"),
                        )
                    )
                cases.append((f"{cid} {flag}: stdout", with_("-"), ("standard output",)))
                cases.append(
                    (
                        f"{cid} {flag}: input as output",
                        [*path, *_args(cmd, root, p.name, [flag, str(root / "input.jsonl")])],
                        (),
                    )
                )
            else:
                cases.append((f"{cid} {flag}: markup-like text", with_(MARKUP), ()))
                if p.name == "device":  # a GPU this machine does not have
                    # (``seal solve`` alone asks for --critic first: its default search is ToT)
                    needle = ("CUDA GPU", "--critic") if cid == "solve" else ("CUDA GPU",)
                    cases.append((f"{cid} {flag}: absent GPU", with_("cuda:99"), needle))
                    for dev, why in (("mps", "not supported"), ("meta", "not supported")):
                        need = (why, "--critic") if cid == "solve" else (why,)
                        cases.append((f"{cid} {flag}: {dev}", with_(dev), need))
        for p in params:  # positional arguments: missing / corrupt files, markup-like text
            if _is_option(p):
                continue
            kind = _kind(cmd, p)
            rest = _args(cmd, root, p.name, [])
            if kind == "input":
                missing = str(root / f"missing{MARKUP}")
                cases.append((f"{cid} {p.name}: missing", [*path, *rest, missing], (missing,)))
                for bad in ("corrupt.bin", "wrong-shape-dir", "truncated-dir"):
                    if bad in ACCEPTS.get((cid, p.name), ()):
                        continue
                    cases.append((f"{cid} {p.name}: {bad}", [*path, *rest, str(root / bad)], ()))
    return cases


def _truncated_safetensors(path: Path) -> None:
    header = json.dumps({"w": {"dtype": "F32", "shape": [64], "data_offsets": [0, 256]}}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 10)


def _workspace(root: Path) -> None:
    """The files the table points at: valid-looking inputs and every kind of broken one."""
    row = {
        "question": "What is 1 + 1?",
        "answer": "2",
        "prompt": "What is 1 + 1?",
        "solution": "1 + 1 = 2. The answer is 2.",
        "label": 1,
        "task_id": "wordmath-1",
        "completion": "The answer is 2.",
    }
    (root / "input.jsonl").write_text(json.dumps(row) + "\n")
    (root / "corrupt.bin").write_bytes(b"\xff\x00{[not json or yaml: \x80")
    (root / "wrong-shape.json").write_text("[1, 2, 3]\n")
    shape = root / "wrong-shape-dir"  # every file seal looks for, valid JSON / YAML, wrong shape
    shape.mkdir()
    for name in ("manifest.json", "critic.json", "adapter_config.json", "config.json"):
        (shape / name).write_text("[1, 2]\n")
    (shape / "config.yaml").write_text("- 1\n- 2\n")
    (shape / "summary.json").write_text('"a string"\n')
    trunc = root / "truncated-dir"  # right shapes, weights cut short
    trunc.mkdir()
    (trunc / "critic.json").write_text('{"model": "tiny", "task": "wordmath"}\n')
    (trunc / "config.yaml").write_text("model:\n  name: tiny\n")
    (trunc / "adapter_config.json").write_text("{}\n")
    (trunc / "config.json").write_text('{"model_type": "llama"}\n')
    (trunc / "manifest.json").write_text('{"kind": "run", "sta')  # cut short
    _truncated_safetensors(trunc / "adapter_model.safetensors")
    _truncated_safetensors(trunc / "model.safetensors")
    (root / "existing.json").write_text('{"keep": true}\n')
    keep = root / "existing-dir"
    keep.mkdir()
    for name in ("keep.txt", "summary.md", "wordmath.json", "report.html"):
        (keep / name).write_text("keep\n")


def _snapshot(root: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(root.rglob("*"))
    }


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("usage")
    _workspace(root)
    return root


ROOT = "/SEAL-WORKSPACE"  # stands for the workspace in the table, built once at collection
TABLE = _case_table(Path(ROOT))


@pytest.mark.parametrize(("argv", "needles"), [c[1:] for c in TABLE], ids=[c[0] for c in TABLE])
def test_bad_input(
    argv: list[str], needles: tuple[str, ...], workspace: Path, seal_cli, monkeypatch
) -> None:
    argv = [a.replace(ROOT, str(workspace)) for a in argv]
    needles = tuple(n.replace(ROOT, str(workspace)) for n in needles)
    monkeypatch.chdir(workspace)
    before = _snapshot(workspace)
    code, out, err = seal_cli(*argv)
    assert code != 0, f"exit 0 for {argv}\n{out}"
    assert "Traceback" not in err + out and "MarkupError" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert 1 <= len(lines) <= 4, err
    if needles:
        assert any(n in err for n in needles), (needles, err)
    assert _snapshot(workspace) == before, "a file or directory changed"


def test_the_table_covers_every_command() -> None:
    """Each leaf command has its unknown-option case at least; options add more."""
    for path, _ in LEAVES:
        assert any(argv[: len(path)] == list(path) for _, argv, _ in TABLE), path
    assert len(LEAVES) >= 9 and len(TABLE) > 100


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: " ".join(p) or "seal")
def test_help_renders(path: tuple[str, ...], seal_cli) -> None:
    code, out, err = seal_cli(*path, "--help")
    assert code == 0, err
    assert "Usage" in out and "Traceback" not in out + err


@pytest.mark.parametrize("path", [p for p, _ in LEAVES], ids=lambda p: " ".join(p))
def test_every_option_says_what_it_does(path: tuple[str, ...]) -> None:
    cmd = dict(LEAVES)[path]
    assert cmd.help or cmd.callback.__doc__, path
    for p in cmd.params:
        assert getattr(p, "help", None) or not _is_option(p), (path, p.name)


@pytest.mark.parametrize("path", [p for p, c in COMMANDS if getattr(c, "commands", None)])
def test_bare_group_prints_its_commands(path: tuple[str, ...], seal_cli) -> None:
    """A bare ``seal`` (or ``seal critic``) is the newcomer's first try: its help, listing the
    commands, on stderr with exit 2 (it did nothing), never a traceback."""
    code, out, err = seal_cli(*path)
    assert code == 2 and out == ""
    assert err.startswith("Usage:") and "Traceback" not in err
    group = dict(COMMANDS)[path]
    for name in group.commands:
        assert f"  {name} " in err, name
