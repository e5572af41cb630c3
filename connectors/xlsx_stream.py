"""Read one sheet of an XLSX workbook row by row, in memory that does not grow with the sheet.

    book = open_workbook(path)            # workbook.xml, its relationships, styles (small parts) read here
    sheet = book.sheet(0)                 # or book.sheet_names.index("行政处罚")
    merged = sheet.merged_cells()         # [((top, left), (bottom, right))], 0-based, inclusive
    for cells in sheet.rows():            # row 1 first; rows missing from the XML come as []
        ...

Cells come in column order from column A, gaps filled with "": shared and inline strings (rich-text runs
joined, phonetic runs left out) and formula strings as str, numbers as int when integral else float,
booleans as bool, error cells (#N/A…) as "", formula cells as their cached value (empty when the writer
computed none), ISO cells (t="d") as datetime. A number whose style shows a date or time is converted as
python-calamine did: an integral serial to `date`, one with a time of day to `datetime` (to the millisecond),
a serial below 1 to `time`, an elapsed-time format ([h]:mm) to `timedelta`; 1900 and 1904 date systems.

The sheet's XML is inflated from the zip in chunks and read by a tokenizer: regular expressions over whole
cells, a row at a time (ElementTree's or expat's per-element work in Python cannot keep up with 30-column
rows). It reads the shapes Excel, WPS, LibreOffice and openpyxl write; the first thing it does not recognise
(a comment, CDATA or processing instruction anywhere, attributes in single quotes, a cell whose attributes
or end it cannot account for, a reference it does not expand…) hands the rest of the sheet over to
ElementTree's pull parser, which reads any well-formed sheet and rejects the rest. Merged ranges are listed
after the cells in the XML: `merged_cells()` finds them in a first pass that inflates the sheet and only
searches bytes. The shared-string table is the one part held whole (strings are looked up by index from
anywhere in the sheet): as a list up to 200,000 strings, then as blocks of joined text. A part with a DTD
(entity expansion) is refused.

Hostile input is bounded: parts are UTF-8 or UTF-16 only; rows past 1,048,576 and columns past XFD (Excel's
limits), a row of more than 64 MiB of XML, parts read whole larger than their limits (16 MiB; the shared
strings 512 MiB) are refused. Unreadable input raises `XlsxError` with a message in Chinese, never another
exception.
"""

from __future__ import annotations

import codecs
import posixpath
import re
import zipfile
import zlib
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import Enum
from operator import itemgetter
from pathlib import Path
from typing import cast
from xml.etree.ElementTree import Element, ParseError, XMLPullParser, fromstring

__all__ = ["DateKind", "SharedStrings", "Sheet", "Workbook", "XlsxError", "date_format_kind", "open_workbook"]

CHUNK = 1 << 18  # bytes inflated per read
MAX_ROWS = 1_048_576  # Excel's limits
MAX_COLUMNS = 16_384  # XFD
MAX_ROW_TEXT = 64 << 20  # characters of XML one row (or the sheet's prolog) may take
MAX_PART = 16 << 20  # uncompressed bytes of a small part read whole (workbook, relationships, styles)
MAX_SHARED_STRINGS = 512 << 20  # uncompressed bytes of the shared-string table
_DIGITS = re.compile(r"[0-9]+")
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
MergedRange = tuple[tuple[int, int], tuple[int, int]]


class XlsxError(Exception):
    """The workbook cannot be read (not a zip, no such sheet, malformed XML)."""


class _Unsupported(Exception):  # noqa: N818 - internal signal, not an error: the tokenizer hands over
    """The tokenizer met XML it does not read: the pull parser takes over."""


# --- number formats --------------------------------------------------------------------------------------------


class DateKind(Enum):
    DATETIME = "datetime"
    DURATION = "duration"


# Built-in formats (ECMA-376 18.8.30): 14–22 dates and times, 45–47 minutes and seconds ([h]:mm:ss is 46).
# 27–36 and 50–58 are the East Asian built-ins (yyyy"年"m"月"d"日" is 31, h"时"mm"分" is 32…): Chinese
# Excel writes them by id, without a <numFmt> of their own.
_BUILTIN_DATES: dict[int, DateKind] = {
    **dict.fromkeys([*range(14, 23), 45, 47, *range(27, 37), *range(50, 59)], DateKind.DATETIME),
    46: DateKind.DURATION,
}
_DATE_TOKENS = frozenset("dmyhsDMYHS")
_ELAPSED = re.compile(r"\[(?:h+|m+|s+)\]", re.IGNORECASE)


def date_format_kind(code: str) -> DateKind | None:
    """Whether a number format code shows a date or time (first section only), or an elapsed time."""
    shown: list[str] = []  # the code without literals: quoted text, escaped characters, [colour], [$-locale]
    i, n = 0, len(code)
    while i < n:
        char = code[i]
        if char in "\\_*":  # escaped, a space as wide as, a fill with: the next character is no token
            i += 2
            continue
        if char == '"':
            end = code.find('"', i + 1)
            i = n if end < 0 else end + 1
            continue
        if char == "[":
            end = code.find("]", i)
            if end < 0:
                break
            if _ELAPSED.fullmatch(code, i, end + 1):
                return DateKind.DURATION
            i = end + 1
            continue
        if char == ";":
            break
        shown.append(char)
        i += 1
    text = "".join(shown)
    if not _DATE_TOKENS.isdisjoint(text):
        return DateKind.DATETIME
    folded = text.lower()
    return DateKind.DATETIME if "am/pm" in folded or "a/p" in folded else None


_EPOCH_1900 = datetime(1899, 12, 30)
_EPOCH_1904 = datetime(1904, 1, 1)
_MS_PER_DAY = 86_400_000


