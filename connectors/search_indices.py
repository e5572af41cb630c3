"""The Elasticsearch indices: names behind aliases, and explicit mappings generated from the field table.

Every index is reached through an alias (`<prefix>licences`, `<prefix>penalties`, `<prefix>archive`,
`<prefix>deadlines`, `<prefix>rejections`, `<prefix>alerts`) so that a rebuild can swap a fresh index in
without downtime. The public indices hold only the masked public view; every mapping is `dynamic: strict`,
so a field the mapping does not know is refused (and dead-lettered by the publisher) instead of being indexed
unseen — a `never`-public field that reached a public document would be refused the same way. Withdrawn
decisions stay in the public indices as soft-deleted documents (`withdrawn: true`, excluded by
`public_query_filter`), so that a late older version can never bring one back (Elasticsearch forgets the
versions of deleted documents).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, assert_never

from elasticsearch import AsyncElasticsearch, BadRequestError

from sgs.core.fields import KINDS, Field, Kind, fields_of

_PUBLIC_ALIAS: dict[str, str] = {"licence": "licences", "penalty": "penalties"}
# Free-text fields people also match exactly or sort by: analyzed text plus an exact keyword subfield.
EXACT_TEXT = frozenset({"subject_name", "authority_name", "source_department", "licence_number"})

_KEYWORD: dict[str, Any] = {"type": "keyword"}
_DATE: dict[str, Any] = {"type": "date"}
_BOOLEAN: dict[str, Any] = {"type": "boolean"}
_LONG: dict[str, Any] = {"type": "long"}
# The standard analyzer splits Chinese into single characters, so phrase queries match names and numbers
# (the minimal distribution has no analysis-common: no cjk bigrams, no ngrams).
_TEXT: dict[str, Any] = {"type": "text", "analyzer": "standard"}
_TEXT_AND_KEYWORD: dict[str, Any] = _TEXT | {"fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}
# 万元 with up to six decimals (0.01 元). The minimal distribution lacks mapper-extras, hence no scaled_float;
# a double holds 15 significant digits, and the exact decimal string stays in _source for display.
_AMOUNT: dict[str, Any] = {"type": "double"}


@dataclass(frozen=True)
class IndexNames:
    """The aliases of one deployment (`prefix` = `Settings.index_prefix`)."""

    prefix: str

    def public_alias(self, kind: str) -> str:
        return f"{self.prefix}{_PUBLIC_ALIAS[kind]}"

    @property
    def archive(self) -> str:
        return f"{self.prefix}archive"

    @property
    def deadlines(self) -> str:
        return f"{self.prefix}deadlines"

    @property
    def rejections(self) -> str:
        """Dead letters, for the departments' feedback (status, `sgs status`) and the dashboard."""
        return f"{self.prefix}rejections"

    @property
    def alerts(self) -> str:
        """Sanction alerts (联合惩戒): a penalty against a subject that holds licences of other departments."""
        return f"{self.prefix}alerts"

    @property
    def from_current_state(self) -> tuple[str, ...]:
        """The aliases whose documents come from `decisions.current` (and can be rebuilt from it)."""
        return (*(self.public_alias(kind) for kind in KINDS), self.archive)

    @property
    def aliases(self) -> tuple[str, ...]:
        return (*self.from_current_state, self.deadlines, self.rejections, self.alerts)


@dataclass(frozen=True)
class MergePolicy:
    segments_per_tier: int
    floor_segment: str

    def settings(self) -> dict[str, Any]:
        return {
            "merge.policy.segments_per_tier": self.segments_per_tier,
            "merge.policy.floor_segment": self.floor_segment,
        }


# The public indices: fewer, larger segments than Elasticsearch's default, because a search pays a term lookup
# per text field per segment and the public searches them far more than the worker writes (README, "Measured").
SEARCHED = MergePolicy(segments_per_tier=2, floor_segment="32mb")
# The archive and the supervisors' indices: Elasticsearch's defaults. Their readers ask for one document or an
# aggregation, and under load the search-tuned policy merged them about once a refresh: two thirds of
# Elasticsearch's merge time in a pipeline run went to indices the public never searches.
WRITTEN = MergePolicy(segments_per_tier=10, floor_segment="2mb")


