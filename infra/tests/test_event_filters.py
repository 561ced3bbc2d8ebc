"""Lambda's event filtering rules, as the emulator evaluates FilterCriteria."""

import pytest

from template_emulator.event_filters import compile_filters, matches, passes


@pytest.mark.parametrize(
    ("pattern", "event", "expected"),
    [
        ({"a": ["x"]}, {"a": "x"}, True),
        ({"a": ["x", "y"]}, {"a": "y"}, True),
        ({"a": ["x"]}, {"a": "X"}, False),  # exact, case-sensitive
        ({"a": ["x"]}, {}, False),  # a missing field matches nothing but exists: false
        ({"a": ["x"]}, {"a": ["w", "x"]}, True),  # an array matches when any element does
        ({"a": [5]}, {"a": 5.0}, True),  # numbers compare numerically
        ({"a": [5]}, {"a": "5"}, False),  # ... and never as strings
        ({"a": ["5"]}, {"a": 5}, False),
        ({"a": [None]}, {"a": None}, True),
        ({"a": [None]}, {}, False),
        ({"a": [True]}, {"a": 1}, False),
        ({"a": {"b": ["x"]}}, {"a": {"b": "x", "c": "y"}}, True),  # nesting; other fields are ignored
        ({"a": {"b": ["x"]}}, {"a": "x"}, False),
        ({"a": {"b": ["x"]}}, {}, False),
        ({"a": ["x"], "b": ["y"]}, {"a": "x", "b": "z"}, False),  # every field of a pattern must match
        ({"a": [{"prefix": "ROOM#"}]}, {"a": "ROOM#1"}, True),
        ({"a": [{"prefix": "ROOM#"}]}, {"a": "SNAP#1"}, False),
        ({"a": [{"suffix": ".pdf"}]}, {"a": "x.pdf"}, True),
        ({"a": [{"equals-ignore-case": "Completed"}]}, {"a": "COMPLETED"}, True),
        ({"a": [{"anything-but": ["x", "y"]}]}, {"a": "z"}, True),
        ({"a": [{"anything-but": ["x", "y"]}]}, {"a": "x"}, False),
        ({"a": [{"anything-but": "x"}]}, {}, False),  # anything-but needs the field
        ({"a": [{"anything-but": {"prefix": "tmp"}}]}, {"a": "tmpfile"}, False),
        ({"a": [{"numeric": [">", 0, "<=", 5]}]}, {"a": 5}, True),
        ({"a": [{"numeric": [">", 0, "<=", 5]}]}, {"a": 6}, False),
        ({"a": [{"numeric": ["=", 1]}]}, {"a": "1"}, False),
        ({"a": [{"exists": True}]}, {"a": None}, True),
        ({"a": [{"exists": True}]}, {}, False),
        ({"a": [{"exists": False}]}, {}, True),
        ({"a": [{"exists": False}]}, {"a": "x"}, False),
        ({"a": {"b": [{"exists": False}]}}, {}, True),
        ({"a": ["x", {"prefix": "y"}]}, {"a": "yes"}, True),  # the matchers of one field are OR-ed
    ],
)
def test_patterns(pattern, event, expected):
    assert matches(pattern, event) is expected


def test_filters_are_ored_and_no_filters_pass_everything():
    patterns = compile_filters({"Filters": [{"Pattern": '{"a": ["x"]}'}, {"Pattern": '{"b": ["y"]}'}]})
    assert passes(patterns, {"b": "y"})
    assert not passes(patterns, {"a": "y"})
    assert passes([], {"anything": 1})


@pytest.mark.parametrize(
    "pattern",
    [
        '["x"]',
        '{"a": "x"}',  # leaves are arrays
        '{"a": []}',
        '{"a": [{"wildcard": "*.pdf"}]}',
        '{"$or": [{"a": ["x"]}]}',
        '{"a": [{"numeric": ["~", 1]}]}',
        '{"a": [{"anything-but": {"suffix": "x"}}]}',
        '{"a": [{"prefix": "x", "suffix": "y"}]}',
    ],
)
def test_syntax_the_local_stack_cannot_evaluate_is_refused_up_front(pattern):
    with pytest.raises(ValueError, match="filter"):
        compile_filters({"Filters": [{"Pattern": pattern}]})
