"""Answer-time search: greedy, majority vote, best-of-N with the critic, Tree-of-Thoughts.

Tree-of-Thoughts builds a solution one step (one line) at a time. Breadth-first beam: at
each depth every frontier node gets ``branch`` sampled next steps (one batched sampler call
for all frontier nodes of all problems, stopping at the step delimiter), each new partial
solution is valued by the critic's step verdict (one batched critic call), and the best
``width`` unfinished nodes of each problem stay on the frontier; finished nodes (a final
answer or the end of text) are valued by the critic's outcome verdict and kept aside.
Depth-first: the best child first, children under ``threshold`` pruned, backtracking to the
next-best sibling when a branch dies, until a finished node clears the threshold or the
expansion budget runs out. The answer is the best finished node's (``choose="value"``) or
the answer with the largest summed value (``choose="vote"``). Every search reports its
budget: tokens generated, critic calls, seconds.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal

from seal.config import SealConfig
from seal.critic.model import Critic
from seal.critic.prompt import step_prompt
from seal.errors import SealError
from seal.generation.base import Sampler, SamplingParams
from seal.metrics import majority
from seal.tasks.base import Problem, Task

NO_SOLUTION = "no solution found"


@dataclass
class Node:
    step: str
    text: str
    """The partial solution up to and including this step."""
    depth: int
    value: float = 0.0
    finished: bool = False
    children: list[Node] = field(default_factory=list)
    chosen: bool = False


@dataclass
class SearchResult:
    answer: str | None
    text: str
    tokens: int
    critic_calls: int
    seconds: float
    candidates: int
    tree: Node | None = None

    @property
    def found(self) -> bool:
        return self.answer is not None


@dataclass(frozen=True)
class SearchSettings:
    method: Literal["greedy", "majority", "best-of-n", "tot", "tot-dfs"] = "tot"
    n: int = 8
    """Samples for majority and best-of-N."""
    branch: int = 3
    width: int = 2
    depth: int = 8
    step_tokens: int = 48
    threshold: float = 0.3
    """tot-dfs: children valued below this are pruned."""
    expansions: int = 24
    """tot-dfs: most nodes expanded per problem."""
    choose: Literal["value", "vote"] = "value"
    temperature: float = 1.0
    max_new_tokens: int = 256
    seed: int = 0

    @classmethod
    def from_config(cls, cfg: SealConfig, **overrides: object) -> SearchSettings:
        """The ``search`` section with the sampling section's temperature, length and seed."""
        return cls(
            **cfg.search.model_dump()
            | {
                "temperature": cfg.sampling.temperature,
                "max_new_tokens": cfg.sampling.max_new_tokens,
                "seed": cfg.sampling.seed,
            }
            | overrides
        )

    def check(self) -> None:
        for name in ("n", "branch", "width", "depth", "step_tokens", "expansions"):
            if getattr(self, name) < 1:
                raise SealError(f"search {name} must be at least 1, got {getattr(self, name)}")


NEEDS_CRITIC = ("best-of-n", "tot", "tot-dfs")


def require_critic(method: str, critic_dir: object) -> None:
    """One line, before any model loads, when a search that needs a critic has none."""
    if method in NEEDS_CRITIC and critic_dir is None:
        raise SealError(
            f"--search {method} needs --critic DIR (from `seal critic train`, or a run's "
            "RUN/iter-N/critic); --search greedy or majority needs none"
        )


def require_generated(method: str, task: object) -> None:
    """One line, before any model loads, when a search is asked of a task whose answers are
    not generated (multiple choice, scored by log-likelihood: there is nothing to search)."""
    if getattr(task, "kind", "generate") != "generate":
        name = getattr(task, "name", "this task")
        raise SealError(
            f"--search {method} searches generated answers; {name} is multiple choice, "
            "scored by log-likelihood (evaluate it without --search)"
        )


def unused_critic(method: str | None, critic_dir: object) -> None:
    """One line when ``--critic`` is given to a search that does not use it (``None``: no
    search at all), instead of loading it for nothing and leaving the user to believe it
    ranked the answers."""
    if critic_dir is not None and method not in NEEDS_CRITIC:
        how = "without --search" if method is None else f"with --search {method}"
        raise SealError(
            f"--critic is used by --search {', '.join(NEEDS_CRITIC)}; {how} it would go unused"
        )


