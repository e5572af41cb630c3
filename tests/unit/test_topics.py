"""Asking a partition's offsets again while its leader is moving: the retry rule, with a consumer that answers
from a script (the rule is what is tested; real brokers answer in the integration tests)."""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from sgs.streams.topics import watermarks


class ScriptedConsumer:
    def __init__(self, *answers: tuple[int, int] | int) -> None:
        self.answers, self.asked = list(answers), 0

    def get_watermark_offsets(self, _partition: Any, timeout: float) -> tuple[int, int]:
        self.asked += 1
        answer = self.answers.pop(0)
        if isinstance(answer, int):
            raise KafkaException(KafkaError(answer))
        return answer


def test_a_moving_leader_is_asked_again_until_it_answers() -> None:
    consumer = ScriptedConsumer(KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE, (3, 9))
    assert watermarks(consumer, "t", 0, timeout=1) == (3, 9)  # type: ignore[arg-type]
    assert consumer.asked == 3


def test_other_errors_and_a_leader_that_never_comes_are_raised() -> None:
    with pytest.raises(KafkaException):
        watermarks(ScriptedConsumer(KafkaError.UNKNOWN_TOPIC_OR_PART), "t", 0, timeout=1)  # type: ignore[arg-type]
    stuck = ScriptedConsumer(*[KafkaError.NOT_LEADER_FOR_PARTITION] * 3)
    with pytest.raises(KafkaException):
        watermarks(stuck, "t", 0, timeout=1, attempts=3)  # type: ignore[arg-type]
    assert stuck.asked == 3
