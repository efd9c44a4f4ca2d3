"""`wordmath`: procedurally generated GSM8K-style arithmetic word problems, levels 1-8.

A problem is a short story whose sentences each change one quantity (shopping, passengers on
a train, ages, water in a tank, work done, percentages). **The level is the reasoning depth
and nothing else**: a level-d problem chains exactly d operations, and numbers, operations
and sentence templates are drawn from the same ranges at every level, so a model trained on
the lower levels has seen every primitive the higher ones use (see docs/tiny-model.md, "the
edge of competence"). Generation is deterministic by seed and unlimited; a problem's split is
a hash of its text, so the splits (train, pool, validation, test) never share a problem.

Reference solutions follow the seed's format: name the variable, write one line per step
that restates its sentence and computes, verify the last step by its inverse, end with
``#### <answer>``. Some steps can be computed in two ways (``x = 12 + 5`` or ``x = 5 + 12``;
a percentage as the part removed or the share kept), chosen at random per step, so a
problem has several distinct right solutions as GSM8K problems do.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from fractions import Fraction

from seal.errors import SealError
from seal.tasks import register
from seal.tasks.answers import answers_equal, extract_answer
from seal.tasks.base import Problem

SPLITS: dict[str, tuple[int, int]] = {
    "train": (0, 70),
    "pool": (70, 85),
    "validation": (85, 90),
    "test": (90, 100),
}
"""Hash-bucket ranges (out of 100) that assign every possible problem to exactly one split."""


@dataclass(frozen=True)
class Level:
    steps: tuple[int, int]
    """Range of reasoning steps (inclusive)."""
    start: tuple[int, int]
    operand: tuple[int, int]
    cap: int
    """Largest value any intermediate result may take."""


MAX_LEVEL = 8
START, OPERAND, CAP = (2, 60), (2, 25), 150
"""The number ranges of every level: starting value, operands, largest intermediate value."""

LEVELS: dict[int, Level] = {
    d: Level(steps=(d, d), start=START, operand=OPERAND, cap=CAP) for d in range(1, MAX_LEVEL + 1)
}
"""Level d = exactly d chained operations, same numbers and templates at every level."""

NAMES = (
    "Mia Leo Ava Noah Emma Liam Zoe Omar Lena Ivan Sara Hugo Nina Tom Ana Ben Lucy Raj "
    "Kate Sam Eva Max Ruth Paul Iris Dan Amy Carl Jade Felix"
).split()
_FEMALE = set("Mia Ava Emma Zoe Lena Sara Nina Ana Lucy Kate Eva Ruth Iris Amy Jade".split())
ITEMS = ["apples", "marbles", "stickers", "books", "cookies", "pencils", "shells", "cards"]
THINGS = ["book", "lamp", "game", "shirt", "bag", "toy", "ticket", "plant"]
MULT_WORDS = {2: "doubles", 3: "triples", 4: "quadruples"}
MULT_INTRANS = {2: "double", 3: "triple", 4: "quadruple"}
PERCENTS = (10, 20, 25, 50)


@dataclass(frozen=True)
class _Step:
    op: str
    sentence: str
    equation: str
    check: str
    result: int


def _bucket(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big") % 100


class _Story:
    """Phrases for one story theme; ``phrase`` returns None when an op does not fit."""

    ops: tuple[str, ...] = ()

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.name = rng.choice(NAMES)
        female = self.name in _FEMALE
        self.he, self.his, self.him = ("She", "her", "her") if female else ("He", "his", "him")

    def intro(self, value: int) -> str: ...
    def variable(self) -> str: ...
    def question(self) -> str: ...
    def phrase(self, op: str, n: int) -> str: ...


class _Items(_Story):
    ops = ("add", "sub", "mul", "div", "pct")

    def __init__(self, rng: random.Random):
        super().__init__(rng)
        self.item = rng.choice(ITEMS)
        self.other = rng.choice([n for n in NAMES if n != self.name])

    def intro(self, value: int) -> str:
        return f"{self.name} has {value} {self.item}."

    def variable(self) -> str:
        return f"the number of {self.item} {self.name} has"

    def question(self) -> str:
        return f"How many {self.item} does {self.name} have now?"

    def phrase(self, op: str, n: int) -> str:
        he, it = self.he, self.item
        return {
            "add": lambda: self.rng.choice(
                [
                    f"{he} buys {n} more {it}.",
                    f"{he} finds {n} more {it}.",
                    f"{self.other} gives {self.him} {n} {it}.",
                ]
            ),
            "sub": lambda: self.rng.choice(
                [
                    f"{he} gives {n} {it} to {self.other}.",
                    f"{he} sells {n} {it}.",
                    f"{he} loses {n} {it}.",
                ]
            ),
            "mul": lambda: f"{he} {MULT_WORDS[n]} the number of {it}.",
            "div": lambda: f"{he} shares the {it} equally among {n} boxes and keeps one box.",
            "pct": lambda: f"{he} sells {n}% of the {it}.",
        }[op]()


class _Money(_Story):
    ops = ("add", "sub", "mul", "div", "pct")

    def intro(self, value: int) -> str:
        return f"{self.name} has ${value}."

    def variable(self) -> str:
        return f"the money {self.name} has, in dollars"

    def question(self) -> str:
        return f"How many dollars does {self.name} have now?"

    def phrase(self, op: str, n: int) -> str:
        he, his, thing = self.he, self.his, self.rng.choice(THINGS)
        return {
            "add": lambda: self.rng.choice(
                [f"{he} earns ${n} more.", f"{he} gets ${n} as a gift."]
            ),
            "sub": lambda: self.rng.choice(
                [f"{he} spends ${n} on a {thing}.", f"{he} pays ${n} for a {thing}."]
            ),
            "mul": lambda: f"{his.capitalize()} savings {MULT_INTRANS[n]}.",
            "div": lambda: f"{he} splits {his} money equally into {n} jars and keeps one jar.",
            "pct": lambda: f"{he} spends {n}% of {his} money on a {thing}.",
        }[op]()


class _Train(_Story):
    ops = ("add", "sub", "mul", "div", "pct")

    def intro(self, value: int) -> str:
        return f"A train leaves the station with {value} passengers."

    def variable(self) -> str:
        return "the number of passengers on the train"

    def question(self) -> str:
        return "How many passengers are on the train now?"

    def phrase(self, op: str, n: int) -> str:
        return {
            "add": lambda: f"At the next stop, {n} passengers get on.",
            "sub": lambda: f"At the next stop, {n} passengers get off.",
            "mul": lambda: f"At the big city, the number of passengers {MULT_WORDS[n]}.",
            "div": lambda: f"The train is split into {n} equal parts and only one part goes on.",
            "pct": lambda: f"At the next stop, {n}% of the passengers get off.",
        }[op]()


class _Tank(_Story):
    ops = ("add", "sub", "pct", "rate")

    def intro(self, value: int) -> str:
        return f"A tank holds {value} liters of water."

    def variable(self) -> str:
        return "the liters of water in the tank"

    def question(self) -> str:
        return "How many liters of water are in the tank now?"

    def phrase(self, op: str, n: int) -> str:
        return {
            "add": lambda: f"Rain adds {n} liters.",
            "sub": lambda: f"A leak drains {n} liters.",
            "pct": lambda: f"{n}% of the water is used for the garden.",
        }[op]()


class _Work(_Story):
    ops = ("add", "sub", "pct", "rate")

    def __init__(self, rng: random.Random):
        super().__init__(rng)
        self.item = rng.choice(["chairs", "tables", "boxes", "toys"])

    def intro(self, value: int) -> str:
        return f"A workshop has {value} {self.item}."

    def variable(self) -> str:
        return f"the number of {self.item} in the workshop"

    def question(self) -> str:
        return f"How many {self.item} does the workshop have now?"

    def phrase(self, op: str, n: int) -> str:
        return {
            "add": lambda: f"The workers make {n} more {self.item}.",
            "sub": lambda: f"The workshop sells {n} {self.item}.",
            "pct": lambda: f"{n}% of the {self.item} are shipped to a store.",
        }[op]()


class _Ages(_Story):
    ops = ("add", "sub", "mul", "div")

    def __init__(self, rng: random.Random):
        super().__init__(rng)
        self.people = rng.sample(NAMES, MAX_LEVEL + 1)
        self.name = self.people[0]
        self.k = 0

    def intro(self, value: int) -> str:
        return f"{self.name} is {value} years old."

    def variable(self) -> str:
        return "that person's age in years"

    def question(self) -> str:
        return f"How old is {self.people[self.k]}?"

    def phrase(self, op: str, n: int) -> str:
        prev, cur = self.people[self.k], self.people[self.k + 1]
        self.k += 1
        return {
            "add": lambda: f"{cur} is {n} years older than {prev}.",
            "sub": lambda: f"{cur} is {n} years younger than {prev}.",
            "mul": lambda: f"{cur} is {n} times as old as {prev}.",
            "div": lambda: f"{cur} is {prev}'s age divided by {n}.",
        }[op]()

    def lhs(self) -> str:
        return self.people[self.k]


_THEMES: tuple[type[_Story], ...] = (_Items, _Money, _Train, _Tank, _Work, _Ages)


def _feasible(op: str, x: int, lv: Level, rng: random.Random) -> int | tuple[int, int] | None:
    """An operand for ``op`` that keeps the value a positive integer within the level's cap."""
    lo, hi = lv.operand
    if op == "add":
        hi = min(hi, lv.cap - x)
        return rng.randint(lo, hi) if hi >= lo else None
    if op == "sub":
        hi = min(hi, x - 1)
        return rng.randint(lo, hi) if hi >= lo else None
    if op == "mul":
        ks = [k for k in (2, 3, 4) if x * k <= lv.cap]
        return rng.choice(ks) if ks else None
    if op == "div":
        ks = [k for k in (2, 3, 4, 5) if x % k == 0 and x // k >= 1]
        return rng.choice(ks) if ks else None
    if op == "pct":
        ps = [p for p in PERCENTS if (x * p) % 100 == 0 and x * p // 100 >= 1]
        return rng.choice(ps) if ps else None
    if op == "rate":
        for _ in range(20):
            a, b = rng.randint(2, 12), rng.randint(2, 9)
            if x + a * b <= lv.cap:
                return (a, b)
        return None
    raise ValueError(op)


def _apply(
    op: str, x: int, n: int | tuple[int, int], story: _Story, var: str, rng: random.Random
) -> _Step:
    """One step: its sentence, the solution line's arithmetic (one of the step's ways of
    computing it, at random) and the check by the inverse operation."""
    way = rng.random() < 0.5
    if op == "rate":
        a, b = n  # type: ignore[misc]
        d = a * b
        if isinstance(story, _Tank):
            sentence = f"A pump adds {a} liters per minute for {b} minutes."
        else:
            sentence = f"{b} workers each make {a} more {story.item}."  # type: ignore[attr-defined]
        r = x + d
        # Two ways, each one operation per equation: a product and a sum in one expression
        # (``x = 53 + 9 * 6 = 107``) was two thirds of the previous model's wrong lines.
        if way:
            eq = f"{a} * {b} = {d}, {var} = {x} + {d} = {r}."
        else:
            eq = f"{b} * {a} = {d}, {var} = {d} + {x} = {r}."
        return _Step(op, sentence, eq, f"{r} - {d} = {x}", r)
    assert isinstance(n, int)
    sentence = story.phrase(op, n)
    if op == "add":
        r = x + n
        eq = f"{var} = {x} + {n} = {r}." if way else f"{var} = {n} + {x} = {r}."
        return _Step(op, sentence, eq, f"{r} - {n} = {x}", r)
    if op == "sub":
        r = x - n
        return _Step(op, sentence, f"{var} = {x} - {n} = {r}.", f"{r} + {n} = {x}", r)
    if op == "mul":
        r = x * n
        eq = f"{var} = {x} * {n} = {r}." if way else f"{var} = {n} * {x} = {r}."
        return _Step(op, sentence, eq, f"{r} / {n} = {x}", r)
    if op == "div":
        r = x // n
        return _Step(op, sentence, f"{var} = {x} / {n} = {r}.", f"{r} * {n} = {x}", r)
    if op == "pct":
        d = x * n // 100
        r = x - d
        if way:
            eq = f"{x} * {n} / 100 = {d}, {var} = {x} - {d} = {r}."
        else:
            eq = f"{100 - n}% is left: {var} = {x} * {100 - n} / 100 = {r}."
        return _Step(op, sentence, eq, f"{r} + {d} = {x}", r)
    raise ValueError(op)


def _chain_problem(rng: random.Random, lv: Level, steps: int) -> tuple[str, str, int, list[str]]:
    story = rng.choice(_THEMES)(rng)
    x = rng.randint(*lv.start)
    sentences = [story.intro(x)]
    var0 = story.name if isinstance(story, _Ages) else "x"
    lines = (
        [f"Let x = {story.variable()}."]
        if var0 == "x"
        else [f"Let each name stand for {story.variable()}."]
    )
    lines.append(f"{sentences[0][:-1]}: {var0} = {x}.")
    ops_used: list[str] = []
    step: _Step | None = None
    for _ in range(steps):
        choices = list(story.ops)
        rng.shuffle(choices)
        for op in choices:
            n = _feasible(op, x, lv, rng)
            if n is not None:
                break
        else:  # every op infeasible: cannot happen with the level table, but stay total
            raise RuntimeError("no feasible operation")
        var = story.people[story.k + 1] if isinstance(story, _Ages) else "x"
        step = _apply(op, x, n, story, var, rng)
        sentences.append(step.sentence)
        lines.append(f"{step.sentence[:-1]}: {step.equation}")
        ops_used.append(op)
        x = step.result
    assert step is not None
    lines.append(f"Check: {step.check}.")
    lines.append(f"#### {x}")
    question = " ".join(sentences) + " " + story.question()
    return question, "\n".join(lines), x, ops_used


def generate(level: int, rng: random.Random) -> Problem:
    """One problem of ``level`` drawn from ``rng`` (any split)."""
    lv = LEVELS[level]
    steps = rng.randint(*lv.steps)
    question, solution, answer, ops = _chain_problem(rng, lv, steps)
    pid = f"wm-L{level}-{hashlib.blake2b(question.encode(), digest_size=6).hexdigest()}"
    return Problem(
        id=pid,
        question=question,
        answer=str(answer),
        level=level,
        solution=solution,
        meta={"ops": ops},
    )


def split_of(question: str) -> str:
    """The split a question belongs to, from its hash."""
    b = _bucket(question)
    return next(name for name, (lo, hi) in SPLITS.items() if lo <= b < hi)


def iter_problems(split: str, level: int, seed: int = 0):
    """Unlimited deterministic stream of distinct problems of ``level`` in ``split``."""
    if split not in SPLITS:
        raise SealError(f"unknown wordmath split {split!r}; choose one of {', '.join(SPLITS)}")
    if level not in LEVELS:
        raise SealError(f"unknown wordmath level {level}; levels are 1-{MAX_LEVEL}")
    lo, hi = SPLITS[split]
    seen: set[str] = set()
    counter = 0
    while True:
        rng = random.Random(f"wordmath/{seed}/{level}/{counter}")
        counter += 1
        p = generate(level, rng)
        if lo <= _bucket(p.question) < hi and p.question not in seen:
            seen.add(p.question)
            yield p


# ---------------------------------------------------------------- step verification

_NUMBER = r"(?:\d[\d,]*(?:\.\d+)?|\.\d+)"  # 1,200 / 0.5 / .5 (GSM8K writes 30*.5)
_SIGNS = "-−–+*/×÷"  # minus, Unicode minus, en dash, plus, times, divide
_OPS = _SIGNS + "xX"  # 3 x 4, 270 X 7
_TERM = rf"\(*[-−–]?{_NUMBER}\)*"
_EXPR = rf"{_TERM}(?:\s*[{_OPS}]\s*{_TERM})*"
_CHAIN = re.compile(rf"(?<![\d.])(?<!\d:)({_EXPR})((?:\s*=\s*{_EXPR})+)")
_OPEN_BEFORE = re.compile(rf"(?:[\w)(√&]|[\w)%]\s*[{_OPS}^]\s*|\d\s+)$")
"""Text before a chain that makes its left side part of a longer expression the checker
cannot read: a variable or operator (``x+x+30=110``, ``3x + 4 = 28``, ``60g * 4/5``), a
factor written next to a bracket (``27(1/3)=9``), a root, or a mixed number
(``3 1/2 - 2 = 1 1/2``). A clock time (``12:00 - 8:00``) starts no chain."""
_OPEN_AFTER = re.compile(rf"[(%]|[A-Za-z](?![A-Za-z])|\s+\d+/\d|\s*[{_SIGNS}^]")
"""Text after a chain that makes its last value part of something longer: an operator the
chain could not read on (``3 = 1+ F``), a bracket, a percentage (``3 / 6 = 50%``), a
one-letter variable or unit (``250=(5/2)x``, ``240g/5``), or a mixed number's fraction
(``= 3 1/2``)."""


@dataclass(frozen=True)
class Equation:
    text: str
    claimed: Fraction
    actual: Fraction | None

    @property
    def ok(self) -> bool:
        return self.actual is not None and self.actual == self.claimed


@dataclass(frozen=True)
class StepCheck:
    """One line of a solution and whether every equation on it holds."""

    index: int
    text: str
    equations: tuple[Equation, ...]

    @property
    def ok(self) -> bool | None:
        """True/False for lines with arithmetic; None for lines without any equation."""
        if not self.equations:
            return None
        return all(e.ok for e in self.equations)


def _eval(expr: str) -> Fraction | None:
    """The exact value of ``expr``; None when it cannot be read or divides by zero."""
    try:
        return _compute(expr)
    except (ValueError, ZeroDivisionError):
        return None


def _compute(expr: str) -> Fraction:
    """The exact value of ``expr``: ``ValueError`` when it cannot be read,
    ``ZeroDivisionError`` when it divides by zero."""
    tokens = re.findall(rf"{_NUMBER}|[{_OPS}()]", expr)
    signs = {"x": "*", "X": "*", "×": "*", "÷": "/", "−": "-", "–": "-"}
    cleaned = "".join(
        t.replace(",", "") if t[0].isdigit() or t[0] == "." else signs.get(t, t) for t in tokens
    )
    # A tiny recursive-descent evaluator over + - * / and parentheses, exact in fractions.
    pos = 0

    def number() -> Fraction:
        nonlocal pos
        m = re.match(r"\d*\.?\d+", cleaned[pos:])
        if not m:
            raise ValueError(cleaned)
        pos += m.end()
        return Fraction(m.group())

    def factor() -> Fraction:
        nonlocal pos
        if cleaned[pos : pos + 1] == "(":
            pos += 1
            v = sum_()
            if cleaned[pos : pos + 1] != ")":
                raise ValueError(cleaned)
            pos += 1
            return v
        if cleaned[pos : pos + 1] == "-":
            pos += 1
            return -factor()
        return number()

    def product() -> Fraction:
        nonlocal pos
        v = factor()
        while pos < len(cleaned) and cleaned[pos] in "*/":
            op = cleaned[pos]
            pos += 1
            rhs = factor()
            v = v * rhs if op == "*" else v / rhs
        return v

    def sum_() -> Fraction:
        nonlocal pos
        v = product()
        while pos < len(cleaned) and cleaned[pos] in "+-":
            op = cleaned[pos]
            pos += 1
            rhs = product()
            v = v + rhs if op == "+" else v - rhs
        return v

    try:
        value = sum_()
    except IndexError as e:
        raise ValueError(cleaned) from e
    if pos != len(cleaned):
        raise ValueError(cleaned)
    return value


def check_steps(solution: str) -> list[StepCheck]:
    """Split a solution into lines (steps) and check the arithmetic of every ``a op b = c``.

    A chain ``e1 = e2 = e3`` is checked link by link against its last value, so
    ``x = 12 + 5 = 17`` checks ``12 + 5 == 17``; a lone ``x = 12`` has nothing to check.
    """
    checks = []
    for i, line in enumerate(ln for ln in solution.splitlines() if ln.strip()):
        eqs = []
        text = re.sub(r"\$(?=[\d.])", "", line)  # $2000/$8 = 250
        for m in _CHAIN.finditer(text):
            if _OPEN_BEFORE.search(text[: m.start()]) or _OPEN_AFTER.match(text[m.end() :]):
                continue  # part of algebra or a mixed number: not a plain a op b = c
            parts = [m.group(1)] + re.split(r"\s*=\s*", m.group(2).strip())[1:]
            parts = [p.strip() for p in parts if p.strip()]
            claimed = _eval(parts[-1])
            if claimed is None:
                continue
            for expr in parts[:-1]:
                if re.fullmatch(_TERM, expr.strip()) and _eval(expr) == claimed:
                    continue  # a restated number, nothing computed
                try:
                    actual: Fraction | None = _compute(expr)
                except ZeroDivisionError:
                    actual = None  # a false equation
                except ValueError:
                    continue  # what cannot be read is not checked
                eqs.append(Equation(f"{expr} = {parts[-1]}", claimed, actual))
        checks.append(StepCheck(i, line, tuple(eqs)))
    return checks


# ---------------------------------------------------------------- the task


@register("wordmath")
class WordMath:
    """The embedded synthetic task: levels 1-8 (reasoning depth); splits train, pool,
    validation, test."""

    name = "wordmath"
    splits = tuple(SPLITS)
    default_split = "test"
    default_shots = 0
    kind = "generate"
    each_quantity_once = True
    """Every quantity a question states enters one operation of its own (``critic.coverage``
    ``auto`` counts them: ``seal.critic.calculator.uses_each_quantity``)."""

    def __init__(self, levels: list[int] | None = None, seed: int = 0):
        if levels is not None and not isinstance(levels, list | tuple):
            raise SealError(f"wordmath levels are a list such as [4, 5], got {levels!r}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise SealError(f"the wordmath seed is an integer, got {seed!r}")
        self.levels = sorted(levels or LEVELS)
        bad = [lv for lv in self.levels if type(lv) is not int or lv not in LEVELS]
        if bad:
            shown = bad if len(bad) <= 5 else f"{bad[:3]} and {len(bad) - 3} more"
            raise SealError(f"unknown wordmath level(s) {shown}; levels are 1-{MAX_LEVEL}")
        self.seed = seed
        self._prefixes: dict[int, str] = {}

    def problems(self, split: str, limit: int | None = None) -> list[Problem]:
        """``limit`` problems per level (default 100), levels interleaved in order."""
        per_level = 100 if limit is None else limit
        if isinstance(per_level, bool) or not isinstance(per_level, int):
            raise SealError(f"--limit must be an integer, got {per_level!r}")
        if per_level <= 0:
            raise SealError(f"--limit must be positive, got {per_level}")
        out: list[Problem] = []
        for level in self.levels:
            stream = iter_problems(split, level, self.seed)
            out.extend(next(stream) for _ in range(per_level))
        return out

    def prompt(self, problem: Problem, shots: int = 0) -> str:
        return self._shots_prefix(shots) + format_prompt(problem.question)

    def _shots_prefix(self, shots: int) -> str:
        """``shots`` solved train problems of the lowest level, made once per count (not per
        prompt: a few-shot evaluation of 1,400 problems would otherwise generate ~40,000)."""
        cache = self._prefixes
        if shots not in cache:
            examples = self.problems("train", limit=shots)[:shots] if shots > 0 else []
            cache[shots] = "".join(
                format_prompt(ex.question) + " " + (ex.solution or "") + "\n\n" for ex in examples
            )
        return cache[shots]

    @property
    def stop(self) -> list[str]:
        return ["\n\n", "Question:"]

    def extract(self, completion: str) -> str | None:
        return extract_answer(completion)

    def verify(self, problem: Problem, completion: str) -> bool:
        return answers_equal(self.extract(completion), problem.answer)


def format_prompt(question: str) -> str:
    """The zero-shot prompt the embedded model was trained on."""
    return f"Question: {question}\nAnswer:"
