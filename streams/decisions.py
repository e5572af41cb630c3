"""The decisions agent: everything about one decision, in one agent, a batch at a time.

It reads decisions.submitted, decisions.commands and deadline.input — all keyed by decision id with one
partition count, so the worker that owns a decision owns its submissions, its merge state and its deadline
state. For each batch, taken without acking:

1. every event in order: a submission is validated and merged (`MergeStage`), a command expires a decision,
   a notice moves its deadline state (`DeadlineTracker`, in memory for now); current states, the sanction
   join's repartitioned copies and dead letters go to the outbox;
2. the current states are bulk-written to the public and archive indices (external
   versions: replays and reordering are harmless, 409 means a newer version is there); a public document
   written for an active decision is what the tracker calls published;
3. the deadline transitions go to deadline.events and each decision's latest deadline state to the deadlines
   index;
4. once the broker has everything, the deadline states are stored and the batch is acked.

A crash anywhere repeats the batch: a submission read again re-emits its stored state, a transition may be
sent twice (consumers key on its sequence), nothing is lost. One agent instead of a chain of them because
every message between agents costs a Faust consume and send (README, "Measured").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import faust
from faust.types import EventT

from sgs.connectors.search_indices import IndexNames
from sgs.connectors.search_writer import IndexWrite, documents_for
from sgs.core.problems import Problem
from sgs.core.submission import Handled
from sgs.core.tracking import Tracked
from sgs.streams import metrics
from sgs.streams.batches import ack_all, make_current, unacked_batches
from sgs.streams.context import Context
from sgs.streams.deadlines import DeadlineTracker, deadline_document
from sgs.streams.outbox import Outbox
from sgs.streams.submissions import MergeStage

log = logging.getLogger(__name__)
BATCH = 1000
NEVER_PUBLISHED = ("not_public", "expired", "withheld")
WITHIN = 0.1  # seconds a batch waits to fill: part of the latency from submitted to searchable


@dataclass
class Batch:
    """What one batch changed, gathered before anything is written."""

    now: datetime
    owners: dict[str, EventT[bytes]] = field(default_factory=dict)  # decision id → an event of its partition
    tracked: dict[str, Tracked | None] = field(default_factory=dict)
    changed: set[str] = field(default_factory=set)
    transitions: dict[str, dict[str, Any]] = field(default_factory=dict)  # decision id → latest event record
    # Every state emitted, in order: a version superseded within the batch is still written (and so counts
    # as published), as it would have been one batch earlier.
    currents: list[tuple[dict[str, Any], EventT[bytes]]] = field(default_factory=list)


def register(app: faust.App, ctx: Context) -> None:
    topics, names = ctx.topics, IndexNames(ctx.settings.index_prefix)
    outbox = Outbox(ctx.settings.kafka_servers, client_id=f"{ctx.settings.topic_prefix}worker")
    merge = MergeStage(app, ctx, outbox)
    tracker = DeadlineTracker(app, ctx, outbox)
    inputs = app.topic(
        topics.submitted,
        topics.commands,
        topics.deadline_input,
        key_type=str,
        value_type=bytes,
        value_serializer="raw",
    )

    def notice(batch: Batch, event: EventT[bytes], notice: dict[str, Any]) -> None:
        decision_id = notice["decision_id"]
        make_current(event)
        batch.owners[decision_id] = event
        if decision_id not in batch.tracked:
            batch.tracked[decision_id] = tracker.load(decision_id)
        before = batch.tracked[decision_id]
        after, transitions = tracker.apply(notice, before, batch.now)
        if after is None:
            return
        if after != before:
            batch.changed.add(decision_id)
        batch.tracked[decision_id] = after
        for transition in transitions:
            batch.transitions[decision_id] = tracker.emit(transition)

    def seen(handled: Handled, now: datetime) -> dict[str, Any] | None:
        if handled.seen is not None:
            first = handled.seen
            decision_id, kind, department_code = first.decision_id, first.kind, first.department_code
            decision_date, version = first.decision_date.isoformat(), first.version
        elif handled.outcome == "replayed" and handled.current is not None and handled.current.get("decision_date"):
            # Read again after a crash that may have come before its deadline state was stored: seen again
            # (a decision already tracked is unchanged by it).
            current = handled.current
            decision_id, kind, department_code = current["decision_id"], current["kind"], current["department_code"]
            decision_date, version = current["decision_date"], current["version"]
        else:
            return None
        return {
            "type": "seen",
            "decision_id": decision_id,
            "at": now,
            "kind": kind,
            "department_code": department_code,
            "decision_date": decision_date,
            "version": version,
        }

    def take(batch: Batch, event: EventT[bytes]) -> None:
        topic = event.message.topic
        if topic == topics.deadline_input:
            notice(batch, event, tracker.decode(event.value))
            return
        make_current(event)
        envelope, subject_before = None, None
        if topic == topics.commands:
            handled = merge.command(event, batch.now)
        else:
            handled, envelope, subject_before = merge.submission(event, batch.now)
        if handled.current is not None:
            current = dict(handled.current)
            merge.send_current(current, subject_before)
            batch.currents.append((current, event))
        if handled.problems:
            merge.send_dead_letter(event, envelope, handled.problems, batch.now)
        seen_notice = seen(handled, batch.now)
        if seen_notice is not None:
            notice(batch, event, seen_notice)
        withdrawn = handled.revoked
        if withdrawn is None and handled.current is not None and handled.current["status"] in NEVER_PUBLISHED:
            # A version the platform will not publish (a licence no longer in force, a penalty whose period
            # ended before it arrived, a decision on the negative list): nothing to chase unless a later
            # version is published.
            withdrawn = handled.current["decision_id"]
        if withdrawn is not None:
            version = handled.current["version"] if handled.current is not None else 0
            notice(batch, event, {"type": "revoked", "decision_id": withdrawn, "at": batch.now, "version": version})

    async def publish(batch: Batch) -> None:
        writes: list[IndexWrite] = []
        owners: list[tuple[dict[str, Any], EventT[bytes]]] = []
        for state, event in batch.currents:
            for write in documents_for(state, names, indexed_at=batch.now):
                writes.append(write)
                owners.append((state, event))
        if not writes:
            return
        results = await ctx.writer.write(writes)
        published_at = ctx.clock.now()
        for result, (state, event) in zip(results, owners, strict=True):
            if result.outcome == "rejected":
                metrics.ES_REJECTED.inc()
                problem = Problem("", "elasticsearch.rejected", f"检索库拒绝该文档：{result.error}"[:2000])
                merge.send_dead_letter(event, None, (problem,), batch.now)
            elif (
                # "stale" too: a replay after a crash finds its own earlier write; the tracker keeps the first.
                result.outcome in ("written", "stale")
                and result.index == names.public_alias(state["kind"])
                and state["status"] == "active"
            ):
                # Active by a command: a decision the negative list had withheld, published by `sgs rules apply`.
                withheld = event.message.topic == topics.commands
                published = {
                    "type": "published",
                    "decision_id": state["decision_id"],
                    "at": published_at,
                    "withheld": withheld,
                }
                notice(batch, event, published)

    async def index_deadlines(batch: Batch) -> None:
        writes = []
        for decision_id in batch.changed:
            tracked = batch.tracked.get(decision_id)
            if tracked is not None:
                transition = batch.transitions.get(decision_id)
                updated_at = transition["at"] if transition else batch.now
                document = deadline_document(tracked, updated_at, batch.now)
                writes.append(IndexWrite(names.deadlines, decision_id, tracked.sequence, document))
        if writes:
            for result in await ctx.writer.write(writes):
                if result.outcome == "rejected":
                    log.error("deadlines index refused %s: %s", result.doc_id, result.error)

    @app.agent(inputs, name=f"{ctx.settings.topic_prefix}decisions")
    async def process(stream: faust.StreamT[bytes]) -> None:
        async for events in unacked_batches(stream, BATCH, within=WITHIN):
            batch = Batch(ctx.clock.now())
            for event in events:
                try:
                    take(batch, event)
                except Exception as exc:
                    # One bad event must not stop the batch: it becomes a dead letter that names the failure,
                    # so the submission is still accounted for.
                    log.exception("event at %s:%s failed", event.message.partition, event.message.offset)
                    problem = Problem("", "internal.error", f"平台处理出错：{type(exc).__name__}: {exc}"[:500])
                    merge.send_dead_letter(event, None, (problem,), batch.now)
            await publish(batch)
            await index_deadlines(batch)
            await outbox.delivered()
            # Deadline states after their events: a crash in between repeats an event rather than losing it.
            for decision_id, tracked in batch.tracked.items():
                if tracked is not None:
                    make_current(batch.owners[decision_id])
                    tracker.store(tracked, decision_id in batch.changed)
            await ack_all(stream, events)
