"""Per-department rate limits: a token bucket per department, refilled continuously, costed in decisions.

Pure (the clock is a parameter): each gateway process limits on its own, so N gateways allow N times the rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TokenBuckets:
    rate: float  # decisions per second, per department
    burst: float  # how many decisions a department may send at once
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # department -> (tokens, at)

    def _tokens(self, department: str, now: float) -> float:
        tokens, at = self._buckets.get(department, (self.burst, now))
        return min(self.burst, tokens + (now - at) * self.rate)

    def take(self, department: str, cost: float, now: float) -> float:
        """Take `cost` tokens; returns 0 when allowed, else the seconds to wait before the request would be."""
        tokens = self._tokens(department, now)
        if cost > tokens:
            self._buckets[department] = (tokens, now)
            return (cost - tokens) / self.rate if cost <= self.burst else float("inf")
        self._buckets[department] = (tokens - cost, now)
        return 0.0

    def charge(self, department: str, cost: float, now: float) -> None:
        """Take `cost` tokens whatever is left, for work whose size is known only once done (an imported
        file's rows): the bucket may go below zero, and the department waits until it has refilled."""
        self._buckets[department] = (self._tokens(department, now) - cost, now)
