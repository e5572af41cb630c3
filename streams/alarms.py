"""The worker's index of open deadlines: which decisions `check` can change next, and when.

Overdue detection must not scan a million tracked decisions at every tick: the index keeps a heap ordered by
each open item's next alarm, so a tick pops only what is due. It lives in memory and is rebuilt from the
changelogged deadline table whenever the worker's partitions are recovered.
"""

from __future__ import annotations

import asyncio
import heapq
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import Any

# Table entries read between two yields to the event loop while an index is rebuilt: a million entries take
# tens of seconds, which would otherwise hold the worker's timers and its /metrics without a break.
REBUILD_SLICE = 5000


async def values_yielding(items: Iterable[tuple[Any, Any]]) -> AsyncIterator[Any]:
    """The values of a table's `items()`, letting the event loop run every `REBUILD_SLICE` entries."""
    for count, (_, value) in enumerate(items, 1):
        yield value
        if count % REBUILD_SLICE == 0:
            await asyncio.sleep(0)


class AlarmIndex:
    def __init__(self) -> None:
        self._heap: list[tuple[float, str]] = []
        self._entries: dict[str, tuple[float | None, str, bool, str]] = {}  # id -> (alarm, state, provisional, group)
        self.states: Counter[str] = Counter()
        self.by_group: Counter[tuple[str, str]] = Counter()  # (group, state), e.g. per department
        self.provisional = 0

    def clear(self) -> None:
        self._heap.clear()
        self._entries.clear()
        self.states.clear()
        self.by_group.clear()
        self.provisional = 0

    def __len__(self) -> int:
        return len(self._entries)

    def track(self, decision_id: str, state: str, alarm: datetime | None, provisional: bool, group: str = "") -> None:
        """Record an open item's state and next alarm (None: open, but nothing will change by itself)."""
        self.forget(decision_id)
        when = alarm.timestamp() if alarm else None
        self._entries[decision_id] = (when, state, provisional, group)
        self.states[state] += 1
        self.by_group[group, state] += 1
        self.provisional += provisional
        if when is not None:
            heapq.heappush(self._heap, (when, decision_id))

    def forget(self, decision_id: str) -> None:
        """The item closed (published, revoked): it leaves the counts; its heap entry is skipped when popped."""
        entry = self._entries.pop(decision_id, None)
        if entry is not None:
            self.states[entry[1]] -= 1
            self.by_group[entry[3], entry[1]] -= 1
            self.provisional -= entry[2]

    def pop_due(self, now: datetime) -> list[str]:
        """The decisions whose alarm has come, each once; entries superseded since they were pushed are dropped."""
        due: list[str] = []
        limit = now.timestamp()
        while self._heap and self._heap[0][0] <= limit:
            when, decision_id = heapq.heappop(self._heap)
            entry = self._entries.get(decision_id)
            if entry is not None and entry[0] == when:
                due.append(decision_id)
                self._entries[decision_id] = (None, *entry[1:])  # until the check re-arms it
        return due
