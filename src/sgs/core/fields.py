"""The field table (schemas/fields.yaml) as typed, immutable objects, and the input-name resolver.

The table is the platform's vocabulary: every field of the national standard with its English name, national
code, Chinese name, value type, required rule, publicity and the header spellings seen in departments'
templates. It is loaded once per process; everything derived from it (lookup keys, enum maps) is built here,
at load time, so that validation does no per-record preparation.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any, Literal, cast, get_args

import yaml

from sgs.core.docnum import DecisionKind
from sgs.core.text import INVISIBLE, to_halfwidth

Kind = DecisionKind
KINDS: tuple[Kind, ...] = ("licence", "penalty")

ValueType = Literal[
    "text",
    "document_number",
    "uscc",
    "org_code",
    "identifier",
    "id_number",
    "date",
    "amount_wan",
    "enum",
    "enum_multi",
]
Publicity = Literal["public", "masked", "never"]


class FieldTableError(ValueError):
    """fields.yaml is inconsistent (a programming error: the table ships with the code, and a test loads it)."""


# --- normalized keys -------------------------------------------------------------------------------------------

# Brackets and Chinese punctuation that template authors use interchangeably in headers; to_halfwidth already
# maps （）［］，：；＿ to ASCII. Zero-width characters and a stray BOM are dropped.
_HEADER_MAP = str.maketrans(
    {
        "【": "(",
        "】": ")",
        "〔": "(",
        "〕": ")",
        "[": "(",
        "]": ")",
        "〈": "(",
        "〉": ")",
        "《": "(",
        "》": ")",
        "、": ",",
        "，": ",",
        "；": ";",
        "：": ":",
        "—": "-",
        "–": "-",
        "*": None,
        "\u200b": None,
        "\u200c": None,
        "\u200d": None,
        "\u2060": None,
        "\ufeff": None,
    }
)
# Required/optional markers that templates append to headers.
_HEADER_MARKERS = ("(必填)", "(选填)", "(可选)", "(非必填)", "(必须)")


def header_key(name: str) -> str:
    """The form in which header spellings are compared: half-width, brackets unified, no whitespace, no
    required-markers, case-folded. `罚款金额（万元） ` and `*罚款金额(万元)` have the same key."""
    key = "".join(to_halfwidth(name).translate(_HEADER_MAP).split())
    if "(" in key:
        for marker in _HEADER_MARKERS:
            key = key.replace(marker, "")
    return key.casefold()


def value_key(text: str) -> str:
    """The form in which enumeration values are compared: half-width, no whitespace, case-folded."""
    return "".join(to_halfwidth(text).translate(INVISIBLE).split()).casefold()


# --- the objects ------------------------------------------------------------------------------------------------
# The table's objects exist once per process: identity equality (eq=False) makes them hashable, so they can
# key caches although they hold mappings.


@dataclass(frozen=True, slots=True, eq=False)
class Enumeration:
    """An enumeration: canonical values, accepted spellings (legacy values may map to several), and the
    optional free-text "other" value (其他 / 其他-<name>)."""

    name: str
    zh: str
    values: tuple[str, ...]
    labels: Mapping[str, str]  # canonical value -> display label (当前状态 1 -> 有效)
    lookup: Mapping[str, tuple[str, ...]]  # value_key(input) -> canonical values
    other: str | None  # the label of the free-text value, e.g. 其他
    other_requires_name: bool
    multi: bool
    separators: str

    def allowed(self) -> str:
        """The allowed values, for messages: 普通、特许、…、其他-<名称>."""
        shown = [f"{v}（{self.labels[v]}）" if v in self.labels else v for v in self.values]
        if self.other is not None:
            shown.append(f"{self.other}-<名称>" if self.other_requires_name else f"{self.other}[-<名称>]")
        return "、".join(shown)


@dataclass(frozen=True, slots=True, eq=False)
class Condition:
    """`field`'s value (any of its values, for a multi-valued field) is one of `any_of`."""

    field: str
    any_of: frozenset[str]


@dataclass(frozen=True, slots=True, eq=False)
class Field:
    kind: Kind
    name: str
    code: str
    zh: str
    note: str
    type: ValueType
    enum: Enumeration | None
    required: bool
    required_when: Condition | None
    fallback: str | None
    id_type_field: str | None
    publicity: Publicity
    aliases: tuple[str, ...]

    @property
    def doc(self) -> str:
        """Chinese name, plus unit or notes: the Avro doc."""
        return f"{self.zh}；{self.note}" if self.note else self.zh

    @property
    def label(self) -> str:
        """How reports name the field: Chinese and English, 罚款金额（万元） fine_amount."""
        return f"{self.zh} {self.name}"


@dataclass(frozen=True, slots=True, eq=False)
class KindTable:
    kind: Kind
    zh: str
    fields: tuple[Field, ...]
    by_name: Mapping[str, Field]
    lookup: Mapping[str, Field]  # header_key(any accepted spelling) -> field


@dataclass(frozen=True, slots=True, eq=False)
class FieldTable:
    enums: Mapping[str, Enumeration]
    kinds: Mapping[Kind, KindTable]


# --- loading ---------------------------------------------------------------------------------------------------

_VALUE_TYPES = frozenset(get_args(ValueType))
_PUBLICITY = frozenset(get_args(Publicity))


def _strings(value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str | int) and not isinstance(v, bool) for v in items):
        raise FieldTableError(f"{where}: expected text or a list of texts")
    return tuple(str(v) for v in items)


