"""The merge side of the decisions agent: decode, validate and merge by decision id over a changelogged table;
dead letters. A thin shell around `sgs.core.submission.handle`.

It also owns the end of each decision's publication period (公示截止期): an alarm index over the merge table
(rebuilt after every recovery) and a timer that sends an `expire` command through decisions.commands, which
the same agent turns into a withdrawal — so every change of a decision's state is made in one place. A
`reapply` command (`sgs rules apply`) makes a decision's public view again by the worker's publication rules.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import faust
from faust.types import EventT

from sgs.core.problems import Problem
from sgs.core.sanctions import subject_of
from sgs.core.submission import (
    EXPIRE,
    REAPPLY,
    Handled,
    Location,
    Stored,
    expire,
    handle,
    publication_ends_at,
    reapply,
)
from sgs.streams import metrics
from sgs.streams.alarms import AlarmIndex, values_yielding
from sgs.streams.context import Context
from sgs.streams.outbox import Outbox

log = logging.getLogger(__name__)


class MergeStage:
    def __init__(self, app: faust.App, ctx: Context, outbox: Outbox) -> None:
        self.ctx, self.topics, self.outbox = ctx, ctx.topics, outbox
        self.table = app.Table(f"{ctx.settings.topic_prefix}decisions", key_type=str)
        self.submission_codec, self.current_codec = ctx.codec("submission"), ctx.codec("current")
        self.person_secret = ctx.settings.person_key_secret.encode()
        self.dead_letter_codec, self.command_codec = ctx.codec("dead_letter"), ctx.codec("command")
        self.publication_ends = AlarmIndex()
        self.table.on_recover(self._rebuild_publication_ends)
        app.timer(ctx.settings.deadline_check_interval)(self._send_expiries)

    def submission(self, event: EventT[bytes], now: datetime) -> tuple[Handled, dict[str, Any] | None, str | None]:
        """Handle one submission (its event made current) and keep what it changed; returns the envelope too,
        and the subject code the decision had before (the sanction join must hear when it changes)."""
        envelope: dict[str, Any] | None = None
        try:
            envelope = self.submission_codec.decode(self.topics.submitted, event.value)
            undecodable = None
        except Exception as exc:  # any undecodable payload is a dead letter
            undecodable = str(exc)[:500]
        key = event.key if isinstance(event.key, str) else None
        stored_json = self.table.get(key) if key else None
        handled = handle(
            envelope,
            Stored.from_json(stored_json) if stored_json else None,
            key=key,
            location=Location(event.message.topic, event.message.partition, event.message.offset),
            now=now,
            calendar=self.ctx.calendar,
            undecodable=undecodable,
            person_secret=self.person_secret,
            options=self.ctx.options,
        )
        if handled.stored is not None and key is not None:
            self._keep(key, handled.stored)
        metrics.SUBMISSIONS.labels(handled.department_code, handled.kind, handled.outcome).inc()
        before = subject_of(stored_json["current"]) if stored_json else None
        return handled, envelope, before

    def command(self, event: EventT[bytes], now: datetime) -> Handled:
        command = self.command_codec.decode(self.topics.commands, event.value)
        stored_json = self.table.get(command["decision_id"])
        stored = Stored.from_json(stored_json) if stored_json else None
        if command["type"] == REAPPLY:
            handled = reapply(stored, now=now, options=self.ctx.options)
        else:
            handled = expire(stored, now=now)
        if handled.stored is not None and handled.current is not None:
            self._keep(command["decision_id"], handled.stored)
        metrics.COMMANDS.labels(command["type"], handled.outcome).inc()
        return handled

    def send_current(self, current: dict[str, Any], subject_before: str | None = None) -> None:
        value = self.current_codec.encode(self.topics.current, current)
        self.outbox.send(self.topics.current, current["decision_id"], value)
        subject = subject_of(current)
        if subject:
            # The sanction join's repartition: the same record keyed by its subject (unified code, or keyed hash).
            self.outbox.send(self.topics.by_subject, subject, value)
        if subject_before and subject_before != subject:
            self.outbox.send(self.topics.by_subject, subject_before, value)  # no longer that subject's

    def send_dead_letter(
        self, event: EventT[bytes], envelope: dict[str, Any] | None, problems: tuple[Problem, ...], now: datetime
    ) -> None:
        envelope = envelope or {}
        key = event.key if isinstance(event.key, str) else None
        decision_id: str | None = envelope.get("decision_id") or key
        record = {
            "event_id": str(envelope["event_id"]) if envelope.get("event_id") else None,
            "decision_id": decision_id,
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
        value = self.dead_letter_codec.encode(self.topics.rejected, record)
        self.outbox.send(self.topics.rejected, decision_id, value)

    def _keep(self, decision_id: str, stored: Stored) -> None:
        self.table[decision_id] = stored.as_json()
        self._remember(stored)

    def _remember(self, stored: Stored) -> None:
        ends = publication_ends_at(stored)
        if ends is None:
            self.publication_ends.forget(stored.current["decision_id"])
        else:
            self.publication_ends.track(stored.current["decision_id"], stored.status, ends, False)

    async def _rebuild_publication_ends(self) -> None:
        self.publication_ends.clear()
        async for data in values_yielding(self.table.items()):
            self._remember(Stored.from_json(data))
        log.info("publication period alarms rebuilt: %d active decisions with an end", len(self.publication_ends))

    async def _send_expiries(self) -> None:
        now = self.ctx.clock.now()
        due = self.publication_ends.pop_due(now)
        for decision_id in due:
            command = {"type": EXPIRE, "decision_id": decision_id, "at": now}
            value = self.command_codec.encode(self.topics.commands, command)
            self.outbox.send(self.topics.commands, decision_id, value)
        if due:
            await self.outbox.delivered()
            log.info("publication period ended for %d decisions (clock %s)", len(due), now.isoformat())
