"""The one bounded cache (api.services.lru): least recently used out first, by count and
by bytes, and a read counts as a use."""

from __future__ import annotations

from api.services.lru import LRU


def test_least_recently_used_goes_first_and_a_read_is_a_use() -> None:
    c: LRU[str] = LRU(2)
    c.put("a", "A")
    c.put("b", "B")
    assert c.get("a") == "A"  # "a" is now the most recent
    c.put("c", "C")
    assert c.get("b") is None and c.get("a") == "A" and c.get("c") == "C"
    assert len(c) == 2 and c.stats.evicted == 1


def test_bytes_bound_and_oversized_values() -> None:
    c: LRU[bytes] = LRU(100, max_bytes=10)
    c.put("x", b"x" * 6, 6)
    c.put("y", b"y" * 6, 6)  # 12 bytes > 10: "x" goes
    assert c.get("x") is None and c.get("y") is not None and c.nbytes == 6
    c.put("big", b"z" * 11, 11)  # larger than the whole cache: not stored, nothing evicted
    assert c.get("big") is None and c.get("y") is not None
    c.put("y", b"", 0)  # replacing an entry replaces its size
    assert c.nbytes == 0
    c.clear()
    assert len(c) == 0
