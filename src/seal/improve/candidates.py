"""An iteration's candidates: made (N samples or a Tree-of-Thoughts search), then scored.

A candidate is a plain row (prompt id, level, prompt, text, answer, verifier label, and the
critic's scores), written as it is to ``samples.parquet``. The selection score combines the
critic's verdict with its calculator (``critic.calculator``: a false equation, and
``critic.coverage``: a quantity of the question left unused, make a solution bad and keep
it from voting), with self-consistency (``run.vote_weight``: an
answer most of the prompt's samples reach leans good), and with the step verdicts when
``critic.combine`` asks; the verifier's label is kept for measurement and the oracle
baseline only.
"""

from __future__ import annotations

from typing import Any

from seal.config import SealConfig
from seal.critic.calculator import arithmetic_holds, covers_quantities, with_calculator
from seal.critic.data import Trajectory
from seal.critic.model import Critic, combine
from seal.critic.votes import vote_share, with_votes
from seal.generation.base import Sampler, SamplingParams
from seal.tasks.base import Problem, Task


def make_candidates(
    cfg: SealConfig,
    task: Task,
    sampler: Sampler,
    critic: Critic,
    problems: list[Problem],
    seed: int,
    quiet: bool = False,
) -> list[dict[str, Any]]:
    """Rows of ``(prompt, text, log-prob, tokens)`` candidates per problem, verifier label
    attached: N samples, or with ``run.search = tot`` every finished solution of a search
    (valued by the critic step by step; log-prob not tracked, tokens = the search's share)."""
    r = cfg.run
    if r.search == "tot":
        from seal.search import Searcher, SearchSettings

        settings = SearchSettings.from_config(cfg, method="tot", seed=seed)
        outs = []
        for res in Searcher(task, sampler, critic, settings).run(problems):
            finished, stack = [], [res.tree]
            while stack:
                node = stack.pop()
                finished += [c for c in node.children if c.finished]
                stack += node.children
            share = res.tokens // max(1, len(finished))
            outs.append([(n.text, 0.0, share) for n in finished])
    else:
        s = cfg.sampling
        params = SamplingParams(
            n=r.samples,
            temperature=s.temperature,
            top_p=s.top_p,
            top_k=s.top_k,
            max_new_tokens=s.max_new_tokens,
            stop=tuple(task.stop),
            seed=seed,
        )
        comps = sampler.sample([task.prompt(p) for p in problems], params, quiet=quiet)
        outs = [[(c.text, c.logprob, c.num_tokens) for c in cs] for cs in comps]
    rows = []
    for p, cands in zip(problems, outs, strict=True):
        prompt = task.prompt(p)
        for text, logprob, tokens in cands:
            rows.append(
                {
                    "prompt_id": p.id,
                    "level": p.level,
                    "question": p.question,
                    "prompt": prompt,
                    "text": text,
                    "answer": task.extract(text),
                    "logprob": logprob,
                    "tokens": tokens,
                    "truth": int(task.verify(p, text)),
                }
            )
    return rows


def coverage_rule(setting: str, task: Task) -> str:
    """``critic.coverage`` for ``task``: ``auto`` counts (``each``) where every quantity a
    question states enters one operation of its own (the task's ``each_quantity_once``),
    else ``any``."""
    if setting != "auto":
        return setting
    return "each" if getattr(task, "each_quantity_once", False) else "any"


def score_candidates(
    cfg: SealConfig, task: Task, critic: Critic, rows: list[dict[str, Any]], quiet: bool = False
) -> list[Any]:
    """Add ``p_good`` / ``entropy`` (the critic's verdict), ``arithmetic`` (0 when
    ``critic.calculator`` found a false equation; 1 otherwise, also when it is off),
    ``coverage`` (0 when ``critic.coverage``, as ``coverage_rule`` reads it for ``task``,
    found a question quantity unused) and ``score``
    (the selection score) to every row; returns the critic's verdicts before votes (for
    self-labelling)."""
    c = cfg.critic
    questions, texts = [x["question"] for x in rows], [x["text"] for x in rows]
    verdicts = critic.score(questions, texts, quiet=quiet)
    arithmetic = [arithmetic_holds(t) if c.calculator else True for t in texts]
    rule = coverage_rule(c.coverage, task)
    covered = [covers_quantities(q, t, rule) for q, t in zip(questions, texts, strict=True)]
    holds = [a and u for a, u in zip(arithmetic, covered, strict=True)]
    verdicts = with_calculator(verdicts, holds)
    steps = (
        critic.score_steps(questions, texts, quiet=quiet)
        if c.combine != "outcome"
        else [[] for _ in rows]
    )
    trajs = [Trajectory(x["prompt_id"], x["question"], x["text"], x["answer"]) for x in rows]
    shares = vote_share(trajs, holds, among_voters=cfg.run.vote_among == "checked")
    sharpened = with_votes(verdicts, shares, cfg.run.vote_weight)
    for x, v, s, sv, ok, cov in zip(
        rows, verdicts, steps, sharpened, arithmetic, covered, strict=True
    ):
        x["p_good"], x["entropy"], x["arithmetic"], x["coverage"] = (
            v.p_good,
            v.entropy,
            int(ok),
            int(cov),
        )
        x["score"] = combine(sv.p_good, s, c.combine)
    return verdicts
