"""rate() and cron() expressions as EventBridge reads them (UTC; day-of-week 1 = Sunday)."""

from datetime import UTC, datetime, timedelta

import pytest

from template_emulator.schedules import Rate, parse_schedule


def at(text):
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "period"),
    [
        ("rate(1 minute)", timedelta(minutes=1)),
        ("rate(5 minutes)", timedelta(minutes=5)),
        ("rate(2 hours)", timedelta(hours=2)),
        ("rate(1 day)", timedelta(days=1)),
    ],
)
def test_rates(expression, period):
    assert parse_schedule(expression) == Rate(period)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("cron(0 12 * * ? *)", "2024-01-01T13:00", "2024-01-02T12:00"),
        ("cron(0/15 * * * ? *)", "2024-01-01T10:16", "2024-01-01T10:30"),
        ("cron(0 8 ? * MON-FRI *)", "2024-01-06T09:00", "2024-01-08T08:00"),  # Saturday -> Monday
        ("cron(0 8 ? * 1 *)", "2024-01-01T09:00", "2024-01-07T08:00"),  # 1 is Sunday
        ("cron(30 9 1 JAN,JUL ? *)", "2024-01-01T09:30", "2024-07-01T09:30"),
        ("cron(10-20/5 3 * * ? 2025)", "2024-06-01T00:00", "2025-01-01T03:10"),
        ("cron(0 0 29 2 ? *)", "2025-01-01T00:00", "2028-02-29T00:00"),
    ],
)
def test_cron_next_fire(expression, after, expected):
    assert parse_schedule(expression).next_after(at(after)) == at(expected)


@pytest.mark.parametrize(
    "expression",
    [
        "rate(0 minutes)",
        "rate(5 seconds)",
        "cron(0 12 * * ?)",
        "cron(0 0 L * ? *)",
        "cron(0 0 ? * 2#1 *)",
        "cron(61 * * * ? *)",
        "every 5 minutes",
    ],
)
def test_unsupported_or_invalid_expressions_are_rejected(expression):
    with pytest.raises(ValueError, match=r"rate|cron"):
        parse_schedule(expression)
