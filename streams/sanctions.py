"""Sanction alerts (联合惩戒): penalties joined with the active licences of the same subject unified code.

Faust's join classes are stubs, so the join is a table and a repartitioned stream (ARCHITECTURE.md):

1. the decisions agent sends every current state that names a subject code, unchanged, to
   sanctions.by_subject keyed by that code too (same partition count as every topic) — and, when a correction
   changed the code, keyed by the old one as well, which takes the decision away from the old subject.
2. `sanctions` reads sanctions.by_subject and sanctions.watch (both keyed by subject code, so one agent owns a
   subject) into a changelogged table of subject states, and sends what `sgs.core.sanctions` raises to
   alerts.sanctions — before the table is written, so a crash repeats an alert (deduplicated downstream by
   its id) rather than losing it.
3. `alert-indexer` writes alerts to the alerts index (`_id` = alert id). The gateway's webhook notifier posts
   them to the departments they are for.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import faust
from faust.types import EventT

from sgs.connectors.search_indices import IndexNames
from sgs.connectors.search_writer import IndexWrite
from sgs.core.sanctions import SubjectState, on_decision, on_watch
from sgs.streams.batches import index_batches
from sgs.streams.context import Context

log = logging.getLogger(__name__)
BATCH = 500


def register(app: faust.App, ctx: Context) -> None:
    topics, names = ctx.topics, IndexNames(ctx.settings.index_prefix)
    joined = app.topic(topics.by_subject, topics.watch, key_type=str, value_type=bytes, value_serializer="raw")
    alerts = app.topic(topics.alerts, key_type=str, value_type=bytes, value_serializer="raw")
    subjects = app.Table(f"{ctx.settings.topic_prefix}subjects", key_type=str)
    current_codec, watch_codec, alert_codec = ctx.codec("current"), ctx.codec("watch"), ctx.codec("alert")

    @app.agent(joined, name=f"{ctx.settings.topic_prefix}sanctions")
    async def join(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            try:
                subject = event.key if isinstance(event.key, str) else ""
                stored = subjects.get(subject)
                before = SubjectState.from_json(stored) if stored else None
                now = ctx.clock.now()
                raised: list[dict[str, Any]] = []
                if event.message.topic == topics.watch:
                    watch = watch_codec.decode(topics.watch, event.value)
                    after = on_watch(before, subject, watch["department_code"], watch["watching"])
                else:
                    current = current_codec.decode(topics.current, event.value)
                    after, raised = on_decision(before, current, now, subject)
                for alert in raised:
                    await alerts.send(key=alert["alert_id"], value=alert_codec.encode(topics.alerts, alert))
                if raised:
                    log.info("%d sanction alerts for %s", len(raised), subject)
                if after != before:
                    subjects[subject] = after.as_json()
            except Exception:
                # As in every table agent: never let an exception escape (Faust would ack and lose the event).
                log.exception("sanction join at %s:%s failed", event.message.partition, event.message.offset)

    def document_of(event: EventT[bytes], now: datetime) -> IndexWrite:
        alert = alert_codec.decode(topics.alerts, event.value)
        document = alert | {"raised_at": alert["raised_at"].isoformat(), "indexed_at": now.isoformat()}
        # An alert never changes: version 1 for all, so a repeated one is answered 409 (stale, fine).
        return IndexWrite(names.alerts, alert["alert_id"], 1, document)

    @app.agent(alerts, name=f"{ctx.settings.topic_prefix}alert-indexer")
    async def index_alerts(stream: faust.StreamT[bytes]) -> None:
        await index_batches(
            stream, ctx.writer, ctx.clock, document_of, what="alerts index", max_events=BATCH, within=0.2
        )
