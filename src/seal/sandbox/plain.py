"""Plain data across the sandbox wall: values a candidate may receive and return.

``encode`` turns None, bool, int, float, str, bytes, complex and lists, tuples, dicts, sets
and frozensets of them into JSON, tagging what JSON cannot say (``{"tuple": [...]}``,
``{"dict": [[k, v], ...]}``, ``{"float": "nan"}``, ...); exact types only, so a subclass
with its own ``__eq__`` is refused, not flattened. ``decode`` is the trusted side's strict
inverse: it builds only those built-in types, so what a sandboxed program sends back can
never be an object that compares equal to everything. Anything else raises ``NotPlain``.

Stdlib only and self-contained: its source is also copied into the sandbox.
"""

from __future__ import annotations

import json
import math

MAX_DEPTH = 100
MAX_SAME_HASH = 16
"""Members of one set (or keys of one dict) that may share a hash: honest data has at most
a few (``hash(-1) == hash(-2)``); a message built of colliding ones would make building the
set cost quadratic time on the trusted side."""


class NotPlain(ValueError):
    """A value that is not plain data (or a message that does not decode to plain data)."""


def _enc(x: object, depth: int) -> object:
    if depth > MAX_DEPTH:
        raise NotPlain("nested too deep")
    t = type(x)
    if x is None or t is bool or t is str:
        return x
    if t is int:
        return x
    if t is float:
        return x if math.isfinite(x) else {"float": repr(x)}  # type: ignore[arg-type]
    if t is list:
        return [_enc(v, depth + 1) for v in x]  # type: ignore[attr-defined]
    if t is tuple or t is set or t is frozenset:
        return {t.__name__: [_enc(v, depth + 1) for v in x]}  # type: ignore[attr-defined]
    if t is dict:
        items = x.items()  # type: ignore[attr-defined]
        return {"dict": [[_enc(k, depth + 1), _enc(v, depth + 1)] for k, v in items]}
    if t is bytes:
        return {"bytes": x.hex()}  # type: ignore[attr-defined]
    if t is complex:
        return {"complex": [_enc(x.real, depth + 1), _enc(x.imag, depth + 1)]}  # type: ignore[attr-defined]
    raise NotPlain(f"{t.__name__} is not plain data")


def encode(x: object) -> str:
    """One line of JSON for ``x``; raises ``NotPlain`` for anything but plain data."""
    return json.dumps(_enc(x, 0), allow_nan=False, separators=(",", ":"))


def _dec(x: object, depth: int) -> object:
    if depth > MAX_DEPTH:
        raise NotPlain("nested too deep")
    t = type(x)
    if x is None or t in (bool, int, str):
        return x
    if t is float:
        if not math.isfinite(x):  # type: ignore[arg-type]
            raise NotPlain("bare non-finite float")
        return x
    if t is list:
        return [_dec(v, depth + 1) for v in x]  # type: ignore[attr-defined]
    if t is not dict or len(x) != 1:  # type: ignore[arg-type]
        raise NotPlain(f"unexpected {t.__name__}")
    ((tag, body),) = x.items()  # type: ignore[attr-defined]
    if tag == "float" and type(body) is str and body in ("inf", "-inf", "nan"):
        return float(body)
    if tag == "bytes" and type(body) is str:
        return bytes.fromhex(body)
    if type(body) is not list:
        raise NotPlain(f"bad {tag!r} body")
    items = [_dec(v, depth + 1) for v in body]
    try:
        if tag in ("set", "frozenset"):
            _few_collisions(items)
        if tag == "dict":
            _few_collisions([p[0] for p in items if type(p) is list and len(p) == 2])
        if tag == "tuple":
            return tuple(items)
        if tag == "set":
            return set(items)
        if tag == "frozenset":
            return frozenset(items)
        if tag == "dict" and all(type(p) is list and len(p) == 2 for p in items):
            return {k: v for k, v in items}  # noqa: C416 (keys may be tuples)
        if tag == "complex" and len(items) == 2 and all(type(v) is float for v in items):
            return complex(items[0], items[1])  # type: ignore[arg-type]
    except TypeError as exc:  # unhashable set member or key
        raise NotPlain(str(exc)) from None
    raise NotPlain(f"bad {tag!r} value")


def _few_collisions(keys: list) -> None:
    """``NotPlain`` if more than ``MAX_SAME_HASH`` of ``keys`` share a hash (``TypeError``
    for an unhashable one, as building the set would)."""
    counts: dict[int, int] = {}
    for k in keys:
        h = hash(k)
        counts[h] = counts.get(h, 0) + 1
        if counts[h] > MAX_SAME_HASH:
            raise NotPlain(f"more than {MAX_SAME_HASH} members with one hash")


def decode(text: str | bytes) -> object:
    """The plain value ``text`` (from ``encode``) stands for; ``NotPlain`` otherwise."""
    try:
        raw = json.loads(text, parse_constant=_no_constant)
    except NotPlain:
        raise
    except (ValueError, RecursionError, TypeError) as exc:
        raise NotPlain(f"not a plain-data message: {type(exc).__name__}") from None
    return from_json(raw)


def from_json(raw: object) -> object:
    """``decode`` for a value already parsed from JSON."""
    try:
        return _dec(raw, 0)
    except NotPlain:
        raise
    except (ValueError, RecursionError, TypeError) as exc:
        raise NotPlain(f"not a plain-data message: {type(exc).__name__}") from None


def _no_constant(name: str) -> object:
    raise NotPlain(f"bare {name}")
