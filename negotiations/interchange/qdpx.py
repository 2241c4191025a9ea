"""REFI-QDA exchange: read and write projects (.qdpx, .qde) and codebooks (.qdc).

Plain data in, plain data out: no Django. The importer turns a file written by another tool into
`QdaProject`; the exporter turns a `QdaProject` into a file that validates against the REFI-QDA
schemas (`Project-mrt2019.xsd`, `Codebook.xsd`).

TrustCoder's text convention (DOMAIN.md section 3): text is NFC-normalised with "\\n" line endings,
and offsets count Unicode code points from 0, end exclusive. Every `QdaSource.text` and every
`QdaSelection` position in a `QdaProject` follows it, whatever the file said.

How positions in a file are read
--------------------------------
The standard counts positions in characters of the plain-text file, but writers differ, and
the difference only shows where the raw text holds a CRLF or a character outside the Basic
Multilingual Plane (emoji, CJK Extension B):

- NVivo counts UTF-16 code units, CRLF as two (`UTF16`);
- ATLAS.ti counts code points with CRLF as one (`CODE_POINTS_CRLF_ONE`);
- QualCoder keeps "\\n" internally and, on Windows or with its MAXQDA option, writes CRLF files
  whose positions still count one per line break (`CODE_POINTS_CRLF_ONE`);
- MAXQDA counts CRLF as two (`CODE_POINTS`, the standard's reading);
- anything else is assumed to follow the standard (`CODE_POINTS`).

The project's `origin` attribute gives the expected convention. The file's own evidence can
overrule it: every candidate convention is tried on every selection of every text source and
scored by (a) how many selections fit, i.e. both ends lie inside the text and neither falls inside
a surrogate pair or between the CR and LF of a line break, and (b) how many selections whose
`name` holds the quoted text (ATLAS.ti and QualCoder write the quote there) match the text at
those positions. The convention with the best (fits, quotes) wins; the expected one wins ties.
When the origin names no known writer, (c) the number of selection ends that fall on word
boundaries breaks the remaining ties, since people select words, not halves of them. When the
texts hold neither CRLF nor astral characters, all conventions agree and nothing is guessed. A
warning says so whenever the evidence overrules the origin.

No tool counts a byte-order mark; it is dropped before counting. Positions refer to the raw
text file; `TextMap` carries them through CRLF or lone CR to "\\n" and through NFC
normalisation, so the quoted text of an imported coding is `text[start:end]` of the normalised
text and means what the writer meant. A position inside a sequence that NFC merges (a base letter
and its combining accent) or between the CR and LF of a line break widens the passage to the
whole character or line break; a position inside a surrogate pair under the chosen convention
cannot be converted, and that selection is skipped with a warning.

Text embedded in the XML (`PlainTextContent`) has already lost its CRs to XML end-of-line
handling, so positions into it are taken as they come.

What maps to what
-----------------
- `User` -> `QdaUser`; a user referenced but not declared is added with an empty name.
- `Code` (nested) -> `QdaCode` with `parent_guid`; ATLAS.ti's flattened "Parent::child" names are
  rebuilt as a hierarchy when the parent code exists.
- `TextSource` -> `QdaSource` (text from `plainTextPath` "internal://..." in `sources/`, or from
  `PlainTextContent`); its `VariableValue`s -> `variables`.
- Each `Coding` inside a `PlainTextSelection` -> one `QdaSelection` whose guid is the Coding's
  guid: TrustCoder's coding is one code on one passage. The memo joins the selection's
  `Description`, the `Note`s it or its Coding reference (`NoteRef`), and `Note`s linked to it by a
  `Link` (NVivo's and ATLAS.ti's memo-quotation relation).
- `Case` -> `QdaCase`; its `SourceRef`s -> `QdaSource.case_guids`; its `VariableValue`s ->
  `variables`.
- Dropped, each with a warning: picture, PDF, audio and video sources; selections without a code;
  codings of whole sources; Sets, Graphs, unattached Notes, other Links; descriptions of sources,
  cases and the project.

GUIDs are read case-insensitively and returned in canonical lower-case form.
"""

from __future__ import annotations

import bisect
import functools
import io
import math
import re
import unicodedata
import uuid
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from xml.etree import ElementTree as ET

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError
from defusedxml.ElementTree import fromstring as _safe_fromstring

__all__ = [
    "CODEBOOK_NS",
    "CODE_POINTS",
    "CODE_POINTS_CRLF_ONE",
    "CONVENTIONS",
    "PROJECT_NS",
    "UTF16",
    "UTF16_CRLF_ONE",
    "PositionConvention",
    "PositionError",
    "QdaCase",
    "QdaCode",
    "QdaProject",
    "QdaSelection",
    "QdaSource",
    "QdaUser",
    "QdpxError",
    "TextMap",
    "codepoint_to_utf16",
    "normalize_text",
    "read_project",
    "read_qdc",
    "read_qde",
    "read_qdpx",
    "utf16_to_codepoint",
    "write_qdc",
    "write_qdpx",
]

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
ORIGIN = "TrustCoder"

DEFAULT_MAX_BYTES = 200 * 1024 * 1024
DEFAULT_MAX_FILES = 10_000

# Derived GUIDs (selection wrappers, variable definitions) must be stable across exports of the
# same project, so they are name-based UUIDs under this fixed namespace.
_GUID_NAMESPACE = uuid.UUID("5b0f3c8e-2d4a-4f61-9a57-0c6e1d2b7f93")
_GUID_RE = re.compile(
    r"\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?"
)
_COLOR_RE = re.compile(r"#(?:[0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})")
_XML_INVALID_RE = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ASTRAL_RE = re.compile("[\U00010000-\U0010ffff]")
_LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)?")
_BOM = "\ufeff"
_QUOTE_CUT = 200

VariableValue = str | bool | int | float | date | datetime | None


