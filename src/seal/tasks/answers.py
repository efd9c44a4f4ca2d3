"""Final-answer extraction following the GSM8K conventions used by lm-evaluation-harness.

Order: ``#### N`` (the GSM8K reference format), else ``The answer is N``, else the last
number in the text. Commas and ``$`` are ignored; answers compare numerically.
"""

from __future__ import annotations

import re
from fractions import Fraction

_NUM = r"-?[$]?\s?-?[0-9][0-9,]*(?:\.[0-9]+)?"
_HASHES = re.compile(r"####\s*(" + _NUM + ")")
_THE_ANSWER = re.compile(r"[Tt]he (?:final )?answer is[:\s]*(" + _NUM + ")")
_ANY_NUM = re.compile(_NUM)


def normalize_number(text: str) -> str | None:
    """Canonical string for a number written with optional ``$``, commas or a trailing ``.``."""
    cleaned = text.replace(",", "").replace("$", "").replace(" ", "").rstrip(".")
    if cleaned.startswith("--"):
        cleaned = cleaned[2:]
    try:
        value = Fraction(cleaned)
    except (ValueError, ZeroDivisionError):
        return None
    if value.denominator == 1:
        return str(value.numerator)
    return str(float(value))


def extract_answer(text: str) -> str | None:
    """The final answer of a chain-of-thought completion, or None when it has no number."""
    for pattern in (_HASHES, _THE_ANSWER):
        match = pattern.search(text)
        if match:
            return normalize_number(match.group(1))
    numbers = _ANY_NUM.findall(text)
    return normalize_number(numbers[-1]) if numbers else None


def extract_strict(text: str) -> str | None:
    """Only ``#### N`` or ``The answer is N``; None otherwise (lm-eval's strict-match)."""
    for pattern in (_HASHES, _THE_ANSWER):
        match = pattern.search(text)
        if match:
            return normalize_number(match.group(1))
    return None


def answers_equal(predicted: str | None, reference: str | int | float) -> bool:
    """Numeric comparison of an extracted answer with the reference."""
    if predicted is None:
        return False
    ref = normalize_number(str(reference))
    if ref is None:
        return False
    return Fraction(predicted) == Fraction(ref)
