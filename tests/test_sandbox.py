"""The sandbox holds against hostile programs; each ends as a failed run with a reason."""

import os
import socket
import threading
import time
from pathlib import Path

import pytest

from seal.sandbox import SandboxLimits, run_many, run_program

FAST = SandboxLimits(timeout=3.0, memory_mb=512, output_kb=256)


def test_ordinary_program_passes_and_keeps_output() -> None:
    r = run_program("import math, collections, re, json\nprint(math.factorial(5))", FAST)
    assert r.passed and r.reason == "passed"
    assert r.stdout.strip() == "120"


def test_failing_assert_is_reported() -> None:
    r = run_program("def f():\n    return 1\nassert f() == 2, 'wrong'", FAST)
    assert not r.passed and "AssertionError: wrong" in r.reason


@pytest.mark.parametrize(
    "source",
    [
        "import sys\nsys.exit(0)\nassert False",
        "raise SystemExit(0)",
        "import os\nos._exit(0)",
        "import sys\nsys.stdout = open('other.txt', 'w')",
    ],
)
def test_early_exit_is_not_a_pass(source: str) -> None:
    r = run_program(source, FAST)
    assert not r.passed
    assert r.reason == "exited before the end of the program"


def test_infinite_loop_times_out() -> None:
    start = time.perf_counter()
    r = run_program("while True:\n    pass", SandboxLimits(timeout=1.5))
    assert not r.passed and r.reason == "timed out"
    assert time.perf_counter() - start < 10


def test_sleeping_program_is_killed_on_time() -> None:
    r = run_program("import time\ntime.sleep(60)", SandboxLimits(timeout=1.0))
    assert r.reason == "timed out" and r.seconds < 10


@pytest.mark.parametrize(
    "source",
    [
        "import os\nwhile True:\n    os.fork()",
        "import subprocess\nsubprocess.run(['sh', '-c', ':(){ :|:& };:'])",
        "import os\nos.system('echo hi')",
        "import multiprocessing\nmultiprocessing.Process(target=print).start()",
    ],
)
def test_no_new_processes(source: str) -> None:
    r = run_program(source, FAST)
    assert not r.passed
    assert "not allowed" in r.reason or "Error" in r.reason


def test_memory_bomb_fails_and_host_survives() -> None:
    r = run_program("x = []\nwhile True:\n    x.append(bytearray(10**7))", FAST)
    assert not r.passed and ("MemoryError" in r.reason or "signal" in r.reason)
    assert run_program("print(1)", FAST).passed


def test_huge_output_is_capped() -> None:
    r = run_program("while True:\n    print('x' * 1000)", FAST)
    assert not r.passed
    assert len(r.stdout) <= 8000  # only a tail ever reaches our memory


def test_cannot_write_or_delete_outside(tmp_path: Path) -> None:
    victim = tmp_path / "keep.txt"
    victim.write_text("precious")
    for source in [
        f"open({str(victim)!r}, 'w').write('gone')",
        f"import os\nos.remove({str(victim)!r})",
        f"import shutil\nshutil.rmtree({str(tmp_path)!r})",
        f"import os\nos.rename({str(victim)!r}, 'stolen.txt')",
        f"from pathlib import Path\nPath({str(tmp_path / 'new.txt')!r}).write_text('x')",
    ]:
        r = run_program(source, FAST)
        assert not r.passed, source
    assert victim.read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_can_use_its_own_directory() -> None:
    r = run_program("open('a.txt', 'w').write('hi')\nprint(open('a.txt').read())", FAST)
    assert r.passed and r.stdout.strip() == "hi"


def test_cannot_read_home_or_other_files(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOKEN-123")
    home = os.path.expanduser("~")
    for source in [
        f"print(open({str(secret)!r}).read())",
        f"import os\nprint(os.listdir({home!r}))",
        "print(open('/etc/hostname').read())",
    ]:
        r = run_program(source, FAST)
        assert not r.passed, source
        assert "TOKEN-123" not in r.stdout
    # HOME is the program's own directory
    r = run_program("import os\nprint(os.path.expanduser('~') == os.getcwd())", FAST)
    assert r.passed and r.stdout.strip() == "True"


def test_cannot_open_a_socket_to_localhost() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(3)
    port = server.getsockname()[1]
    hits = []

    def accept() -> None:
        try:
            conn, _ = server.accept()
            hits.append(conn)
        except OSError:
            pass

    t = threading.Thread(target=accept)
    t.start()
    try:
        for source in [
            f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)",
            f"import socket\ns = socket.socket()\ns.connect(('127.0.0.1', {port}))",
            f"import urllib.request\nurllib.request.urlopen('http://127.0.0.1:{port}/')",
        ]:
            r = run_program(source, FAST)
            assert not r.passed, source
    finally:
        t.join()
        server.close()
    assert hits == []


def test_cannot_kill_its_parent() -> None:
    for source in [
        "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)",
        "import os, signal\nos.killpg(0, signal.SIGKILL)",
        "import os, signal\nos.kill(1, signal.SIGTERM)",
    ]:
        r = run_program(source, FAST)
        assert not r.passed
    assert os.getpid() > 0  # still here


