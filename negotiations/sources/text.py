"""Text normalisation, sentence segmentation and offset conversion.

Offsets are Unicode code points from 0, end exclusive (DOMAIN.md section 3). Nothing here needs
Django, so the rules run on plain strings and are tested that way.
"""

from __future__ import annotations

import re
import unicodedata

# Vertical tab, form feed and NEL are line breaks too: Word and PDF exports use form feeds for page
# breaks, and deleting them (as other control characters are) would glue two words together.
_LINE_BREAKS = re.compile(r"\r\n?|[\x0b\x0c\x85\u2028\u2029]")


_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f]")


# Written as escapes because several look like ASCII: ideographic full stop, fullwidth ! and ?,
# halfwidth ideographic full stop.
_CJK_STOPS = "\u3002\uff01\uff1f\uff61"


# Closing quotes and brackets that belong to the sentence they follow: the ASCII ones, the
# guillemet, curly double and single quotes, and CJK corner, fullwidth, lenticular,
# tortoise-shell and angle brackets.
_CLOSERS = re.escape("\"')]}\u00bb\u201d\u2019\u300d\u300f\uff09\u3011\u3015\u3009\u300b")


_BOUNDARY = re.compile(
    rf"""
    # A run of whitespace holding a newline is one boundary, however many blank lines it spans.
    \n\s*+
    # CJK full stops end a sentence even with no space after them.
    | (?<![{_CJK_STOPS}])[{_CJK_STOPS}]++[{_CLOSERS}]*+
    # The lookbehinds anchor each match at the start of a run of punctuation, so a long run of
    # dots or quotes is scanned once rather than once per starting position.
    | (?<![.!?…])(?P<stop>[.!?…]++)[{_CLOSERS}]*+(?=\s|\Z)
    """,
    re.VERBOSE,
)


_NEXT_CHAR = re.compile(r"[^\S\n]*+(\S?)")


_WORD_BEFORE = re.compile(r"[\w.]++\Z")


_WORD_BEFORE_WINDOW = 20


_DOTTED_INITIALS = re.compile(r"(?:[^\W\d_]\.)+[^\W\d_]")


_ABBREVIATIONS = frozenset(
    {
        # Titles and ranks, always followed by a name.
        *("Mr", "Mrs", "Ms", "Dr", "Prof", "Gen", "Lt", "Col", "Capt", "Sen", "Rep", "Gov"),
        *("Amb", "St", "Jr", "Sr", "vs"),
        *("Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec"),
    }
)


# "No. 3" is an abbreviation, but "No. We refuse." is an answer in a transcript.
_NUMBER_ABBREVIATIONS = frozenset({"No", "Nos", "Art"})


# Apostrophe, right single quotation mark, hyphen-minus, hyphen, non-breaking hyphen.
_WORD_JOINERS = frozenset("'\u2019-\u2010\u2011")


def normalise_text(text: str) -> str:
    """Return text in its stored form: NFC, ``\\n`` line breaks, no control characters, stripped."""
    text = text.removeprefix("\ufeff")
    text = _LINE_BREAKS.sub("\n", text)
    text = _CONTROL_CHARS.sub("", text)
    return unicodedata.normalize("NFC", text).strip()


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Split normalised text into sentences, as ``(start, end)`` offsets without outer whitespace.

    A newline always ends a sentence; ``. ! ? …`` end one when followed by whitespace, unless the
    next word starts in lowercase or the full stop closes a known abbreviation or initial.
    """
    segments: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        stop = match.group("stop")
        if stop is not None and not _ends_sentence(text, match.start(), match.end(), stop):
            continue
        _append_trimmed(text, start, match.end(), segments)
        start = match.end()
    _append_trimmed(text, start, len(text), segments)
    return segments


def _ends_sentence(text: str, stop_start: int, stop_end: int, stop: str) -> bool:
    next_char = _NEXT_CHAR.match(text, stop_end).group(1)
    # A lowercase continuation means the punctuation was not final: "etc. and", '"Why?" he asked'.
    if next_char.islower():
        return False
    if stop != ".":
        return True
    word = _WORD_BEFORE.search(text, max(0, stop_start - _WORD_BEFORE_WINDOW), stop_start)
    return word is None or not _is_abbreviation(word.group(), next_char)


def _is_abbreviation(word: str, next_char: str) -> bool:
    # "U.S. The talks" is ambiguous: a sentence may end with "U.S." or the next word may be a name
    # ("the U.S. State Department"). We never split there; a newline after it still ends the
    # sentence. The same holds for other dotted initials (U.N., D.C., e.g., i.e., D.P.R.K.).
    if word in _ABBREVIATIONS or _DOTTED_INITIALS.fullmatch(word):
        return True
    # A single capital is an initial ("J. Smith"); "Plan B. Next" is the accepted loss.
    if len(word) == 1 and word.isupper():
        return True
    return word in _NUMBER_ABBREVIATIONS and next_char.isdigit()


def _append_trimmed(text: str, start: int, end: int, segments: list[tuple[int, int]]) -> None:
    piece = text[start:end]
    stripped = piece.lstrip()
    if stripped:
        start += len(piece) - len(stripped)
        end -= len(stripped) - len(stripped.rstrip())
        segments.append((start, end))


def codepoint_to_utf16(text: str, index: int) -> int:
    """Convert a code-point offset into the UTF-16 offset the browser uses."""
    if not 0 <= index <= len(text):
        raise ValueError(f"Offset {index} is outside the text (0 to {len(text)}).")
    return len(text[:index].encode("utf-16-le", "surrogatepass")) // 2


def utf16_to_codepoint(text: str, index: int) -> int:
    """Convert a browser's UTF-16 offset into a code-point offset.

    Raises ValueError if the offset is out of range or falls between the two halves of a
    surrogate pair (an emoji, say), which no code-point offset can express.
    """
    units = text.encode("utf-16-le", "surrogatepass")
    length = len(units) // 2
    if not 0 <= index <= length:
        raise ValueError(f"UTF-16 offset {index} is outside the text (0 to {length}).")
    if 0 < index < length and _is_high_surrogate(units, index - 1):
        raise ValueError(f"UTF-16 offset {index} falls inside a surrogate pair.")
    return len(units[: 2 * index].decode("utf-16-le", "surrogatepass"))


def _is_high_surrogate(units: bytes, index: int) -> bool:
    unit = int.from_bytes(units[2 * index : 2 * index + 2], "little")
    return 0xD800 <= unit <= 0xDBFF


def snap_to_words(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen a span so it does not cut a word, then trim whitespace from both ends.

    A span of only whitespace comes back empty, at its end.
    """
    length = len(text)
    if not 0 <= start <= end <= length:
        raise ValueError(f"Span ({start}, {end}) is outside the text (0 to {length}).")
    while 0 < start < length and _is_word_char(text, start - 1) and _is_word_char(text, start):
        start -= 1
    while 0 < end < length and _is_word_char(text, end - 1) and _is_word_char(text, end):
        end += 1
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _is_word_char(text: str, index: int) -> bool:
    char = text[index]
    if _is_letter_or_digit(char):
        return True
    # An apostrophe or hyphen between two letters is inside a word ("don't", "so-called"); at a
    # word's edge it is a quote mark or a dash.
    return (
        char in _WORD_JOINERS
        and 0 < index < len(text) - 1
        and _is_letter_or_digit(text[index - 1])
        and _is_letter_or_digit(text[index + 1])
    )


def _is_letter_or_digit(char: str) -> bool:
    # Like the regex \w, plus combining marks, which \w misses inside Indic and decomposed words.
    return char.isalnum() or char == "_" or unicodedata.category(char).startswith("M")