@dataclass(frozen=True)
class IndexSettings:
    """Defaults suit the single-node local stack; a cluster wants replicas."""

    shards: int = 1
    replicas: int = 0
    refresh_interval: str = "1s"

    def body(self, merge_policy: MergePolicy) -> dict[str, Any]:
        return {
            "number_of_shards": self.shards,
            "number_of_replicas": self.replicas,
            "refresh_interval": self.refresh_interval,
            **merge_policy.settings(),
        }


def field_mapping(field: Field) -> dict[str, Any]:
    """How a field of the table is indexed, from its value type."""
    match field.type:
        case "text":
            return _TEXT_AND_KEYWORD if field.name in EXACT_TEXT else _TEXT
        case "document_number":
            return _TEXT_AND_KEYWORD
        case "date":
            return _DATE
        case "amount_wan":
            return _AMOUNT
        case "uscc" | "org_code" | "identifier" | "id_number" | "enum" | "enum_multi":
            return _KEYWORD  # codes, identifiers, (masked) ID numbers, enumeration values
        case unknown:
            assert_never(unknown)


# What the platform adds to the table's fields. subject_code and publication_end are also table fields, with
# the same mapping (the views fill them from the same values).
_DECISION_PLATFORM: dict[str, Any] = {
    "kind": _KEYWORD,
    "decision_id": _KEYWORD,
    "subject_code": _KEYWORD,
    "publication_end": _DATE,
    "document_number_normalized": _KEYWORD,
    "sequence": _LONG,
    "indexed_at": _DATE,
}
PUBLIC_PLATFORM_FIELDS: dict[str, Any] = _DECISION_PLATFORM | {
    "withdrawn": _BOOLEAN,
    "withdrawn_reason": _KEYWORD,  # revoked | expired | not_public | withheld
    "published_at": _DATE,
}
# `publication_status`, not `status`: licences have a table field `status` (当前状态), which the archive keeps.
ARCHIVE_PLATFORM_FIELDS: dict[str, Any] = _DECISION_PLATFORM | {
    "publication_status": _KEYWORD,  # active | revoked | expired | not_public | withheld
    "withheld_reason": _KEYWORD,  # the negative list entry's reason, when withheld
    "deadline": _DATE,
    "deadline_provisional": _BOOLEAN,
}


def _properties(fields: list[Field], platform: dict[str, Any]) -> dict[str, Any]:
    properties = dict(platform)
    for field in fields:
        mapping = field_mapping(field)
        if properties.setdefault(field.name, mapping) != mapping:
            raise ValueError(f"{field.kind}.{field.name}: mapped differently by another field or the platform")
    return properties


def public_mapping(kind: Kind) -> dict[str, Any]:
    public = [f for f in fields_of(kind) if f.publicity != "never"]
    return {"dynamic": "strict", "properties": _properties(public, PUBLIC_PLATFORM_FIELDS)}


def archive_mapping() -> dict[str, Any]:
    every = [f for kind in KINDS for f in fields_of(kind)]
    return {"dynamic": "strict", "properties": _properties(every, ARCHIVE_PLATFORM_FIELDS)}


def deadlines_mapping() -> dict[str, Any]:
    """One document per decision: its latest deadline state (see deadline_event.avsc)."""
    properties = {
        "decision_id": _KEYWORD,
        "kind": _KEYWORD,
        "department_code": _KEYWORD,
        "state": _KEYWORD,
        "decision_date": _DATE,
        "deadline": _DATE,
        "provisional": _BOOLEAN,
        "first_seen_at": _DATE,
        "published_at": _DATE,
        "working_days_late": {"type": "integer"},
        "sequence": _LONG,
        "updated_at": _DATE,
        "indexed_at": _DATE,
    }
    return {"dynamic": "strict", "properties": properties}


