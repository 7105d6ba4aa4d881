"""api.services.heap: a serving process freezes its long-lived objects so that full
garbage collections do not trace them (#17: 145-450 ms pauses in each worker)."""

from __future__ import annotations

import gc
import time
import weakref
from collections.abc import Iterator

import pytest

from api.services import heap


@pytest.fixture
def serving() -> Iterator[None]:
    heap.enable()
    try:
        yield
    finally:
        heap.disable()
        assert gc.get_freeze_count() == 0


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def test_settle_takes_long_lived_objects_out_of_collections(serving: None) -> None:
    index = [{"ref": f"E-{i}", "cpv": [i]} for i in range(20_000)]
    heap.settle()
    assert gc.get_freeze_count() >= 40_000  # the dicts and their lists
    tracked = len(gc.get_objects())
    assert tracked < gc.get_freeze_count()  # what a full collection still traces
    assert index[0]["ref"] == "E-0"


def test_a_frozen_cycle_dropped_later_is_freed_at_the_next_settle(serving: None) -> None:
    a, b = Node(), Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    heap.settle()
    del a, b
    gc.collect()
    assert gone() is not None  # frozen: the collector does not look at it
    heap.settle()  # unfreezes before it collects
    assert gone() is None


def test_settle_soon_only_in_a_serving_process_and_once_for_builds_in_a_row() -> None:
    assert not heap.enabled()
    assert heap.settle_soon(0.01) is False
    assert gc.get_freeze_count() == 0
    heap.enable()
    try:
        assert heap.settle_soon(0.2) is True
        assert heap.settle_soon(0.2) is False  # one is pending: the builds settle once
        deadline = time.monotonic() + 10
        while gc.get_freeze_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert gc.get_freeze_count() > 0
        assert heap.settle_soon(0.01) is True  # the pending one ran
    finally:
        time.sleep(0.1)
        heap.disable()
    assert gc.get_freeze_count() == 0
