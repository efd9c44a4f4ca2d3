import pytest

from seal.errors import SealError
from seal.tasks.levels import parse_levels


@pytest.mark.parametrize(
    ("text", "levels"),
    [("5", [5]), ("1-7", [1, 2, 3, 4, 5, 6, 7]), ("4,5", [4, 5]), ("1-3, 6", [1, 2, 3, 6]),
     ("5,4,5,", [4, 5])],
)  # fmt: skip
def test_levels_take_single_ranges_and_lists(text: str, levels: list[int]) -> None:
    assert parse_levels(text) == levels


@pytest.mark.parametrize("text", ["", "x", "4,x", "7-1", "0", "-3", "1-", "4.5"])
def test_a_level_typo_names_the_option_and_the_text(text: str) -> None:
    with pytest.raises(SealError) as err:
        parse_levels(text, "--levels")
    assert str(err.value).startswith("--levels expects") and repr(text) in str(err.value)
