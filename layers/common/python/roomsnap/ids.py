"""Time-ordered identifiers: sorting ids sorts by creation time (newest-first listings are a reverse Query)."""

import os
import time
from datetime import datetime

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def new_id(at: datetime | None = None) -> str:
    """A 26-character ULID-style id: 48 bits of milliseconds (now, or `at`), then 80 random bits,
    Crockford base32. Records stamped with a time take their id from the same moment, so sorting
    by id never disagrees with sorting by time."""
    millis = time.time_ns() // 1_000_000 if at is None else int(at.timestamp() * 1000)
    value = millis << 80 | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))