def excel_datetime(serial: float, kind: DateKind, date1904: bool) -> object:
    """A date-formatted number as python-calamine gave it; the number itself when out of range."""
    try:
        if kind is DateKind.DURATION:
            return timedelta(milliseconds=round(serial * _MS_PER_DAY))
        if serial < 0:
            return serial
        if serial < 1:
            ms = min(round(serial * _MS_PER_DAY), _MS_PER_DAY - 1)
            seconds, ms = divmod(ms, 1000)
            return time(seconds // 3600, seconds // 60 % 60, seconds % 60, ms * 1000)
        epoch = _EPOCH_1904 if date1904 else _EPOCH_1900
        if not date1904 and serial < 60:  # Excel counts 1900-02-29, which never was
            serial += 1
        if serial == int(serial):
            return (epoch + timedelta(days=int(serial))).date()
        return epoch + timedelta(milliseconds=round(serial * _MS_PER_DAY))
    except (OverflowError, ValueError):
        return serial


# --- text ------------------------------------------------------------------------------------------------------

_ENTITY = re.compile(r"&(#x[0-9A-Fa-f]+|#[0-9]+|[A-Za-z]+);")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
_OOXML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _xml_char(code: int) -> bool:
    """Whether XML 1.0 allows the character (a reference to any other is a parse error)."""
    return code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF


def _entity(match: re.Match[str]) -> str:
    name = match.group(1)
    if name[0] != "#":
        if name not in _NAMED:
            raise _Unsupported  # an entity declared in a DTD: the parser knows it (or rejects it)
        return _NAMED[name]
    digits = name[2:] if name[1] == "x" else name[1:]  # "&#X…;" is no reference: _ENTITY does not match it
    if len(digits) > 8:
        raise _Unsupported
    code = int(digits, 16) if name[1] == "x" else int(digits)
    if not _xml_char(code):
        raise _Unsupported  # &#0;, a surrogate…: the parser rejects the document
    return chr(code)


def _xml_text(raw: str) -> str:
    """Character data as an XML parser gives it: line ends normalised, references replaced. Text the parser
    would reject (a bare "&", a reference to a character XML forbids) hands over to it."""
    if "\r" in raw:
        raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    if "&" not in raw:
        return raw
    text, replaced = _ENTITY.subn(_entity, raw)
    if replaced != raw.count("&"):
        raise _Unsupported
    return text


def _ooxml_text(text: str) -> str:
    """Excel's own escapes of characters XML cannot carry: _x000D_ is a carriage return, _x005F_x000D_ the
    text "_x000D_" itself."""
    if "_x" not in text:
        return text
    return _OOXML_ESCAPE.sub(_ooxml_char, text)


def _ooxml_char(match: re.Match[str]) -> str:
    code = int(match.group(1), 16)
    return "\ufffd" if 0xD800 <= code <= 0xDFFF else chr(code)  # a lone surrogate is no character


def _rich_text(element: Element, ns: str) -> str:
    """<si> or <is>: its <t>, or its runs' <t> joined; phonetic runs (<rPh>) are not part of the value."""
    t_tag, r_tag = ns + "t", ns + "r"
    parts: list[str] = []
    for child in element:
        if child.tag == t_tag:
            parts.append(child.text or "")
        elif child.tag == r_tag:
            for piece in child:
                if piece.tag == t_tag:
                    parts.append(piece.text or "")
    return _ooxml_text("".join(parts))


# --- shared strings --------------------------------------------------------------------------------------------


class SharedStrings:
    """The shared-string table: a list while it is of common size (the fastest lookups), past LIST_LIMIT strings
    blocks of joined text with offsets (a str object costs 50–75 bytes besides its text: a million strings
    kept as blocks take a third of the memory)."""

    LIST_LIMIT = 200_000
    BLOCK = 1024

    def __init__(self) -> None:
        self._list: list[str] | None = []
        self._blocks: list[tuple[str, array[int]]] = []
        self._pending: list[str] = []
        self._count = 0

    def append(self, text: str) -> None:
        self._count += 1
        if self._list is not None:
            self._list.append(text)
            if len(self._list) > self.LIST_LIMIT:
                strings, self._list = self._list, None
                for start in range(0, len(strings), self.BLOCK):
                    self._pending = strings[start : start + self.BLOCK]
                    if len(self._pending) == self.BLOCK:
                        self._seal()
            return
        self._pending.append(text)
        if len(self._pending) == self.BLOCK:
            self._seal()

    def _seal(self) -> None:
        offsets = array("I", [0])
        total = 0
        for text in self._pending:
            total += len(text)
            offsets.append(total)
        self._blocks.append(("".join(self._pending), offsets))
        self._pending = []

    def __len__(self) -> int:
        return self._count

    @property
    def lookup(self) -> Callable[[int], str]:
        """index -> string, raising IndexError past the table (callers pass no negative index)."""
        return self._list.__getitem__ if self._list is not None else self._from_blocks

    def _from_blocks(self, index: int) -> str:
        if index < 0:
            raise IndexError(index)
        block, at = divmod(index, self.BLOCK)
        if block < len(self._blocks):
            text, offsets = self._blocks[block]
            return text[offsets[at] : offsets[at + 1]]
        if block == len(self._blocks) and at < len(self._pending):
            return self._pending[at]
        raise IndexError(index)


# --- the workbook ----------------------------------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _namespace(tag: str) -> str:
    return tag[: tag.index("}") + 1] if tag.startswith("{") else ""


def _attribute(element: Element, local_name: str) -> str | None:
    """An attribute by local name in any namespace (r:id is in the transitional or the strict one)."""
    for key, value in element.attrib.items():
        if _local(key) == local_name and key.startswith("{"):
            return value
    return None


def _resolve(base: str, target: str) -> str:
    """A relationship's target as a zip member name."""
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), target))


