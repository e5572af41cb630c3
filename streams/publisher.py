"""The Elasticsearch sinks: current state → public and archive indices; deadline events → deadlines index;
dead letters → rejections index (what departments see of their rejected submissions).

Each takes a batch without acking, writes it in bulk (external versions: replays and reordering are
harmless, 409 means a newer version is there), and acks only after the write returned. Transient failures are
retried inside the writer until Elasticsearch answers, so an outage holds the stream back instead of losing
it; documents Elasticsearch refuses (mapping errors) become dead letters. A public document written for an
active decision is what the deadline tracker calls published: it is searchable within the index's refresh
interval.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

import faust
from faust.types import EventT

from sgs.connectors.search_indices import IndexNames
from sgs.connectors.search_writer import IndexWrite, WriteResult, documents_for
from sgs.streams import metrics
from sgs.streams.batches import ack_all, unacked_batches
from sgs.streams.context import Context

log = logging.getLogger(__name__)
BATCH = 1000


def register(app: faust.App, ctx: Context) -> None:
    topics, names = ctx.topics, IndexNames(ctx.settings.index_prefix)
    current = app.topic(topics.current, key_type=str, value_type=bytes, value_serializer="raw")
    deadline_events = app.topic(topics.deadline_events, key_type=str, value_type=bytes, value_serializer="raw")
    rejected = app.topic(topics.rejected, key_type=str, value_type=bytes, value_serializer="raw")
    notices = app.topic(topics.deadline_input, key_type=str, value_type=bytes, value_serializer="raw")
    current_codec, event_codec = ctx.codec("current"), ctx.codec("deadline_event")
    dead_letter_codec, notice_codec = ctx.codec("dead_letter"), ctx.codec("deadline_notice")
    writer = ctx.writer

    async def write(writes: list[IndexWrite]) -> list[WriteResult]:
        started = time.perf_counter()
        results = await writer.write(writes)
        log.debug("wrote %d documents in %.3f s", len(writes), time.perf_counter() - started)
        return results

    async def dead_letter(event: EventT[bytes], code: str, message: str, now: datetime) -> None:
        metrics.DEAD_LETTERS.labels(code).inc()
        record = {
            "event_id": None,
            "decision_id": event.key if isinstance(event.key, str) else None,
            "department_code": None,
            "kind": None,
            "source_topic": event.message.topic,
            "source_partition": event.message.partition,
            "source_offset": event.message.offset,
            "original": event.value if isinstance(event.value, bytes) else b"",
            "problems": [{"field": "", "code": code, "message": message[:2000]}],
            "rejected_at": now,
        }
        await rejected.send(key=event.key, value=dead_letter_codec.encode(topics.rejected, record))

    @app.agent(current, name=f"{ctx.settings.topic_prefix}publisher")
    async def publish(stream: faust.StreamT[bytes]) -> None:
        async for events in unacked_batches(stream, BATCH, within=0.2):
            now = ctx.clock.now()
            writes: list[IndexWrite] = []
            owners: list[tuple[EventT[bytes], dict[str, Any]]] = []
            for event in events:
                if event.value is None:
                    continue  # a tombstone: compaction's business, nothing to index
                try:
                    state = current_codec.decode(topics.current, event.value)
                except Exception as exc:  # undecodable: a dead letter, never a stuck stream
                    await dead_letter(event, "current.undecodable", f"当前状态无法解码：{exc}", now)
                    continue
                for item in documents_for(state, names, indexed_at=now):
                    writes.append(item)
                    owners.append((event, state))
            results = await write(writes)
            published_at = ctx.clock.now()
            for result, (event, state) in zip(results, owners, strict=True):
                if result.outcome == "rejected":
                    metrics.ES_REJECTED.inc()
                    await dead_letter(event, "elasticsearch.rejected", f"检索库拒绝该文档：{result.error}", now)
                elif (
                    # "stale" too: a replay after a crash finds its own earlier write; the tracker keeps the first.
                    result.outcome in ("written", "stale")
                    and result.index == names.public_alias(state["kind"])
                    and state["status"] == "active"
                ):
                    notice = {"type": "published", "decision_id": state["decision_id"], "at": published_at}
                    value = notice_codec.encode(topics.deadline_input, notice)
                    await notices.send(key=state["decision_id"], value=value)
            await ack_all(stream, events)

    @app.agent(deadline_events, name=f"{ctx.settings.topic_prefix}deadline-indexer")
    async def index_deadlines(stream: faust.StreamT[bytes]) -> None:
        async for events in unacked_batches(stream, BATCH, within=0.2):
            now = ctx.clock.now()
            latest: dict[str, dict[str, Any]] = {}
            for event in events:
                record = event_codec.decode(topics.deadline_events, event.value)
                known = latest.get(record["decision_id"])
                if known is None or record["sequence"] > known["sequence"]:
                    latest[record["decision_id"]] = record
            writes = [
                IndexWrite(names.deadlines, decision_id, record["sequence"], deadline_document(record, now))
                for decision_id, record in latest.items()
            ]
            for result in await write(writes):
                if result.outcome == "rejected":
                    log.error("deadlines index refused %s: %s", result.doc_id, result.error)
            await ack_all(stream, events)

    @app.agent(rejected, name=f"{ctx.settings.topic_prefix}rejection-indexer")
    async def index_rejections(stream: faust.StreamT[bytes]) -> None:
        async for events in unacked_batches(stream, BATCH, within=0.2):
            now = ctx.clock.now()
            writes = []
            for event in events:
                try:
                    record = dead_letter_codec.decode(topics.rejected, event.value)
                except Exception:  # a dead letter of dead letters would loop: logged for the operator
                    log.exception("undecodable dead letter at %s:%s", event.message.partition, event.message.offset)
                    continue
                doc_id = f"{event.message.partition}-{event.message.offset}"
                writes.append(
                    IndexWrite(names.rejections, doc_id, event.message.offset, rejection_document(record, now))
                )
            for result in await write(writes):
                if result.outcome == "rejected":
                    log.error("rejections index refused %s: %s", result.doc_id, result.error)
            await ack_all(stream, events)


def rejection_document(record: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A dead letter as the rejections index keeps it: everything but the original bytes."""
    document = {name: value for name, value in record.items() if name not in ("original", "rejected_at")}
    document["problem_codes"] = sorted({problem["code"] for problem in record["problems"]})
    document["rejected_at"] = record["rejected_at"].isoformat()
    document["indexed_at"] = now.isoformat()
    return document


def deadline_document(record: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The deadlines index holds each decision's latest deadline state."""
    document = {name: value for name, value in record.items() if name not in ("from_state", "to_state", "at")}
    document["state"] = record["to_state"]
    document["updated_at"] = record["at"].isoformat()
    document["first_seen_at"] = record["first_seen_at"].isoformat()
    document["published_at"] = record["published_at"].isoformat() if record["published_at"] else None
    document["indexed_at"] = now.isoformat()
    return document
