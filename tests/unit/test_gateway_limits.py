"""The gateway's per-department token buckets, with a moved clock."""

from __future__ import annotations

import math

from sgs.connectors.gateway.limits import TokenBuckets


def test_a_burst_is_allowed_then_the_rate_holds() -> None:
    buckets = TokenBuckets(rate=10, burst=20)
    assert buckets.take("A", 20, now=0.0) == 0
    assert math.isclose(buckets.take("A", 5, now=0.0), 0.5)
    assert buckets.take("A", 5, now=0.5) == 0  # refilled at 10/s


def test_departments_do_not_share_a_bucket() -> None:
    buckets = TokenBuckets(rate=1, burst=2)
    assert buckets.take("A", 2, now=0.0) == 0
    assert buckets.take("B", 2, now=0.0) == 0
    assert buckets.take("A", 1, now=0.0) > 0


def test_a_request_larger_than_the_burst_can_never_pass() -> None:
    assert TokenBuckets(rate=100, burst=50).take("A", 51, now=0.0) == math.inf