def _rels_name(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


@dataclass(frozen=True, slots=True)
class _Styles:
    date_styles: dict[str, DateKind]  # cell style index (as written in s="…") -> date kind, date styles only
    date1904: bool


@dataclass(frozen=True, slots=True)
class _SheetEntry:
    name: str
    member: str


class Workbook:
    """A workbook's sheet list; `sheet()` reads the shared strings and styles, then streams one sheet."""

    def __init__(self, path: Path, archive: zipfile.ZipFile) -> None:
        self.path = path
        workbook_part = self._workbook_part(archive)
        root = _parse_part(archive, workbook_part)
        if root is None:
            raise XlsxError("不是Excel工作簿（缺少 xl/workbook.xml）")
        ns = _namespace(root.tag)
        properties = root.find(ns + "workbookPr")
        self._date1904 = properties is not None and properties.get("date1904", "").lower() in ("1", "true")
        targets: dict[str, tuple[str, str]] = {}  # relationship id -> (type, member)
        rels = _parse_part(archive, _rels_name(workbook_part))
        for rel in rels if rels is not None else ():
            rel_id, target = rel.get("Id"), rel.get("Target")
            if rel_id and target and rel.get("TargetMode") != "External":
                targets[rel_id] = (rel.get("Type", ""), _resolve(workbook_part, target))
        self._shared_strings_member = next((m for t, m in targets.values() if t.endswith("/sharedStrings")), None)
        self._styles_member = next((m for t, m in targets.values() if t.endswith("/styles")), None)
        sheets: list[_SheetEntry] = []
        container = root.find(ns + "sheets")
        for entry in container if container is not None else ():
            rel_id = _attribute(entry, "id")
            kind, member = targets.get(rel_id or "", ("", ""))
            if kind.endswith("/worksheet") and member in archive.NameToInfo:
                sheets.append(_SheetEntry(entry.get("name", ""), member))
        self._sheets = sheets
        self._styles: _Styles | None = None
        self._strings: SharedStrings | None = None

    @staticmethod
    def _workbook_part(archive: zipfile.ZipFile) -> str:
        rels = _parse_part(archive, "_rels/.rels")
        for rel in rels if rels is not None else ():
            if rel.get("Type", "").endswith("/officeDocument") and rel.get("Target"):
                return _resolve("", rel.get("Target", ""))
        return "xl/workbook.xml"

    @property
    def sheet_names(self) -> list[str]:
        """The worksheets' names in the workbook's order (chart sheets left out)."""
        return [entry.name for entry in self._sheets]

    def sheet(self, index: int) -> Sheet:
        if not 0 <= index < len(self._sheets):
            raise XlsxError("工作簿中没有工作表" if not self._sheets else f"工作簿中没有第{index + 1}个工作表")
        with _open_zip(self.path) as archive:
            if self._styles is None:
                self._styles = _read_styles(archive, self._styles_member, self._date1904)
            if self._strings is None:
                self._strings = _read_shared_strings(archive, self._shared_strings_member)
        entry = self._sheets[index]
        return Sheet(self.path, entry.name, entry.member, self._strings, self._styles)


def open_workbook(path: Path) -> Workbook:
    """The workbook's sheet list (the zip's small parts read, nothing of its sheets yet)."""
    with _open_zip(path) as archive:
        return Workbook(path, archive)


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise XlsxError("不是有效的Excel工作簿（.xlsx 文件应为zip压缩包）") from exc
    except OSError as exc:
        raise XlsxError(f"无法打开文件：{exc}") from exc


def _parse_part(archive: zipfile.ZipFile, member: str) -> Element | None:
    """A small part (workbook, relationships, styles) parsed whole; None when the zip has no such part."""
    info = archive.NameToInfo.get(member)
    if info is None:
        return None
    _check_size(info, MAX_PART)
    try:
        data = archive.read(member)
        text = data.decode(_encoding(data, member))
        _refuse_dtd(text, member)
        return fromstring(text)  # noqa: S314 - no DTD (refused above), so no entity expansion
    except ParseError as exc:
        raise XlsxError(f"{member} 不是有效的XML：{exc}") from exc
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, MemoryError) as exc:
        raise XlsxError(f"{member} 已损坏：{exc}") from exc  # ValueError: UnicodeDecodeError among them


def _check_size(info: zipfile.ZipInfo, limit: int) -> None:
    if info.file_size > limit:
        raise XlsxError(f"{info.filename} 解压后有{info.file_size:,}字节，超过了{limit >> 20} MiB的上限")


def _read_styles(archive: zipfile.ZipFile, member: str | None, date1904: bool) -> _Styles:
    root = _parse_part(archive, member) if member else None
    if root is None:
        return _Styles({}, date1904)
    ns = _namespace(root.tag)
    custom: dict[int, DateKind | None] = {}
    formats = root.find(ns + "numFmts")
    for fmt in formats if formats is not None else ():
        number = fmt.get("numFmtId", "")
        if _DIGITS.fullmatch(number) and len(number) < 10:
            custom[int(number)] = date_format_kind(fmt.get("formatCode", ""))
    dated: dict[str, DateKind] = {}
    xfs = root.find(ns + "cellXfs")
    for index, xf in enumerate(xfs.findall(ns + "xf") if xfs is not None else ()):
        number = xf.get("numFmtId", "0")
        fmt_id = int(number) if _DIGITS.fullmatch(number) and len(number) < 10 else 0
        kind = custom[fmt_id] if fmt_id in custom else _BUILTIN_DATES.get(fmt_id)
        if kind is not None:
            dated[str(index)] = kind
    return _Styles(dated, date1904)


def _read_shared_strings(archive: zipfile.ZipFile, member: str | None) -> SharedStrings:
    info = archive.NameToInfo.get(member) if member is not None else None
    if member is None or info is None:
        return SharedStrings()
    _check_size(info, MAX_SHARED_STRINGS)
    try:
        try:
            return _tokenized_shared_strings(archive, member)
        except _Unsupported:
            return _parsed_shared_strings(archive, member)
    except ParseError as exc:
        raise XlsxError(f"共享字符串表（{member}）不是有效的XML：{exc}") from exc
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, TypeError, MemoryError) as exc:
        raise XlsxError(f"共享字符串表（{member}）已损坏：{exc}") from exc  # UnicodeDecodeError is a ValueError


