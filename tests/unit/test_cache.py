import random

from renderer.logic.cache import ByteBoundedLRU


def test_the_lru_never_holds_more_bytes_than_its_bound():
    # Given a 10 kB cache and 500 PDFs of random sizes
    cache = ByteBoundedLRU(10_000)
    rng = random.Random(7)
    for index in range(500):
        cache.put(f"k{index}", bytes(rng.randint(1, 4_000)))
        # Then after every put it stays within its bound and its count of bytes is exact
        assert cache.used_bytes <= 10_000
        assert cache.used_bytes == sum(len(value) for value in cache.values())
    assert cache.evictions > 0


def test_the_least_recently_used_entry_goes_first():
    cache = ByteBoundedLRU(30)
    cache.put("a", b"a" * 10)
    cache.put("b", b"b" * 10)
    cache.put("c", b"c" * 10)
    assert cache.get("a")  # a is now the most recent
    cache.put("d", b"d" * 10)
    assert cache.get("b") is None
    assert cache.get("a")
    assert cache.get("c")
    assert cache.get("d")


def test_an_entry_larger_than_the_bound_is_not_cached():
    cache = ByteBoundedLRU(5)
    cache.put("big", b"x" * 6)
    assert cache.get("big") is None
    assert cache.used_bytes == 0
