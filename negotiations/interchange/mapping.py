"""How TrustCoder's own fields travel inside REFI-QDA fields that every tool shows.

Plain code, no Django. The standard has no place for a coding's stance, demonstrating party and
evidence strength, for a code's label, key and guidance, or for a code set; TrustCoder writes them
as text that another tool displays as it is (docs/decisions.md, "REFI-QDA interchange") and reads
them back, so a round trip through TrustCoder loses nothing:

- a coding's selection `Description` starts with one structured line,
  `[TrustCoder] stance: against; party: US; strength: hoop`, then a blank line and the memo;
- a code's `Description` is its definition, its guidance as "When to use: ..." paragraphs, and a
  last line `[TrustCoder] label: ...; key: 1`;
- a code set is a non-codable parent code whose `Description` ends with
  `[TrustCoder] code set: elements; for: for; against: against; enabled: yes`.

It also holds the two conversions an import needs: unique TrustCoder code names derived from a
tool's nested code names, and positions in a file's text carried to the text TrustCoder stores
(`negotiations.sources.text.normalise_text`: control characters removed, surrounding whitespace
stripped).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from negotiations.interchange.qdpx import CODE_POINTS, QdaCode, TextMap
from negotiations.sources.text import normalise_text

TAG = "[TrustCoder]"
CODE_NAME_MAX = 60
CODE_LABEL_MAX = 200
DEFINITION_MAX = 500

_GUIDANCE = (
    ("when_to_use", "When to use: "),
    ("when_not_to_use", "When not to use: "),
    ("example", "Example: "),
)
# The characters `normalise_text` turns into "\n" (one for one) or removes.
_LINE_BREAKS = re.compile(r"[\x0b\x0c\x85\u2028\u2029]")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f]")
_NAME_CHARS = re.compile(r"[^A-Z0-9]+")


# --------------------------------------------------------------------------------------------
# Structured lines
# --------------------------------------------------------------------------------------------


def _escape(value: str) -> str:
    # Keeps the line one line and its separators unambiguous.
    return value.replace("\\", "\\\\").replace(";", "\\;").replace("\n", "\\n").replace("\r", "")


def _line(fields: Iterable[tuple[str, str]]) -> str:
    return TAG + " " + "; ".join(f"{key}: {_escape(value)}" for key, value in fields)


def _split(body: str) -> list[str]:
    """Parts of a structured line between unescaped ';', unescaped."""
    parts: list[str] = []
    current: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\" and index + 1 < len(body):
            following = body[index + 1]
            current.append("\n" if following == "n" else following)
            index += 2
            continue
        if char == ";":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    parts.append("".join(current))
    return parts


def _pairs(body: str) -> list[tuple[str, str]] | None:
    pairs = []
    for part in _split(body):
        key, sep, value = part.strip().partition(":")
        if not sep or not key.strip():
            return None
        pairs.append((key.strip(), value.removeprefix(" ")))
    return pairs


def _parse_line(line: str) -> dict[str, str] | None:
    if not line.startswith(TAG + " "):
        return None
    pairs = _pairs(line[len(TAG) + 1 :])
    return None if pairs is None else {key.lower(): value for key, value in pairs}


@dataclass(frozen=True)
class CodingFields:
    stance: str
    party: str
    strength: str = ""


def coding_description(fields: CodingFields, memo: str) -> str:
    """The selection's Description: the structured line, then the memo after a blank line."""
    pairs = [("stance", fields.stance), ("party", fields.party)]
    if fields.strength:
        pairs.append(("strength", fields.strength))
    line = _line(pairs)
    return f"{line}\n\n{memo}" if memo else line


def parse_coding_description(text: str | None) -> tuple[CodingFields | None, str]:
    """Split an imported memo into TrustCoder's coding fields (if its first line has them) and
    the memo proper."""
    text = text or ""
    first, _, rest = text.partition("\n")
    fields = _parse_line(first.strip())
    if fields is None or "stance" not in fields or "party" not in fields:
        return None, text
    return (
        CodingFields(
            stance=fields["stance"].strip(),
            party=fields["party"].strip(),
            strength=fields.get("strength", "").strip(),
        ),
        rest.removeprefix("\n"),
    )


@dataclass(frozen=True)
class CodeFields:
    label: str
    definition: str
    when_to_use: str = ""
    when_not_to_use: str = ""
    example: str = ""
    key: str = ""


def code_description(fields: CodeFields) -> str:
    paragraphs = [fields.definition]
    paragraphs += [
        prefix + getattr(fields, name) for name, prefix in _GUIDANCE if getattr(fields, name)
    ]
    pairs = [("label", fields.label)]
    if fields.key:
        pairs.append(("key", fields.key))
    paragraphs.append(_line(pairs))
    return "\n\n".join(paragraphs)


def parse_code_description(text: str) -> tuple[CodeFields | None, str]:
    """TrustCoder's code fields from a code's Description, or (None, text) for another tool's."""
    body, _, last = text.rpartition("\n\n")
    fields = _parse_line(last.strip()) if body else None
    if fields is None or "label" not in fields or "code set" in fields:
        return None, text
    values = {name: "" for name, _ in _GUIDANCE}
    paragraphs = body.split("\n\n")
    definition: list[str] = []
    current: list[str] | None = definition
    for paragraph in paragraphs:
        for name, prefix in _GUIDANCE:
            if paragraph.startswith(prefix):
                values[name] = paragraph[len(prefix) :]
                current = None
                last_name = name
                break
        else:
            if current is definition:
                definition.append(paragraph)
            else:
                values[last_name] += "\n\n" + paragraph
    return (
        CodeFields(
            label=fields["label"],
            definition="\n\n".join(definition),
            key=fields.get("key", ""),
            **values,
        ),
        text,
    )