def test_cannot_remove_the_guard() -> None:
    for source in [
        "import sys\nsys.addaudithook(lambda *a: None)\nimport os\nos.system('true')",
        "import ctypes\nctypes.CDLL(None).fork()",
        "import gc\ngc.get_objects()",
    ]:
        assert not run_program(source, FAST).passed, source


HOOK_FRAME = """
import os
try:
    os.system("true")
except PermissionError as e:
    tb = e.__traceback__
    while tb.tb_next:
        tb = tb.tb_next
    for value in tb.tb_frame.f_locals.values():  # the hook's own frame: nothing to change
        if isinstance(value, (list, set, dict)):
            value.clear() if not isinstance(value, list) else value.append(1)
import posixpath
posixpath.realpath = lambda path: os.getcwd()  # the hook does not consult os.path anew
"""


@pytest.mark.parametrize(
    ("attempt", "event"),
    [
        ("os.system('true')", "os.system"),
        ("open('/etc/seal-pwned', 'w')", "open /etc/seal-pwned"),
        ("import sys\nsys.settrace(lambda *a: None)", "sys.settrace"),
    ],
)
def test_the_hook_keeps_no_state_a_program_can_change(attempt: str, event: str) -> None:
    """A hook whose re-entry guard was a list in its frame was switched off from pure
    Python: the frame read off a PermissionError's traceback, the list appended to. Its
    state is immutable now and bound when it was installed."""
    r = run_program(HOOK_FRAME + attempt, FAST)
    assert not r.passed and f"PermissionError: sandbox: {event}" in r.stderr, r


def test_run_many_keeps_order_and_isolates() -> None:
    sources = ["print(1)", "while True: pass", "assert False", "print(4)"]
    results = run_many(sources, SandboxLimits(timeout=1.5), workers=2)
    assert [r.passed for r in results] == [True, False, False, True]
    assert results[1].reason == "timed out"
    assert results[3].stdout.strip() == "4"


def test_refuses_without_the_os_sandbox_unless_told(monkeypatch) -> None:
    """No silent downgrade: where bubblewrap cannot run, running code is a one-line error
    naming what is missing; only an explicit unsafe_local_execution runs it anyway."""
    from seal.errors import SealError

    monkeypatch.setenv("SEAL_BWRAP", "/nonexistent/bwrap")
    with pytest.raises(SealError) as err:
        run_program("print(1)", FAST)
    message = str(err.value)
    assert "\n" not in message and "/nonexistent/bwrap" in message
    assert "--unsafe-local-execution" in message
    unsafe = SandboxLimits(timeout=3.0, unsafe_local_execution=True)
    r = run_program("print(1)", unsafe)
    assert r.passed and r.stdout.strip() == "1"
    assert not run_program("import os\nos.system('true')", unsafe).passed  # the hook stays


def test_the_program_runs_as_an_unprivileged_user_in_its_own_world() -> None:
    r = run_program(
        "import os\nprint(os.getuid(), os.getpid(), os.getcwd(), os.path.exists('/home'))",
        FAST,
    )
    uid, pid, cwd, home = r.stdout.split()
    assert r.passed and uid != "0" and int(pid) < 10  # its own PID namespace
    assert cwd == "/sandbox" and home == "False"  # a minimal view of the host


def test_past_the_hook_the_os_still_holds(tmp_path: Path) -> None:
    """What got through the audit-hook-only sandbox: a process started through the
    interpreter-private ``_posixsubprocess`` (no audit event), and a pidfd signal."""
    import subprocess
    import sys

    victim_file = tmp_path / "keep.txt"
    victim_file.write_text("precious")
    victim = subprocess.Popen(["sleep", "60"])
    try:
        shell = (
            f"echo ran; echo pwned > {victim_file}; rm -f {victim_file}; "
            f"kill -9 {os.getpid()} {victim.pid}"
        )
        spawn = (
            "import _posixsubprocess, os\n"
            "r, w = os.pipe()\n"
            "pid = _posixsubprocess.fork_exec(\n"
            f"    [b'/bin/sh', b'-c', {shell.encode()!r}], [b'/bin/sh'], True, (w,), None, None,\n"
            "    -1, -1, -1, -1, -1, -1, r, w, True, True, -1, None, None, None, -1, None, False)\n"
            "os.waitpid(pid, 0)\n"
        )
        r = run_program(spawn, FAST)
        if sys.version_info[:2] == (3, 11):  # fork_exec's signature changes between versions
            assert r.stdout.startswith("ran"), r  # the process did start: the OS stopped it
        pidfd = (
            "import os, signal\n"
            f"for pid in ({os.getpid()}, {victim.pid}):\n"
            "    try:\n"
            "        signal.pidfd_send_signal(os.pidfd_open(pid), signal.SIGKILL)\n"
            "        print('sent')\n"
            "    except OSError as exc:\n"
            "        print(type(exc).__name__)\n"
        )
        r = run_program(pidfd, FAST)
        assert "sent" not in r.stdout, r
        time.sleep(0.2)
        assert victim.poll() is None
        assert victim_file.read_text() == "precious"
    finally:
        victim.kill()
        victim.wait()
