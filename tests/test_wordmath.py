import random
import re

import pytest

from seal.errors import SealError
from seal.tasks import get_task, task_names
from seal.tasks.wordmath import LEVELS, SPLITS, check_steps, generate, iter_problems, split_of


def _take(split: str, level: int, n: int, seed: int = 0):
    stream = iter_problems(split, level, seed)
    return [next(stream) for _ in range(n)]


def test_registered() -> None:
    assert "wordmath" in task_names()
    with pytest.raises(SealError, match="unknown task 'nope'; known tasks: .*wordmath"):
        get_task("nope")


def test_deterministic_by_seed() -> None:
    assert _take("test", 3, 20) == _take("test", 3, 20)
    assert [p.question for p in _take("test", 3, 20, seed=1)] != [
        p.question for p in _take("test", 3, 20, seed=0)
    ]


def test_splits_never_overlap() -> None:
    seen: dict[str, set[str]] = {}
    for split in SPLITS:
        qs = set()
        for level in LEVELS:
            qs |= {p.question for p in _take(split, level, 150)}
            qs |= {p.question for p in _take(split, level, 50, seed=7)}
        seen[split] = qs
    names = list(SPLITS)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not seen[a] & seen[b], (a, b)
    for split, qs in seen.items():
        assert all(split_of(q) == split for q in qs)


@pytest.mark.parametrize("level", sorted(LEVELS))
def test_every_reference_equation_holds(level: int) -> None:
    for p in _take("train", level, 300):
        steps = check_steps(p.solution)
        equations = [e for s in steps for e in s.equations]
        assert equations, p.solution
        assert all(e.ok for e in equations), p.solution
        # one line per reasoning step, plus the check; the final line is the answer
        # one computed line per operation: the level is the number of chained operations
        assert sum(s.ok is not None for s in steps) == level + 1  # + the check line
        assert len(p.meta["ops"]) == level
        assert p.solution.splitlines()[-1] == f"#### {p.answer}"
        assert p.solution.splitlines()[0].startswith("Let ")
        assert any(line.startswith("Check: ") for line in p.solution.splitlines())
        assert int(p.answer) > 0


def test_levels_differ_in_depth_only() -> None:
    """Every level draws numbers, operations and sentence templates from the same ranges:
    the lowest levels already show every primitive the deepest one uses."""

    def profile(levels: list[int]) -> tuple[set[str], set[int], int]:
        ops, numbers, biggest = set(), set(), 0
        for lv in levels:
            for p in _take("train", lv, 400):
                ops |= set(p.meta["ops"])
                nums = [int(n) for n in re.findall(r"\d+", p.question)]
                numbers |= set(nums)
                biggest = max(biggest, *nums, int(p.answer))
        return ops, numbers, biggest

    low_ops, low_numbers, low_max = profile([1, 2, 3, 4])
    high_ops, high_numbers, high_max = profile([max(LEVELS)])
    assert high_ops <= low_ops
    assert high_max <= low_max
    assert len(high_numbers - low_numbers) == 0
    assert [LEVELS[lv].steps for lv in sorted(LEVELS)] == [(d, d) for d in sorted(LEVELS)]


def test_solutions_have_distinct_right_forms() -> None:
    """Some steps are computed one of two ways (chosen per step), so the references of a
    level hold several right forms of the same operation, all of which check."""
    problems = _take("train", 3, 300)
    pcts = [p.solution for p in problems if "pct" in p.meta["ops"]]
    assert any("is left: " in s for s in pcts)
    assert any("/ 100 = " in s and "is left" not in s for s in pcts)
    rates = [p.solution for p in problems if "rate" in p.meta["ops"]]
    products = {
        re.search(r": (\d+ \* \d+) = ", line).group(1)
        for s in rates
        for line in s.splitlines()
        if " each make " in line or " per minute " in line
    }
    assert any(a.split(" * ") == b.split(" * ")[::-1] for a in products for b in products)
    assert generate(4, random.Random(11)) == generate(4, random.Random(11))


def test_one_operation_between_sum_and_product() -> None:
    """No reference adds and multiplies in one expression (``x = 53 + 9 * 6 = 107``): the
    previous model got two thirds of its wrong lines there; the product gets its own
    equation."""
    for level in (1, 4):
        for p in _take("train", level, 300):
            assert not re.search(r"[+-] \d+ \* \d+", p.solution), p.solution


def test_step_verifier_finds_the_wrong_step() -> None:
    p = generate(3, random.Random(5))
    lines = p.solution.splitlines()
    i = next(i for i, line in enumerate(lines) if "+" in line or "-" in line or "*" in line)
    lhs, rhs = lines[i].rsplit("= ", 1)
    lines[i] = f"{lhs}= {int(rhs.rstrip('.')) + 1}."
    checks = check_steps("\n".join(lines))
    assert checks[i].ok is False
    assert all(c.ok is not False for j, c in enumerate(checks) if j != i)


@pytest.mark.parametrize(
    ("line", "ok"),
    [
        ("x = 12 + 5 = 17.", True),
        ("x = 12 + 5 = 18.", False),
        ("40 * 25 / 100 = 10, x = 40 - 10 = 30.", True),
        ("40 * 25 / 100 = 12, x = 40 - 12 = 28.", False),
        ("(3 + 4) * 2 = 14", True),
        ("Let x = the apples.", None),
        ("Mia has 12 apples: x = 12.", None),
        ("x = 1,200 + 5 = 1,205", True),
        ("x = 7 / 0 = 3", False),
        # GSM8K's gold solutions: annotations, $ and leading-dot decimals are read ...
        ("Weng earns 12/60 = $<<12/60=0.2>>0.2 per minute.", True),
        ("200 GB * 40% = <<200*40*.01=80>>80 GB", True),
        ("Genevieve bought $2000/$8 = 250 kilograms", True),
        ("Charlie has 54 − 37 = 17 stickers left.", True),
        ("It lays 270 X 7 = 1890 eggs", True),
        ("So, Suzzane has $32 - $20 = $300 left.", False),
        # ... and what is algebra, a mixed number, a clock or a unit is not checked
        ("x+x+30=110", None),
        ("Then we add all the values together, 3x + 4 = 28.", None),
        ("After Friday, he had 3 1/2 - 2 = 1 1/2 hours of TV left.", None),
        ("Scottish Unicorns:27(1/3)=9", None),
        ("Carla works 12:00 - 8:00 = 4 hours", None),
        ("I can eat only 60g * 4/5 = 240g/5 = 48 grams", None),
        ("Colin skips at (2/3*6=4 miles per hour).", None),
        ("The chances are 3 / 6 = 50%.", None),
        ("250=(5/2)x", None),
        # a model's slip after a colon is still one
        ("A is 6 years older than Nina:8 * 10 = 60.", False),
    ],
)
def test_step_verifier_lines(line: str, ok: bool | None) -> None:
    assert check_steps(line)[0].ok is ok


def test_task_interface() -> None:
    task = get_task("wordmath", levels=[1, 2])
    problems = task.problems("validation", limit=3)
    assert [p.level for p in problems] == [1, 1, 1, 2, 2, 2]
    p = problems[0]
    assert task.prompt(p).endswith("\nAnswer:")
    assert task.verify(p, p.solution)
    assert not task.verify(p, p.solution.replace(f"#### {p.answer}", f"#### {int(p.answer) + 1}"))
    two_shot = task.prompt(p, shots=2)
    assert two_shot.count("Question:") == 3 and two_shot.count("####") == 2
    with pytest.raises(SealError, match="levels are 1-8"):
        get_task("wordmath", levels=[9])
