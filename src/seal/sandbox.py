"""Run untrusted (model-written) Python programs where they cannot hurt the host.

Each program runs in a child interpreter, never in our process, behind two layers:

Operating system (set by a trusted launcher that then ``exec``s the interpreter):
  a fresh temporary directory as working directory and ``HOME``; a scrubbed environment;
  its own session, so a timeout kills its whole process group; limits on CPU seconds,
  address space, file size and open files; a new, empty network namespace where the OS
  allows it (root or user namespaces); and, when we run as root and ``nobody`` can reach
  the interpreter, the privileges of ``nobody``, so the user's files and processes are out
  of reach and the process limit holds (Linux does not apply ``RLIMIT_NPROC`` to root).

Interpreter (an audit hook, PEP 578, installed before the program's first line; it cannot
be removed): no process creation (fork, exec, subprocess, os.system, posix_spawn), no
signals to other processes, no sockets, no ctypes, no frame or garbage-collector
introspection, no file writes or deletes outside the directory, no file reads outside the
directory and the Python installation.

A program *passes* only when it ran to the end and the bootstrap then printed a one-time
token the program was never given (read from stdin before the program starts, held in the
bootstrap's frame): ``sys.exit(0)``, ``os._exit(0)`` or a killed interpreter before the
tests finish is a failure, whatever the exit code says. (A program written to walk its
frames up to the bootstrap could still find the token: that guards scores against
accidental early exits, not against an adversary; the host is protected by the layers
above either way.) Output goes to files capped by the file-size limit, never into memory.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from seal.progress import progress_bar

_NOBODY = 65534

# Runs in the child before the program: reads the token, installs the audit hook, runs the
# program in a fresh namespace, then prints the token. Kept free of f-string braces.
_BOOT = r"""
import sys
_token = sys.stdin.readline().strip()
sys.stdin.close()
def _install(root, allowed):
    import os
    os_path = os.path
    deny = {
        "os.fork", "os.forkpty", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
        "subprocess.Popen", "os.kill", "os.killpg", "signal.pthread_kill", "pty.spawn",
        "socket.__new__", "socket.connect", "socket.bind", "socket.getaddrinfo",
        "ctypes.dlopen", "ctypes.dlsym", "ctypes.cdata", "sys._current_frames",
        "gc.get_objects", "gc.get_referrers", "gc.get_referents",
        "os.setuid", "os.chroot", "sys.addaudithook", "os.startfile", "webbrowser.open",
        "resource.setrlimit", "resource.prlimit", "os.putenv", "os.unsetenv",
    }
    write_events = {
        "os.remove", "os.rmdir", "os.rename", "os.replace", "os.mkdir", "os.chmod",
        "os.chown", "os.truncate", "os.symlink", "os.link", "os.utime", "shutil.rmtree",
        "shutil.move", "shutil.copyfile", "os.chdir", "os.mkfifo", "os.mknod",
        "os.setxattr", "os.removexattr",
    }
    read_events = {"os.listdir", "os.scandir"}
    busy = []
    def inside(path, roots):
        if isinstance(path, int):
            return True
        if isinstance(path, bytes):
            path = path.decode("utf-8", "replace")
        full = os_path.realpath(os_path.join(root, path))
        return any(full == r or full.startswith(r + os_path.sep) for r in roots)
    def hook(event, args):
        if busy:
            return
        busy.append(1)
        try:
            if event in deny or event.startswith("os.exec") or event.startswith("os.spawn"):
                raise PermissionError("sandbox: " + event + " is not allowed")
            if event == "open":
                path, mode, flags = args[0], args[1], args[2]
                if path is None:
                    return
                writing = (mode is not None and any(c in str(mode) for c in "wax+")) or (
                    isinstance(flags, int) and flags & 3
                )
                if not inside(path, [root] if writing else allowed):
                    raise PermissionError("sandbox: open " + str(path) + " is not allowed")
            elif event in write_events or event in read_events:
                roots = [root] if event in write_events else allowed
                for a in args:
                    if isinstance(a, (str, bytes)) and not inside(a, roots):
                        raise PermissionError("sandbox: " + event + " outside the directory")
        finally:
            busy.pop()
    sys.addaudithook(hook)
_root = sys.argv[2]
_install(_root, [_root] + sys.argv[3:])
del _install
_source = open(sys.argv[1], encoding="utf-8").read()
_code = compile(_source, "program.py", "exec")
del _source
exec(_code, {"__name__": "__main__", "__builtins__": __builtins__})
sys.stdout.flush()
sys.stdout.write("\n" + _token + "\n")
sys.stdout.flush()
"""


@dataclass(frozen=True)
class SandboxLimits:
    """Per-program limits. ``memory_mb`` caps the address space; ``output_kb`` each of
    stdout/stderr (and any file the program writes); ``processes`` the child's user."""

    timeout: float = 10.0
    memory_mb: int = 1024
    output_kb: int = 1024
    processes: int = 16
    open_files: int = 64


@dataclass(frozen=True)
class RunResult:
    passed: bool
    reason: str
    """``passed``, ``timed out``, ``killed by signal N``, ``exit code N``, ``exited before
    the end`` or the last line of the error (e.g. ``AssertionError``)."""
    seconds: float
    stdout: str = ""
    stderr: str = ""


