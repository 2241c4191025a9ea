"""Writing tables safely: formula neutralisation of text cells and CSV lines for streaming."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> str:
    """The cell as text, prefixed with an apostrophe when a spreadsheet would run it."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if _needs_apostrophe(text):
        return "'" + text
    return text


def _needs_apostrophe(text: str) -> bool:
    # Apostrophes before a trigger are escaped too ("'=x" becomes "''=x"), so that the importer
    # can tell our prefix from an apostrophe that was part of the value.
    return text.lstrip("'").startswith(FORMULA_TRIGGERS)


def unneutralise(text: str) -> str:
    """Undo `neutralise` for a cell read back from one of our exports."""
    if text.startswith("'") and _needs_apostrophe(text[1:]):
        return text[1:]
    return text


class _Echo:
    """A file-like object whose write returns the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo(), lineterminator="\n")
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([neutralise(v) for v in row])