_SST_ROOT = re.compile(r"<(?:([\w.-]+):)?sst[\s/>]")


def _hidden_markup(text: str) -> bool:
    """A comment, CDATA section, processing instruction (or DTD): text the tokenizers would take for markup."""
    return ("!" in text and "<!" in text) or ("?" in text and "<?" in text)  # "!", "?": rare, found fast


def _tokenized_shared_strings(archive: zipfile.ZipFile, member: str) -> SharedStrings:
    """The table read like the sheets: <si> elements of one plain <t> by a regular expression, the others
    (rich text, escapes) parsed one by one; anything else hands over to the pull parser."""
    strings = SharedStrings()
    append = strings.append
    buf = ""
    found: tuple[re.Pattern[str], re.Pattern[str], str, str, str] | None = None  # (si, </si>, "<si", "</si>", xmlns)
    for piece in _text_chunks(archive, member):
        final = not piece
        seam = len(buf)
        buf += piece
        if found is None:
            root = _SST_ROOT.search(buf)
            if root is None:
                if final or len(buf) > CHUNK:
                    raise _Unsupported
                continue
            if _hidden_markup(buf[2 : root.start()]):  # past the <?xml…?> declaration
                raise _Unsupported
            p = root.group(1) + ":" if root.group(1) else ""
            # a body ends at its </si>, or fails at the next <si (linear: no body is scanned twice)
            pattern = re.compile(
                rf"""<{p}si>(?:<{p}t(?:\s+xml:space="preserve")?>([^<&\r_]*)</{p}t>"""
                rf"""|([^<]*+(?:<(?!/{p}si\s*>|{p}si[\s/>])[^<]*+)*+))</{p}si\s*>|<{p}si\s*/>"""
            )
            close = re.compile(rf"</{p}si\s*>")
            found = (pattern, close, f"<{p}si", f"</{p}si", f'xmlns{":" + p[:-1] if p else ""}="{MAIN_NS}"')
            buf = buf[root.end() :]
            seam = 0
        pattern, close, si_start, si_close, declaration = found
        if _hidden_markup(buf[max(0, seam - 1) :]):
            raise _Unsupported
        if final:
            limit = len(buf)
        else:
            at = buf.rfind(si_close)
            end = close.match(buf, at) if at >= 0 else None
            if end is None:
                if len(buf) > MAX_ROW_TEXT:
                    raise _Unsupported  # one string of 64 MiB, or no </si> the tokenizer knows: the parser's turn
                continue
            limit = end.end()
        items = pattern.findall(buf, 0, limit)
        if len(items) != buf.count(si_start, 0, limit):
            raise _Unsupported
        for text, body in items:
            if text or not body:
                append(text)
                continue
            try:
                element = fromstring(f"<{si_start[1:]} {declaration}>{body}</{si_start[1:]}>")  # noqa: S314 - DTD refused
            except ParseError as exc:
                raise _Unsupported from exc
            append(_rich_text(element, _namespace(element.tag)))
        buf = buf[limit:]
    return strings


def _parsed_shared_strings(archive: zipfile.ZipFile, member: str) -> SharedStrings:
    strings = SharedStrings()
    parser: XMLPullParser[Element] = XMLPullParser(("start", "end"))
    root: Element | None = None
    si_tag = ""
    for piece in _text_chunks(archive, member):
        parser.feed(piece)
        for event, element in _events(parser):
            if root is None:
                root = element
                si_tag = _namespace(element.tag) + "si"
            elif event == "end" and element.tag == si_tag:
                strings.append(_rich_text(element, si_tag[:-2]))
                root.clear()
    parser.close()
    return strings


def _text_chunks(archive: zipfile.ZipFile, member: str) -> Iterator[str]:
    """A part's XML as text, in chunks (UTF-8 unless a BOM or the declaration says UTF-16), then ""; a part
    with a DTD is refused."""
    with archive.open(member) as stream:
        first = stream.read(CHUNK)
        decoder = codecs.getincrementaldecoder(_encoding(first, member))()
        chunk = first
        tail = ""
        while chunk:
            text = decoder.decode(chunk)
            _refuse_dtd(tail + text, member)
            tail = text[-16:]
            yield text
            chunk = stream.read(CHUNK)
        text = decoder.decode(b"", final=True)
        if text:
            _refuse_dtd(tail + text, member)
            yield text
        yield ""


# --- one sheet -------------------------------------------------------------------------------------------------

_COLUMNS: dict[str, int] = {}
_COLUMN_NAMES: list[str] = []


def _column_names() -> list[str]:
    """ "A", "B"… "XFD": the names of all 16,384 columns, in order."""
    if not _COLUMN_NAMES:
        names = [chr(65 + i) for i in range(26)]
        names += [a + b for a in names[:26] for b in names[:26]]
        names += [a + b for a in names[26:] for b in names[:26]]
        _COLUMN_NAMES.extend(names[:16_384])
    return _COLUMN_NAMES


def column_index(letters: str) -> int:
    """0-based column of "A", "AB"… "XFD"; ValueError for no column name, XlsxError past XFD."""
    index = _COLUMNS.get(letters)
    if index is None:
        if not letters or not letters.isascii() or not letters.isalpha() or not letters.isupper():
            raise ValueError(letters)
        if len(letters) > 3:
            raise XlsxError(_too_far(letters))
        index = 0
        for char in letters:
            index = index * 26 + ord(char) - 64
        index -= 1
        if index >= MAX_COLUMNS:
            raise XlsxError(_too_far(letters))
        _COLUMNS[letters] = index  # at most 16,384 names
    return index