# The first process in the child's new session: trusted code that sets the OS limits and
# then replaces itself with the sandboxed interpreter (no preexec_fn: it is not safe with
# the threads of ``run_many``). argv: limits as JSON, then the interpreter's arguments.
_LAUNCH = r"""
import json, os, resource, sys
lim = json.loads(sys.argv[1])
cpu = lim["cpu"]
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
resource.setrlimit(resource.RLIMIT_AS, (lim["memory"], lim["memory"]))
resource.setrlimit(resource.RLIMIT_FSIZE, (lim["fsize"], lim["fsize"]))
resource.setrlimit(resource.RLIMIT_NOFILE, (lim["files"], lim["files"]))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
try:
    import ctypes
    ctypes.CDLL(None, use_errno=True).unshare(0x40000000)  # CLONE_NEWNET, where allowed
except Exception:
    pass
if lim["drop"]:
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)
resource.setrlimit(resource.RLIMIT_NPROC, (lim["procs"], lim["procs"]))
os.execv(sys.executable, [sys.executable, "-I", "-S", "-B"] + sys.argv[2:])
"""


@functools.cache
def _can_drop_to_nobody() -> bool:
    """Root can run the child as ``nobody`` only if ``nobody`` can reach the interpreter and
    its library (a Python under /root, as with pyenv, is out of its reach)."""
    if os.geteuid() != 0:
        return False
    targets = [os.path.realpath(sys.executable), os.path.realpath(os.path.dirname(os.__file__))]
    for target in targets:
        path = Path(target)
        for d in [*reversed(path.parents), path]:
            try:
                mode = d.stat().st_mode
            except OSError:
                return False
            if d.is_dir() and not mode & 0o001:
                return False
        if not os.stat(target).st_mode & 0o005:
            return False
    return True


def _reason(code: int | None, stderr: str, token_seen: bool, timed_out: bool) -> str:
    if timed_out:
        return "timed out"
    if code is not None and code < 0:
        sig = -code
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else sig
        return f"killed by signal {name}"
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    if code:
        return lines[-1][:300] if lines else f"exit code {code}"
    if not token_seen:
        return "exited before the end of the program"
    return "passed"


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - limit))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def run_program(source: str, limits: SandboxLimits | None = None) -> RunResult:
    """Run ``source`` as a program in the sandbox; never raises for anything it does."""
    limits = limits or SandboxLimits()
    drop = _can_drop_to_nobody()
    token = secrets.token_hex(16)
    start = time.perf_counter()
    workdir = tempfile.mkdtemp(prefix="seal-sandbox-")
    try:
        work = Path(workdir)
        (work / "program.py").write_text(source, encoding="utf-8")
        (work / "boot.py").write_text(_BOOT, encoding="utf-8")
        out_path, err_path = work / "stdout", work / "stderr"
        if drop:
            for p in (work, work / "program.py", work / "boot.py"):
                os.chown(p, _NOBODY, _NOBODY)
        allowed = sorted(
            {os.path.realpath(p) for p in (sys.base_prefix, sys.prefix, sys.exec_prefix)}
        )
        env = {"PATH": "/usr/bin:/bin", "HOME": workdir, "LANG": "C.UTF-8", "TMPDIR": workdir}
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            settings = {
                "cpu": int(limits.timeout) + 1,
                "memory": limits.memory_mb * 1024 * 1024,
                "fsize": limits.output_kb * 1024,
                "files": limits.open_files,
                "procs": limits.processes,
                "drop": drop,
            }
            proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _LAUNCH, json.dumps(settings)]
                + [str(work / "boot.py"), "program.py", workdir, *allowed],
                cwd=workdir,
                env=env,
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=err,
                start_new_session=True,
                close_fds=True,
            )
            timed_out = False
            with contextlib.suppress(OSError):
                proc.stdin.write((token + "\n").encode())  # type: ignore[union-attr]
                proc.stdin.close()  # type: ignore[union-attr]
            try:
                proc.wait(timeout=limits.timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)  # the whole group, done or not
                proc.wait()
        stdout, stderr = _tail(out_path), _tail(err_path)
        lines = stdout.rstrip("\n").splitlines()
        token_seen = bool(lines) and lines[-1] == token
        reason = _reason(proc.returncode, stderr, token_seen, timed_out)
        if token_seen:
            stdout = "\n".join(lines[:-1])
        return RunResult(
            passed=reason == "passed",
            reason=reason,
            seconds=time.perf_counter() - start,
            stdout=stdout,
            stderr=stderr,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run_many(
    sources: list[str],
    limits: SandboxLimits | None = None,
    workers: int | None = None,
    quiet: bool = True,
) -> list[RunResult]:
    """Run programs in parallel (each in its own sandbox), results in input order."""
    workers = workers or max(1, os.cpu_count() or 1)
    results: list[RunResult | None] = [None] * len(sources)
    with (
        progress_bar("executing", total=len(sources), unit="programs", quiet=quiet) as bar,
        ThreadPoolExecutor(max_workers=workers) as pool,
    ):
        futures = {pool.submit(run_program, s, limits): i for i, s in enumerate(sources)}
        for future in futures:
            results[futures[future]] = future.result()
            bar.advance(1)
    return results  # type: ignore[return-value]
