"""Writing tables safely: formula neutralisation of text cells and CSV lines for streaming."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> str:
    """The cell as text, prefixed with an apostrophe when a spreadsheet would run it.

    Numbers are written as numbers (a negative alpha stays ``-0.12``, which R, Stata and pandas
    read as a number and no spreadsheet runs as a formula); only text is neutralised. A float is
    written with ``repr``, the shortest text that reads back as the same float, so a figure
    recomputed from a download matches the page exactly. NaN is written as an empty cell.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
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
    """CSV lines of a table, every cell neutralised, the header too: a column may be named by a
    user, as the coder columns of the unit x coder matrix are."""
    writer = csv.writer(_Echo(), lineterminator="\n")
    yield writer.writerow([neutralise(h) for h in header])
    for row in rows:
        yield writer.writerow([neutralise(v) for v in row])


def xlsx_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str) -> bytes:
    """An XLSX workbook of one sheet: text neutralised as in CSV, numbers and dates typed.

    Written in openpyxl's write-only mode, row by row. Characters XML cannot hold (other
    control characters) are dropped from text cells."""
    from io import BytesIO

    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def cell(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, datetime):  # before date: a datetime is a date too
            return value.replace(tzinfo=None)
        if isinstance(value, bool | int | date):
            return value
        if isinstance(value, float):
            return None if math.isnan(value) else value
        return ILLEGAL_CHARACTERS_RE.sub("", neutralise(value))

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    sheet.append([cell(h) for h in header])
    for row in rows:
        sheet.append([cell(v) for v in row])
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