def _too_far(letters: str) -> str:
    return f"列“{letters[:10]}”超出了Excel的列数上限（XFD，即{MAX_COLUMNS:,}列）"


def _row_number(digits: str) -> int:
    """A row number (1-based) as written; XlsxError past Excel's last row."""
    if len(digits) > 7 or int(digits) > MAX_ROWS:
        raise XlsxError(f"行号{digits[:12]}超出了Excel的行数上限（{MAX_ROWS:,}行）")
    return int(digits)


def _reference(ref: str) -> tuple[int, int]:
    """ "C12" -> (11, 2), 0-based (row, column); ValueError when no reference, XlsxError past Excel's limits."""
    letters = ref.rstrip("0123456789")
    digits = ref[len(letters) :]
    if not digits:
        raise ValueError(ref)
    column = column_index(letters.upper())
    return _row_number(digits) - 1, column


_ROOT = re.compile(r"<(?:([\w.-]+):)?(?:worksheet|dialogsheet|macrosheet|chartsheet)[\s/>]")


class _Tokens:
    """The regular expressions and literal tags of a sheet written with tag prefix `p` ("" or "x:")."""

    def __init__(self, p: str) -> None:
        attr = r'[\w:.-]+="[^"<]*"'
        other = rf"(?![rst]=){attr}"  # an attribute the cell's value does not depend on
        body = (
            # the common bodies: an inline string of one run (nothing to unescape), a value (after a formula
            # or not); else the body, taken apart by _body_value. A body ends at its </c> or fails at the next
            # cell's start: a cell whose end is missing costs no more than its own text.
            rf"""(?:/>|>(?:<{p}is><{p}t(?:\s+xml:space="preserve")?>([^<&\r_]*)</{p}t></{p}is>"""
            rf"""|(?:<{p}f(?:\s+{attr})*\s*(?:/>|>[^<]*</{p}f>))?<{p}v>([^<&\r]*)</{p}v>"""
            rf"""|([^<]*+(?:<(?!/{p}c\s*>|{p}c[\s/>])[^<]*+)*+))</{p}c\s*>)"""
        )
        # rows 1 to 1,048,576 only (a cell past them hands over: the parser refuses it)
        row = r"(?:[1-9][0-9]{0,5}|10[0-3][0-9]{4}|104[0-7][0-9]{3}|1048[0-4][0-9]{2}|10485[0-6][0-9]|104857[0-6])"
        column = rf'r="([A-Z]{{1,3}}){row}"'
        # A cell: its column (from r="C12"), style and type, other attributes skipped. `cell` reads them in the
        # order Excel, WPS, LibreOffice and openpyxl write them (r, s, t, others, single spaces), `any_cell` in
        # any order and spacing. A cell either does not read (an attribute in single quotes, s or t out of
        # place for `cell`) is skipped by `findall`: counting the cells of the row tells.
        self.cell = re.compile(rf"""<{p}c {column}(?: s="([0-9]*)")?(?: t="(\w*)")?(?: {other})*\s*{body}""")
        self.any_cell = re.compile(rf"""<{p}c(?:\s+(?:{column}|s="([0-9]*)"|t="(\w*)"|{other}))*\s*{body}""")
        self.cell_start = f"<{p}c"
        self.cell_starts = re.compile(rf"<{p}c[\s/>]")
        self.row = re.compile(rf"""\s*<{p}row(?:\s+(?:r="([0-9]+)"|{attr}))*\s*(/?)>""")
        self.sheet_data = re.compile(rf"<{p}sheetData(?:\s+{attr})*\s*(/?)>")
        self.row_end = re.compile(r"</(?:[\w.-]+:)?row\s{0,64}>")  # a prefix other than the root's: the parser's turn
        self.row_tag = re.compile(r"</?(?:[\w.-]+:)?row[\s/>]")
        self.sheet_data_end = re.compile(rf"</{p}sheetData\s*>")
        self.v_open, self.v_close = f"<{p}v>", f"</{p}v>"
        self.v_any = f"<{p}v"
        self.is_open, self.is_close = f"<{p}is><{p}t", f"</{p}t></{p}is>"
        self.namespace_declaration = f'xmlns{":" + p[:-1] if p else ""}="{MAIN_NS}"'
        self.prefix = p


