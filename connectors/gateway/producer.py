"""Submissions from the gateway onto Kafka, awaited until the broker answers (a 2xx means it acknowledged).

One idempotent producer for every department (envelopes carry the department), polled by a thread that hands
each delivery report to the request waiting for it. A second thread asks the broker for metadata every few
seconds: while it does not answer, requests are refused at once with 503 before anything is produced, so a
request is never half-published because the broker was known to be down.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from confluent_kafka import KafkaError, Message, Producer

from sgs.config import Settings
from sgs.connectors.avro import AvroCodec
from sgs.connectors.publisher import Prepared
from sgs.streams.topics import Topics

HEALTH_INTERVAL_S = 2.0
DeliveryCallback = Callable[[KafkaError | None, Message], None]


@dataclass(frozen=True, slots=True)
class Delivered:
    partition: int | None
    offset: int | None
    error: str | None


class BrokerUnavailableError(RuntimeError):
    """The broker did not answer its last health check: nothing was produced."""


class GatewayProducer:
    def __init__(self, settings: Settings, delivery_timeout_s: float = 15.0) -> None:
        self.topic = Topics(settings.topic_prefix).submitted
        self._codec = AvroCodec(settings.registry, "submission")
        self._producer = Producer(
            {
                "bootstrap.servers": settings.kafka_servers,
                "enable.idempotence": True,
                "acks": "all",
                "partitioner": "murmur2_random",
                "linger.ms": 5,
                # A request waits for its answer: fail it within a bounded time rather than after 5 minutes.
                "message.timeout.ms": int(delivery_timeout_s * 1000),
            }
        )
        self.broker_up = False
        self.broker_problem = "not checked yet"
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._poll, name="gateway-producer-poll", daemon=True),
            threading.Thread(target=self._watch, name="gateway-broker-health", daemon=True),
        ]

    def start(self) -> None:
        self._check()
        for thread in self._threads:
            thread.start()

    def close(self) -> None:
        self._stop.set()
        self._producer.flush(10)
        for thread in self._threads:
            thread.join(5)

    async def send(self, prepared: Sequence[Prepared]) -> list[Delivered]:
        """Produce every prepared envelope and wait for each one's delivery report."""
        if not self.broker_up:
            raise BrokerUnavailableError(self.broker_problem)
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[Delivered]] = []
        for item in prepared:  # refused submissions never reach the producer: each has its envelope
            future: asyncio.Future[Delivered] = loop.create_future()
            futures.append(future)
            await self._produce(item, _resolver(loop, future))
        return list(await asyncio.gather(*futures))

    async def _produce(self, item: Prepared, on_delivery: DeliveryCallback) -> None:
        assert item.envelope is not None
        value = self._codec.encode(self.topic, item.envelope)
        while True:
            try:
                self._producer.produce(
                    self.topic, key=item.envelope["decision_id"], value=value, on_delivery=on_delivery
                )
                return
            except BufferError:  # the local queue is full: the poll thread drains it, other requests go on
                await asyncio.sleep(0.01)

    def _poll(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(0.1)

    def _watch(self) -> None:
        while not self._stop.wait(HEALTH_INTERVAL_S):
            self._check()

    def _check(self) -> None:
        try:
            self._producer.list_topics(self.topic, timeout=HEALTH_INTERVAL_S)
        except Exception as exc:
            self.broker_up, self.broker_problem = False, str(exc)
        else:
            self.broker_up, self.broker_problem = True, ""


def _resolver(loop: asyncio.AbstractEventLoop, future: asyncio.Future[Delivered]) -> DeliveryCallback:
    """A delivery report (on the poll thread) resolving the request's future (on the event loop)."""

    def resolve(result: Delivered) -> None:
        if not future.done():
            future.set_result(result)

    def delivered(error: KafkaError | None, message: Message) -> None:
        result = Delivered(message.partition(), message.offset(), error.str() if error is not None else None)
        loop.call_soon_threadsafe(resolve, result)

    return delivered
