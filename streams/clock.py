"""The worker's clock, a dependency like any other: the system clock, or a file that tests and the demo set."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FileClock:
    """Reads an ISO 8601 instant from a file at every call; without the file, the system time."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def now(self) -> datetime:
        try:
            moment = datetime.fromisoformat(self.path.read_text().strip())
        except (OSError, ValueError):
            return datetime.now(UTC)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def set(self, moment: datetime) -> None:
        self.path.write_text(moment.isoformat())


def clock_from(spec: str) -> Clock:
    if not spec:
        return SystemClock()
    if spec.startswith("file:"):
        return FileClock(Path(spec.removeprefix("file:")))
    raise ValueError(f"SGS_CLOCK={spec!r}: expected empty (system clock) or file:PATH")