class Sheet:
    def __init__(self, path: Path, name: str, member: str, strings: SharedStrings, styles: _Styles) -> None:
        self.path = path
        self.name = name
        self.member = member
        self._strings = strings
        self._styles = styles

    # -- merged ranges --

    def merged_cells(self) -> list[MergedRange]:
        """Merged ranges, ((top, left), (bottom, right)) 0-based and inclusive: a pass over the sheet's bytes
        that keeps only what follows </sheetData> (where <mergeCells> is)."""
        tail = bytearray()
        found = False
        carry = b""
        try:
            with _open_zip(self.path) as archive, archive.open(self.member) as stream:
                while chunk := stream.read(CHUNK):
                    if found:
                        tail += chunk
                    else:
                        window = carry + chunk
                        at = _sheet_data_end(window)
                        if at >= 0:
                            found = True
                            tail += window[at:]
                        carry = window[-64:]
                    if len(tail) > MAX_ROW_TEXT:
                        raise XlsxError(f"工作表“{self.name}”的合并单元格列表超过{MAX_ROW_TEXT >> 20} MiB，不受支持")
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise XlsxError(f"工作表“{self.name}”已损坏：{exc}") from exc
        ranges: list[MergedRange] = []
        for ref in _MERGE.findall(tail.decode("utf-8", "replace")):
            first, _, last = ref.strip().partition(":")
            try:
                top, left = _reference(first)
                bottom, right = _reference(last) if last else (top, left)
            except ValueError:
                continue
            ranges.append(((min(top, bottom), min(left, right)), (max(top, bottom), max(left, right))))
        return ranges

    # -- rows --

    def rows(self) -> Iterator[list[object]]:
        """The sheet's rows from row 1, each a list of cells from column A (see the module's docstring)."""
        yielded = 0
        try:
            try:
                for cells in self._fast_rows():
                    yield cells
                    yielded += 1
                return
            except _Unsupported:
                pass
            for index, cells in enumerate(self._parsed_rows()):
                if index >= yielded:
                    yield cells
        except ParseError as exc:
            raise XlsxError(f"工作表“{self.name}”不是有效的XML：{exc}") from exc
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, TypeError, MemoryError) as exc:
            # ValueError: UnicodeDecodeError among them; none is expected, none escapes as another type
            raise XlsxError(f"工作表“{self.name}”已损坏：{exc}") from exc

    def _value(self, typ: str | None, style: str | None, raw: str | None) -> object:
        """A cell's value from its type, style and the text of its <v> (references already replaced)."""
        if raw is None or raw == "":
            return ""
        if typ is None or typ == "n":
            try:
                number: int | float = int(raw)
            except ValueError:
                try:
                    number = float(raw)
                except ValueError:
                    return raw
                if number.is_integer():
                    number = int(number)
            if style is not None:
                kind = self._styles.date_styles.get(style)
                if kind is not None:
                    return excel_datetime(number, kind, self._styles.date1904)
            return number
        if typ == "s":
            return self._shared(raw)
        if typ == "str":
            return _ooxml_text(raw)
        if typ == "b":
            return True if raw.strip() in ("1", "true") else False if raw.strip() in ("0", "false") else ""
        if typ == "e" or typ == "inlineStr":
            return ""  # #N/A, #DIV/0!…: as python-calamine, no value; an inline string's <v> is no value
        if typ == "d":
            try:
                return datetime.fromisoformat(raw.strip())
            except ValueError:
                return raw
        return raw

    def _shared(self, raw: str) -> str:
        """The shared string a t="s" cell's value indexes (digits 0-9 only, surrounding spaces allowed)."""
        index = raw.strip()
        if not _DIGITS.fullmatch(index) or len(index) > 10 or int(index) >= len(self._strings):
            raise XlsxError(
                f"工作表“{self.name}”引用了不存在的共享字符串（索引“{index[:20]}”，共{len(self._strings)}个），文件已损坏"
            )
        return self._strings.lookup(int(index))

    def _element_value(self, cell: Element, ns: str) -> object:
        typ = cell.get("t") or None  # t="" is no type, as for the tokenizer
        if typ == "inlineStr":
            inline = cell.find(ns + "is")
            return _rich_text(inline, ns) if inline is not None else ""
        value = cell.find(ns + "v")
        return self._value(typ, cell.get("s"), value.text if value is not None else None)

    def _stream(self) -> Iterator[str]:
        """The sheet's XML as text, in chunks."""
        with _open_zip(self.path) as archive:
            for piece in _text_chunks(archive, self.member):
                if piece:
                    yield piece

    def _fast_rows(self) -> Iterator[list[object]]:
        chunks = self._stream()
        buf = ""
        tokens: _Tokens | None = None
        for piece in chunks:  # the prolog, up to <sheetData>
            seam = len(buf)
            buf += piece
            if tokens is None:
                root = _ROOT.search(buf)
                if root is None:
                    if len(buf) > CHUNK:
                        raise _Unsupported
                    continue
                tokens = _Tokens(root.group(1) + ":" if root.group(1) else "")
                seam = 0
            start = tokens.sheet_data.search(buf, max(0, buf.rfind("<", 0, seam)))
            if start is not None:
                if _hidden_markup(buf[2 : start.end()]):  # past the <?xml…?> declaration: a comment, CDATA…
                    raise _Unsupported
                if start.group(1):  # <sheetData/>
                    return
                buf = buf[start.end() :]
                break
            if len(buf) > MAX_ROW_TEXT:
                raise _Unsupported  # a prolog of 64 MiB: the parser's turn
        else:
            raise _Unsupported  # no <sheetData> found: the pull parser tells a sheet without one from a broken one
        assert tokens is not None
        yield from self._tokenize(buf, chunks, tokens)

    def _tokenize(self, buf: str, chunks: Iterator[str], tokens: _Tokens) -> Iterator[list[object]]:
        """Rows from the text after <sheetData>: whole rows at a time (split at </row>), cells by `findall`."""
        row_end, data_end = tokens.row_end, tokens.sheet_data_end
        row_close, row_open = f"</{tokens.prefix}row>", f"<{tokens.prefix}row"
        row_tag = tokens.row_tag.search

        def split_rows(text: str, final: bool) -> tuple[list[str], bool]:
            """`text` split at row ends: at "</row>" when every "row" in it is in <row or </row> (fast), else by
            the regular expression (</row >, </x:row>); and whether each row's part is known to hold one <row
            (else each is searched for another)."""
            parts = text.split(row_close)
            opened = text.count(row_open)
            if text.count("row") != opened + len(parts) - 1:
                return row_end.split(text), False
            return parts, opened - (0 if final else parts[-1].count(row_open)) == len(parts) - 1

        match_row = tokens.row.match
        cells_in = tokens.cell.findall
        any_cells_in = tokens.any_cell.findall
        cell_start = tokens.cell_start
        count_starts = tokens.cell_starts.findall
        first = itemgetter(0)
        column_at = _COLUMNS.__getitem__
        columns = _column_names()
        strings = self._strings.lookup
        value_of = self._value
        body_value = self._body_value
        row_number = 0  # of the last row yielded (1-based)
        finished = False
        if _hidden_markup(buf):
            raise _Unsupported
        scan = 0  # where a row's end may start in `buf` (the text before has none)
        while not finished:
            piece = next(chunks, None)
            if piece is None:
                end = data_end.search(buf)
                if end is None:
                    raise _Unsupported  # truncated, or </sheetData> spelled otherwise: the parser says which
                finished = True
                parts, one_each = split_rows(buf[: end.start()], True)
                rest = ""
            else:
                if _hidden_markup(buf[-1:] + piece):  # a comment, CDATA, processing instruction: the parser's turn
                    raise _Unsupported
                seam = len(buf)
                buf += piece
                if row_end.search(buf, scan) is None:
                    if len(buf) > MAX_ROW_TEXT:
                        raise XlsxError(f"工作表“{self.name}”中有一行超过{MAX_ROW_TEXT >> 20} MiB，不受支持")
                    last_open = buf.rfind("</", max(0, seam - 1))
                    scan = (
                        last_open if last_open >= 0 else scan
                    )  # a row's end can only start at the last "</" (or later)
                    continue
                parts, one_each = split_rows(buf, False)
                rest = parts[-1]  # the text after the last </row> stays in `buf` for the next chunk
                parts[-1] = ""
            last = len(parts) - 1
            for index, part in enumerate(parts):
                count = part.count
                pos = 0
                while True:  # empty rows written <row r="7"/>, then the row this part ends
                    row = match_row(part, pos)
                    if row is None:
                        if index < last or part[pos:].strip():
                            raise _Unsupported
                        break
                    pos = row.end()
                    number_text, empty = row.groups()
                    number = (
                        (int(number_text) if len(number_text) < 9 else MAX_ROWS + 1) if number_text else row_number + 1
                    )
                    if number > MAX_ROWS:
                        _row_number(number_text)  # raises, naming the number
                    if number <= row_number:
                        raise _Unsupported  # rows out of order: the parser path says so
                    if number > MAX_ROWS:
                        raise XlsxError(f"工作表“{self.name}”超出了Excel的行数上限（{MAX_ROWS:,}行）")
                    while row_number < number - 1:
                        yield []
                        row_number += 1
                    if not empty:
                        break
                    yield []
                    row_number += 1
                if row is None:
                    break
                if index == last:
                    raise _Unsupported  # a row not closed before </sheetData>: the parser says what is wrong
                if not one_each and count("row", pos) and row_tag(part, pos):
                    raise _Unsupported  # a row end the split did not see (</row followed by 65 spaces…)
                found = cells_in(part, pos)
                if len(found) != count(cell_start, pos):  # else <c…> in a body (<color>), or a cell missed
                    starts = len(count_starts(part, pos))
                    if len(found) != starts:
                        found = any_cells_in(part, pos)
                        if len(found) != starts:
                            raise _Unsupported
                try:
                    values = [
                        text
                        if text and typ == "inlineStr"  # an <is> in a cell of another type: no value
                        else strings(int(raw))
                        if typ == "s" and raw.isdigit() and raw.isascii()
                        else value_of(typ or None, style or None, raw)
                        if raw
                        else body_value(typ or None, style or None, body, tokens)
                        if body
                        else ""
                        for _, style, typ, text, raw, body in found
                    ]
                except IndexError:
                    for _, _, typ, _, raw, _ in found:
                        if typ == "s" and raw:
                            self._shared(raw)  # raises, naming the index
                    raise
                letters = list(map(first, found))
                cells: list[object]
                if "" in letters:
                    cells = self._placed(found, tokens)  # cells without r= are placed one after the other
                elif letters == columns[: len(letters)]:
                    cells = values  # A, B, C… each once, in order: Excel's way when no cell is empty
                else:
                    # gaps (Excel leaves empty cells out): each value at its column, "" between
                    try:
                        at = list(map(column_at, letters))
                    except KeyError:
                        at = list(map(column_index, letters))
                    cells = [""] * (max(at) + 1)
                    for column, value in zip(at, values, strict=True):
                        cells[column] = value
                while cells and cells[-1] == "":
                    cells.pop()
                yield cells
                row_number += 1
            if not finished:
                buf = rest
                scan = 0

    def _placed(self, found: list[tuple[str, str, str, str, str, str]], tokens: _Tokens) -> list[object]:
        """A row's cells placed by their columns: gaps filled with "", empty cells with r= adding nothing."""
        cells: list[object] = []
        for column_letters, style, typ, text, raw, body in found:
            value: object
            if text and typ == "inlineStr":
                value = text
            elif raw:
                value = self._value(typ or None, style or None, raw)
            elif body:
                value = self._body_value(typ or None, style or None, body, tokens)
            else:
                value = ""
            if not column_letters:
                if len(cells) >= MAX_COLUMNS:
                    raise XlsxError(_too_far(f"第{len(cells) + 1}列"))
                cells.append(value)
                continue
            if value == "":
                continue  # gaps are filled when a value comes; a styled empty cell at XFD adds nothing
            column = column_index(column_letters)
            size = len(cells)
            if column == size:
                cells.append(value)
            elif column > size:
                cells.extend([""] * (column - size))
                cells.append(value)
            else:
                cells[column] = value
        return cells

    def _body_value(self, typ: str | None, style: str | None, body: str, tokens: _Tokens) -> object:
        """A cell body the tokenizer's common shapes did not cover: escaped text, rich text, other elements."""
        if typ == "inlineStr":
            if body.startswith(tokens.is_open) and body.endswith(tokens.is_close):
                gt = body.find(">", len(tokens.is_open) - 1)
                text = body[gt + 1 : -len(tokens.is_close)]
                attributes = body[len(tokens.is_open) : gt]
                if "<" not in text and (not attributes or attributes.isspace() or "xml:space" in attributes):
                    return _ooxml_text(_xml_text(text))
            return self._cell_element(typ, style, body, tokens)
        if body.endswith(tokens.v_close):
            at = body.rfind(tokens.v_open)
            raw = body[at + len(tokens.v_open) : -len(tokens.v_close)]
            if at >= 0 and "<" not in raw and (at == 0 or body.startswith(f"<{tokens.prefix}f")):
                text = _xml_text(raw)
                if typ == "s":
                    return self._shared(text)
                return self._value(typ, style, text)
            return self._cell_element(typ, style, body, tokens)
        if tokens.v_any not in body and "<" + tokens.prefix + "is" not in body:
            return ""  # no cached value (a formula nobody computed), or only other children
        return self._cell_element(typ, style, body, tokens)

    def _cell_element(self, typ: str | None, style: str | None, body: str, tokens: _Tokens) -> object:
        """A cell whose body the tokenizer does not take apart (rich text, extra elements): parsed alone."""
        attributes = "".join(f' {k}="{v}"' for k, v in (("s", style), ("t", typ)) if v is not None)
        p = tokens.prefix
        try:
            # A cell's body comes from inside <sheetData>, after the prolog whose DTD _stream refused.
            cell = fromstring(f"<{p}c {tokens.namespace_declaration}{attributes}>{body}</{p}c>")  # noqa: S314
        except ParseError as exc:
            raise _Unsupported from exc  # maybe a prefix declared on the root: the pull parser knows it
        return self._element_value(cell, _namespace(cell.tag))

    def _parsed_rows(self) -> Iterator[list[object]]:
        """The same rows through ElementTree's pull parser: any well-formed sheet (and errors for the rest)."""
        parser: XMLPullParser[Element] = XMLPullParser(("start", "end"))
        ns: str | None = None
        row_tag = c_tag = data_tag = ""
        data: Element | None = None
        row_number = 0
        since_row = 0  # characters fed since the last row's end: a row held in memory is bounded
        for piece in self._stream():
            since_row += len(piece)
            if since_row > MAX_ROW_TEXT:
                raise XlsxError(f"工作表“{self.name}”中有一行超过{MAX_ROW_TEXT >> 20} MiB，不受支持")
            parser.feed(piece)
            for event, element in _events(parser):
                if ns is None:
                    ns = _namespace(element.tag)
                    row_tag, c_tag, data_tag = ns + "row", ns + "c", ns + "sheetData"
                if event == "start":
                    if element.tag == data_tag:
                        data = element
                    continue
                if element.tag == data_tag:
                    return
                if element.tag != row_tag or data is None:
                    continue
                since_row = 0
                number_text = element.get("r", "")
                number = _row_number(number_text) if _DIGITS.fullmatch(number_text) else row_number + 1
                if number > MAX_ROWS:
                    raise XlsxError(f"工作表“{self.name}”超出了Excel的行数上限（{MAX_ROWS:,}行）")
                if number <= row_number:
                    raise XlsxError(f"工作表“{self.name}”的行顺序有误（第{number}行出现在第{row_number}行之后）")
                while row_number < number - 1:
                    yield []
                    row_number += 1
                cells: list[object] = []
                for cell in element.iter(c_tag):
                    value = self._element_value(cell, ns)
                    ref = cell.get("r")
                    if ref and value == "":
                        continue
                    try:
                        column = _reference(ref)[1] if ref else len(cells)
                    except ValueError as exc:
                        raise XlsxError(f"工作表“{self.name}”的单元格引用“{(ref or '')[:20]}”无效") from exc
                    if column >= MAX_COLUMNS:
                        raise XlsxError(_too_far(f"第{column + 1}列"))
                    if column >= len(cells):
                        cells.extend([""] * (column - len(cells)))
                        cells.append(value)
                    else:
                        cells[column] = value
                data.clear()
                while cells and cells[-1] == "":
                    cells.pop()  # as the tokenizer: a row ends at its last value
                yield cells
                row_number += 1
        parser.close()