class QdpxError(Exception):
    """A file that cannot be imported; `message` is meant for the person who uploaded it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PositionError(ValueError):
    """A position that lies outside the text it should point into."""


# --------------------------------------------------------------------------------------------
# Data model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QdaUser:
    guid: str
    name: str


@dataclass(frozen=True)
class QdaCode:
    guid: str
    name: str
    color: str | None = None
    description: str = ""
    parent_guid: str | None = None
    is_codable: bool = True


@dataclass(frozen=True)
class QdaSource:
    guid: str
    name: str
    text: str
    variables: dict[str, VariableValue] = field(default_factory=dict)
    case_guids: tuple[str, ...] = ()


@dataclass(frozen=True)
class QdaSelection:
    """One code applied to one passage; positions are code points in the normalised text."""

    guid: str
    source_guid: str
    start: int
    end: int
    code_guid: str
    user_guid: str | None = None
    memo: str | None = None
    created: datetime | None = None


@dataclass(frozen=True)
class QdaCase:
    guid: str
    name: str
    variables: dict[str, VariableValue] = field(default_factory=dict)


@dataclass(frozen=True)
class QdaProject:
    """A project as read or to be written.

    `warnings` tells the importing person what was dropped or decided; `position_convention`
    names the convention the file's positions were read in (empty for projects built in code).
    `problems` repeats the warnings that mean the file is wrong rather than merely richer than
    TrustCoder: a selection that is empty, reversed, past the end of its text or splits a
    character, and a coding of a code the file does not declare. An importer that must not lose
    codings refuses a file with problems.
    """

    name: str
    origin: str = ""
    users: tuple[QdaUser, ...] = ()
    codes: tuple[QdaCode, ...] = ()
    sources: tuple[QdaSource, ...] = ()
    selections: tuple[QdaSelection, ...] = ()
    cases: tuple[QdaCase, ...] = ()
    warnings: tuple[str, ...] = ()
    position_convention: str = ""
    problems: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------------
# Offsets
# --------------------------------------------------------------------------------------------


def codepoint_to_utf16(text: str, offset: int) -> int:
    """UTF-16 code units before code point `offset` of `text` (what a browser counts)."""
    if not 0 <= offset <= len(text):
        raise PositionError(f"offset {offset} is outside a text of {len(text)} code points")
    return len(text[:offset].encode("utf-16-le", "surrogatepass")) // 2


def utf16_to_codepoint(text: str, offset: int) -> int:
    """Code points before UTF-16 unit `offset` of `text`; refuses the middle of a surrogate pair."""
    encoded = text.encode("utf-16-le", "surrogatepass")
    if not 0 <= offset * 2 <= len(encoded):
        raise PositionError(
            f"offset {offset} is outside a text of {len(encoded) // 2} UTF-16 units"
        )
    if offset and 0xD800 <= int.from_bytes(encoded[2 * offset - 2 : 2 * offset], "little") < 0xDC00:
        raise PositionError(f"UTF-16 offset {offset} falls inside a surrogate pair")
    return len(encoded[: 2 * offset].decode("utf-16-le", "surrogatepass"))


def normalize_text(raw: str) -> str:
    """TrustCoder's stored form: no byte-order mark, "\\n" line endings, NFC."""
    text = raw.removeprefix(_BOM).replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", text)


@dataclass(frozen=True)
class PositionConvention:
    """How a writer counts positions in its raw plain text."""

    key: str
    utf16: bool
    crlf_as_one: bool
    label: str

    def units(self, segment: str) -> int:
        if segment == "\r\n" and self.crlf_as_one:
            return 1
        if self.utf16:
            return len(segment) + len(_ASTRAL_RE.findall(segment))
        return len(segment)


CODE_POINTS = PositionConvention(
    "code-points", False, False, "code points, CRLF counted as two (the standard)"
)
CODE_POINTS_CRLF_ONE = PositionConvention(
    "code-points-crlf-one", False, True, "code points, CRLF counted as one"
)
UTF16 = PositionConvention("utf-16", True, False, "UTF-16 code units, CRLF counted as two")
UTF16_CRLF_ONE = PositionConvention(
    "utf-16-crlf-one", True, True, "UTF-16 code units, CRLF counted as one"
)
CONVENTIONS = (CODE_POINTS, CODE_POINTS_CRLF_ONE, UTF16, UTF16_CRLF_ONE)

# Kinds of irregular stretches of raw text. Landing inside a CRLF or inside a surrogate pair is
# a sign of a wrong convention; landing inside an NFC-merged sequence is not.
_CRLF, _ASTRAL, _NFC, _BOM_KIND = "crlf", "astral", "nfc", "bom"


@functools.cache
def _composition_seconds() -> frozenset[str]:
    """Starters (combining class 0) that NFC can merge into the character before them."""
    seconds = {chr(c) for c in range(0x1161, 0x1176)} | {chr(c) for c in range(0x11A8, 0x11C3)}
    # No canonical decomposition exists above U+2FA1D.
    for cp in range(0x2FA20):
        decomposition = unicodedata.decomposition(chr(cp))
        if not decomposition or decomposition.startswith("<"):
            continue
        parts = decomposition.split()
        if len(parts) == 2 and unicodedata.normalize("NFC", chr(cp)) == chr(cp):
            second = chr(int(parts[1], 16))
            if unicodedata.combining(second) == 0:
                seconds.add(second)
    return frozenset(seconds)


def _is_stable_starter(char: str, seconds: frozenset[str]) -> bool:
    if unicodedata.combining(char) or char in seconds:
        return False
    first = unicodedata.normalize("NFD", char)[0]
    return unicodedata.combining(first) == 0 and first not in seconds


def _nfc_segments(line: str) -> list[str]:
    """Split a line where NFC cannot reach across, so each piece normalises on its own."""
    seconds = _composition_seconds()
    pieces: list[str] = []
    start = 0
    for i in range(1, len(line)):
        if _is_stable_starter(line[i], seconds):
            pieces.append(line[start:i])
            start = i
    pieces.append(line[start:])
    if "".join(unicodedata.normalize("NFC", p) for p in pieces) != unicodedata.normalize(
        "NFC", line
    ):
        # Should not happen; one coarse piece keeps the mapping correct if it ever does.
        return [line]
    return pieces


