from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sgs.streams.alarms import REBUILD_SLICE, AlarmIndex, values_yielding

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def test_pops_only_what_is_due_in_order_and_once() -> None:
    index = AlarmIndex()
    index.track("b", "pending", T0 + timedelta(hours=2), False)
    index.track("a", "pending", T0 + timedelta(hours=1), False)
    index.track("c", "at_risk", T0 + timedelta(days=3), False)
    assert index.pop_due(T0) == []
    assert index.pop_due(T0 + timedelta(hours=2)) == ["a", "b"]
    assert index.pop_due(T0 + timedelta(hours=2)) == []
    assert len(index) == 3 and index.states == {"pending": 2, "at_risk": 1}


def test_a_re_armed_item_fires_at_its_new_time_only() -> None:
    index = AlarmIndex()
    index.track("a", "pending", T0, False)
    index.track("a", "at_risk", T0 + timedelta(days=1), False)
    assert index.pop_due(T0) == []
    assert index.pop_due(T0 + timedelta(days=1)) == ["a"]
    assert index.states["pending"] == 0 and index.states["at_risk"] == 1


def test_forgotten_items_leave_the_counts_and_never_fire() -> None:
    index = AlarmIndex()
    index.track("a", "overdue", None, True)
    index.track("b", "pending", T0, False)
    index.forget("b")
    assert index.pop_due(T0 + timedelta(days=9)) == []
    assert len(index) == 1 and index.provisional == 1 and index.states["pending"] == 0


def test_counts_by_group_follow_each_item() -> None:
    index = AlarmIndex()
    index.track("a", "pending", T0, False, "dept-1")
    index.track("b", "overdue", None, False, "dept-1")
    index.track("a", "overdue", None, False, "dept-1")
    index.track("c", "pending", T0, False, "dept-2")
    index.forget("c")
    assert +index.by_group == {("dept-1", "overdue"): 2}


def test_a_rebuild_reads_every_value_and_lets_the_loop_run_between_slices() -> None:
    ticks: list[int] = []
    read: list[int] = []

    async def rebuild() -> None:
        async def ticker() -> None:
            while True:
                ticks.append(len(read))
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        items = ((f"id{i}", i) for i in range(3 * REBUILD_SLICE + 1))
        async for value in values_yielding(items):
            read.append(value)
        task.cancel()

    asyncio.run(rebuild())
    assert read == list(range(3 * REBUILD_SLICE + 1))
    # The ticker ran before the first value and after each full slice, never in the middle of one.
    assert ticks == [0, REBUILD_SLICE, 2 * REBUILD_SLICE, 3 * REBUILD_SLICE]
