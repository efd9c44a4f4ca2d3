"""What runs inside the sandboxed interpreter before the model's code: an audit hook (PEP 578)
as defence in depth, then either a whole program (``PROGRAM``) or a function server
(``SERVER``) that answers the trusted judge's calls with plain data.

The hook refuses process creation, signals, sockets, ctypes, frame, trace and garbage-
collector walks and file access outside the working directory (reads: also the Python
installation). CPython says audit hooks are not a sandbox, and they are not the boundary
here: the jail is (``seal.sandbox.jail``). Pure Python gets past a hook (an interpreter-
private module such as ``_posixsubprocess`` raises no event); this one only turns the common
mistakes and naive attacks into clear errors early, and keeps no state a program could
change. Kept free of f-string braces; ``HOOK`` is shared by both.
"""

from __future__ import annotations

import os

HOOK = r"""
def _install(root, allowed):
    import os, posixpath
    deny = frozenset({
        "os.fork", "os.forkpty", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
        "subprocess.Popen", "os.kill", "os.killpg", "signal.pthread_kill", "pty.spawn",
        "socket.__new__", "socket.connect", "socket.bind", "socket.getaddrinfo",
        "ctypes.dlopen", "ctypes.dlsym", "ctypes.cdata", "sys._current_frames",
        "gc.get_objects", "gc.get_referrers", "gc.get_referents", "sys.settrace",
        "sys.setprofile", "os.setuid", "os.chroot", "sys.addaudithook", "os.startfile",
        "webbrowser.open", "resource.setrlimit", "resource.prlimit", "os.putenv",
        "os.unsetenv",
    })
    write_events = frozenset({
        "os.remove", "os.rmdir", "os.rename", "os.replace", "os.mkdir", "os.chmod",
        "os.chown", "os.truncate", "os.symlink", "os.link", "os.utime", "shutil.rmtree",
        "shutil.move", "shutil.copyfile", "os.chdir", "os.mkfifo", "os.mknod",
        "os.setxattr", "os.removexattr",
    })
    read_events = frozenset({"os.listdir", "os.scandir"})
    # Everything the hook uses is bound here, immutable, as defaults of the one function: a
    # program that patches os.path, or reads the hook's frame off a traceback, changes
    # nothing it consults (no list to append to, no helper whose closure it could rebind).
    def hook(event, args, root=root, allowed=tuple(allowed), deny=deny,
             write_events=write_events, read_events=read_events,
             realpath=posixpath.realpath, join=posixpath.join, sep=posixpath.sep, fspath=os.fspath,
             text=str.__str__, decode=bytes.decode, error=PermissionError):
        if event in deny or event.startswith("os.exec") or event.startswith("os.spawn"):
            raise error("sandbox: " + event + " is not allowed")
        if event == "open":
            paths, mode, flags = args[:1], args[1], args[2]
            writing = (mode is not None and any(c in text(mode) for c in "wax+")) or (
                isinstance(flags, int) and flags & 3
            )
        elif event in write_events or event in read_events:
            paths, writing = args, event in write_events
        else:
            return
        roots = (root,) if writing else allowed
        for path in paths:
            if path is None or isinstance(path, int):
                continue
            if not isinstance(path, (str, bytes)):
                if event != "open":
                    continue
                path = fspath(path)  # a pathlib path
            if isinstance(path, bytes):
                path = decode(path, "utf-8", "replace")
            else:
                path = text(path)  # a plain copy: a subclass's methods never run in here
            full = realpath(join(root, path))
            if not any(full == r or full.startswith(r + sep) for r in roots):
                if event == "open":
                    raise error("sandbox: open " + full + " is not allowed")
                raise error("sandbox: " + event + " outside the directory")
    sys.addaudithook(hook)
"""

# argv: program.py, then the Python installation's directories. A pass is the one-time
# token (read from stdin, never in the program's namespace) printed after the program ends:
# that guards against *accidental* early exits only; a hostile program can find the token
# in its own process. Verdicts that must hold against a hostile program come from the
# judge (``seal.sandbox.judge``), never from this.
PROGRAM = (
    r"""
import sys, os
_token = sys.stdin.readline().strip()
sys.stdin.close()
"""
    + HOOK
    + r"""
_root = os.getcwd()
_install(_root, [_root] + sys.argv[2:])
del _install
_source = open(sys.argv[1], encoding="utf-8").read()
_code = compile(_source, "program.py", "exec")
del _source
exec(_code, {"__name__": "__main__", "__builtins__": __builtins__})
sys.stdout.flush()
sys.stdout.write("\n" + _token + "\n")
sys.stdout.flush()
"""
)

# argv: request fd, response fd, entry point, then the Python installation's directories.
# Loads solution.py, then answers one line per call: the judge sends the arguments as plain
# data, we send back {"ok": value} or {"error": [type, message]}. Whatever the solution does
# to this loop, all it can change is the answers, which is what a candidate may choose.
SERVER = (
    r"""
import sys, os, json
_req = open(int(sys.argv[1]), "r", encoding="utf-8")
_resp = open(int(sys.argv[2]), "w", encoding="utf-8")
_plain = {"__name__": "plain"}
exec(compile(open("plain.py", encoding="utf-8").read(), "plain.py", "exec"), _plain)
"""
    + HOOK
    + r"""
_root = os.getcwd()
_install(_root, [_root] + sys.argv[4:])
del _install
def _send(text):
    _resp.write(text + "\n")
    _resp.flush()
def _error(exc):
    return json.dumps({"error": [type(exc).__name__, str(exc)[:1000]]})
_ns = {"__name__": "solution", "__builtins__": __builtins__}
try:
    exec(compile(open("solution.py", encoding="utf-8").read(), "solution.py", "exec"), _ns)
    _fn = _ns[sys.argv[3]]
except BaseException as exc:
    _send(_error(exc))
    raise SystemExit(1)
_send('{"ready":true}')
for _line in _req:
    try:
        _args, _kwargs = _plain["decode"](_line)
        _send('{"ok":' + _plain["encode"](_fn(*_args, **_kwargs)) + "}")
    except BaseException as exc:
        _send(_error(exc))
"""
)


def plain_source() -> str:
    """The codec's source, copied next to ``SERVER`` in the sandbox."""
    with open(os.path.join(os.path.dirname(__file__), "plain.py"), encoding="utf-8") as f:
        return f.read()