class TextMap:
    """Positions in a writer's units over raw text -> code points in the normalised text.

    Build it with `TextMap.build(raw, convention)`. The raw text may start with a byte-order mark,
    contain CRLF or lone CR, and not be NFC; `text` is `normalize_text(raw)`.
    """

    def __init__(
        self,
        text: str,
        length: int,
        clusters: list[tuple[int, int, int, int, str]],
    ) -> None:
        self.text = text
        self.length = length
        self._clusters = clusters
        self._starts = [c[0] for c in clusters]

    @classmethod
    def build(
        cls,
        raw: str,
        convention: PositionConvention = CODE_POINTS,
        *,
        bom_counted: bool = False,
    ) -> TextMap:
        # Each cluster: (writer start, writer length, normalised start, normalised length, kind).
        # Between clusters one raw code point is one writer unit and one normalised code point.
        clusters: list[tuple[int, int, int, int, str]] = []
        pieces: list[str] = []
        units = 0
        norm = 0

        def add(unit_len: int, normalised: str, kind: str) -> None:
            nonlocal units, norm
            clusters.append((units, unit_len, norm, len(normalised), kind))
            pieces.append(normalised)
            units += unit_len
            norm += len(normalised)

        def plain(segment: str) -> None:
            # Counts text the caller has already appended to `pieces` unchanged.
            nonlocal units, norm
            if convention.utf16:
                extra = 0
                for match in _ASTRAL_RE.finditer(segment):
                    at = match.start()
                    clusters.append((units + at + extra, 2, norm + at, 1, _ASTRAL))
                    extra += 1
                units += extra
            units += len(segment)
            norm += len(segment)

        if raw.startswith(_BOM):
            raw = raw[1:]
            if bom_counted:
                add(1, "", _BOM_KIND)
        for match in _LINE_RE.finditer(raw):
            line = match.group()
            if not line:
                continue
            content = line.rstrip("\r\n")
            ending = line[len(content) :]
            if unicodedata.is_normalized("NFC", content):
                pieces.append(content)
                plain(content)
            else:
                for segment in _nfc_segments(content):
                    normalised = unicodedata.normalize("NFC", segment)
                    if normalised == segment:
                        pieces.append(segment)
                        plain(segment)
                    else:
                        add(convention.units(segment), normalised, _NFC)
            if ending == "\r\n":
                add(convention.units(ending), "\n", _CRLF)
            elif ending:
                pieces.append("\n")
                plain("\n")
        return cls("".join(pieces), units, clusters)

    def _cluster_at(self, position: int) -> tuple[int, int, int, int, str] | None:
        index = bisect.bisect_right(self._starts, position) - 1
        return self._clusters[index] if index >= 0 else None

    def to_normalized(self, position: int, *, end: bool = False) -> int:
        """Normalised code-point offset for a raw `position`.

        A position inside a cluster (a CRLF, a surrogate pair, an NFC-merged sequence) moves to
        the cluster's start, or to its end when `end` is true, so a span only ever widens.
        """
        if not 0 <= position <= self.length:
            raise PositionError(f"position {position} is outside a text of length {self.length}")
        cluster = self._cluster_at(position)
        if cluster is None:
            return position
        w_start, w_len, n_start, n_len, _ = cluster
        if position == w_start:
            return n_start
        if position < w_start + w_len:
            return n_start + n_len if end else n_start
        return n_start + n_len + position - w_start - w_len

    def _inside(self, position: int) -> str | None:
        cluster = self._cluster_at(position)
        if cluster is None:
            return None
        w_start, w_len, _, _, kind = cluster
        return kind if w_start < position < w_start + w_len else None

    def fits(self, position: int) -> bool:
        """Whether a writer using this convention would plausibly produce `position`.

        Not inside a surrogate pair (which no UTF-16 writer can produce) nor between the CR and
        LF of a line break (which people do not select).
        """
        return 0 <= position <= self.length and self._inside(position) not in (_CRLF, _ASTRAL)

    def splits_character(self, position: int) -> bool:
        """Whether `position` falls inside a surrogate pair, i.e. inside one character."""
        return self._inside(position) == _ASTRAL


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


class _Budget:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.remaining = max_bytes

    def refuse(self, entry: str) -> QdpxError:
        limit = self.max_bytes // (1024 * 1024) or self.max_bytes
        unit = "MB" if self.max_bytes >= 1024 * 1024 else "bytes"
        return QdpxError(
            f"The archive unpacks to more than {limit} {unit} (at '{entry}'); it was refused. "
            "Export the project without media files, or split it."
        )


