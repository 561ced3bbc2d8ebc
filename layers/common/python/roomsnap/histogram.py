"""A mergeable latency histogram with log-spaced buckets.

Bucket i holds values in [GROWTH**(i-1), GROWTH**i) milliseconds (bucket 0: below 1 ms), so a
percentile read from the merged buckets is within ±2.5 % of the exact value (it reports the
bucket's geometric middle). Buckets from any number of containers add up exactly, which is what
lets every API container keep its own histogram and flush it with DynamoDB ADDs."""

import math

GROWTH = 1.05


def bucket_of(value_ms: float) -> int:
    return 0 if value_ms < 1 else int(math.log(value_ms) / math.log(GROWTH)) + 1


def bucket_value(index: int) -> float:
    """The geometric middle of a bucket: at most 2.5 % from any value in it."""
    return 0.5 if index == 0 else GROWTH ** (index - 0.5)


def percentile(buckets: dict[int, int], fraction: float) -> float | None:
    """The value below which `fraction` of the recorded values lie (nearest rank)."""
    total = sum(buckets.values())
    if not total:
        return None
    rank = max(1, math.ceil(fraction * total))
    seen = 0
    for index in sorted(buckets):
        seen += buckets[index]
        if seen >= rank:
            return round(bucket_value(index), 3)
    return None


def exact_percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of exact values (the same definition as `percentile`); at least one value."""
    return sorted_values[max(1, math.ceil(fraction * len(sorted_values))) - 1]
