"""What one submission does to a decision, pure: checks, validation, the merge, and the messages it causes.

The stream shell decodes the bytes, looks up the stored state, calls `handle`, then stores and sends what it
returns. Everything here is a function of its arguments (the clock and the calendar included), so every
rule of the pipeline is tested without Kafka.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import orjson

from sgs.core.calendar import WorkingCalendar
from sgs.core.codes import check_uscc, normalize_code
from sgs.core.dates import CHINA_TZ
from sgs.core.decision import Decision, subject_key
from sgs.core.docnum import canonical_decision_id
from sgs.core.fields import Kind
from sgs.core.masking import archive_view, public_document
from sgs.core.merge import MergeState, Outcome, content_hash, merge
from sgs.core.negative_list import NOTHING_WITHHELD, Withholding, withholding
from sgs.core.problems import Problem
from sgs.core.publication import licence_is_public
from sgs.core.tracking import end_of_day
from sgs.core.validate import DEFAULT_OPTIONS, MAX_RECORD_CHARACTERS, ValidationOptions, validate

OPERATIONS = ("upsert", "revoke")
# The platform's own commands (decisions.commands): the publication period ended; the publication rules changed.
EXPIRE, REAPPLY = "expire", "reapply"
SOURCES = ("sdk", "gateway", "import")
KINDS = ("licence", "penalty")

Status = Literal["active", "revoked", "expired", "not_public", "withheld"]
# Decisions in force: public, or kept from the public by the negative list only (they still bind departments).
IN_FORCE: tuple[Status, ...] = ("active", "withheld")
_KEPT_ON_REVOKE = (
    "subject_code",
    "subject_key",
    "decision_date",
    "publication_end",
    "public_document",
    "archive_document",
)


@dataclass(frozen=True, slots=True)
class Stored:
    """The merge table's value for one decision id."""

    merge: MergeState
    sequence: int
    status: Status
    department_code: str
    kind: str
    # Where the submission that made this state was read: a replay after a crash re-reads offsets up to it.
    partition: int
    offset: int
    current: Mapping[str, Any]  # the last current-state record emitted

    def as_json(self) -> dict[str, Any]:
        return {
            "merge": dataclasses.asdict(self.merge),
            "sequence": self.sequence,
            "status": self.status,
            "department_code": self.department_code,
            "kind": self.kind,
            "partition": self.partition,
            "offset": self.offset,
            "current": dict(self.current),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Stored:
        current = dict(data["current"])
        # The table's JSON turns the timestamp into text; the current-state contract wants an instant again.
        if isinstance(current.get("updated_at"), str):
            current["updated_at"] = datetime.fromisoformat(current["updated_at"])
        return cls(
            MergeState(**data["merge"]),
            data["sequence"],
            data["status"],
            data["department_code"],
            data["kind"],
            data["partition"],
            data["offset"],
            current,
        )


@dataclass(frozen=True, slots=True)
class Location:
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class Seen:
    """For the deadline tracker: a submission proved the decision exists (valid or not)."""

    decision_id: str
    kind: str
    department_code: str
    decision_date: date
    version: int  # the submission's: an older one, rejected or not, must not move the tracker's date


@dataclass(frozen=True, slots=True)
class Handled:
    outcome: str  # applied | duplicate | stale | rejected | replayed | expired | reapplied | unchanged
    stored: Stored | None  # the new table value; None: leave the table as it is
    current: Mapping[str, Any] | None  # the current-state record to emit
    problems: tuple[Problem, ...]  # non-empty: a dead letter
    seen: Seen | None
    revoked: str | None  # decision id the tracker should stop chasing
    department_code: str
    kind: str


def _reject(problems: list[Problem], envelope: Mapping[str, Any] | None, seen: Seen | None = None) -> Handled:
    envelope = envelope or {}
    return Handled(
        "rejected",
        None,
        None,
        tuple(problems),
        seen,
        None,
        str(envelope.get("department_code") or ""),
        str(envelope.get("kind") or ""),
    )


def _envelope_problems(envelope: Mapping[str, Any], key: str | None) -> list[Problem]:
    problems = []
    if envelope.get("operation") not in OPERATIONS:
        problems.append(
            Problem("operation", "envelope.operation", f"操作“{envelope.get('operation')}”无效，应为upsert或revoke")
        )
    if envelope.get("source") not in SOURCES:
        problems.append(
            Problem("source", "envelope.source", f"来源“{envelope.get('source')}”无效，应为sdk、gateway或import")
        )
    if envelope.get("kind") not in KINDS:
        problems.append(Problem("kind", "envelope.kind", f"决定类型“{envelope.get('kind')}”无效，应为licence或penalty"))
    department = check_uscc(str(envelope.get("department_code") or ""))
    if not department.valid:
        problems.append(
            Problem("department_code", "envelope.department_code", f"报送部门统一社会信用代码无效：{department.reason}")
        )
    if key is None or key != envelope.get("decision_id"):
        problems.append(Problem("decision_id", "envelope.key_mismatch", "消息键与决定标识(decision_id)不一致"))
    return problems


def ownership_problem(values: Mapping[str, object], department_code: str) -> Problem | None:
    """A department publishes only as itself: the record's data-source code must be its own unified code."""
    source = values.get("source_department_code")
    if isinstance(source, str) and normalize_code(source) != normalize_code(department_code):
        return Problem(
            "source_department_code",
            "department.not_own",
            "数据来源单位统一社会信用代码与报送部门不一致：部门只能报送本部门的决定",
        )
    return None


def _withholding(kind: str, archive: Mapping[str, Any], options: ValidationOptions) -> Withholding:
    entries = options.publication_rules.negative_list
    return withholding(entries, kind, archive) if entries else NOTHING_WITHHELD


def _documents(kind: Kind, archive: Mapping[str, Any], withheld: Withholding) -> tuple[str | None, str]:
    """The public and archive documents (JSON) of a decision. A decision the negative list withholds has no public
    document at all, whatever its status (its public index entry is a stub); its archive document says why."""
    whole = withheld.reason is not None
    public = None if whole else orjson.dumps(public_document(kind, archive, withheld.fields)).decode()
    reason = {"withheld_reason": withheld.reason} if withheld.reason is not None else {}
    return public, orjson.dumps({**archive, **reason}).decode()


def _status(decision: Decision, now: datetime, withheld: Withholding) -> Status:
    if decision.kind == "licence" and not licence_is_public(decision.text("status") or ""):
        return "not_public"
    if withheld.reason is not None:
        return "withheld"  # the negative list (政务公开负面清单): never public, kept in the archive
    if decision.publication_end is not None and now >= end_of_day(decision.publication_end):
        return "expired"  # its publication period (公示截止期) ended before it arrived: never public
    return "active"


def _current_record(
    decision_id: str,
    kind: str,
    stored_merge: MergeState,
    sequence: int,
    status: Status,
    department: str,
    decision: Decision | None,
    now: datetime,
    subject: str | None = None,
    documents: tuple[str | None, str | None] = (None, None),
) -> dict[str, Any]:
    public, archive = documents
    return {
        "decision_id": decision_id,
        "kind": kind,
        "sequence": sequence,
        "version": stored_merge.version,
        "status": status,
        "department_code": department,
        "subject_code": decision.subject_code if decision else None,
        "decision_date": decision.decision_date.isoformat() if decision else None,
        "publication_end": decision.publication_end.isoformat() if decision and decision.publication_end else None,
        "event_id": stored_merge.event_id,
        "content_hash": stored_merge.content_hash,
        "updated_at": now,
        "public_document": public,
        "archive_document": archive,
        "subject_key": subject,
    }


def handle(
    envelope: Mapping[str, Any] | None,
    stored: Stored | None,
    *,
    key: str | None,
    location: Location,
    now: datetime,
    calendar: WorkingCalendar,
    undecodable: str | None = None,
    person_secret: bytes | None = None,
    options: ValidationOptions = DEFAULT_OPTIONS,
) -> Handled:
    """Decide what a submission does. `envelope` is None when the bytes could not be decoded (`undecodable`).
    `person_secret`: the platform's key for the keyed hash that groups a natural person's decisions
    (`subject_key`); without it only subjects with a unified code are grouped. `options` carry the publication
    rules (periods and the negative list)."""
    if envelope is None:
        return _reject([Problem("", "payload.undecodable", f"消息无法按Avro解码：{undecodable}")], None)
    if stored is not None and stored.partition == location.partition and location.offset <= stored.offset:
        # Read again after a crash or rebalance: the state already holds it. Re-emit, so that whatever the
        # crash interrupted still reaches the topics; downstream writes are idempotent.
        return Handled("replayed", stored, stored.current, (), None, None, stored.department_code, stored.kind)
    problems = _envelope_problems(envelope, key)
    if problems:
        return _reject(problems, envelope)
    department = normalize_code(envelope["department_code"])
    decision_id: str = envelope["decision_id"]
    kind: str = envelope["kind"]
    if envelope["operation"] == "revoke":
        return _revoke(envelope, stored, department, location, now)
    return _upsert(envelope, stored, department, decision_id, kind, location, now, calendar, person_secret, options)


def publication_ends_at(stored: Stored) -> datetime | None:
    """When an active decision's publication period (公示截止期) runs out: the end of that day, CST."""
    end = stored.current.get("publication_end")
    if stored.status != "active" or not end:
        return None
    return end_of_day(date.fromisoformat(end))


def expire(stored: Stored | None, *, now: datetime) -> Handled:
    """The publication period ended: the decision leaves public view and stays in the archive. Only an
    active decision whose period has really ended is withdrawn; anything else (a newer version since, an
    early or repeated command) changes nothing."""
    ends = publication_ends_at(stored) if stored else None
    if stored is None or ends is None or now < ends:
        return Handled("unchanged", None, None, (), None, None, stored.department_code if stored else "", "")
    sequence = stored.sequence + 1
    current = {**stored.current, "sequence": sequence, "status": "expired", "updated_at": now}
    # The stored partition and offset still name the last submission: replay detection reads those.
    new = dataclasses.replace(stored, sequence=sequence, status="expired", current=current)
    return Handled("expired", new, current, (), None, None, stored.department_code, stored.kind)


def reapply(stored: Stored | None, *, now: datetime, options: ValidationOptions) -> Handled:
    """The publication rules changed (`sgs rules apply`): the decision's public document is made again from its
    archive document as the negative list now says (none, or without the fields it names); a decision in force
    is withheld or published again. Revoked, expired and not public ones keep their status; nothing changed,
    nothing is emitted."""
    archived = stored.current.get("archive_document") if stored else None
    if stored is None or not archived:
        return Handled("unchanged", None, None, (), None, None, stored.department_code if stored else "", "")
    archive = orjson.loads(archived)
    archive.pop("withheld_reason", None)
    kind: Kind = "licence" if stored.kind == "licence" else "penalty"
    withheld = _withholding(kind, archive, options)
    status: Status = stored.status
    if status in IN_FORCE:
        status = "withheld" if withheld.reason is not None else "active"
        ends = stored.current.get("publication_end")
        if status == "active" and ends and now >= end_of_day(date.fromisoformat(ends)):
            status = "expired"  # its period ended while it was withheld
    public, archive_json = _documents(kind, archive, withheld)
    if status == stored.status and public == stored.current.get("public_document") and archive_json == archived:
        return Handled("unchanged", None, None, (), None, None, stored.department_code, stored.kind)
    sequence = stored.sequence + 1
    current = {
        **stored.current,
        "sequence": sequence,
        "status": status,
        "updated_at": now,
        "public_document": public,
        "archive_document": archive_json,
    }
    new = dataclasses.replace(stored, sequence=sequence, status=status, current=current)
    return Handled("reapplied", new, current, (), None, None, stored.department_code, stored.kind)


def _not_applied(
    outcome: Outcome, stored: Stored | None, submission: MergeState, department: str, kind: str
) -> Handled:
    """A duplicate, or an older version arriving after a newer one. An older version with other content is a
    dead letter that says so: the clerk's correction (or revoke) did not take effect, and nothing is dropped
    without a word; one with the content in force changes nothing and needs no answer."""
    if outcome is Outcome.STALE and stored is not None and stored.merge.content_hash != submission.content_hash:
        what = "撤销" if submission.operation == "revoke" else "报送"
        problem = Problem(
            "version",
            "version.stale",
            f"版本号{submission.version}低于本部门已生效的版本{stored.merge.version}：本次{what}未生效"
            "（更正或撤销请使用更高的版本号；SDK与网关缺省以报送时间为版本号）",
        )
        return Handled(outcome.value, None, None, (problem,), None, None, department, kind)
    return Handled(outcome.value, None, None, (), None, None, department, kind)


def _may_change(stored: Stored, department: str, decision_id: str) -> bool:
    """The department that reported a decision may change it; so may the authority that issued it (the code in
    its id), which takes over what another department reported in its name (数据来源单位 may report for the
    处罚/许可机关): otherwise a wrong or hostile report would lock the authority out of its own decision."""
    return stored.department_code == department or decision_id.split(":", 2)[1:2] == [department]


def _merged_with(stored: Stored | None, department: str) -> MergeState | None:
    """The merge state a department's submission is ranked against. Versions order one department's
    submissions; when the issuing authority takes over what another department reported in its name, that
    department's versions say nothing about the authority's (a report sent with version 2^63-1 would otherwise
    outrank every correction and revoke of the authority's own, and lock it out)."""
    if stored is None or stored.department_code != department:
        return None  # _may_change let only the issuing authority this far
    return stored.merge


def _revoke(
    envelope: Mapping[str, Any], stored: Stored | None, department: str, location: Location, now: datetime
) -> Handled:
    decision_id, kind = envelope["decision_id"], envelope["kind"]
    if not decision_id.startswith(f"{kind}:"):
        return _reject(
            [Problem("decision_id", "revoke.decision_id", f"决定标识“{decision_id}”不是{kind}类决定")], envelope
        )
    canonical = canonical_decision_id(decision_id)
    if canonical != decision_id:
        # Keyed by another spelling, it sits in another partition than the decision: say so, never a stub.
        message = (
            f"决定标识“{decision_id}”不是规范形式，应为“{canonical}”（文号括号、全角字符与代码大小写按规范写法）"
            if canonical
            else f"“{decision_id}”不是决定标识（类型:机关统一社会信用代码:文号）"
        )
        return _reject([Problem("decision_id", "revoke.decision_id", message)], envelope)
    if stored is not None and not _may_change(stored, department, decision_id):
        return _reject([Problem("department_code", "department.not_own", "只能撤销本部门报送的决定")], envelope)
    if stored is None and decision_id.split(":")[1:2] != [department]:
        # Nobody published it yet: only its issuing authority may block it, or B could lock A out of A's own.
        return _reject([Problem("department_code", "department.not_own", "只能撤销本部门作出的决定")], envelope)
    submission = MergeState(envelope["version"], "revoke", content_hash(None), str(envelope["event_id"]))
    outcome, kept = merge(_merged_with(stored, department), submission)
    if outcome is not Outcome.APPLIED or kept is None:
        return _not_applied(outcome, stored, submission, department, kind)
    sequence = (stored.sequence if stored else 0) + 1
    # The withdrawn record keeps its content for the archive; a revoke of a decision never seen is a stub
    # that still blocks older versions that arrive after it.
    previous = stored.current if stored else {}
    current = _current_record(decision_id, kind, kept, sequence, "revoked", department, None, now)
    current.update({k: previous[k] for k in _KEPT_ON_REVOKE if k in previous})
    new = Stored(kept, sequence, "revoked", department, kind, location.partition, location.offset, current)
    return Handled("applied", new, current, (), None, decision_id, department, kind)


def _upsert(
    envelope: Mapping[str, Any],
    stored: Stored | None,
    department: str,
    decision_id: str,
    kind: str,
    location: Location,
    now: datetime,
    calendar: WorkingCalendar,
    person_secret: bytes | None,
    options: ValidationOptions,
) -> Handled:
    raw = envelope.get("decision")
    if not isinstance(raw, Mapping):
        return _reject([Problem("decision", "envelope.decision_missing", "upsert操作缺少决定内容")], envelope)
    values = {name: value for name, value in raw.items() if value is not None}
    # Checked before validation too, so a huge record costs no normalization (validation checks it again).
    if sum(len(str(v)) for v in values.values()) > MAX_RECORD_CHARACTERS:
        return _reject([Problem("", "record.too_large", f"决定内容超过{MAX_RECORD_CHARACTERS}个字符")], envelope)
    result = validate(kind, values, today=now.astimezone(CHINA_TZ).date(), calendar=calendar, options=options)
    seen = None
    # A decision date that is itself the problem (in the future, before 1990) would start a clock decades away.
    dated = not any(p.field == "decision_date" for p in result.problems)
    if result.decision_id == decision_id and result.decision_date is not None and dated:
        seen = Seen(decision_id, kind, department, result.decision_date, envelope["version"])
    problems = list(result.problems)
    if result.decision_id is not None and result.decision_id != decision_id:
        problems.append(
            Problem(
                "decision_id",
                "envelope.decision_id_mismatch",
                f"决定标识应为“{result.decision_id}”，消息中为“{decision_id}”",
            )
        )
    not_own = ownership_problem(result.values, department)
    if not_own is not None:
        problems.append(not_own)
    if stored is not None and not _may_change(stored, department, decision_id):
        problems.append(Problem("department_code", "department.not_own", "该决定由其他部门报送，不能修改"))
    if problems or result.record is None:
        # Another department's record proves nothing about this decision's clock: no notice for it.
        forged = any(p.code == "department.not_own" for p in problems)
        return _reject(problems, envelope, None if forged else seen)
    decision = result.record
    archive = archive_view(decision)  # its hash is the content's: what the negative list adds is not content
    submission = MergeState(envelope["version"], "upsert", content_hash(archive), str(envelope["event_id"]))
    outcome, kept = merge(_merged_with(stored, department), submission)
    if outcome is not Outcome.APPLIED or kept is None:
        # A duplicate or an older version says nothing new: the decision date in force stays the tracker's.
        return _not_applied(outcome, stored, submission, department, kind)
    withheld = _withholding(kind, archive, options)
    status = _status(decision, now, withheld)
    documents = _documents(decision.kind, archive, withheld)
    if (
        stored is not None
        and stored.department_code == department  # a takeover is published anew, under the authority's name
        and stored.merge.operation == "upsert"
        and stored.merge.content_hash == kept.content_hash
        and stored.status == status
        and stored.current.get("public_document") == documents[0]  # the rules may have changed since
    ):
        # The same content under a newer version (the SDK's default version is the time it was sent): nothing
        # to publish again. The newer version is kept, so versions in between arriving late are stale.
        same = dataclasses.replace(stored, merge=kept, partition=location.partition, offset=location.offset)
        return Handled("duplicate", same, None, (), None, None, department, kind)
    sequence = (stored.sequence if stored else 0) + 1
    grouped_by = subject_key(decision, secret=person_secret) if person_secret else decision.subject_code
    current = _current_record(
        decision_id, kind, kept, sequence, status, department, decision, now, grouped_by, documents
    )
    new = Stored(kept, sequence, status, department, kind, location.partition, location.offset, current)
    return Handled("applied", new, current, (), seen, None, department, kind)
