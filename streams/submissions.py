"""The submissions agent: decode, validate, merge by decision id; emit current state, dead letters and
deadline notices. A thin shell around `sgs.core.submission.handle`."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import faust
from faust.types import EventT

from sgs.core.problems import Problem
from sgs.core.submission import Handled, Location, Stored, handle
from sgs.streams import metrics
from sgs.streams.context import Context

log = logging.getLogger(__name__)


def register(app: faust.App, ctx: Context) -> None:
    topics = ctx.topics
    submitted = app.topic(topics.submitted, key_type=str, value_type=bytes, value_serializer="raw")
    current = app.topic(topics.current, key_type=str, value_type=bytes, value_serializer="raw")
    rejected = app.topic(topics.rejected, key_type=str, value_type=bytes, value_serializer="raw")
    notices = app.topic(topics.deadline_input, key_type=str, value_type=bytes, value_serializer="raw")
    decisions = app.Table(f"{ctx.settings.topic_prefix}decisions", key_type=str)
    submissions_codec, current_codec = ctx.codec("submission"), ctx.codec("current")
    dead_letter_codec, notice_codec = ctx.codec("dead_letter"), ctx.codec("deadline_notice")

    async def emit(event: EventT[bytes], handled: Handled, envelope: dict[str, Any] | None, now: datetime) -> None:
        key = event.key if isinstance(event.key, str) else None
        decision_id = (envelope or {}).get("decision_id") or key
        if handled.current is not None:
            await current.send(key=decision_id, value=current_codec.encode(topics.current, dict(handled.current)))
        if handled.problems:
            await rejected.send(key=decision_id, value=dead_letter(event, envelope, handled.problems, now))
        if handled.seen is not None:
            seen = handled.seen
            notice = {
                "type": "seen",
                "decision_id": seen.decision_id,
                "at": now,
                "kind": seen.kind,
                "department_code": seen.department_code,
                "decision_date": seen.decision_date.isoformat(),
            }
            await notices.send(key=seen.decision_id, value=notice_codec.encode(topics.deadline_input, notice))
        if handled.revoked is not None:
            notice = {"type": "revoked", "decision_id": handled.revoked, "at": now}
            await notices.send(key=handled.revoked, value=notice_codec.encode(topics.deadline_input, notice))

    def dead_letter(
        event: EventT[bytes], envelope: dict[str, Any] | None, problems: tuple[Problem, ...], now: datetime
    ) -> bytes:
        envelope = envelope or {}
        record = {
            "event_id": str(envelope["event_id"]) if envelope.get("event_id") else None,
            "decision_id": envelope.get("decision_id") or (event.key if isinstance(event.key, str) else None),
            "department_code": envelope.get("department_code"),
            "kind": envelope.get("kind"),
            "source_topic": event.message.topic,
            "source_partition": event.message.partition,
            "source_offset": event.message.offset,
            "original": event.value if isinstance(event.value, bytes) else b"",
            "problems": [p.as_dict() for p in problems],
            "rejected_at": now,
        }
        for problem in problems:
            metrics.DEAD_LETTERS.labels(problem.code).inc()
        return dead_letter_codec.encode(topics.rejected, record)

    @app.agent(submitted, name=f"{ctx.settings.topic_prefix}submissions")
    async def process_submissions(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            now = ctx.clock.now()
            envelope: dict[str, Any] | None = None
            try:
                try:
                    envelope = submissions_codec.decode(topics.submitted, event.value)
                    undecodable = None
                except Exception as exc:  # any undecodable payload is a dead letter
                    undecodable = str(exc)[:500]
                key = event.key if isinstance(event.key, str) else None
                stored_json = decisions.get(key) if key else None
                stored = Stored.from_json(stored_json) if stored_json else None
                location = Location(event.message.topic, event.message.partition, event.message.offset)
                handled = handle(
                    envelope,
                    stored,
                    key=key,
                    location=location,
                    now=now,
                    calendar=ctx.calendar,
                    undecodable=undecodable,
                )
                if handled.stored is not None and key is not None:
                    decisions[key] = handled.stored.as_json()
                await emit(event, handled, envelope, now)
                metrics.SUBMISSIONS.labels(handled.department_code, handled.kind, handled.outcome).inc()
            except Exception as exc:
                # Never let an exception escape: Faust would ack the event and lose it. It becomes a dead
                # letter that names the failure, so the submission is still accounted for.
                log.exception("submission at %s:%s failed", event.message.partition, event.message.offset)
                problem = Problem("", "internal.error", f"平台处理出错：{type(exc).__name__}: {exc}"[:500])
                await rejected.send(key=event.key, value=dead_letter(event, envelope, (problem,), now))
