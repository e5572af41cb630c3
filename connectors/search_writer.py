"""Bulk writes to Elasticsearch that are safe to repeat: external versions, per-document retries, clear outcomes.

Each write carries the decision's platform sequence as its external version, so a replay or a late older
version is answered 409 and changes nothing (outcome `stale`, a success). 429s, 5xx and connection failures
are retried — only the documents concerned — with capped exponential backoff until Elasticsearch takes them:
an outage holds the stream back instead of losing it. Documents Elasticsearch refuses for what they are
(400: mapping and parse errors) come back `rejected` with the reason, for the caller's dead letters — also
when Elasticsearch refuses a whole request for one document in it (an id over 512 bytes, a request too
large): the request is split until the refused documents are alone, so the others are written.

The writer knows nothing of Kafka; `documents_for` turns one current-state record into its writes.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson
from elasticsearch import ApiError, AsyncElasticsearch, ConnectionTimeout
from elasticsearch import ConnectionError as Unreachable

from sgs.connectors.search_indices import IndexNames
from sgs.core.docnum import normalize_document_number
from sgs.core.masking import masked_personal_data

log = logging.getLogger(__name__)
MAX_ID_BYTES = 512  # Elasticsearch refuses a longer _id, and with it the whole bulk request

Outcome = Literal["written", "stale", "rejected"]


@dataclass(frozen=True, slots=True)
class IndexWrite:
    index: str  # an alias (its write index) or a concrete index
    doc_id: str
    version: int  # the external version: the decision's sequence
    document: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class WriteResult:
    doc_id: str
    index: str
    outcome: Outcome
    error: str | None = None  # why a rejected document was refused


class RetriesExhaustedError(RuntimeError):
    """Elasticsearch did not take every document within `max_attempts`."""


def _describe(error: Any) -> str:
    if not isinstance(error, Mapping):
        return str(error)
    text = f"{error.get('type')}: {error.get('reason')}"
    cause = error.get("caused_by")
    return f"{text} ({_describe(cause)})" if cause else text


class BulkWriter:
    """Writes batches with `_bulk`, one request per `chunk_size` documents, retrying what did not get through.

    The callbacks feed metrics: `on_bulk(indices, seconds)` after each bulk response (`indices` the request's
    targets, comma-separated), `on_retry(documents)` before each retry, `on_conflict(documents)` for 409s.
    """

    def __init__(
        self,
        es: AsyncElasticsearch,
        *,
        on_bulk: Callable[[str, float], None] | None = None,
        on_retry: Callable[[int], None] | None = None,
        on_conflict: Callable[[int], None] | None = None,
        chunk_size: int = 500,
        first_backoff: float = 0.1,
        max_backoff: float = 5.0,
        max_attempts: int | None = None,
    ) -> None:
        self.es = es
        self.on_bulk, self.on_retry, self.on_conflict = on_bulk, on_retry, on_conflict
        self.chunk_size = chunk_size
        self.first_backoff, self.max_backoff, self.max_attempts = first_backoff, max_backoff, max_attempts

    async def write(self, writes: Sequence[IndexWrite]) -> list[WriteResult]:
        """One result per write, in order. Returns only when every write is settled (or raises
        RetriesExhaustedError after `max_attempts`; without it, keeps trying while Elasticsearch is away)."""
        results: dict[int, WriteResult] = {}
        pending = list(range(len(writes)))
        attempt = 0
        while pending:
            attempt += 1
            failures: dict[int, str] = {}
            for start in range(0, len(pending), self.chunk_size):
                chunk = pending[start : start + self.chunk_size]
                failures |= await self._send(writes, chunk, results)
            if not failures:
                break
            reasons = "; ".join(sorted(set(failures.values())))
            if self.max_attempts is not None and attempt >= self.max_attempts:
                raise RetriesExhaustedError(f"{len(failures)} documents not written in {attempt} attempts: {reasons}")
            if self.on_retry:
                self.on_retry(len(failures))
            ceiling = min(self.max_backoff, self.first_backoff * 2 ** (attempt - 1))
            delay = ceiling * random.uniform(0.5, 1.0)  # noqa: S311 - jitter spreads workers' retries, not secrecy
            log.warning(
                "Elasticsearch did not take %d of %d documents (%s); attempt %d failed, retrying in %.2f s",
                len(failures),
                len(writes),
                reasons,
                attempt,
                delay,
            )
            await asyncio.sleep(delay)
            pending = sorted(failures)
        return [results[i] for i in range(len(writes))]

    async def _send(
        self, writes: Sequence[IndexWrite], chunk: list[int], results: dict[int, WriteResult]
    ) -> dict[int, str]:
        """One bulk request; settles what it can in `results` and returns the transient failures' reasons."""
        operations: list[Mapping[str, Any]] = []
        sent: list[int] = []
        for i in chunk:
            w = writes[i]
            if len(w.doc_id.encode()) > MAX_ID_BYTES:
                results[i] = WriteResult(w.doc_id, w.index, "rejected", f"文档标识超过{MAX_ID_BYTES}字节")
                continue
            operations.append(
                {"index": {"_index": w.index, "_id": w.doc_id, "version": w.version, "version_type": "external"}}
            )
            operations.append(w.document)
            sent.append(i)
        if not sent:
            return {}
        chunk = sent
        started = time.perf_counter()
        try:
            response = await self.es.bulk(operations=operations)
        except (Unreachable, ConnectionTimeout) as exc:
            return dict.fromkeys(chunk, f"unreachable: {exc}")
        except ApiError as exc:
            if _refused_for_a_document(exc):
                # Refused for what is in it: halve until the documents that cause it are alone and rejected.
                if len(chunk) == 1:
                    w = writes[chunk[0]]
                    body = exc.body.get("error") if isinstance(exc.body, Mapping) else None
                    reason = f"{exc.meta.status} {_describe(body) if body else exc.error}"
                    results[chunk[0]] = WriteResult(w.doc_id, w.index, "rejected", reason)
                    return {}
                middle = len(chunk) // 2
                return await self._send(writes, chunk[:middle], results) | await self._send(
                    writes, chunk[middle:], results
                )
            if exc.meta.status != 429 and exc.meta.status < 500:
                raise  # the request itself was refused (401, 403…): a configuration error, not the documents'
            return dict.fromkeys(chunk, f"{exc.meta.status} {exc.error}")
        if self.on_bulk:
            self.on_bulk(",".join(sorted({writes[i].index for i in chunk})), time.perf_counter() - started)
        failures: dict[int, str] = {}
        conflicts = 0
        for i, item in zip(chunk, response["items"], strict=True):
            w, outcome = writes[i], item["index"]
            status = outcome["status"]
            if status < 300:
                results[i] = WriteResult(w.doc_id, w.index, "written")
            elif status == 409:
                conflicts += 1
                results[i] = WriteResult(w.doc_id, w.index, "stale")
            elif status == 400:
                results[i] = WriteResult(w.doc_id, w.index, "rejected", _describe(outcome.get("error")))
            else:  # 429, 5xx, a read-only or missing index: the cluster's state, which time or an operator repairs
                failures[i] = f"{status} {outcome.get('error', {}).get('type')}"
        if conflicts and self.on_conflict:
            self.on_conflict(conflicts)
        return failures


