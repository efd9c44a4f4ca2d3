from itertools import combinations

import pytest

from seal.metrics import majority, pass_at_k


@pytest.mark.parametrize(("n", "c", "k"), [(5, 0, 1), (5, 2, 1), (5, 2, 3), (6, 1, 6), (4, 4, 2)])
def test_pass_at_k_matches_enumeration(n: int, c: int, k: int) -> None:
    outcomes = [True] * c + [False] * (n - c)
    subsets = list(combinations(range(n), k))
    brute = sum(any(outcomes[i] for i in s) for s in subsets) / len(subsets)
    assert pass_at_k(n, c, k) == pytest.approx(brute)


def test_pass_at_k_rejects_k_over_n() -> None:
    with pytest.raises(ValueError):
        pass_at_k(2, 1, 3)


def test_majority() -> None:
    assert majority(["3", "4", "4", None]) == "4"
    assert majority(["5", "6"]) == "5"  # tie: first seen
    assert majority([None, None]) is None


def test_mcnemar_exact_p_values() -> None:
    from seal.paired import mcnemar_p

    assert mcnemar_p(0, 0) == 1.0
    assert mcnemar_p(10, 2) == pytest.approx(2 * (1 + 12 + 66) / 4096)  # 0.0386
    assert mcnemar_p(2, 10) == mcnemar_p(10, 2)
    assert mcnemar_p(5, 5) == 1.0
    assert mcnemar_p(20, 0) < 1e-5


def test_paired_change_counts_each_level_and_skips_runs_without_outcomes() -> None:
    from seal.paired import paired_change

    before = {"problems": [{"id": "a", "level": 5, "correct": 0},
                           {"id": "b", "level": 5, "correct": 1},
                           {"id": "c", "level": 6, "correct": 0},
                           {"id": "d", "level": 6, "correct": 0}]}  # fmt: skip
    after = {"problems": [{"id": "a", "level": 5, "correct": 1},
                          {"id": "b", "level": 5, "correct": 0},
                          {"id": "c", "level": 6, "correct": 1},
                          {"id": "d", "level": 6, "correct": 1},
                          {"id": "e", "level": 6, "correct": 1}]}  # fmt: skip
    every = paired_change(before, after)
    assert (every["n"], every["won"], every["lost"]) == (4, 3, 1)  # "e" has no pair
    five = paired_change(before, after, "5")
    assert paired_change(before, after, 5) == five  # a level given as a number: the same
    assert (five["won"], five["lost"], five["p"]) == (1, 1, 1.0)
    assert paired_change({"metrics": {}}, after) is None
    broken = {"problems": [{"level": 5}, "x", {"id": "a", "correct": "yes"}]}  # a hand-edited file
    assert paired_change(broken, after) == {"n": 0, "won": 0, "lost": 0, "p": 1.0}