def _safe_entry_name(name: str) -> bool:
    if not name or "\\" in name or "\x00" in name or name.startswith("/"):
        return False
    if re.match(r"[A-Za-z]:", name):
        return False
    return all(part not in ("..", ".") for part in name.rstrip("/").split("/"))


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: _Budget) -> bytes:
    if info.flag_bits & 0x1:
        raise QdpxError(f"'{info.filename}' in the archive is encrypted and cannot be read.")
    if info.file_size > budget.remaining:
        raise budget.refuse(info.filename)
    chunks: list[bytes] = []
    total = 0
    try:
        with archive.open(info) as stream:
            # Headers can lie about sizes, so count what actually comes out.
            while chunk := stream.read(1 << 16):
                total += len(chunk)
                if total > budget.remaining:
                    raise budget.refuse(info.filename)
                chunks.append(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as err:
        raise QdpxError(
            f"'{info.filename}' in the archive is damaged or unreadable ({err})."
        ) from err
    budget.remaining -= total
    return b"".join(chunks)


def read_qdpx(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_files: int = DEFAULT_MAX_FILES,
) -> QdaProject:
    """Read a REFI-QDA project archive (.qdpx).

    Only `project.qde` and the plain-text files its sources and notes name under
    `internal://` are read; at most `max_bytes` are unpacked in all and the archive may hold at
    most `max_files` entries. Nothing is written to disk.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zlib.error, ValueError, EOFError) as err:
        hint = " It looks like a bare project.qde." if data.lstrip()[:1] == b"<" else ""
        raise QdpxError(
            f"This is not a REFI-QDA project archive (.qdpx is a zip file).{hint}"
        ) from err
    with archive:
        infos = archive.infolist()
        if len(infos) > max_files:
            raise QdpxError(
                f"The archive holds {len(infos)} files, more than the {max_files} allowed; "
                "it was refused."
            )
        names: set[str] = set()
        for info in infos:
            if not _safe_entry_name(info.filename):
                raise QdpxError(
                    f"The archive contains an entry with an unsafe name ('{info.filename}'); "
                    "it was refused."
                )
            if info.filename in names:
                raise QdpxError(f"The archive names '{info.filename}' twice; it was refused.")
            names.add(info.filename)

        warnings: list[str] = []
        files = [i for i in infos if not i.is_dir()]
        roots = [i for i in files if "/" not in i.filename and i.filename.lower().endswith(".qde")]
        project_entry = next((i for i in roots if i.filename.lower() == "project.qde"), None)
        if project_entry is None:
            if len(roots) != 1:
                raise QdpxError("The archive has no project.qde, so it is not a REFI-QDA project.")
            project_entry = roots[0]
            warnings.append(
                f"The project file is named '{project_entry.filename}', not project.qde."
            )

        budget = _Budget(max_bytes)
        root = _parse_xml(_read_entry(archive, project_entry, budget), "project.qde")
        exact: dict[str, zipfile.ZipInfo] = {}
        folded: dict[str, zipfile.ZipInfo] = {}
        for info in files:
            folder, _, rest = info.filename.partition("/")
            if folder.lower() == "sources" and rest:
                exact.setdefault(rest, info)
                folded.setdefault(rest.casefold(), info)
        sources: dict[str, bytes] = {}
        for name in _internal_paths(root):
            info = exact.get(name) or folded.get(name.casefold())
            if info is not None:
                sources[name] = _read_entry(archive, info, budget)
    return _ProjectReader(root, sources, warnings).read()


def read_qde(xml_bytes: bytes, sources: Mapping[str, bytes] | None = None) -> QdaProject:
    """Read a bare project.qde; `sources` maps names after `internal://` to file contents.

    Sources whose text is neither embedded nor given are reported in the warnings and skipped.
    """
    root = _parse_xml(xml_bytes, "project.qde")
    return _ProjectReader(root, dict(sources or {}), []).read()


def read_project(data: bytes, **limits: int) -> QdaProject:
    """Read an upload that may be either a .qdpx archive or a bare .qde."""
    if data.lstrip()[:1] == b"<":
        return read_qde(data)
    return read_qdpx(data, **limits)


def read_qdc(data: bytes) -> tuple[QdaCode, ...]:
    """Read a REFI-QDA codebook (.qdc)."""
    root = _parse_xml(data, "codebook")
    if _local(root.tag) != "CodeBook":
        raise QdpxError("This is not a REFI-QDA codebook: its root element is not CodeBook.")
    ns = _namespace(root.tag)
    codes_el = root.find(_tag(ns, "Codes"))
    warnings: list[str] = []
    return tuple(_read_codes(codes_el, ns, warnings)) if codes_el is not None else ()


def _parse_xml(data: bytes, what: str) -> ET.Element:
    try:
        return _safe_fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as err:
        raise QdpxError(
            f"The {what} declares a DTD or entities, which REFI-QDA files never need; "
            "it was refused as potentially hostile."
        ) from err
    except ParseError as err:
        raise QdpxError(f"The {what} is not well-formed XML ({err}).") from err


def _namespace(tag: str) -> str:
    return tag[1:].partition("}")[0] if tag.startswith("{") else ""


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _tag(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}" if ns else name


def _guid(value: str | None) -> str | None:
    if value is None:
        return None
    match = _GUID_RE.fullmatch(value.strip())
    return str(uuid.UUID(match.group(1))) if match else value.strip() or None


def _internal_path(path: str | None) -> tuple[str | None, str | None]:
    """The name inside `sources/` a plainTextPath points to, or why it points nowhere we read."""
    if not path:
        return None, "names no text file"
    scheme, sep, rest = path.strip().partition("://")
    if sep and scheme.casefold() != "internal":
        return None, f"refers to a file outside the archive ({path})"
    # Without a scheme (qc writes bare file names) the file is still looked for in sources/.
    name = rest if sep else path.strip()
    if not _safe_entry_name(name):
        return None, f"has an unsafe path ({path})"
    return name, None


def _internal_paths(root: ET.Element) -> list[str]:
    ns = _namespace(root.tag)
    wanted: list[str] = []
    for parent, child in (("Sources", "TextSource"), ("Notes", "Note")):
        container = root.find(_tag(ns, parent))
        if container is None:
            continue
        for element in container.findall(_tag(ns, child)):
            name, _ = _internal_path(element.get("plainTextPath"))
            if name is not None:
                wanted.append(name)
    return wanted


def _decode_text(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    return data.decode("utf-8-sig")


def _parse_datetime(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        return None


def _clean(value: str | None) -> str:
    return normalize_text(value).strip() if value else ""


def _read_codes(codes_el: ET.Element, ns: str, warnings: list[str]) -> list[QdaCode]:
    codes: list[QdaCode] = []
    seen: set[str] = set()
    # Iterative, so a hostile file nesting codes thousands deep cannot exhaust the stack.
    stack: list[tuple[ET.Element, str | None]] = [
        (el, None) for el in reversed(codes_el.findall(_tag(ns, "Code")))
    ]
    while stack:
        element, parent = stack.pop()
        guid = _guid(element.get("guid"))
        name = _clean(element.get("name"))
        if guid is None or guid in seen:
            warnings.append(
                f"Code '{name}' has a missing or repeated GUID; it and its subcodes were skipped."
            )
            continue
        seen.add(guid)
        color = element.get("color")
        if color is not None:
            color = color.strip()
            if _COLOR_RE.fullmatch(color):
                if len(color) == 4:
                    color = "#" + "".join(ch * 2 for ch in color[1:])
                color = color.upper()
            else:
                warnings.append(
                    f"Code '{name}' has an unreadable colour '{color}'; it was dropped."
                )
                color = None
        description = element.find(_tag(ns, "Description"))
        codable = (element.get("isCodable") or "true").strip().lower() in ("true", "1")
        codes.append(
            QdaCode(
                guid=guid,
                name=name,
                color=color,
                description=_clean(description.text if description is not None else None),
                parent_guid=parent,
                is_codable=codable,
            )
        )
        stack.extend((child, guid) for child in reversed(element.findall(_tag(ns, "Code"))))
    return codes


def _expected_convention(origin: str) -> PositionConvention | None:
    folded = origin.casefold()
    if "nvivo" in folded:
        return UTF16
    if "atlas.ti" in folded or "atlasti" in folded or "qualcoder" in folded:
        return CODE_POINTS_CRLF_ONE
    if "maxqda" in folded or "trustcoder" in folded:
        return CODE_POINTS
    return None


def _quote_matches(name: str, quote: str) -> bool:
    expected = " ".join(normalize_text(name).split())
    if not expected:
        return False
    actual = " ".join(quote.split())
    if expected == actual:
        return True
    stem = expected.rstrip("….").rstrip()
    return expected != stem and len(stem) >= 3 and actual.startswith(stem)


def _at_word_boundary(text: str, position: int) -> bool:
    if position <= 0 or position >= len(text):
        return True
    return not (text[position - 1].isalnum() and text[position].isalnum())


@dataclass
class _PendingCoding:
    guid: str | None
    code_guid: str | None
    user_guid: str | None
    created: datetime | None
    memo_parts: list[str]


@dataclass
class _PendingSelection:
    guid: str | None
    name: str
    source_guid: str
    source_name: str
    start: int
    end: int
    user_guid: str | None
    created: datetime | None
    memo_parts: list[str]
    codings: list[_PendingCoding]


@dataclass
class _RawSource:
    guid: str
    name: str
    raw: str
    variables: dict[str, VariableValue]
    case_guids: list[str] = field(default_factory=list)


class _ProjectReader:
    """One pass over a parsed project.qde, gathering warnings as it goes."""

    def __init__(self, root: ET.Element, files: dict[str, bytes], warnings: list[str]) -> None:
        if _local(root.tag) != "Project":
            raise QdpxError("This is not a REFI-QDA project: its root element is not Project.")
        self.root = root
        self.ns = _namespace(root.tag)
        self.files = files
        self.folded_files = {k.casefold(): v for k, v in files.items()}
        self.warnings = warnings
        self.problems: list[str] = []
        if self.ns != PROJECT_NS:
            warnings.append(f"The project uses namespace '{self.ns}', not {PROJECT_NS}.")
        self.origin = (root.get("origin") or "").strip()
        self.users: dict[str, QdaUser] = {}
        self.variables: dict[str, tuple[str, str]] = {}
        self.notes: dict[str, str] = {}
        self.used_notes: set[str] = set()

    def q(self, name: str) -> str:
        return _tag(self.ns, name)

    def children(self, element: ET.Element | None, name: str) -> list[ET.Element]:
        return [] if element is None else element.findall(self.q(name))

    def read(self) -> QdaProject:
        root = self.root
        self.read_users()
        codes = self.read_codebook()
        self.read_variable_definitions()
        self.read_notes()
        note_links = self.read_links()
        cases, case_sources = self.read_cases()
        raw_sources, pending = self.read_sources(note_links)
        for case_guid, source_guids in case_sources.items():
            for source_guid in source_guids:
                if source_guid in raw_sources:
                    raw_sources[source_guid].case_guids.append(case_guid)
        code_guids = {c.guid for c in codes}
        convention, maps = self.choose_convention(raw_sources, pending)
        selections = self.convert(pending, maps, code_guids)
        unused = [g for g in self.notes if g not in self.used_notes]
        if unused:
            self.warnings.append(
                f"{len(unused)} note(s) not attached to an imported coding were not imported."
            )
        for name in ("Sets", "Graphs"):
            count = len(list(self.children(root.find(self.q(name)), name[:-1])))
            if count:
                self.warnings.append(f"{count} {name[:-1].lower()}(s) were not imported.")
        description = root.find(self.q("Description"))
        if (description is not None and (description.text or "").strip()) or self.children(
            root, "NoteRef"
        ):
            self.warnings.append("The project's own description and notes were not imported.")
        sources = tuple(
            QdaSource(
                guid=s.guid,
                name=s.name,
                text=maps[s.guid].text,
                variables=s.variables,
                case_guids=tuple(s.case_guids),
            )
            for s in raw_sources.values()
        )
        return QdaProject(
            name=_clean(root.get("name")),
            origin=self.origin,
            users=tuple(self.users.values()),
            codes=tuple(codes),
            sources=sources,
            selections=tuple(selections),
            cases=tuple(cases),
            warnings=tuple(self.warnings),
            position_convention=convention.label,
            problems=tuple(self.problems),
        )

    def read_users(self) -> None:
        for element in self.children(self.root.find(self.q("Users")), "User"):
            guid = _guid(element.get("guid"))
            if guid is None or guid in self.users:
                self.warnings.append("A user with a missing or repeated GUID was skipped.")
                continue
            name = _clean(element.get("name")) or _clean(element.get("id"))
            self.users[guid] = QdaUser(guid=guid, name=name)

    def user(self, value: str | None) -> str | None:
        guid = _guid(value)
        if guid is not None and guid not in self.users:
            self.users[guid] = QdaUser(guid=guid, name="")
            self.warnings.append(
                f"User {guid} is referenced but not declared; added without a name."
            )
        return guid

    def read_codebook(self) -> list[QdaCode]:
        codes_el = self.root.find(f"{self.q('CodeBook')}/{self.q('Codes')}")
        if codes_el is None:
            return []
        codes = _read_codes(codes_el, self.ns, self.warnings)
        for element in codes_el.iter(self.q("Code")):
            if element.find(self.q("NoteRef")) is not None:
                self.warnings.append("Notes attached to codes were not imported.")
                break
        if "atlas.ti" in self.origin.casefold():
            codes = self.rebuild_atlas_hierarchy(codes)
        return codes

    def rebuild_atlas_hierarchy(self, codes: list[QdaCode]) -> list[QdaCode]:
        top: dict[str, list[str]] = {}
        for code in codes:
            if code.parent_guid is None:
                top.setdefault(code.name, []).append(code.guid)
        rebuilt = 0
        result = []
        for code in codes:
            parent_name, sep, child_name = code.name.rpartition("::")
            parents = top.get(parent_name, [])
            if sep and code.parent_guid is None and child_name and len(parents) == 1:
                code = QdaCode(
                    guid=code.guid,
                    name=child_name,
                    color=code.color,
                    description=code.description,
                    parent_guid=parents[0],
                    is_codable=code.is_codable,
                )
                rebuilt += 1
            result.append(code)
        if rebuilt:
            self.warnings.append(
                f"{rebuilt} ATLAS.ti code(s) named 'Parent::child' were placed under their parent."
            )
        return result

    def read_variable_definitions(self) -> None:
        for element in self.children(self.root.find(self.q("Variables")), "Variable"):
            guid = _guid(element.get("guid"))
            if guid is not None:
                self.variables[guid] = (
                    _clean(element.get("name")),
                    (element.get("typeOfVariable") or "Text").strip(),
                )

    def read_variable_values(self, parent: ET.Element, owner: str) -> dict[str, VariableValue]:
        values: dict[str, VariableValue] = {}
        for element in self.children(parent, "VariableValue"):
            ref = element.find(self.q("VariableRef"))
            definition = (
                self.variables.get(_guid(ref.get("targetGUID")) or "") if ref is not None else None
            )
            if definition is None:
                self.warnings.append(
                    f"A variable of {owner} refers to no declared variable; skipped."
                )
                continue
            name, _ = definition
            values[name] = self.variable_value(element, name, owner)
        return values

    def variable_value(self, element: ET.Element, name: str, owner: str) -> VariableValue:
        for child in element:
            kind = _local(child.tag)
            text = (child.text or "").strip()
            try:
                if kind == "TextValue":
                    return _clean(child.text)
                if kind == "BooleanValue":
                    if text not in ("true", "false", "1", "0"):
                        raise ValueError(text)
                    return text in ("true", "1")
                if kind == "IntegerValue":
                    return int(text)
                if kind == "FloatValue":
                    return float(Decimal(text))
                if kind == "DateValue":
                    return date.fromisoformat(text)
                if kind == "DateTimeValue":
                    return datetime.fromisoformat(text)
            except (ValueError, ArithmeticError):
                self.warnings.append(
                    f"Variable '{name}' of {owner} has an unreadable {kind} '{text}'; kept as text."
                )
                return text
        return None

    def read_notes(self) -> None:
        for element in self.children(self.root.find(self.q("Notes")), "Note"):
            guid = _guid(element.get("guid"))
            if guid is None:
                continue
            content = element.find(self.q("PlainTextContent"))
            text = _clean(content.text if content is not None else None)
            if not text:
                name, _ = _internal_path(element.get("plainTextPath"))
                data = self.file(name) if name else None
                if data is not None:
                    try:
                        text = _clean(_decode_text(data))
                    except UnicodeDecodeError:
                        self.warnings.append(f"Note '{element.get('name') or guid}' is not UTF-8.")
            if not text:
                description = element.find(self.q("Description"))
                text = _clean(description.text if description is not None else None)
            self.notes[guid] = text
            if element.find(self.q("PlainTextSelection")) is not None:
                self.warnings.append(
                    f"Note '{element.get('name') or guid}' annotates a passage without a code; "
                    "such annotations were not imported."
                )

    def read_links(self) -> dict[str, list[str]]:
        """Note guids linked to each other object, in both directions."""
        linked: dict[str, list[str]] = {}
        other = 0
        for element in self.children(self.root.find(self.q("Links")), "Link"):
            origin, target = _guid(element.get("originGUID")), _guid(element.get("targetGUID"))
            if origin in self.notes and target:
                linked.setdefault(target, []).append(origin)
            elif target in self.notes and origin:
                linked.setdefault(origin, []).append(target)
            else:
                other += 1
        if other:
            self.warnings.append(
                f"{other} link(s) between objects other than notes were not imported."
            )
        return linked

    def file(self, name: str) -> bytes | None:
        return self.files.get(name, self.folded_files.get(name.casefold()))

    def note_texts(self, element: ET.Element) -> list[str]:
        texts = []
        for ref in self.children(element, "NoteRef"):
            guid = _guid(ref.get("targetGUID"))
            if guid in self.notes:
                texts.append(self.notes[guid])
                self.used_notes.add(guid)
        return texts

    def read_cases(self) -> tuple[list[QdaCase], dict[str, list[str]]]:
        cases: list[QdaCase] = []
        members: dict[str, list[str]] = {}
        dropped = False
        for element in self.children(self.root.find(self.q("Cases")), "Case"):
            guid = _guid(element.get("guid"))
            if guid is None or guid in members:
                self.warnings.append("A case with a missing or repeated GUID was skipped.")
                continue
            name = _clean(element.get("name"))
            variables = self.read_variable_values(element, f"case '{name}'")
            cases.append(QdaCase(guid=guid, name=name, variables=variables))
            members[guid] = [
                g
                for ref in self.children(element, "SourceRef")
                if (g := _guid(ref.get("targetGUID")))
            ]
            dropped = dropped or bool(
                self.children(element, "CodeRef")
                or self.children(element, "SelectionRef")
                or (element.findtext(self.q("Description")) or "").strip()
            )
        if dropped:
            self.warnings.append(
                "Case descriptions and the codes or passages cases point to were not imported."
            )
        return cases, members

    def read_sources(
        self, note_links: dict[str, list[str]]
    ) -> tuple[dict[str, _RawSource], list[_PendingSelection]]:
        sources: dict[str, _RawSource] = {}
        pending: list[_PendingSelection] = []
        dropped_descriptions = 0
        container = self.root.find(self.q("Sources"))
        for element in [] if container is None else list(container):
            kind = _local(element.tag)
            label = element.get("name") or element.get("guid") or "?"
            if kind != "TextSource":
                count = sum(1 for el in element.iter() if _local(el.tag).endswith("Selection"))
                self.warnings.append(
                    f"{kind} '{label}' was skipped: only text sources are imported"
                    + (f" (with it, {count} selection(s))." if count else ".")
                )
                continue
            guid = _guid(element.get("guid"))
            selections = self.children(element, "PlainTextSelection")
            name = _clean(element.get("name"))
            if not name:
                path, _ = _internal_path(element.get("plainTextPath"))
                name = path.rpartition("/")[2] if path else label
            if guid is None or guid in sources:
                self.warnings.append(
                    f"Text source '{name}' has a missing or repeated GUID; skipped."
                )
                continue
            raw = self.source_text(element, name, len(selections))
            if raw is None:
                continue
            variables = self.read_variable_values(element, f"source '{name}'")
            sources[guid] = _RawSource(guid=guid, name=name, raw=raw, variables=variables)
            if (element.findtext(self.q("Description")) or "").strip():
                dropped_descriptions += 1
            whole = len(self.children(element, "Coding")) + len(self.children(element, "NoteRef"))
            if whole:
                self.warnings.append(
                    f"Source '{name}': {whole} code(s) or note(s) applied to the whole source "
                    "were not imported."
                )
            for selection in selections:
                item = self.pending_selection(selection, guid, name, note_links)
                if item is not None:
                    pending.append(item)
        if dropped_descriptions:
            self.warnings.append(
                f"Descriptions of {dropped_descriptions} source(s) were not imported."
            )
        return sources, pending

    def source_text(self, element: ET.Element, label: str, selections: int) -> str | None:
        content = element.find(self.q("PlainTextContent"))
        path_attr = element.get("plainTextPath")
        skipped = (
            f"; the source and its {selections} selection(s) were skipped."
            if selections
            else "; the source was skipped."
        )
        if path_attr:
            name, problem = _internal_path(path_attr)
            data = self.file(name) if name else None
            if data is None and content is None:
                problem = problem or f"names '{path_attr}', which is not in the archive"
                self.warnings.append(f"Text source '{label}' {problem}{skipped}")
                return None
            if data is not None:
                if content is not None:
                    self.warnings.append(
                        f"Text source '{label}' has both a text file and embedded text; the file "
                        "was used."
                    )
                if "://" not in path_attr:
                    self.warnings.append(
                        f"Text source '{label}' names its file without internal://; it was read "
                        "from sources/."
                    )
                try:
                    return _decode_text(data)
                except UnicodeDecodeError as err:
                    self.warnings.append(
                        f"Text source '{label}' is not valid UTF-8 (byte {err.start}){skipped}"
                    )
                    return None
        if content is None:
            self.warnings.append(f"Text source '{label}' has no text{skipped}")
            return None
        return content.text or ""

    def pending_selection(
        self,
        element: ET.Element,
        source_guid: str,
        source_name: str,
        note_links: dict[str, list[str]],
    ) -> _PendingSelection | None:
        guid = _guid(element.get("guid"))
        label = f"Selection {guid or '(no GUID)'} in '{source_name}'"
        try:
            start = int(element.get("startPosition", ""))
            end = int(element.get("endPosition", ""))
        except ValueError:
            self.problem(f"{label} has unreadable positions; skipped.")
            return None
        memo_parts = []
        description = element.findtext(self.q("Description"))
        if description and description.strip():
            memo_parts.append(_clean(description))
        memo_parts.extend(self.note_texts(element))
        for note_guid in note_links.get(guid or "", []):
            memo_parts.append(self.notes[note_guid])
            self.used_notes.add(note_guid)
        codings = []
        for coding in self.children(element, "Coding"):
            ref = coding.find(self.q("CodeRef"))
            codings.append(
                _PendingCoding(
                    guid=_guid(coding.get("guid")),
                    code_guid=_guid(ref.get("targetGUID")) if ref is not None else None,
                    user_guid=coding.get("creatingUser"),
                    created=_parse_datetime(coding.get("creationDateTime")),
                    memo_parts=self.note_texts(coding),
                )
            )
        if not codings:
            self.warnings.append(f"{label} has no code; skipped.")
            return None
        return _PendingSelection(
            guid=guid,
            name=element.get("name") or "",
            source_guid=source_guid,
            source_name=source_name,
            start=start,
            end=end,
            user_guid=element.get("creatingUser") or element.get("modifyingUser"),
            created=_parse_datetime(element.get("creationDateTime")),
            memo_parts=memo_parts,
            codings=codings,
        )

    def choose_convention(
        self, sources: dict[str, _RawSource], pending: list[_PendingSelection]
    ) -> tuple[PositionConvention, dict[str, TextMap]]:
        expected = _expected_convention(self.origin)
        prior = expected or CODE_POINTS
        maps = {g: TextMap.build(s.raw, prior) for g, s in sources.items()}
        with_selections = {p.source_guid for p in pending}
        telling = [
            g
            for g, s in sources.items()
            if g in with_selections and ("\r" in s.raw or _ASTRAL_RE.search(s.raw))
        ]
        if not telling:
            return prior, maps

        scores: dict[PositionConvention, tuple[int, ...]] = {}
        spans: dict[PositionConvention, list[tuple[int, int] | None]] = {}
        built: dict[PositionConvention, dict[str, TextMap]] = {}
        for convention in CONVENTIONS:
            built[convention] = {g: TextMap.build(sources[g].raw, convention) for g in telling}
            fits = quotes = boundaries = 0
            mapped: list[tuple[int, int] | None] = []
            for item in pending:
                text_map = built[convention].get(item.source_guid) or maps[item.source_guid]
                if not (text_map.fits(item.start) and text_map.fits(item.end)):
                    mapped.append(None)
                    continue
                start = text_map.to_normalized(item.start)
                end = text_map.to_normalized(item.end, end=True)
                mapped.append((start, end))
                if start >= end:
                    continue
                fits += 1
                quotes += _quote_matches(item.name, text_map.text[start:end])
                boundaries += _at_word_boundary(text_map.text, start)
                boundaries += _at_word_boundary(text_map.text, end)
            scores[convention] = (fits, quotes) if expected else (fits, quotes, boundaries)
            spans[convention] = mapped
        best = max(CONVENTIONS, key=lambda c: (scores[c], c == prior))
        if best == prior or spans[best] == spans[prior]:
            return prior, maps
        writer = f"'{self.origin}'" if self.origin else "a writer that does not name itself"
        reason = "expected from" if expected else "the standard's reading, assumed for"
        self.warnings.append(
            f"Positions were read as {best.label}: they fit the texts better than "
            f"{prior.label}, {reason} {writer} ({scores[best][0]} vs {scores[prior][0]} of "
            f"{len(pending)} selections fit, {scores[best][1]} vs {scores[prior][1]} quotes "
            "match)."
        )
        return best, maps | built[best]

    def problem(self, message: str) -> None:
        self.warnings.append(message)
        self.problems.append(message)

    def convert(
        self,
        pending: list[_PendingSelection],
        maps: dict[str, TextMap],
        code_guids: set[str],
    ) -> list[QdaSelection]:
        selections: list[QdaSelection] = []
        seen: set[str] = set()
        for item in pending:
            label = f"Selection {item.guid or '(no GUID)'} in '{item.source_name}'"
            text_map = maps[item.source_guid]
            if item.start >= item.end:
                self.problem(f"{label} is empty or reversed ({item.start}-{item.end}); skipped.")
                continue
            if item.start < 0 or item.end > text_map.length:
                self.problem(
                    f"{label} ({item.start}-{item.end}) lies outside the text, which is "
                    f"{text_map.length} units long; skipped."
                )
                continue
            if text_map.splits_character(item.start) or text_map.splits_character(item.end):
                self.problem(
                    f"{label} ({item.start}-{item.end}) splits a character in two; skipped."
                )
                continue
            start = text_map.to_normalized(item.start)
            end = text_map.to_normalized(item.end, end=True)
            for index, coding in enumerate(item.codings):
                if coding.code_guid not in code_guids:
                    self.problem(f"{label} applies an unknown code; that coding was skipped.")
                    continue
                guid = coding.guid
                if guid is None or guid in seen:
                    guid = str(uuid.uuid5(_GUID_NAMESPACE, f"coding:{item.guid}:{index}"))
                seen.add(guid)
                memo = "\n\n".join(
                    dict.fromkeys(p for p in item.memo_parts + coding.memo_parts if p)
                )
                selections.append(
                    QdaSelection(
                        guid=guid,
                        source_guid=item.source_guid,
                        start=start,
                        end=end,
                        code_guid=coding.code_guid,
                        user_guid=self.user(coding.user_guid or item.user_guid),
                        memo=memo or None,
                        created=coding.created or item.created,
                    )
                )
        return selections


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


class _Guids:
    """Hands out schema-valid, document-unique GUIDs, keeping valid ones as they are."""

    def __init__(self) -> None:
        self.used: set[str] = set()
        self.assigned: dict[tuple[str, str], str] = {}

    def get(self, kind: str, value: str) -> str:
        key = (kind, value)
        if key in self.assigned:
            return self.assigned[key]
        match = _GUID_RE.fullmatch(value)
        guid = str(uuid.UUID(match.group(1))) if match else None
        counter = 0
        while guid is None or guid in self.used:
            guid = str(uuid.uuid5(_GUID_NAMESPACE, f"{kind}:{value}:{counter}"))
            counter += 1
        self.used.add(guid)
        self.assigned[key] = guid
        return guid

    def derived(self, kind: str, value: str) -> str:
        return self.get(kind, f"derived:{value}")


def _xml_text(value: str) -> str:
    return _XML_INVALID_RE.sub("", value)


def _xml_datetime(value: datetime) -> str:
    if value.tzinfo is None:
        return value.isoformat()
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _variable_type(values: Iterable[VariableValue]) -> str:
    present = [v for v in values if v is not None]
    if not present:
        return "Text"
    if all(isinstance(v, bool) for v in present):
        return "Boolean"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "Integer"
    if all(
        isinstance(v, int | float | Decimal) and not isinstance(v, bool) and math.isfinite(v)
        for v in present
    ):
        return "Float"
    if all(isinstance(v, datetime) for v in present):
        return "DateTime"
    if all(isinstance(v, date) and not isinstance(v, datetime) for v in present):
        return "Date"
    return "Text"


def _variable_text(value: VariableValue, kind: str) -> str:
    if kind == "Boolean":
        return "true" if value else "false"
    if kind == "Float":
        return format(Decimal(repr(value)) if isinstance(value, float) else Decimal(value), "f")
    if kind == "DateTime" and isinstance(value, datetime):
        return _xml_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return _xml_text(str(value))


def _quote_name(quote: str) -> str:
    return quote if len(quote) <= _QUOTE_CUT else quote[:_QUOTE_CUT].rstrip() + "…"


def _sub(parent: ET.Element, tag: str, /, **attrs: str | None) -> ET.Element:
    element = ET.SubElement(parent, tag)
    for key, value in attrs.items():
        if value is not None:
            element.set(key, _xml_text(value))
    return element


def _code_elements(parent: ET.Element, codes: Sequence[QdaCode], guids: _Guids) -> None:
    known = {c.guid for c in codes}
    children: dict[str | None, list[QdaCode]] = {}
    for code in codes:
        if code.parent_guid is not None and code.parent_guid not in known:
            raise ValueError(f"code '{code.name}' has an unknown parent {code.parent_guid}")
        if code.color is not None and not re.fullmatch(r"#[0-9A-Fa-f]{6}", code.color):
            raise ValueError(f"code '{code.name}' has colour {code.color!r}, not #RRGGBB")
        children.setdefault(code.parent_guid, []).append(code)
    written = 0
    stack: list[tuple[ET.Element, QdaCode]] = [
        (parent, c) for c in reversed(children.get(None, []))
    ]
    while stack:
        container, code = stack.pop()
        element = _sub(
            container,
            "Code",
            guid=guids.get("code", code.guid),
            name=code.name,
            isCodable="true" if code.is_codable else "false",
            color=code.color,
        )
        if code.description:
            _sub(element, "Description").text = _xml_text(code.description)
        written += 1
        stack.extend((element, c) for c in reversed(children.get(code.guid, [])))
    if written != len(codes):
        raise ValueError("the code hierarchy has a cycle or repeated GUIDs")


def _serialise(root: ET.Element) -> bytes:
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")


def _root(tag: str, ns: str, **attrs: str) -> ET.Element:
    # Tags stay unqualified and the default namespace is declared by hand: ElementTree's
    # default_namespace option refuses unqualified attributes, and register_namespace would
    # change process-wide state.
    return ET.Element(tag, {"xmlns": ns, **{k: _xml_text(v) for k, v in attrs.items()}})


def write_qdc(codes: Sequence[QdaCode]) -> bytes:
    """A REFI-QDA codebook (.qdc) holding `codes` with their hierarchy, colours, descriptions."""
    if not codes:
        raise ValueError("a codebook needs at least one code")
    _check_unique("code", (code.guid for code in codes))
    root = _root("CodeBook", CODEBOOK_NS, origin=ORIGIN)
    _code_elements(_sub(root, "Codes"), codes, _Guids())
    return _serialise(root)


def _check_unique(kind: str, guids: Iterable[str]) -> None:
    repeated = [g for g, n in Counter(guids).items() if n > 1]
    if repeated:
        raise ValueError(f"{kind} GUIDs repeat: {repeated}")


def _check_project(project: QdaProject) -> None:
    for kind, items in (
        ("user", project.users),
        ("code", project.codes),
        ("source", project.sources),
        ("selection", project.selections),
        ("case", project.cases),
    ):
        _check_unique(kind, (item.guid for item in items))
    users = {u.guid for u in project.users}
    codes = {c.guid for c in project.codes}
    cases = {c.guid for c in project.cases}
    texts = {}
    for source in project.sources:
        if normalize_text(source.text) != source.text:
            raise ValueError(f"source '{source.name}' is not normalised (NFC, \\n line endings)")
        unknown = set(source.case_guids) - cases
        if unknown:
            raise ValueError(f"source '{source.name}' belongs to unknown case(s) {sorted(unknown)}")
        texts[source.guid] = source.text
    for selection in project.selections:
        text = texts.get(selection.source_guid)
        if text is None:
            raise ValueError(f"selection {selection.guid} points to an unknown source")
        if not 0 <= selection.start < selection.end <= len(text):
            raise ValueError(
                f"selection {selection.guid} ({selection.start}-{selection.end}) is not a "
                f"passage of a text of {len(text)} code points"
            )
        if selection.code_guid not in codes:
            raise ValueError(f"selection {selection.guid} applies an unknown code")
        if selection.user_guid is not None and selection.user_guid not in users:
            raise ValueError(f"selection {selection.guid} names an unknown user")


def write_qdpx(project: QdaProject) -> bytes:
    """A REFI-QDA project archive valid against Project-mrt2019.xsd.

    Each source's text goes, as UTF-8 without a byte-order mark, to `sources/<guid>.txt`; it is
    exactly the normalised text, so positions are code points of the written file under every
    convention. Each coding becomes one PlainTextSelection holding one Coding whose guid is the
    coding's; the memo goes to the selection's Description, the quote (cut at 200 code points)
    to its name. Variables are declared once per name, typed Boolean, Integer, Float, Date or
    DateTime when all their values are of that type and Text otherwise.
    """
    _check_project(project)
    guids = _Guids()
    root = _root("Project", PROJECT_NS, name=project.name, origin=ORIGIN)

    if project.users:
        users = _sub(root, "Users")
        for user in project.users:
            _sub(users, "User", guid=guids.get("user", user.guid), name=user.name)
    if project.codes:
        codebook = _sub(root, "CodeBook")
        _code_elements(_sub(codebook, "Codes"), project.codes, guids)

    owners = [*project.sources, *project.cases]
    names = list(dict.fromkeys(name for owner in owners for name in owner.variables))
    kinds = {n: _variable_type(o.variables.get(n) for o in owners) for n in names}
    if names:
        variables = _sub(root, "Variables")
        for name in names:
            _sub(
                variables,
                "Variable",
                guid=guids.derived("variable", name),
                name=name,
                typeOfVariable=kinds[name],
            )

    def variable_values(parent: ET.Element, values: Mapping[str, VariableValue]) -> None:
        for name, value in values.items():
            element = _sub(parent, "VariableValue")
            _sub(element, "VariableRef", targetGUID=guids.derived("variable", name))
            if value is not None:
                _sub(element, f"{kinds[name]}Value").text = _variable_text(value, kinds[name])

    if project.cases:
        cases = _sub(root, "Cases")
        for case in project.cases:
            element = _sub(cases, "Case", guid=guids.get("case", case.guid), name=case.name)
            variable_values(element, case.variables)
            for source in project.sources:
                if case.guid in source.case_guids:
                    _sub(element, "SourceRef", targetGUID=guids.get("source", source.guid))

    files: dict[str, bytes] = {}
    if project.sources:
        sources = _sub(root, "Sources")
        by_source: dict[str, list[QdaSelection]] = {}
        for selection in project.selections:
            by_source.setdefault(selection.source_guid, []).append(selection)
        for source in project.sources:
            source_guid = guids.get("source", source.guid)
            files[f"sources/{source_guid}.txt"] = source.text.encode("utf-8")
            element = _sub(
                sources,
                "TextSource",
                guid=source_guid,
                name=source.name,
                plainTextPath=f"internal://{source_guid}.txt",
            )
            for selection in by_source.get(source.guid, []):
                user = guids.get("user", selection.user_guid) if selection.user_guid else None
                created = _xml_datetime(selection.created) if selection.created else None
                coding_guid = guids.get("coding", selection.guid)
                wrapper = _sub(
                    element,
                    "PlainTextSelection",
                    guid=guids.derived("selection", coding_guid),
                    name=_quote_name(source.text[selection.start : selection.end]),
                    startPosition=str(selection.start),
                    endPosition=str(selection.end),
                    creatingUser=user,
                    creationDateTime=created,
                )
                if selection.memo:
                    _sub(wrapper, "Description").text = _xml_text(selection.memo)
                coding = _sub(
                    wrapper,
                    "Coding",
                    guid=coding_guid,
                    creatingUser=user,
                    creationDateTime=created,
                )
                _sub(coding, "CodeRef", targetGUID=guids.get("code", selection.code_guid))
            variable_values(element, source.variables)

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, payload in [("project.qde", _serialise(root)), *files.items()]:
            # A fixed timestamp keeps exports of the same project byte-identical.
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, payload)
    return buffer.getvalue()
