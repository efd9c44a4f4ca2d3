"""Run untrusted (model-written) code where it cannot hurt the host or forge its score.

Layers, outermost first (docs/sandbox.md has the threat model):

- ``jail``: the OS boundary (bubblewrap namespaces, read-only host view, private tmpfs,
  no capabilities or new privileges, an unprivileged uid, kernel-enforced limits). It holds
  against native code; where it is unavailable, code runs only with an explicit
  ``unsafe_local_execution``.
- ``guard``: an audit hook inside the interpreter, defence in depth.
- ``judge`` / ``functions``: verdicts for function completions come from tests run in a
  separate trusted process, on plain data (``plain``) returned by the jailed code.
- ``programs``: whole programs (``run_program``, ``run_many``), for running code whose
  "passed" need not hold against an adversary.

Names are imported lazily so that the judge process, which imports ``seal.sandbox.judge``,
starts without the thread pool and the rest.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing costs the judge's start-up
if TYPE_CHECKING:
    from seal.sandbox.functions import FunctionCase, judge_many
    from seal.sandbox.programs import RunResult, SandboxLimits, run_many, run_program

_WHERE = {
    "FunctionCase": "functions",
    "judge_many": "functions",
    "RunResult": "programs",
    "SandboxLimits": "programs",
    "run_many": "programs",
    "run_program": "programs",
}
__all__ = [
    "FunctionCase",
    "RunResult",
    "SandboxLimits",
    "judge_many",
    "run_many",
    "run_program",
]


def __getattr__(name: str) -> object:
    if name not in _WHERE:
        raise AttributeError(f"module 'seal.sandbox' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"seal.sandbox.{_WHERE[name]}"), name)
