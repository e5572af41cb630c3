"""Polling real servers until something is true, with a deadline and a message that says what never came."""

from __future__ import annotations

import time
from collections.abc import Callable, Set
from typing import TYPE_CHECKING, TypeVar

from sgs.config import Settings
from sgs.connectors import search_client
from sgs.connectors.search_indices import IndexNames, public_query_filter

if TYPE_CHECKING:
    from tests.integration.conftest import WorkerProcess

T = TypeVar("T")


def wait_for(probe: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.2) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(interval)


def wait_public(
    settings: Settings, asked: Set[str], public: Set[str], worker: WorkerProcess, *, what: str, timeout: float = 90
) -> None:
    """Until exactly `public`, of the decisions `asked` about, are public (a withdrawn one must not be); fails at
    once when the worker has exited."""
    names = IndexNames(settings.index_prefix)
    aliases = [names.public_alias("licence"), names.public_alias("penalty")]
    query = {"bool": {"filter": [public_query_filter(), {"ids": {"values": sorted(asked)}}]}}

    with search_client.client(settings.elasticsearch) as es:

        def as_wanted() -> bool:
            assert worker.alive(), f"the worker exited; see {worker.log_path}"
            if not es.indices.exists_alias(name=aliases):
                return False  # the worker creates the indices when it starts
            hits = es.search(index=aliases, query=query, size=len(asked))["hits"]["hits"]
            return {hit["_id"] for hit in hits} == public

        wait_for(as_wanted, timeout=timeout, what=what)
