"""L1 of the PDF cache: an LRU held by a warm renderer container, bounded in bytes, not entries."""

from collections import OrderedDict


class ByteBoundedLRU:
    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.used_bytes = 0
        self.evictions = 0
        self._entries: OrderedDict[str, bytes] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> bytes | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: str, value: bytes) -> None:
        """Stores `value` unless it alone exceeds the bound; evicts least recently used entries."""
        if len(value) > self.max_bytes:
            return
        if key in self._entries:
            self.used_bytes -= len(self._entries.pop(key))
        while self._entries and self.used_bytes + len(value) > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self.used_bytes -= len(evicted)
            self.evictions += 1
        self._entries[key] = value
        self.used_bytes += len(value)
