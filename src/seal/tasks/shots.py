"""A task prompted with worked examples wherever it is prompted.

``seal eval`` gives a benchmark its usual shots (GSM8K 5, GSM8K chain-of-thought 8: a base
model needs them to write the answer in the form the benchmark reads). ``seal run`` prompts
its task in many places (the critic's pool, the candidates, the fine-tuning examples, the
validation and the test), so the shots go in the task itself: every prompt it gives carries
them, and the run's base test is the number ``seal eval`` reports for the same model.
"""

from __future__ import annotations

from seal.tasks.base import Problem, Task, TaskView


class WithShots(TaskView):
    """``task`` whose ``prompt`` carries ``shots`` worked examples unless asked for others;
    everything else is the task's own."""

    def __init__(self, task: Task, shots: int):
        super().__init__(task)
        self.shots = shots

    def prompt(self, problem: Problem, shots: int = 0) -> str:
        return self._task.prompt(problem, shots or self.shots)


def with_shots(task: Task, shots: int | None) -> Task:
    """``task`` prompted with ``shots`` examples (``None``: the task's default, as ``seal
    eval`` uses; 0: none)."""
    k = getattr(task, "default_shots", 0) if shots is None else shots
    return WithShots(task, k) if k else task  # type: ignore[return-value]
