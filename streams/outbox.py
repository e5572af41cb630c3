"""What a worker's agents send, produced with confluent-kafka and known delivered before their input is acked.

Faust's own `topic.send()` costs about 0.3 ms of Python per message on this machine (bench/faust_ceiling.py),
more than validating a decision; librdkafka does the same in C. The agents send through an `Outbox` and await
`delivered()` before they ack the batch that caused the messages — at-least-once, as Faust's producer is.
Keys land where Faust's and the SDK's would: the murmur2 partitioner of the Java clients and aiokafka.
"""

from __future__ import annotations

import asyncio
import logging

from confluent_kafka import KafkaError, Message, Producer

log = logging.getLogger(__name__)


class Outbox:
    def __init__(self, servers: str, *, client_id: str = "sgs-worker") -> None:
        self._producer = Producer(
            {
                "bootstrap.servers": servers,
                "client.id": client_id,
                "enable.idempotence": True,
                "acks": "all",
                "partitioner": "murmur2_random",
                # Uncompressed: the worker reads its own messages back on the same host; compression would cost
                # CPU on both ends to save bytes that never cross a network here.
                "linger.ms": 5,
                # Never give up on a message: an outage holds the batch back until the broker is back.
                "message.timeout.ms": 0,
            }
        )
        self._failed: list[tuple[str, bytes | None, bytes | None, str]] = []

    def send(self, topic: str, key: str | None, value: bytes | None) -> None:
        encoded_key = key.encode() if key is not None else None
        while True:
            try:
                self._producer.produce(topic, value=value, key=encoded_key, on_delivery=self._on_delivery)
                return
            except BufferError:  # the local queue is full: let librdkafka send some first
                self._producer.poll(0.05)

    def _on_delivery(self, error: KafkaError | None, message: Message) -> None:
        if error is not None:
            self._failed.append((message.topic() or "", message.key(), message.value(), str(error)))

    async def delivered(self) -> None:
        """Return once everything sent so far is acknowledged by the broker (resending what failed)."""
        while True:
            remaining = await asyncio.to_thread(self._producer.flush, 30)
            if remaining == 0 and not self._failed:
                return
            failed, self._failed = self._failed, []
            for topic, key, value, error in failed:
                log.warning("resending a message to %s the broker did not take: %s", topic, error)
                self.send(topic, key.decode() if key is not None else None, value)
            if remaining:
                log.warning("%d messages still waiting for the broker", remaining)
