"""The submissions agent: decode, validate, merge by decision id; emit current state, dead letters and
deadline notices. A thin shell around `sgs.core.submission.handle`.

It also owns the end of each decision's publication period (公示截止期): an alarm index over the merge table
(rebuilt after every recovery) and a timer that sends an `expire` command through decisions.commands, which
this same agent turns into a withdrawal — so every change of a decision's state is made in one place.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import faust
from faust.types import EventT

from sgs.core.problems import Problem
from sgs.core.submission import Handled, Location, Stored, expire, handle, publication_ends_at
from sgs.streams import metrics
from sgs.streams.alarms import AlarmIndex
from sgs.streams.context import Context

log = logging.getLogger(__name__)


def register(app: faust.App, ctx: Context) -> None:
    topics = ctx.topics
    # One agent reads both, so a decision's submissions and the platform's commands about it meet in one place.
    inputs = app.topic(topics.submitted, topics.commands, key_type=str, value_type=bytes, value_serializer="raw")
    commands = app.topic(topics.commands, key_type=str, value_type=bytes, value_serializer="raw")
    current = app.topic(topics.current, key_type=str, value_type=bytes, value_serializer="raw")
    rejected = app.topic(topics.rejected, key_type=str, value_type=bytes, value_serializer="raw")
    notices = app.topic(topics.deadline_input, key_type=str, value_type=bytes, value_serializer="raw")
    decisions = app.Table(f"{ctx.settings.topic_prefix}decisions", key_type=str)
    submissions_codec, current_codec = ctx.codec("submission"), ctx.codec("current")
    dead_letter_codec, notice_codec = ctx.codec("dead_letter"), ctx.codec("deadline_notice")
    command_codec = ctx.codec("command")
    publication_ends = AlarmIndex()

    def remember(stored: Stored) -> None:
        ends = publication_ends_at(stored)
        if ends is None:
            publication_ends.forget(stored.current["decision_id"])
        else:
            publication_ends.track(stored.current["decision_id"], stored.status, ends, False)

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

    async def process_command(event: EventT[bytes], now: datetime) -> None:
        command = command_codec.decode(topics.commands, event.value)
        stored_json = decisions.get(command["decision_id"])
        handled = expire(Stored.from_json(stored_json) if stored_json else None, now=now)
        if handled.stored is not None and handled.current is not None:
            decisions[command["decision_id"]] = handled.stored.as_json()
            remember(handled.stored)
            current_value = current_codec.encode(topics.current, dict(handled.current))
            await current.send(key=command["decision_id"], value=current_value)
            metrics.SUBMISSIONS.labels(handled.department_code, handled.kind, handled.outcome).inc()

    @app.agent(inputs, name=f"{ctx.settings.topic_prefix}submissions")
    async def process_submissions(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            now = ctx.clock.now()
            envelope: dict[str, Any] | None = None
            if event.message.topic == topics.commands:
                try:
                    await process_command(event, now)
                except Exception:
                    log.exception("command at %s:%s failed", event.message.partition, event.message.offset)
                continue
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
                    remember(handled.stored)
                await emit(event, handled, envelope, now)
                metrics.SUBMISSIONS.labels(handled.department_code, handled.kind, handled.outcome).inc()
            except Exception as exc:
                # Never let an exception escape: Faust would ack the event and lose it. It becomes a dead
                # letter that names the failure, so the submission is still accounted for.
                log.exception("submission at %s:%s failed", event.message.partition, event.message.offset)
                problem = Problem("", "internal.error", f"平台处理出错：{type(exc).__name__}: {exc}"[:500])
                await rejected.send(key=event.key, value=dead_letter(event, envelope, (problem,), now))

    @decisions.on_recover
    async def rebuild_publication_ends() -> None:
        publication_ends.clear()
        for _, data in decisions.items():
            remember(Stored.from_json(data))
        log.info("publication period alarms rebuilt: %d active decisions with an end", len(publication_ends))

    async def send_expiries() -> None:
        now = ctx.clock.now()
        due = publication_ends.pop_due(now)
        for decision_id in due:
            command = command_codec.encode(topics.commands, {"type": "expire", "decision_id": decision_id, "at": now})
            await commands.send(key=decision_id, value=command)
        if due:
            log.info("publication period ended for %d decisions (clock %s)", len(due), now.isoformat())

    app.timer(ctx.settings.deadline_check_interval)(send_expiries)
