"""The jail holds against native code: a program loads machine code it brought along (past
the audit hook, which never sees it) and attacks the host with raw system calls. Every
attack fails, the host is untouched and nothing the program started survives the run."""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seal.sandbox import SandboxLimits, run_program, seccomp

FAST = SandboxLimits(timeout=3.0, memory_mb=512, output_kb=256)
SOURCE = Path(__file__).parent / "fixtures" / "native_attack.c"

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")


@pytest.fixture(scope="module")
def shared_object(tmp_path_factory) -> bytes:
    out = tmp_path_factory.mktemp("native") / "attack.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-O1", "-o", str(out), str(SOURCE)], check=True)
    return out.read_bytes()


def attack(shared_object: bytes, op: str, arg: object = "-", limits: SandboxLimits = FAST):
    """Run a program that writes the shared object and ``attack.txt`` into its directory
    and loads the object as an extension module (its constructor does the attack)."""
    blob = base64.b64encode(shared_object).decode()
    source = (
        "import base64, importlib.util, os\n"
        f"open('attack.so', 'wb').write(base64.b64decode({blob!r}))\n"
        f"open('attack.txt', 'w').write({f'{op} {arg}'!r})\n"
        "spec = importlib.util.spec_from_file_location('attack', os.path.abspath('attack.so'))\n"
        "try:\n"
        "    importlib.util.module_from_spec(spec)\n"
        "except ImportError:\n"
        "    pass  # no PyInit_attack: the constructor already ran\n"
    )
    return run_program(source, limits)


def survivors(name: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == name:
                found.append(int(entry.name))
        except OSError:
            pass
    return found


def test_native_code_runs_but_without_privileges(shared_object) -> None:
    r = attack(shared_object, "root")
    assert "uid=" in r.stdout, r  # the machine code did run
    assert "setuid0 rc=-1" in r.stdout and "unshare_user rc=-1" in r.stdout
    lines = r.stdout.splitlines()
    assert "0" not in lines  # `id -u` in a shell it started is not root
    for field, value in [("CapEff", "0000000000000000"), ("CapBnd", "0000000000000000")]:
        assert any(ln.startswith(field) and ln.endswith(value) for ln in lines), field
    assert any(ln.startswith("NoNewPrivs:") and ln.endswith("1") for ln in lines)
    if seccomp.program() is not None:
        assert any(ln.startswith("Seccomp:") and ln.endswith("2") for ln in lines)


def test_native_code_cannot_write_delete_or_read_outside(shared_object, tmp_path: Path) -> None:
    victim = tmp_path / "keep.txt"
    victim.write_text("precious")
    secret = tmp_path / "secret.txt"
    secret.write_text("TOKEN-123")
    python_lib = os.path.join(os.path.realpath(sys.base_prefix), "lib", "pwned")
    for op, arg in [
        ("write", victim),
        ("write", tmp_path / "new.txt"),
        ("write", python_lib),
        ("write", "/usr/pwned"),
        ("unlink", victim),
        ("unlink", os.path.realpath(sys.executable)),
    ]:
        r = attack(shared_object, op, arg)
        assert "rc=-1" in r.stdout, (op, arg, r)
    r = attack(shared_object, "read", secret)
    assert "open rc=-1" in r.stdout and "TOKEN-123" not in r.stdout + r.stderr
    assert victim.read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt", "secret.txt"]
    assert not os.path.exists(python_lib) and not os.path.exists("/usr/pwned")
    assert os.path.exists(os.path.realpath(sys.executable))


def test_native_code_cannot_reach_a_listener_on_localhost(shared_object) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.5)
    try:
        r = attack(shared_object, "connect", server.getsockname()[1])
        assert "connect rc=-1" in r.stdout, r
        with pytest.raises(TimeoutError):
            server.accept()
    finally:
        server.close()


def test_native_code_cannot_signal_us_or_a_victim(shared_object) -> None:
    victim = subprocess.Popen(["sleep", "60"])
    try:
        for pid in (os.getpid(), victim.pid, os.getppid()):
            r = attack(shared_object, "kill", pid)
            # pidfd_open may open a same-numbered process inside the jail's PID namespace
            # (pid 1 when our parent is init); the signal must still be refused
            assert "kill rc=-1" in r.stdout, r
            assert "pidfd_open rc=-1" in r.stdout or "pidfd_send_signal rc=-1" in r.stdout, r
        time.sleep(0.2)
        assert victim.poll() is None  # still running
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait()


def test_a_daemon_does_not_outlive_the_run(shared_object) -> None:
    r = attack(shared_object, "daemon")
    assert "daemon started" in r.stdout, r
    time.sleep(0.3)
    assert survivors("sealdaemon") == []


def test_a_fork_bomb_is_contained(shared_object) -> None:
    start = time.perf_counter()
    r = attack(shared_object, "forkbomb", limits=SandboxLimits(timeout=3.0, processes=16))
    assert "forked" in r.stdout and int(r.stdout.split("forked ")[1].split()[0]) < 16, r
    time.sleep(0.3)
    assert survivors("sealbomb") == []
    assert time.perf_counter() - start < 20
    assert run_program("print(1)", FAST).passed  # the host still runs programs


def test_processes_together_cannot_pass_the_memory_limit(shared_object) -> None:
    """The address-space limit is per process: four children of 200 MiB each pass it one by
    one, but together they hold more than the sandbox's 512 MiB, and the run is killed."""
    limits = SandboxLimits(timeout=8.0, memory_mb=512, output_kb=256)
    small = attack(shared_object, "memory", 50, limits)  # 4 x 50 MiB: within the limit
    assert small.passed and small.stdout.count("child holds 50 MiB") == 4, small
    big = attack(shared_object, "memory", 200, limits)
    assert (big.passed, big.reason) == (False, "memory limit exceeded"), big
    assert big.seconds < 3.0  # killed well before the parent's 3 s are over


def test_no_system_v_ipc_and_no_space_reserved_past_the_file_limit(shared_object) -> None:
    """Ways past the limits that the kernel's own accounting leaves open: a System V
    shared-memory segment, detached, belongs to no process (its memory no watcher sees);
    ``fallocate(KEEP_SIZE)`` reserves disk behind stdout, a file on our side, past the file-
    size limit, which checks only the size. Both refused by the seccomp filter."""
    if seccomp.program() is None:
        pytest.skip("no seccomp filter for this architecture")
    r = attack(shared_object, "shm")
    assert "shmget rc=-1 errno=1" in r.stdout and "msgget rc=-1 errno=1" in r.stdout, r
    r = attack(shared_object, "fallocate", 200)
    assert "fallocate rc=-1 errno=1" in r.stdout, r


def test_a_directory_of_empty_files_is_stopped(shared_object) -> None:
    """Empty files cost the tmpfs no bytes (its size limit never fills) but the host kernel
    memory: past ``MAX_ENTRIES`` of them the run is killed, and a program with a few is not."""
    from seal.sandbox.jail import MAX_ENTRIES

    few = attack(shared_object, "files", 100)
    assert few.passed and "made 100 files" in few.stdout, few
    many = attack(shared_object, "files", 10 * MAX_ENTRIES, SandboxLimits(timeout=8.0))
    assert (many.passed, many.reason) == (
        False,
        f"file limit exceeded (over {MAX_ENTRIES:,} files)",
    )
    assert many.seconds < 6.0, many