def _enumeration(name: str, data: Mapping[str, Any]) -> Enumeration:
    values = _strings(data.get("values"), f"enums.{name}.values")
    other = data.get("other") or {}
    other_label = other.get("label")
    lookup: dict[str, tuple[str, ...]] = {value_key(v): (v,) for v in values}
    if other_label:
        lookup[value_key(other_label)] = (other_label,)
    for alias, targets in (data.get("aliases") or {}).items():
        canonical = _strings(targets, f"enums.{name}.aliases.{alias}")
        unknown = [t for t in canonical if t not in values and t != other_label]
        if unknown:
            raise FieldTableError(f"enums.{name}.aliases.{alias}: {unknown} are not values of {name}")
        key = value_key(str(alias))
        if key in lookup and lookup[key] != canonical:
            raise FieldTableError(f"enums.{name}: {alias!r} maps to two different values")
        lookup[key] = canonical
    labels = {str(k): str(v) for k, v in (data.get("labels") or {}).items()}
    return Enumeration(
        name=name,
        zh=str(data.get("zh", name)),
        values=values,
        labels=MappingProxyType(labels),
        lookup=MappingProxyType(lookup),
        other=str(other_label) if other_label else None,
        other_requires_name=bool(other.get("requires_name", False)),
        multi=bool(data.get("multi", False)),
        separators=str(data.get("separators", "")),
    )


def _field(kind: Kind, data: Mapping[str, Any], enums: Mapping[str, Enumeration]) -> Field:
    name = str(data["name"])
    where = f"kinds.{kind}.{name}"
    value_type = data.get("type")
    if value_type not in _VALUE_TYPES:
        raise FieldTableError(f"{where}: unknown type {value_type!r}")
    publicity = data.get("publicity")
    if publicity not in _PUBLICITY:
        raise FieldTableError(f"{where}: unknown publicity {publicity!r}")
    enum: Enumeration | None = None
    if value_type in ("enum", "enum_multi"):
        enum = enums.get(str(data.get("enum")))
        if enum is None:
            raise FieldTableError(f"{where}: unknown enum {data.get('enum')!r}")
    required = data.get("required", "optional")
    when = data.get("required_when")
    if required not in ("always", "optional") or (when is not None and required == "always"):
        raise FieldTableError(f"{where}: required must be always|optional, and not always with required_when")
    condition = None
    if when is not None:
        condition = Condition(str(when["field"]), frozenset(_strings(when.get("any_of"), f"{where}.required_when")))
    return Field(
        kind=kind,
        name=name,
        code=str(data["code"]),
        zh=str(data["zh"]),
        note=str(data.get("note", "")),
        type=cast(ValueType, value_type),
        enum=enum,
        required=required == "always",
        required_when=condition,
        fallback=data.get("fallback"),
        id_type_field=data.get("id_type_field"),
        publicity=cast(Publicity, publicity),
        aliases=_strings(data.get("aliases"), f"{where}.aliases"),
    )


def _kind_table(kind: Kind, data: Mapping[str, Any], enums: Mapping[str, Enumeration]) -> KindTable:
    fields = tuple(_field(kind, f, enums) for f in data["fields"])
    by_name = {f.name: f for f in fields}
    if len(by_name) != len(fields):
        raise FieldTableError(f"kinds.{kind}: duplicate field names")
    lookup: dict[str, Field] = {}
    for f in fields:
        for spelling in (f.name, f.code, f.zh, *f.aliases):
            key = header_key(spelling)
            if lookup.setdefault(key, f) is not f:
                raise FieldTableError(f"kinds.{kind}: {spelling!r} names both {lookup[key].name} and {f.name}")
    for f in fields:
        for other in (f.fallback, f.id_type_field, f.required_when.field if f.required_when else None):
            if other is not None and other not in by_name:
                raise FieldTableError(f"kinds.{kind}.{f.name}: refers to unknown field {other!r}")
        if f.required_when is not None:
            target = by_name[f.required_when.field].enum
            allowed = set(target.values) if target is not None else set()
            if not f.required_when.any_of <= allowed:
                raise FieldTableError(f"kinds.{kind}.{f.name}: required_when values not in the enumeration")
    return KindTable(kind, str(data["zh"]), fields, MappingProxyType(by_name), MappingProxyType(lookup))


def parse_field_table(text: str) -> FieldTable:
    data = yaml.safe_load(text)
    enums = {name: _enumeration(name, spec) for name, spec in data["enums"].items()}
    kinds = {kind: _kind_table(kind, data["kinds"][kind], enums) for kind in KINDS}
    return FieldTable(MappingProxyType(enums), MappingProxyType(kinds))


@functools.cache
def field_table() -> FieldTable:
    """The table shipped in schemas/fields.yaml, loaded once per process."""
    text = (resources.files("sgs.schemas") / "fields.yaml").read_text(encoding="utf-8")
    return parse_field_table(text)


def kind_table(kind: Kind) -> KindTable:
    return field_table().kinds[kind]


def fields_of(kind: Kind) -> tuple[Field, ...]:
    """The fields of a kind, in the standard's order."""
    return field_table().kinds[kind].fields


@functools.lru_cache(maxsize=4096)
def resolve_header(kind: Kind, name: str) -> Field | None:
    """The field an input name denotes — English name, national code (any case), Chinese name or a known
    alias, compared by `header_key` — or None when the table does not know it."""
    table = field_table().kinds.get(kind)
    if table is None or not isinstance(name, str):
        return None
    return table.lookup.get(header_key(name))
