"""Rebuild the public and archive indices from `decisions.current` alone (invariant 7), without downtime.

Fresh concrete indices are loaded from the compacted topic (last record per key; compaction may not have run)
while searches keep hitting the old ones; one `_aliases` call then moves every alias to its new index and
drops the old indices. The publisher keeps writing through the aliases meanwhile, into the old indices: so
after the swap a catch-up pass reads what arrived during the rebuild (from the first pass's end offsets) into
the new ones. External versions make every overlap harmless.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from elasticsearch import AsyncElasticsearch
from rich.progress import Progress

from sgs.config import Settings
from sgs.connectors import search_client
from sgs.connectors.avro import AvroCodec
from sgs.connectors.search_indices import IndexNames, IndexSettings, create_index, mapping_for, merge_policy_for
from sgs.connectors.search_writer import BulkWriter, IndexWrite, documents_for
from sgs.streams.topics import Topics, watermarks

BATCH = 1000  # records decoded and written at a time
Advance = Callable[[int], None]


class RebuildError(RuntimeError):
    """The rebuild stopped before the swap; the aliases still point at the old indices."""


@dataclass
class RebuildReport:
    indices: dict[str, str]  # alias -> its new concrete index
    records: int = 0  # records read, both passes
    decisions: int = 0  # latest records loaded
    written: Counter[str] = field(default_factory=Counter)  # alias -> documents written
    refused: list[str] = field(default_factory=list)  # undecodable records and rejected documents
    seconds: float = 0.0


class TopicReader:
    """Reads a topic between offsets, keeping the last value of each key (a null value deletes the key)."""

    def __init__(self, servers: str, topic: str, *, idle_timeout: float = 60.0) -> None:
        self.topic, self.idle_timeout = topic, idle_timeout
        # Own group, assigned partitions, no commits: the rebuild leaves no trace in Kafka.
        self.consumer = Consumer(
            {
                "bootstrap.servers": servers,
                "group.id": f"sgs-reindex-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                "auto.offset.reset": "earliest",
            }
        )

    def watermarks(self) -> tuple[dict[int, int], dict[int, int]]:
        """The (first, end) offset of every partition."""
        metadata = self.consumer.list_topics(self.topic, timeout=15).topics[self.topic]
        if metadata.error is not None:
            raise RebuildError(f"topic {self.topic}: {metadata.error.str()}")
        first, end = {}, {}
        for partition in metadata.partitions:
            first[partition], end[partition] = watermarks(self.consumer, self.topic, partition, timeout=15)
        return first, end

    def latest(
        self, start: Mapping[int, int], end: Mapping[int, int], advance: Advance
    ) -> tuple[dict[bytes | None, bytes], int]:
        """The last value per key of the records in [start, end) of each partition, and how many were read."""
        remaining = {p for p in end if end[p] > start.get(p, 0)}  # .get: partitions added since `start`
        self.consumer.assign([TopicPartition(self.topic, p, start.get(p, 0)) for p in remaining])
        latest: dict[bytes | None, bytes] = {}
        read, idle_since = 0, time.monotonic()
        while remaining:
            messages, before = self.consumer.consume(BATCH, timeout=1.0), read
            if messages:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > self.idle_timeout:
                raise RebuildError(f"{self.topic}: partitions {sorted(remaining)} stopped before their end")
            for message in messages:
                partition, error = message.partition(), message.error()
                if error is not None:
                    # End of the log: records that compaction removed, or transaction markers, may end it early.
                    if error.code() != KafkaError._PARTITION_EOF:
                        raise KafkaException(error)
                    remaining.discard(partition)
                    continue
                key, value, offset = message.key(), message.value(), message.offset()
                if partition not in remaining or offset is None or offset >= end[partition]:
                    continue  # produced after the snapshot: the next pass (or the publisher) has it
                read += 1
                if value is None:
                    latest.pop(key, None)
                else:
                    latest[key] = value
                if offset >= end[partition] - 1:
                    remaining.discard(partition)
            advance(read - before)
        self.consumer.unassign()
        return latest, read

    def close(self) -> None:
        self.consumer.close()


def _advance(progress: Progress | None, description: str, total: int) -> Advance:
    if progress is None:
        return lambda _: None
    task = progress.add_task(description, total=total)
    return lambda count: progress.advance(task, count)


class _Rebuild:
    """One rebuild's connections and report."""

    def __init__(self, settings: Settings, es: AsyncElasticsearch, reader: TopicReader, report: RebuildReport) -> None:
        self.es, self.reader, self.report = es, reader, report
        self.names, self.topic = IndexNames(settings.index_prefix), reader.topic
        self.codec, self.writer = AvroCodec(settings.registry, "current"), BulkWriter(es)

    async def build(self, wanted: IndexSettings, max_refused: int, progress: Progress | None) -> dict[int, int]:
        """Create and fill the new indices up to the topic's current end, ready to be swapped in; return that end."""
        loading = dataclasses.replace(wanted, refresh_interval="-1")  # nobody searches them yet
        for alias, index in self.report.indices.items():
            mapping, merge_policy = mapping_for(self.names, alias), merge_policy_for(self.names, alias)
            await create_index(self.es, index, mapping, loading, merge_policy, alias=None)
        first, end = await asyncio.to_thread(self.reader.watermarks)
        reading = _advance(progress, f"reading {self.topic}", sum(end[p] - first[p] for p in end))
        latest, self.report.records = await asyncio.to_thread(self.reader.latest, first, end, reading)
        self.report.decisions = len(latest)
        await self.load(list(latest.values()), self.report.indices, _advance(progress, "indexing", len(latest)))
        refused = self.report.refused
        if len(refused) > max_refused:
            shown = "\n".join(refused[:20])
            raise RebuildError(f"{len(refused)} records refused (at most {max_refused} allowed):\n{shown}")
        new = list(self.report.indices.values())
        await self.es.indices.put_settings(index=new, settings={"refresh_interval": wanted.refresh_interval})
        await self.es.indices.refresh(index=new)
        # One segment per index before it goes live: what was loaded in bulk is then searched at its cheapest.
        await self.es.options(request_timeout=3600).indices.forcemerge(index=new, max_num_segments=1)
        return end

    async def load(self, values: list[bytes], targets: Mapping[str, str], advance: Advance) -> None:
        """Write the records' documents into `targets` (alias -> index to write)."""
        alias_of = {index: alias for alias, index in targets.items()}
        rebuilt_at = datetime.now(UTC)
        for start in range(0, len(values), BATCH):
            writes: list[IndexWrite] = []
            for value in values[start : start + BATCH]:
                try:
                    state = self.codec.decode(self.topic, value)
                except Exception as exc:  # what the publisher dead-lettered: reported, not fatal by itself
                    self.report.refused.append(f"undecodable record: {exc}")
                    continue
                # The time the state was made, as the worker stamped it: departments' feedback compares it with
                # their rejections ("rejected, not yet corrected"), which a rebuild must not reset.
                indexed_at = state.get("updated_at") or rebuilt_at
                for write in documents_for(state, self.names, indexed_at=indexed_at, remask=True):
                    writes.append(dataclasses.replace(write, index=targets[write.index]))
            for result in await self.writer.write(writes):
                alias = alias_of[result.index]
                if result.outcome == "written":
                    self.report.written[alias] += 1
                elif result.outcome == "rejected":
                    self.report.refused.append(f"{result.doc_id} in {alias}: {result.error}")
            advance(min(BATCH, len(values) - start))

    async def swap(self) -> None:
        """Point every alias at its new index and delete the old indices, in one atomic `_aliases` call."""
        actions: list[dict[str, dict[str, object]]] = []
        for alias, index in self.report.indices.items():
            actions.append({"add": {"index": index, "alias": alias, "is_write_index": True}})
            if await self.es.indices.exists_alias(name=alias):
                old = await self.es.indices.get_alias(name=alias)
                actions += [{"remove_index": {"index": name}} for name in old.body]
        await self.es.indices.update_aliases(actions=actions)

    async def catch_up(self, end: dict[int, int]) -> None:
        """What the publisher wrote into the old indices while the rebuild ran, again, through the aliases."""
        _, now = await asyncio.to_thread(self.reader.watermarks)
        latest, read = await asyncio.to_thread(self.reader.latest, end, now, lambda _: None)
        self.report.records += read
        await self.load(list(latest.values()), {alias: alias for alias in self.report.indices}, lambda _: None)


async def rebuild(
    settings: Settings,
    *,
    index_settings: IndexSettings | None = None,
    max_refused: int = 0,
    progress: Progress | None = None,
) -> RebuildReport:
    """Rebuild `<prefix>licences`, `<prefix>penalties` and `<prefix>archive` from `<topic prefix>decisions.current`.

    Stops before the swap (RebuildError, new indices deleted) when more than `max_refused` records are
    undecodable or rejected: a broken mapping must not replace a good index with an empty one.
    """
    started = time.monotonic()
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
    report = RebuildReport({a: f"{a}-{stamp}" for a in IndexNames(settings.index_prefix).from_current_state})
    reader = TopicReader(settings.kafka_servers, Topics(settings.topic_prefix).current)
    try:
        async with search_client.async_client(settings.elasticsearch, request_timeout=60) as es:
            run = _Rebuild(settings, es, reader, report)
            try:
                end = await run.build(index_settings or IndexSettings(), max_refused, progress)
            except BaseException:
                await es.indices.delete(index=list(report.indices.values()), ignore_unavailable=True)
                raise
            await run.swap()
            await run.catch_up(end)
    finally:
        reader.close()
    report.seconds = time.monotonic() - started
    return report
