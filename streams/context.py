"""What every agent of one worker shares: settings, topic names, codecs, the clock, the calendar, Elasticsearch."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from elasticsearch import AsyncElasticsearch

from sgs.config import Settings
from sgs.connectors import search_client
from sgs.connectors.avro import AvroCodec
from sgs.connectors.search_writer import BulkWriter
from sgs.core.calendar import WorkingCalendar, load_calendar
from sgs.core.validate import ValidationOptions
from sgs.streams.clock import Clock, clock_from
from sgs.streams.topics import Topics


@dataclass
class Context:
    settings: Settings
    # Validation with the operator's publication rules (periods, the negative list), read once at start.
    options: ValidationOptions

    @cached_property
    def topics(self) -> Topics:
        return Topics(self.settings.topic_prefix)

    @cached_property
    def clock(self) -> Clock:
        return clock_from(self.settings.clock)

    @cached_property
    def calendar(self) -> WorkingCalendar:
        return load_calendar(self.settings.calendar_dir)

    @cached_property
    def elasticsearch(self) -> AsyncElasticsearch:
        return search_client.async_client(self.settings.elasticsearch, request_timeout=30)

    @cached_property
    def writer(self) -> BulkWriter:
        """The worker's Elasticsearch bulk writer, every sink's, counted in the worker's metrics."""
        from sgs.streams import metrics

        return BulkWriter(
            self.elasticsearch,
            on_bulk=lambda index, seconds: metrics.ES_BULK_SECONDS.labels(index).observe(seconds),
            on_retry=lambda count: metrics.ES_RETRIES.inc(count),
            on_conflict=lambda count: metrics.ES_CONFLICTS.inc(count),
        )

    def codec(self, schema: str) -> AvroCodec:
        return AvroCodec(self.settings.registry, schema)
