"""The rejections indexer: dead letters → the rejections index (what departments see of their rejected
submissions). It takes batches without acking and acks only after the bulk write returned.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import faust
from faust.types import EventT

from sgs.connectors.search_indices import IndexNames
from sgs.connectors.search_writer import IndexWrite
from sgs.core.problems import dead_letter_id
from sgs.streams.batches import index_batches
from sgs.streams.context import Context

log = logging.getLogger(__name__)
BATCH = 1000


def register(app: faust.App, ctx: Context) -> None:
    topics, names = ctx.topics, IndexNames(ctx.settings.index_prefix)
    rejected = app.topic(topics.rejected, key_type=str, value_type=bytes, value_serializer="raw")
    dead_letter_codec = ctx.codec("dead_letter")

    def document_of(event: EventT[bytes], now: datetime) -> IndexWrite | None:
        try:
            record = dead_letter_codec.decode(topics.rejected, event.value)
        except Exception:  # a dead letter of dead letters would loop: logged for the operator
            log.exception("undecodable dead letter at %s:%s", event.message.partition, event.message.offset)
            return None
        document = rejection_document(record, now)
        # External version: the dead letter's own offset. A replay's dead letter comes later (overwrites); this
        # indexer reading one again after a crash is stale and changes nothing.
        return IndexWrite(names.rejections, dead_letter_id(record), event.message.offset, document)

    @app.agent(rejected, name=f"{ctx.settings.topic_prefix}rejection-indexer")
    async def index_rejections(stream: faust.StreamT[bytes]) -> None:
        await index_batches(
            stream, ctx.writer, ctx.clock, document_of, what="rejections index", max_events=BATCH, within=0.2
        )


def rejection_document(record: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A dead letter as the rejections index keeps it: everything but the original bytes."""
    document = {name: value for name, value in record.items() if name not in ("original", "rejected_at")}
    document["problem_codes"] = sorted({problem["code"] for problem in record["problems"]})
    document["rejected_at"] = record["rejected_at"].isoformat()
    document["indexed_at"] = now.isoformat()
    return document
