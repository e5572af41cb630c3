"""The worker's web endpoints: Prometheus `/metrics`, with consumer lag measured at each scrape."""

from __future__ import annotations

import contextlib
from typing import Any

import faust
from faust.web import Request, Response, View
from prometheus_client import generate_latest

from sgs.streams import metrics


def register(app: faust.App) -> None:
    async def update_lag() -> None:
        consumer: Any = app.consumer
        for tp in consumer.assignment():
            with contextlib.suppress(Exception):  # a partition being revoked right now: measured next time
                position = await consumer.position(tp)
                if position is not None:
                    lag = max(0, consumer.highwater(tp) - position)
                    metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(lag)

    class MetricsView(View):
        async def get(self, request: Request) -> Response:
            await update_lag()
            # Prometheus' text format; aiohttp sets the charset itself and refuses one in content_type.
            return self.bytes(generate_latest(), content_type="text/plain; version=0.0.4")

    app.page("/metrics")(MetricsView)
