"""The critic: p(good) and its entropy from the label-token logits of a judge prompt.

Scoring is one batched forward pass per batch of trajectories (no generation): the logits at
the last prompt position, restricted to the two label tokens, give a two-way distribution.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from peft import PeftModel
from transformers import PreTrainedTokenizerBase

from seal import distributed
from seal.batching import bucket_width, model_context
from seal.critic.prompt import Labels, judge_prompt, label_tokens, step_prompt
from seal.progress import progress_bar


@dataclass(frozen=True)
class Verdict:
    p_good: float
    entropy: float
    """Entropy (nats) of the two-way verdict; 0 is certain, ln 2 ~ 0.693 is a coin flip."""

    @property
    def label(self) -> int:
        return int(self.p_good >= 0.5)


def two_way_entropy(p: float) -> float:
    p = min(max(p, 1e-12), 1 - 1e-12)
    return -(p * math.log(p) + (1 - p) * math.log(1 - p))


def split_steps(solution: str) -> list[str]:
    """Lines of a solution, the unit of step-level critique."""
    return [line for line in solution.splitlines() if line.strip()]


class Critic:
    """Judges trajectories with adapter ``adapter`` of a PEFT model shared with the policy."""

    def __init__(
        self,
        model: PeftModel,
        tokenizer: PreTrainedTokenizerBase,
        adapter: str = "critic",
        batch_size: int = 32,
        bf16: str = "auto",
    ):
        self.model = model
        self.tokenizer = tokenizer
        self.adapter = adapter
        self.batch_size = batch_size
        self.bf16 = bf16
        """Training autocast mode (``seal.precision``): auto, on or off."""
        self.labels: Labels = label_tokens(tokenizer)
        self.context = model_context(model, 4096)
        self.judge: Callable[[list[str]], list[Verdict]] | None = None
        """Scores judge prompts elsewhere when set (the vLLM backend); training and step
        critique's gradients always use the model here."""

    @contextmanager
    def active(self) -> Iterator[None]:
        """Switch the shared model to the critic adapter, restoring the previous one after."""
        previous = self.model.active_adapter
        self.model.set_adapter(self.adapter)
        try:
            yield
        finally:
            self.model.set_adapter(previous)

    def encode(self, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Right-padded ids and mask; over-long prompts lose their beginning, never the verdict.

        Right, not left: a left pad is a query row that may attend to no key at all, and
        CUDA's attention backward turns such a row into NaN gradients (seen on an H100,
        torch 2.11: the critic's first training loss was NaN); a right pad always sees the
        real tokens before it and no real token sees it."""
        rows = []
        for p in prompts:
            ids = self.tokenizer(p, add_special_tokens=True, verbose=False)["input_ids"]
            rows.append(ids[-self.context :])
        width = bucket_width(max(len(r) for r in rows))
        pad = self.tokenizer.pad_token_id or 0
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = torch.tensor(r)
            mask[i, : len(r)] = 1
        device = next(self.model.parameters()).device
        return ids.to(device), mask.to(device)

    def label_logits(self, prompts: list[str]) -> torch.Tensor:
        """``[len(prompts), 2]`` logits of (good, bad); differentiable when grad is on."""
        ids, mask = self.encode(prompts)
        last = mask.sum(-1) - 1  # each row's final real token
        keep, where = torch.unique(last, return_inverse=True)  # the LM head runs only there
        out = self.model(input_ids=ids, attention_mask=mask, logits_to_keep=keep)
        final = out.logits[torch.arange(len(prompts), device=ids.device), where].float()
        return torch.stack([final[:, self.labels.good_id], final[:, self.labels.bad_id]], dim=-1)

    def score_prompts(
        self, prompts: list[str], quiet: bool = True, label: str = "scoring"
    ) -> list[Verdict]:
        """Verdicts on judge prompts; launched distributed, each rank judges its share and
        all get every verdict."""
        return distributed.map_sharded(
            lambda idx: self._score(
                [prompts[i] for i in idx], quiet or not distributed.is_main(), label
            ),
            len(prompts),
        )

    @torch.inference_mode()
    def _score(self, prompts: list[str], quiet: bool, label: str) -> list[Verdict]:
        if self.judge is not None:
            return self.judge(prompts)
        verdicts: list[Verdict] = []
        was_training = self.model.training
        self.model.eval()
        with (
            self.active(),
            progress_bar(label, total=len(prompts), unit="traj", quiet=quiet) as bar,
        ):
            for i in range(0, len(prompts), self.batch_size):
                batch = prompts[i : i + self.batch_size]
                probs = torch.softmax(self.label_logits(batch), dim=-1)[:, 0].tolist()
                verdicts += [Verdict(p, two_way_entropy(p)) for p in probs]
                bar.advance(len(batch))
        self.model.train(was_training)
        return verdicts

    def score(
        self, questions: list[str], solutions: list[str], template: int = 0, quiet: bool = True
    ) -> list[Verdict]:
        """Outcome verdicts: is each solution to its question correct?"""
        prompts = [
            judge_prompt(q, s, self.labels, template)
            for q, s in zip(questions, solutions, strict=True)
        ]
        return self.score_prompts(prompts, quiet=quiet)

    def score_steps(
        self, questions: list[str], solutions: list[str], quiet: bool = True
    ) -> list[list[float]]:
        """p(good) of every step of every solution, judged on the solution up to that step."""
        prompts, owners = [], []
        for k, (q, s) in enumerate(zip(questions, solutions, strict=True)):
            lines = split_steps(s)
            for i in range(len(lines)):
                prompts.append(step_prompt(q, "\n".join(lines[: i + 1]), self.labels))
                owners.append(k)
        verdicts = self.score_prompts(prompts, quiet=quiet, label="step scoring")
        out: list[list[float]] = [[] for _ in solutions]
        for k, v in zip(owners, verdicts, strict=True):
            out[k].append(v.p_good)
        return out


def combine(outcome: float, steps: list[float], how: str) -> float:
    """Trajectory reward from the outcome verdict and the step verdicts."""
    if how == "outcome" or not steps:
        return outcome
    if how == "min":
        return min(outcome, min(steps))
    if how == "mean":
        return (outcome + sum(steps) / len(steps)) / 2
    if how == "product":
        return outcome * math.prod(steps)
    raise ValueError(f"unknown combination {how!r}; use outcome, min, mean or product")
