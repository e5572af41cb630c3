"""Batches of events that stay unacknowledged until the caller has written them (at-least-once sinks).

`Stream.take()` acks a whole buffer even when the write that follows fails, losing events; `noack_take()`
leaves acking to us. Faust annotates it as yielding values, but it yields the events themselves.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any, cast

import faust
from faust.streams import _current_event
from faust.types import EventT, StreamT

from sgs.connectors.search_writer import BulkWriter, IndexWrite
from sgs.streams.clock import Clock

log = logging.getLogger(__name__)


def unacked_batches(stream: StreamT[Any], max_events: int, within: float) -> AsyncIterator[list[EventT[Any]]]:
    return cast(AsyncIterator[list[EventT[Any]]], cast(faust.Stream[Any], stream).noack_take(max_events, within))


def make_current(event: EventT[Any]) -> None:
    """Make `event` the current event of the calling task. Tables read and write the RocksDB partition, and
    send the changelog to the partition, of the current event, which after `noack_take` is not the event
    being handled. Only the context variable tables read is set: `noack_take` fills its next batch from the
    stream's `current_event` attribute in another task, so that attribute must stay Faust's."""
    _current_event.set(weakref.ref(event))


async def ack_all(stream: StreamT[Any], events: list[EventT[Any]]) -> None:
    for event in events:
        await cast(faust.Stream[Any], stream).ack(event)


async def index_batches(
    stream: StreamT[Any],
    writer: BulkWriter,
    clock: Clock,
    document_of: Callable[[EventT[Any], datetime], IndexWrite | None],
    *,
    what: str,
    max_events: int,
    within: float,
) -> None:
    """A sink: each batch's events as documents (None: nothing to write), one bulk write, then the acks.
    Documents Elasticsearch refuses are logged under `what`; the write retries everything else."""
    async for events in unacked_batches(stream, max_events, within=within):
        now = clock.now()
        writes = [write for event in events if (write := document_of(event, now)) is not None]
        for result in await writer.write(writes):
            if result.outcome == "rejected":
                log.error("%s refused %s: %s", what, result.doc_id, result.error)
        await ack_all(stream, events)
