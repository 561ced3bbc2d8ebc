"""Lambda event filtering (an event source mapping's FilterCriteria), evaluated as Lambda does.

A mapping's filters are OR-ed; a record passes a pattern when every key of the pattern matches.
A pattern's object keys nest into the record; its arrays list the values a field may have, any of
which matches: a literal (strings exactly, numbers numerically, null) or one operator: `prefix`,
`suffix`, `equals-ignore-case`, `anything-but` (values or a prefix), `numeric` and `exists`. A
field that is an array matches when any element does; a missing field matches only
`{"exists": false}`. Other syntax (`$or`, `wildcard`, `cidr`) is refused when the stack starts,
so a pattern is never silently evaluated differently than Lambda would.
"""

from __future__ import annotations

import json
import operator
from typing import Any

OPERATORS = {"prefix", "suffix", "equals-ignore-case", "anything-but", "numeric", "exists"}
NUMERIC = {"=": operator.eq, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
MISSING = object()


def compile_filters(criteria: dict | None) -> list[dict]:
    """The patterns of FilterCriteria ({"Filters": [{"Pattern": "<json>"}]}), checked."""
    patterns = [json.loads(entry["Pattern"]) for entry in (criteria or {}).get("Filters", [])]
    for pattern in patterns:
        _check(pattern)
    return patterns


def passes(patterns: list[dict], record: dict) -> bool:
    """Whether the record reaches the function: no filters, or any pattern matches."""
    return not patterns or any(matches(pattern, record) for pattern in patterns)


def matches(pattern: dict, event: Any) -> bool:
    for key, expected in pattern.items():
        value = event.get(key, MISSING) if isinstance(event, dict) else MISSING
        if isinstance(expected, dict):
            if not matches(expected, value if isinstance(value, dict) else {}):
                return False
        elif not any(_matcher_matches(matcher, value) for matcher in expected):
            return False
    return True


def _matcher_matches(matcher: Any, value: Any) -> bool:
    if isinstance(matcher, dict):
        ((name, operand),) = matcher.items()
        if name == "exists":
            return operand is (value is not MISSING)
        return value is not MISSING and any(_operator(name, operand, item) for item in _items(value))
    return value is not MISSING and any(_equal(matcher, item) for item in _items(value))


def _items(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equal(literal: Any, value: Any) -> bool:
    if _is_number(literal):
        return _is_number(value) and float(literal) == float(value)
    return type(literal) is type(value) and literal == value


def _operator(name: str, operand: Any, value: Any) -> bool:
    if name == "prefix":
        return isinstance(value, str) and value.startswith(operand)
    if name == "suffix":
        return isinstance(value, str) and value.endswith(operand)
    if name == "equals-ignore-case":
        return isinstance(value, str) and value.lower() == operand.lower()
    if name == "numeric":
        pairs = zip(operand[::2], operand[1::2], strict=True)
        return _is_number(value) and all(NUMERIC[symbol](value, bound) for symbol, bound in pairs)
    # anything-but: a value, a list of values, or {"prefix": ...}
    if isinstance(operand, dict):
        return isinstance(value, str) and not value.startswith(operand["prefix"])
    return not any(_equal(excluded, value) for excluded in _items(operand))


def _check(pattern: Any) -> None:
    if not isinstance(pattern, dict):
        raise ValueError(f"a filter pattern is a JSON object, not {pattern!r}")
    for key, expected in pattern.items():
        if isinstance(expected, dict):
            _check(expected)
            continue
        if not isinstance(expected, list) or not expected:
            raise ValueError(f"filter field {key!r}: expected an object or a non-empty array")
        for matcher in expected:
            if isinstance(matcher, dict):
                (name,) = matcher if len(matcher) == 1 else (None,)
                if name not in OPERATORS:
                    raise ValueError(f"filter field {key!r}: operator {matcher!r} is not supported locally")
                operand = matcher[name]
                if name == "numeric" and any(symbol not in NUMERIC for symbol in operand[::2]):
                    raise ValueError(f"filter field {key!r}: bad numeric operator in {matcher!r}")
                if name == "anything-but" and isinstance(operand, dict) and set(operand) != {"prefix"}:
                    raise ValueError(f"filter field {key!r}: {matcher!r} is not supported locally")
