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
