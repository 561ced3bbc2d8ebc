"""L1 of the PDF cache: an LRU held by a warm renderer container, bounded in bytes, not entries.
cachetools' LRUCache does the bookkeeping, sized by each PDF's length."""

from cachetools import LRUCache


class ByteBoundedLRU(LRUCache[str, bytes]):
    def __init__(self, max_bytes: int):
        super().__init__(maxsize=max_bytes, getsizeof=len)
        self.evictions = 0

    @property
    def used_bytes(self) -> int:
        return int(self.currsize)

    def put(self, key: str, value: bytes) -> None:
        """Stores `value` unless it alone exceeds the bound; evicts least recently used entries."""
        if len(value) <= self.maxsize:
            self[key] = value

    def popitem(self) -> tuple[str, bytes]:
        self.evictions += 1
        return super().popitem()