def _events(parser: XMLPullParser[Element]) -> Iterator[tuple[str, Element]]:
    """The parser's start and end events (the only ones asked for: each carries an element)."""
    for item in parser.read_events():
        yield cast(tuple[str, Element], item)


def _refuse_dtd(text: str, member: str) -> None:
    """OOXML parts have no DTD: one (entities that expand a millionfold…) is refused before parsing. Checked on
    the decoded text, anywhere (a DTD elsewhere than before the root is malformed anyway)."""
    if "<!DOCTYPE" in text:
        raise XlsxError(f"{member} 含有DTD声明（<!DOCTYPE>），不是Excel写出的文件")


_DECLARED_ENCODING = re.compile(rb"""<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]*)["']""")


def _encoding(start: bytes, member: str) -> str:
    """UTF-8 or UTF-16, the encodings XML parsers must know (a BOM, or the declaration, says which): any other
    encoding is refused."""
    if start.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if start.startswith(b"<\x00"):
        return "utf-16-le"
    if start.startswith(b"\x00<"):
        return "utf-16-be"
    declared = _DECLARED_ENCODING.match(start)
    if declared is None:
        return "utf-8"
    name = declared.group(1).decode("ascii").lower().replace("_", "-")
    if name in ("utf-8", "utf8"):
        return "utf-8"
    raise XlsxError(f"{member} 的编码“{declared.group(1).decode('ascii')}”不受支持（应为UTF-8或UTF-16）")


_MERGE = re.compile(r"""<(?:[\w.-]+:)?mergeCell\s[^>]*?\bref\s*=\s*["']([^"']*)["']""")
_DATA_END = re.compile(rb"</(?:[\w.-]+:)?sheetData\s*>|<(?:[\w.-]+:)?sheetData(?:\s[^>]*)?/>")


def _sheet_data_end(window: bytes) -> int:
    """Where the sheet's cells end in `window` (-1: not in it). Searches bytes only where "sheetData" is."""
    at = window.find(b"sheetData")
    while at >= 0:
        match = _DATA_END.search(window, max(0, at - 40), at + 80)
        if match is not None:
            return match.end()
        at = window.find(b"sheetData", at + 1)
    return -1
