"""The work queue's semantics: collapse, one worker per key, delays, retries, shutdown."""

from __future__ import annotations

from controller.machinery.backoff import RetrySchedule
from controller.machinery.workqueue import WorkQueue


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_duplicates_collapse_into_one_item() -> None:
    queue: WorkQueue[str] = WorkQueue()
    for _ in range(3):
        queue.add("a")
    queue.add("b")
    assert len(queue) == 2
    assert [queue.get(timeout=0), queue.get(timeout=0), queue.get(timeout=0)] == ["a", "b", None]


def test_a_key_added_while_processing_is_handed_out_again_only_after_done() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    assert queue.get(timeout=0) == "a"
    queue.add("a")
    queue.add("a")
    assert queue.get(timeout=0) is None  # no second worker on the same key
    queue.done("a")
    assert queue.get(timeout=0) == "a"
    queue.done("a")
    assert queue.get(timeout=0) is None


def test_add_after_holds_a_key_back_until_its_time_and_the_earliest_wins() -> None:
    clock = FakeClock()
    queue: WorkQueue[str] = WorkQueue(clock=clock)
    queue.add_after("a", 10)
    queue.add_after("a", 5)
    queue.add_after("a", 20)
    assert queue.waiting == 1
    clock.now += 4.9
    assert queue.get(timeout=0) is None
    clock.now += 0.1
    assert queue.get(timeout=0) == "a"
    assert queue.waiting == 0


def test_retry_follows_the_schedule_then_reports_exhaustion() -> None:
    clock = FakeClock()
    queue: WorkQueue[str] = WorkQueue(RetrySchedule(base=1, factor=2, attempts=3), clock=clock)
    delays = []
    for _ in range(3):
        assert not queue.retries_exhausted("a")
        assert queue.retry("a")
        before = clock.now
        while queue.get(timeout=0) is None:
            clock.now += 0.5
        queue.done("a")
        delays.append(clock.now - before)
    assert delays == [1.0, 2.0, 4.0]
    assert queue.retries_exhausted("a")
    assert not queue.retry("a")
    assert queue.waiting == 0


def test_forget_resets_the_failure_count() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.retry("a")
    queue.retry("a")
    assert queue.failures("a") == 2
    queue.forget("a")
    assert queue.failures("a") == 0


def test_shutdown_wakes_waiting_workers_and_refuses_new_keys() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.shutdown()
    queue.add("a")
    assert queue.get() is None
