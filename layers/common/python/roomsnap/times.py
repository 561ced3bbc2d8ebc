"""The one timestamp format of records (a module of its own: the clearance decision and the models,
which carry its answer, both use it)."""

from datetime import UTC, datetime


def iso(moment: datetime) -> str:
    """The one timestamp format of records: UTC, milliseconds, a trailing Z (sorts as text)."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utc_now() -> str:
    return iso(datetime.now(UTC))
