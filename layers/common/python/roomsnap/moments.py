"""The one timestamp format of records, apart from the models so that every module can use it."""

from datetime import UTC, datetime


def iso(moment: datetime) -> str:
    """UTC, milliseconds, a trailing Z (sorts as text)."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utc_now() -> str:
    return iso(datetime.now(UTC))
