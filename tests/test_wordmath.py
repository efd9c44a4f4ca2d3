import random

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
        assert sum(s.ok is not None for s in steps) >= LEVELS[level].steps[0]
        assert p.solution.splitlines()[-1] == f"#### {p.answer}"
        assert p.solution.splitlines()[0].startswith("Let ")
        assert any(line.startswith("Check: ") for line in p.solution.splitlines())
        assert int(p.answer) > 0


def test_levels_get_harder() -> None:
    def mean_steps(level: int) -> float:
        ps = _take("test", level, 200)
        return sum(len(p.meta["ops"]) for p in ps) / len(ps)

    means = [mean_steps(lv) for lv in sorted(LEVELS)]
    assert means == sorted(means) and means[-1] >= 4.3
    biggest = [max(int(p.answer) for p in _take("test", lv, 200)) for lv in sorted(LEVELS)]
    assert biggest[0] <= 50 < biggest[-1]


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
    with pytest.raises(SealError, match="levels are 1-5"):
        get_task("wordmath", levels=[9])