@dataclass(frozen=True)
class CodeSetFields:
    slug: str
    name: str
    for_label: str = "for"
    against_label: str = "against"
    enabled: bool = True


def code_set_description(fields: CodeSetFields) -> str:
    return _line(
        [
            ("code set", fields.slug),
            ("for", fields.for_label),
            ("against", fields.against_label),
            ("enabled", "yes" if fields.enabled else "no"),
        ]
    )


def parse_code_set(code: QdaCode) -> CodeSetFields | None:
    fields = _parse_line(code.description.strip().rpartition("\n\n")[2].strip())
    if fields is None or "code set" not in fields:
        return None
    return CodeSetFields(
        slug=fields["code set"].strip(),
        name=code.name,
        for_label=fields.get("for", "for") or "for",
        against_label=fields.get("against", "against") or "against",
        enabled=fields.get("enabled", "yes").strip().lower() != "no",
    )


def parties_text(parties: Iterable[tuple[str, str]]) -> str:
    """A negotiation's parties as one variable value: `US: United States; DPRK: North Korea`."""
    return "; ".join(f"{_escape(code)}: {_escape(name)}" for code, name in parties)


def parse_parties(value: object) -> list[tuple[str, str]]:
    if not isinstance(value, str) or not value.strip():
        return []
    return [(code, name.strip()) for code, name in _pairs(value) or []]


# --------------------------------------------------------------------------------------------
# Code names
# --------------------------------------------------------------------------------------------


def code_name_from(text: str) -> str:
    """A TrustCoder code name (capitals, digits, '_', starting with a letter) from any name."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    name = _NAME_CHARS.sub("_", ascii_text.upper()).strip("_")
    if not name or not name[0].isalpha():
        name = "C_" + name if name else "CODE"
    return name[:CODE_NAME_MAX].rstrip("_")


def derive_code_names(
    codes: Sequence[QdaCode], *, taken: Iterable[str] = (), keep: Mapping[str, str] | None = None
) -> dict[str, str]:
    """A unique TrustCoder name for each code: its path of names (parent first) made into a
    code name, with `_2`, `_3`... where two paths give the same name.

    `keep` maps code GUIDs to names to use as they are (a TrustCoder export's own names);
    `taken` holds names already in the study.
    """
    by_guid = {code.guid: code for code in codes}
    keep = dict(keep or {})
    used = set(taken) | set(keep.values())
    names: dict[str, str] = dict(keep)

    def path(code: QdaCode) -> list[str]:
        parts: list[str] = []
        seen: set[str] = set()
        current: QdaCode | None = code
        while current is not None and current.guid not in seen:
            seen.add(current.guid)
            parts.append(current.name)
            current = by_guid.get(current.parent_guid) if current.parent_guid else None
        return parts[::-1]

    for code in codes:
        if code.guid in names:
            continue
        base = code_name_from("_".join(path(code)))
        name = base
        number = 2
        while name in used:
            suffix = f"_{number}"
            name = base[: CODE_NAME_MAX - len(suffix)].rstrip("_") + suffix
            number += 1
        used.add(name)
        names[code.guid] = name
    return names


def code_label(code: QdaCode) -> str:
    return code.name.strip()[:CODE_LABEL_MAX] or "(unnamed code)"


def colour_from(value: str | None) -> str | None:
    """A `#rrggbb` colour from a file's `#rgb` or `#rrggbb`, or None."""
    if not value or not re.fullmatch(r"#(?:[0-9A-Fa-f]{3}|[0-9A-Fa-f]{6})", value):
        return None
    if len(value) == 4:
        value = "#" + "".join(c * 2 for c in value[1:])
    return value


# --------------------------------------------------------------------------------------------
# Positions in the stored text
# --------------------------------------------------------------------------------------------


class StoredText:
    """The text TrustCoder stores for an imported text, and positions carried to it.

    The reader has already turned a file's text into NFC with "\\n" line breaks; TrustCoder's
    stored form also drops control characters other than tab and newline, turns other line
    breaks into "\\n" and strips surrounding whitespace, which shifts every position by what was
    stripped at the start. Positions that fall into removed text move to the nearest kept one.
    """

    def __init__(self, text: str) -> None:
        self.text = normalise_text(text)
        cleaned = _LINE_BREAKS.sub("\n", text)
        # Positions of the characters that survive removal of control characters.
        removed = [m.start() for m in _CONTROL_CHARS.finditer(cleaned)]
        self._removed = removed
        cleaned = _CONTROL_CHARS.sub("", cleaned)
        # Removing a control character can, rarely, bring a base letter and a combining mark
        # together, which NFC then merges; TextMap carries positions through that.
        self._nfc = TextMap.build(cleaned, CODE_POINTS) if removed else None
        composed = self._nfc.text if self._nfc is not None else cleaned
        self._lead = len(composed) - len(composed.lstrip())
        if composed.strip() != self.text:
            raise ValueError("the stored text does not follow from the imported text")

    def position(self, offset: int, *, end: bool = False) -> int:
        """The stored position of `offset` in the imported text."""
        shifted = offset - bisect.bisect_left(self._removed, offset)
        if self._nfc is not None:
            shifted = self._nfc.to_normalized(shifted, end=end)
        return min(max(shifted - self._lead, 0), len(self.text))

    def span(self, start: int, end: int) -> tuple[int, int]:
        return self.position(start), self.position(end, end=True)