def _finished(step: str, reason: str) -> bool:
    low = step.lower()
    return reason == "eos" or "####" in step or "the answer is" in low


class Searcher:
    def __init__(
        self, task: Task, sampler: Sampler, critic: Critic | None, settings: SearchSettings
    ):
        settings.check()
        if settings.method in NEEDS_CRITIC and critic is None:
            raise SealError(f"search {settings.method} needs a critic (--critic DIR)")
        self.task, self.sampler, self.critic, self.s = task, sampler, critic, settings

    # ------------------------------------------------------------------ flat methods
    def _sample(self, prompts: list[str], n: int, temperature: float) -> list[list]:
        params = SamplingParams(
            n=n,
            temperature=temperature,
            max_new_tokens=self.s.max_new_tokens,
            stop=tuple(self.task.stop),
            seed=self.s.seed,
        )
        return self.sampler.sample(prompts, params, quiet=True)

    def _flat(self, problems: list[Problem]) -> list[SearchResult]:
        s, start = self.s, time.perf_counter()
        prompts = [self.task.prompt(p) for p in problems]
        n = 1 if s.method == "greedy" else s.n
        outs = self._sample(prompts, n, 0.0 if s.method == "greedy" else s.temperature)
        values: list[list[float]] = [[1.0] * len(o) for o in outs]
        calls = 0
        if s.method == "best-of-n":
            flat = [(p.question, c.text) for p, o in zip(problems, outs, strict=True) for c in o]
            verdicts = self.critic.score([q for q, _ in flat], [t for _, t in flat])  # type: ignore[union-attr]
            calls = len(flat)
            it = iter(v.p_good for v in verdicts)
            values = [[next(it) for _ in o] for o in outs]
        elapsed = (time.perf_counter() - start) / max(1, len(problems))
        results = []
        for o, vals in zip(outs, values, strict=True):
            answers = [self.task.extract(c.text) for c in o]
            if s.method == "majority":
                answer = majority(answers)
                text = next((c.text for c, a in zip(o, answers, strict=True) if a == answer), "")
            else:
                best = max(range(len(o)), key=lambda i: vals[i])
                answer, text = answers[best], o[best].text
            results.append(
                SearchResult(
                    answer=answer,
                    text=text,
                    tokens=sum(c.num_tokens for c in o),
                    critic_calls=calls // max(1, len(problems)),
                    seconds=elapsed,
                    candidates=len(o),
                )
            )
        return results

    # ------------------------------------------------------------------ tree search
    def _expand(self, problems: list[Problem], nodes: list[tuple[int, Node]], seed: int) -> int:
        """Give every ``(problem index, node)`` its children, valued; returns tokens used."""
        prompts = [
            self.task.prompt(problems[i]) + (" " + node.text + "\n" if node.text else "")
            for i, node in nodes
        ]
        params = SamplingParams(
            n=self.s.branch,
            temperature=self.s.temperature,
            max_new_tokens=self.s.step_tokens,
            stop=("\n", *self.task.stop),
            seed=seed,
        )
        outs = self.sampler.sample(prompts, params, quiet=True)
        tokens = 0
        fresh: list[tuple[int, Node]] = []
        for (i, node), comps in zip(nodes, outs, strict=True):
            seen = set()
            for c in comps:
                tokens += c.num_tokens
                step = c.text.strip()
                if not step or step in seen:
                    continue
                seen.add(step)
                text = f"{node.text}\n{step}" if node.text else step
                child = Node(step, text, node.depth + 1, finished=_finished(step, c.finish_reason))
                node.children.append(child)
                fresh.append((i, child))
        self._value(problems, fresh)
        return tokens

    def _value(self, problems: list[Problem], nodes: list[tuple[int, Node]]) -> None:
        critic = self.critic
        assert critic is not None
        done = [(i, n) for i, n in nodes if n.finished]
        partial = [(i, n) for i, n in nodes if not n.finished]
        if done:
            verdicts = critic.score(
                [problems[i].question for i, _ in done], [n.text for _, n in done]
            )
            for (_, n), v in zip(done, verdicts, strict=True):
                n.value = v.p_good
        if partial:
            prompts = [step_prompt(problems[i].question, n.text, critic.labels) for i, n in partial]
            for (_, n), v in zip(partial, critic.score_prompts(prompts, quiet=True), strict=True):
                n.value = v.p_good
        self._calls += len(nodes)

    def _choose(self, finished: list[Node]) -> tuple[str | None, str]:
        if not finished:
            return None, ""
        if self.s.choose == "vote":
            score: dict[str | None, float] = defaultdict(float)
            for n in finished:
                score[self.task.extract(n.text)] += n.value
            answer = max((a for a in score if a is not None), key=lambda a: score[a], default=None)
            best = max(
                (n for n in finished if self.task.extract(n.text) == answer),
                key=lambda n: n.value,
                default=None,
            )
            return answer, best.text if best else ""
        best = max(finished, key=lambda n: n.value)
        return self.task.extract(best.text), best.text

    def _tot(self, problems: list[Problem]) -> list[SearchResult]:
        s = self.s
        start = time.perf_counter()
        roots = [Node("", "", 0) for _ in problems]
        frontier: list[list[Node]] = [[r] for r in roots]
        finished: list[list[Node]] = [[] for _ in problems]
        tokens = [0] * len(problems)
        self._calls = 0
        calls = [0] * len(problems)
        for depth in range(s.depth):
            todo = [(i, n) for i, f in enumerate(frontier) for n in f]
            if not todo:
                break
            before = self._calls
            used = self._expand(problems, todo, s.seed * 1000 + depth)
            # attribute tokens and calls to problems by their share of the frontier
            share = defaultdict(int)
            for i, _ in todo:
                share[i] += 1
            for i, k in share.items():
                tokens[i] += used * k // len(todo)
                calls[i] += (self._calls - before) * k // len(todo)
            for i, f in enumerate(frontier):
                children = [c for n in f for c in n.children]
                finished[i] += [c for c in children if c.finished]
                open_ = sorted((c for c in children if not c.finished), key=lambda c: -c.value)
                frontier[i] = open_[: s.width] if depth < s.depth - 1 else []
        elapsed = (time.perf_counter() - start) / max(1, len(problems))
        results = []
        for i, root in enumerate(roots):
            answer, text = self._choose(finished[i])
            _mark(root, text)
            results.append(
                SearchResult(answer, text, tokens[i], calls[i], elapsed, len(finished[i]), root)
            )
        return results

    def _dfs(self, problem: Problem) -> SearchResult:
        s = self.s
        start = time.perf_counter()
        root = Node("", "", 0)
        self._calls = 0
        tokens, expansions = 0, 0
        finished: list[Node] = []
        stack = [root]
        while stack and expansions < s.expansions:
            node = stack.pop()
            if node.depth >= s.depth:
                continue
            tokens += self._expand([problem], [(0, node)], s.seed * 1000 + expansions)
            expansions += 1
            good = [c for c in node.children if c.value >= s.threshold]
            done = [c for c in good if c.finished]
            finished += done
            if done:
                break
            # best child on top of the stack: explored first, siblings on backtrack
            stack += sorted((c for c in good if not c.finished), key=lambda c: c.value)
        answer, text = self._choose(finished)
        _mark(root, text)
        return SearchResult(
            answer, text, tokens, self._calls, time.perf_counter() - start, len(finished), root
        )

    def run(self, problems: list[Problem]) -> list[SearchResult]:
        if self.s.method in ("greedy", "majority", "best-of-n"):
            return self._flat(problems)
        if self.s.method == "tot":
            return self._tot(problems)
        return [self._dfs(p) for p in problems]


def _mark(root: Node, text: str) -> None:
    """Flag the nodes on the path to the chosen solution."""
    if not text:
        return
    stack = [root]
    while stack:
        n = stack.pop()
        if n.text and text.startswith(n.text):
            n.chosen = True
        stack += n.children


def render_tree(root: Node, max_children: int = 8) -> str:
    """Text rendering: one line per node, indented by depth, with its value; ``*`` marks the
    chosen path and ``#`` a finished node."""
    lines: list[str] = []

    def walk(node: Node, indent: int) -> None:
        for child in sorted(node.children, key=lambda c: -c.value)[:max_children]:
            mark = "*" if child.chosen else " "
            end = " #" if child.finished else ""
            lines.append(f"{'  ' * indent}{mark}[{child.value:.2f}] {child.step}{end}")
            walk(child, indent + 1)

    walk(root, 0)
    return "\n".join(lines)
