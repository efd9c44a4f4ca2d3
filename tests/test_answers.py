import pytest

from seal.tasks.answers import answers_equal, extract_answer, extract_strict, normalize_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x = 3 + 4 = 7.\n#### 7", "7"),
        ("#### 1,234", "1234"),
        ("#### $45", "45"),
        ("#### -12", "-12"),
        ("so 3 apples. The answer is 18.", "18"),
        ("The answer is $1,000.", "1000"),
        ("the final answer is: 42", "42"),
        ("first 3 then 5 and finally 9.", "9"),
        ("costs $2.50 each", "2.5"),
        ("no number here", None),
        ("#### 8\nThe answer is 9", "8"),
        ("The answer is 9. Later 12", "9"),
    ],
)
def test_extract_answer(text: str, expected: str | None) -> None:
    assert extract_answer(text) == expected


def test_strict_requires_marker() -> None:
    assert extract_strict("the total is 12") is None
    assert extract_strict("#### 12") == "12"


def test_numeric_comparison() -> None:
    assert answers_equal("12", "12.0")
    assert answers_equal("1234", "1,234")
    assert not answers_equal("12", "13")
    assert not answers_equal(None, "1")
    assert normalize_number("7.") == "7"