def _refused_for_a_document(exc: ApiError) -> bool:
    """A whole request refused for something a document in it carries: a request too large, or a request
    validation error (an illegal version…). Anything else (a proxy's 400, 401, 403) is the deployment's error,
    which no splitting mends: the batch stops, unacknowledged, until an operator repairs it."""
    if exc.meta.status == 413:
        return True
    body = exc.body.get("error") if isinstance(exc.body, Mapping) else None
    return (
        exc.meta.status == 400
        and isinstance(body, Mapping)
        and body.get("type") == "action_request_validation_exception"
    )


def documents_for(
    state: Mapping[str, Any], names: IndexNames, *, indexed_at: datetime, remask: bool = False
) -> list[IndexWrite]:
    """The writes of one current-state record (current.avsc): its public document and its archive copy. With
    `remask`, the public document's personal numbers are masked again by today's rules (`sgs reindex`: a
    document published before a rule was added is rebuilt from the public document stored then).

    A decision that is not active stays in its public index as a soft-deleted copy (`withdrawn: true`); a
    revoke of a decision never seen becomes a withdrawn stub, and so does a decision the negative list withholds
    (it has no public document: nothing of it reaches the public indices). Either blocks any older version that
    arrives later, which a deleted document would not.
    """
    decision_id, kind, sequence, status = state["decision_id"], state["kind"], state["sequence"], state["status"]
    platform = {"decision_id": decision_id, "kind": kind, "sequence": sequence, "indexed_at": indexed_at.isoformat()}
    public = _document(state["public_document"])
    if remask:
        public = masked_personal_data(public, kind)
    public |= platform
    public["withdrawn"] = status != "active" or state["public_document"] is None
    public["withdrawn_reason"] = status if status != "active" else None
    archive = _document(state["archive_document"]) | platform | {"publication_status": status}
    return [
        IndexWrite(names.public_alias(kind), decision_id, sequence, public),
        IndexWrite(names.archive, decision_id, sequence, archive),
    ]


def _document(text: str | None) -> dict[str, Any]:
    document: dict[str, Any] = orjson.loads(text) if text else {}
    if document.get("document_number"):
        document["document_number_normalized"] = normalize_document_number(document["document_number"])
    return document
