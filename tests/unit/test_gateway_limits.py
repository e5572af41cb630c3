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


def test_a_charge_after_the_work_puts_the_department_in_debt_until_refilled() -> None:
    buckets = TokenBuckets(rate=10, burst=20)
    assert buckets.take("A", 1, now=0.0) == 0
    buckets.charge("A", 99, now=0.0)  # 20 - 1 - 99 = -80
    assert math.isclose(buckets.take("A", 1, now=0.0), 8.1)
    assert buckets.take("A", 1, now=8.1) == 0
    assert buckets.take("B", 20, now=0.0) == 0