def rejections_mapping() -> dict[str, Any]:
    """One document per dead letter (see dead_letter.avsc; the original bytes stay in the topic)."""
    problem = {"field": _KEYWORD, "code": _KEYWORD, "message": _TEXT}
    properties = {
        "decision_id": _KEYWORD,
        "event_id": _KEYWORD,
        "department_code": _KEYWORD,
        "kind": _KEYWORD,
        "source_topic": _KEYWORD,
        "source_partition": {"type": "integer"},
        "source_offset": _LONG,
        "problems": {"type": "object", "properties": problem},
        "problem_codes": _KEYWORD,
        "rejected_at": _DATE,
        "indexed_at": _DATE,
    }
    return {"dynamic": "strict", "properties": properties}


def alerts_mapping() -> dict[str, Any]:
    """One document per (penalty, licence) pair (see alert.avsc)."""
    properties = {
        "alert_id": _KEYWORD,
        "severity": _KEYWORD,
        "reason": _KEYWORD,  # licensed_entity_penalised | watchlist
        "subject_code": _KEYWORD,
        "subject_name": _TEXT_AND_KEYWORD,
        "penalty_id": _KEYWORD,
        "penalty_document_number": _KEYWORD,
        "penalty_categories": _KEYWORD,
        "penalty_decision_date": _DATE,
        "penalty_department_code": _KEYWORD,
        "penalty_authority_name": _KEYWORD,
        "licence_id": _KEYWORD,
        "licence_document_number": _KEYWORD,
        "licence_name": _KEYWORD,
        "licence_department_code": _KEYWORD,
        "licence_authority_name": _KEYWORD,
        "notify_department_code": _KEYWORD,
        "raised_at": _DATE,
        "indexed_at": _DATE,
    }
    return {"dynamic": "strict", "properties": properties}


def mapping_for(names: IndexNames, alias: str) -> dict[str, Any]:
    for kind in KINDS:
        if alias == names.public_alias(kind):
            return public_mapping(kind)
    if alias == names.archive:
        return archive_mapping()
    if alias == names.deadlines:
        return deadlines_mapping()
    if alias == names.rejections:
        return rejections_mapping()
    if alias == names.alerts:
        return alerts_mapping()
    raise ValueError(f"{alias!r} is not an alias of prefix {names.prefix!r}")


def merge_policy_for(names: IndexNames, alias: str) -> MergePolicy:
    return SEARCHED if alias in (names.public_alias(kind) for kind in KINDS) else WRITTEN


def public_query_filter() -> dict[str, Any]:
    """The clause every public query carries: withdrawn decisions are never shown."""
    return {"term": {"withdrawn": False}}


async def create_index(
    es: AsyncElasticsearch,
    index: str,
    mapping: dict[str, Any],
    settings: IndexSettings,
    merge_policy: MergePolicy,
    *,
    alias: str | None,
) -> None:
    """Create `index`; with `alias`, atomically as that alias's write index."""
    aliases = {alias: {"is_write_index": True}} if alias else None
    body = settings.body(merge_policy)
    await es.indices.create(index=index, mappings=mapping, settings=body, aliases=aliases)


async def ensure_indices(es: AsyncElasticsearch, names: IndexNames, settings: IndexSettings | None = None) -> list[str]:
    """Give each missing alias its first index `<alias>-v1`; return the aliases created. Idempotent.

    The fixed first name makes concurrent workers harmless: one creates it, the others find it exists. Existing
    indices receive the current mapping, so fields added to the table reach them (a changed type is refused
    here, 400, and needs a rebuild: `sgs reindex`), and their merge policy, which Elasticsearch applies live.
    """
    settings = settings or IndexSettings()
    created = []
    for alias in names.aliases:
        mapping, merge_policy = mapping_for(names, alias), merge_policy_for(names, alias)
        if await es.indices.exists_alias(name=alias):
            await es.indices.put_mapping(index=alias, **mapping)
            await es.indices.put_settings(index=alias, settings=merge_policy.settings())
            continue
        try:
            await create_index(es, f"{alias}-v1", mapping, settings, merge_policy, alias=alias)
            created.append(alias)
        except BadRequestError as exc:
            if exc.error != "resource_already_exists_exception":
                raise
    return created
