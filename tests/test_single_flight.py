"""api.services.single_flight: one computation per key at a time (#17: cache misses that
many readers hit at once)."""

from __future__ import annotations

import threading

from api.services.single_flight import SingleFlight


def test_followers_wait_for_the_leader_and_take_what_it_stored() -> None:
    flight = SingleFlight(follower_wait_s=10)
    store: dict[str, int] = {}
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def compute(who: str) -> int:
        calls.append(who)
        started.set()
        release.wait(10)
        store["k"] = 42
        return 42

    results: list[int] = []
    leader = threading.Thread(target=lambda: results.append(
        flight.run("k", lambda: compute("leader"), lambda: store.get("k"))))
    leader.start()
    assert started.wait(10)
    assert flight.running("k") and not flight.running("other")
    followers = [threading.Thread(target=lambda i=i: results.append(flight.run(
        "k", lambda: compute(f"follower{i}"), lambda: store.get("k")))) for i in range(4)]
    for t in followers:
        t.start()
    release.set()
    for t in [leader, *followers]:
        t.join(10)
    assert calls == ["leader"]
    assert results == [42] * 5
    assert not flight.running("k")


def test_a_follower_computes_itself_when_the_leader_stored_nothing() -> None:
    flight = SingleFlight(follower_wait_s=10)
    started, release = threading.Event(), threading.Event()

    def failing() -> int:
        started.set()
        release.wait(10)
        raise RuntimeError("the leader failed")

    errors: list[BaseException] = []

    def lead() -> None:
        try:
            flight.run("k", failing, lambda: None)
        except RuntimeError as exc:
            errors.append(exc)

    leader = threading.Thread(target=lead)
    leader.start()
    assert started.wait(10)
    got: list[int] = []
    follower = threading.Thread(target=lambda: got.append(flight.run("k", lambda: 7,
                                                                     lambda: None)))
    follower.start()
    release.set()
    leader.join(10)
    follower.join(10)
    assert len(errors) == 1 and got == [7]
    assert not flight.running("k")  # the failed leader left no flight behind


def test_a_follower_stops_waiting_after_its_limit() -> None:
    flight = SingleFlight(follower_wait_s=0.05)
    started, release = threading.Event(), threading.Event()
    leader = threading.Thread(target=lambda: flight.run(
        "k", lambda: (started.set(), release.wait(10), 1)[2], lambda: None))
    leader.start()
    assert started.wait(10)
    try:
        assert flight.run("k", lambda: 2, lambda: None) == 2  # did not wait for the leader
    finally:
        release.set()
        leader.join(10)
