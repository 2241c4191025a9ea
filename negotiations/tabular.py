"""Writing tables safely: formula neutralisation of text cells and CSV lines for streaming."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# A text needs the apostrophe only if it starts with a trigger or with an apostrophe.
_FIRST_CHARS = frozenset(FORMULA_TRIGGERS) | {"'"}


def neutralise(value: Any) -> str:
    """The cell as text, prefixed with an apostrophe when a spreadsheet would run it.

    Numbers are written as numbers (a negative alpha stays ``-0.12``, which R, Stata and pandas
    read as a number and no spreadsheet runs as a formula); only text is neutralised. A float is
    written with ``repr``, the shortest text that reads back as the same float, so a figure
    recomputed from a download matches the page exactly. NaN is written as an empty cell.
    """
    if type(value) is str:  # most cells: checked first, by one look at the first character
        return "'" + value if value[:1] in _FIRST_CHARS and _needs_apostrophe(value) else value
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


def csv_lines_written(rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """CSV lines of rows whose cells the database has written already (text neutralised by
    `neutralised_sql`, numbers as numbers, NULL as nothing): they are only quoted."""
    writer = csv.writer(_Echo(), lineterminator="\n")
    for row in rows:
        yield writer.writerow(row)


def xlsx_cell(value: Any) -> Any:
    """A cell for a spreadsheet: numbers stay numbers, text is neutralised as in CSV (a text cell
    starting with "=" would otherwise be stored as a formula)."""
    if value is None or isinstance(value, bool):
        return "" if value is None else str(value)
    if isinstance(value, int | float):
        return None if isinstance(value, float) and math.isnan(value) else value
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    # Control characters XML cannot hold would make openpyxl refuse the whole workbook.
    return ILLEGAL_CHARACTERS_RE.sub("", neutralise(value))


def xlsx_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]], title: str = "data") -> bytes:
    """The table as an XLSX workbook (one sheet), for Excel users whom UTF-8 CSV garbles."""
    import io

    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31] or "data")
    sheet.append([xlsx_cell(h) for h in header])
    for row in rows:
        sheet.append([xlsx_cell(v) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# The same cells written by the database: SQL expressions over a column, for PostgreSQL's
# `COPY (SELECT ...) TO STDOUT (FORMAT csv)` and for a SQLite SELECT whose rows csv.writer
# quotes. PostgreSQL's CSV quoting is csv.writer's (a cell is quoted when it holds a comma, a
# double quote, CR or LF) except that it quotes an empty string, which is why empty text becomes
# NULL there (written as nothing, as csv.writer writes "").
#
# A cell's first character is read as a code point (`ascii()` in PostgreSQL, 0 for an empty text;
# `unicode()` in SQLite, NULL for one), and only a text that starts with a trigger or an
# apostrophe is trimmed to look further, as in `neutralise`: trimming every cell copied every
# text, most of the export's time in the database.
_SQL_TRIGGERS = ", ".join(str(ord(c)) for c in FORMULA_TRIGGERS)
_SQL_FIRST_CHARS = ", ".join(str(ord(c)) for c in sorted(_FIRST_CHARS))
_SQL_FIRST_CHAR = {"postgresql": "ascii", "sqlite": "unicode"}


def neutralised_sql(column: str, vendor: str = "postgresql") -> str:
    """SQL for a text column as `neutralise` writes it."""
    first = _SQL_FIRST_CHAR[vendor]
    unchanged = column if vendor == "sqlite" else f"NULLIF({column}, '')"
    return (
        f"CASE WHEN {first}({column}) IN ({_SQL_FIRST_CHARS}) "
        f"AND {first}(ltrim({column}, '''')) IN ({_SQL_TRIGGERS}) "
        f"THEN '''' || {column} ELSE {unchanged} END"
    )


def isoformat_sql(column: str, vendor: str = "postgresql") -> str:
    """SQL for a timestamp with time zone as `datetime.isoformat()` writes it in UTC (the
    fraction only when it is not zero).

    SQLite holds Django's own text of the UTC time, `str()` of it ("2026-01-02 03:04:05" or
    "2026-01-02 03:04:05.123456"), which differs from `isoformat()` by the "T" and the offset.
    PostgreSQL writes it with one `to_char`, the zero fraction taken out after."""
    if vendor == "sqlite":
        return f"replace({column}, ' ', 'T') || '+00:00'"
    return (
        f"replace(to_char({column} AT TIME ZONE 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"'), '.000000+', '+')"
    )


def date_sql(column: str, vendor: str = "postgresql") -> str:
    """SQL for a date as `date.isoformat()` writes it (SQLite holds that text)."""
    return column if vendor == "sqlite" else f"to_char({column}, 'YYYY-MM-DD')"
