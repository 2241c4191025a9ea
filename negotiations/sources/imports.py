"""Writes of the bulk import of sources: staging an upload, its dry run, the import, its problems.

Services like those of single sources in `services.py`: keyword-only arguments, each write in a
transaction; a file with any problem imports no source at all. Each row is read and checked by
`resources.SourceResource`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from negotiations.blobs import blob_write
from negotiations.models import ImportStatus, SourceImport, SourceImportProblem, Study
from negotiations.sources.extract import ExtractionError, decode_text
from negotiations.sources.resources import SourceResource
from negotiations.sources.services import size_limit_text

MAX_IMPORT_ROWS = 100_000


@dataclass(frozen=True)
class ImportProblem:
    """One thing wrong with an import file; row numbers count the header as row 1."""

    message: str
    row: int | None = None
    column: str = ""


@dataclass
class ImportReport:
    filename: str
    n_rows: int = 0
    n_imported: int = 0
    dry_run: bool = True
    problems: list[ImportProblem] | None = None
    preview: list[dict[str, Any]] | None = None
    # The spreadsheet row number (header = 1) of each preview row: blank lines are skipped.
    preview_lines: list[int] | None = None
    created: list[str] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


class ImportFileError(Exception):
    """A file that cannot be read as rows at all, with where the problem is."""

    def __init__(self, message: str, row: int | None = None) -> None:
        super().__init__(message)
        self.problem = ImportProblem(message=message, row=row)


def _blank(cells: Iterable[Any]) -> bool:
    return not any(cell is not None and str(cell).strip() for cell in cells)


def _read_dataset(filename: str, content: bytes) -> tuple[Any, list[int]]:
    """Read a CSV or XLSX file into a tablib Dataset of its non-blank rows.

    Returns the dataset and, for each of its rows, the row number a spreadsheet shows (the
    header is row 1), so that problems point at the right row even after blank rows.
    """
    import csv
    import io
    import zipfile

    import tablib

    if not content:
        raise ImportFileError("The file is empty.")
    limit = settings.TRUSTCODER_MAX_UPLOAD_BYTES
    if len(content) > limit:
        raise ImportFileError(f"The file is larger than the {size_limit_text(limit)} limit.")
    lower = filename.lower()
    if lower.endswith(".xlsx"):
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                unpacked = sum(info.file_size for info in archive.infolist())
        except zipfile.BadZipFile:
            raise ImportFileError("This .xlsx file is damaged or not a spreadsheet.") from None
        if unpacked > 100 * 1024 * 1024 or unpacked > 200 * len(content):
            raise ImportFileError("This .xlsx unpacks to far more than its size; refusing it.")
        try:
            sheet = tablib.Dataset().load(io.BytesIO(content), format="xlsx")
        except Exception as exc:  # openpyxl raises many kinds for a broken workbook
            raise ImportFileError(f"This .xlsx file could not be read ({exc}).") from None
        header = list(sheet.headers or [])
        records = [(number, list(cells)) for number, cells in enumerate(sheet, start=2)]
    elif lower.endswith(".csv"):
        try:
            text, _encoding = decode_text(content)
        except ExtractionError as exc:
            raise ImportFileError(str(exc)) from None
        try:
            rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))
        except csv.Error as exc:
            raise ImportFileError(f"The file is not valid CSV ({exc}).") from None
        if not rows:
            raise ImportFileError("The file has no header row.")
        header = rows[0]
        records = list(enumerate(rows[1:], start=2))
    else:
        raise ImportFileError("Upload a .csv or .xlsx file.")
    if _blank(header):
        raise ImportFileError("The file has no header row.", row=1)
    dataset = tablib.Dataset(headers=[str(h or "") for h in header])
    line_numbers = []
    for number, cells in records:
        if _blank(cells):
            continue  # blank lines, and rows a spreadsheet formatted but never filled
        if len(cells) != len(header):
            raise ImportFileError(
                f"This row has {len(cells)} cells but the header has {len(header)}; "
                "check its quotes and commas.",
                row=number,
            )
        dataset.append(cells)
        line_numbers.append(number)
    return dataset, line_numbers


def _problems_from_result(result: Any, line_numbers: list[int]) -> list[ImportProblem]:
    def line(number: int) -> int:
        return line_numbers[number - 1] if 0 < number <= len(line_numbers) else number + 1

    problems = [ImportProblem(message=str(error.error)) for error in result.base_errors]
    for invalid in result.invalid_rows:
        for column, messages in invalid.error_dict.items():
            for message in messages:
                problems.append(
                    ImportProblem(
                        row=line(invalid.number),
                        column="" if column == "__all__" else column,
                        message=str(message),
                    )
                )
    for number, errors in result.row_errors():
        for error in errors:
            problems.append(ImportProblem(row=line(number), message=str(error.error)))
    return sorted(problems, key=lambda p: (p.row or 0, p.column))


def sources_import(
    *,
    study: Study,
    filename: str,
    content: bytes,
    actor: User | None,
    dry_run: bool,
    create_missing: bool = False,
) -> ImportReport:
    """Import statements from a CSV or XLSX file; with any problem, nothing is saved.

    The dry run goes through the same code, inside a transaction that is always rolled back, so
    its report lists exactly what the real import would refuse.
    """

    report = ImportReport(filename=filename, dry_run=dry_run, problems=[], preview=[], created=[])
    try:
        dataset, line_numbers = _read_dataset(filename, content)
    except ImportFileError as exc:
        report.problems = [exc.problem]
        return report
    report.n_rows = len(dataset)
    if report.n_rows == 0:
        report.problems = [ImportProblem(message="The file has a header but no rows.")]
        return report
    if report.n_rows > MAX_IMPORT_ROWS:
        report.problems = [
            ImportProblem(
                message=f"The file has {report.n_rows:,} rows; the limit is {MAX_IMPORT_ROWS:,}."
            )
        ]
        return report
    resource = SourceResource(
        study=study, actor=actor, create_missing=create_missing, line_numbers=line_numbers
    )

    class _Rollback(Exception):
        pass

    try:
        with transaction.atomic():
            result = (
                resource.import_data(
                    dataset, dry_run=True, use_transactions=True, raise_errors=False
                )
                if dry_run
                else resource.import_data(
                    dataset,
                    dry_run=False,
                    use_transactions=True,
                    raise_errors=False,
                    rollback_on_validation_errors=True,
                )
            )
            report.problems = _problems_from_result(result, line_numbers)
            if report.problems:
                raise _Rollback
    except _Rollback:
        pass
    if not report.problems:
        report.created = list(resource.created_objects)
        if not dry_run:
            report.n_imported = result.totals["new"]
    headers = list(dataset.headers or [])
    for values in dataset[:20]:
        report.preview.append({h: _preview_cell(v) for h, v in zip(headers, values, strict=False)})
    report.preview_lines = line_numbers[: len(report.preview)]
    return report


def _preview_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 160 else text[:157] + "..."


def source_import_stage(
    *,
    study: Study,
    filename: str,
    content: bytes,
    actor: User,
    create_missing: bool,
    check: bool = True,
) -> SourceImport:
    """Keep an uploaded file until its preview is confirmed.

    With `check` (the default) the dry run runs now and its findings are stored; without it the
    file waits, marked as being checked, for `source_import_check` (a background job).
    """
    with transaction.atomic():
        staged = SourceImport.objects.create(
            study=study,
            uploaded_by=actor,
            filename=filename[:255],
            content=b"",
            size=len(content),
            create_missing=create_missing,
            status=ImportStatus.PREVIEWED if check else ImportStatus.CHECKING,
        )
        blob_write(instance=staged, field="content", content=content)
    if check:
        staged = source_import_check(source_import=staged)
    return staged


def source_import_check(*, source_import: SourceImport) -> SourceImport:
    """Run the dry run of a staged file once and store what it found.

    The preview page then reads the stored problems a page at a time instead of re-running the
    dry run on every view.
    """
    report = sources_import(
        study=source_import.study,
        filename=source_import.filename,
        content=bytes(source_import.content),
        actor=source_import.uploaded_by,
        dry_run=True,
        create_missing=source_import.create_missing,
    )
    with transaction.atomic():
        staged = SourceImport.objects.select_for_update().get(pk=source_import.pk)
        _store_problems(staged, report)
        staged.n_rows = report.n_rows
        # Headers first, then each row's spreadsheet row number and cells: lists keep the file's
        # column order in any database.
        rows = report.preview or []
        lines = report.preview_lines or []
        staged.preview = (
            [
                list(rows[0].keys()),
                *[[line, *r.values()] for line, r in zip(lines, rows, strict=True)],
            ]
            if rows
            else []
        )
        staged.created_objects = report.created or []
        if staged.status == ImportStatus.CHECKING:
            staged.status = ImportStatus.PREVIEWED
        staged.save()
    return staged


def _store_problems(staged: SourceImport, report: ImportReport) -> None:
    staged.problems.all().delete()
    SourceImportProblem.objects.bulk_create(
        (
            SourceImportProblem(
                source_import=staged,
                position=position,
                row=problem.row,
                column=problem.column[:100],
                message=problem.message,
            )
            for position, problem in enumerate(report.problems or [])
        ),
        batch_size=5000,
    )
    staged.n_errors = len(report.problems or [])


@transaction.atomic
def source_import_record_problems(*, source_import: SourceImport, report: ImportReport) -> None:
    """Keep the problems a refused confirmation found, for its preview page."""
    staged = SourceImport.objects.select_for_update().defer("content").get(pk=source_import.pk)
    _store_problems(staged, report)
    staged.save(update_fields=["n_errors"])


@transaction.atomic
def source_import_refuse(*, source_import: SourceImport) -> SourceImport:
    """Mark a staged file whose check found problems as refused, without importing anything."""
    staged = SourceImport.objects.select_for_update().defer("content").get(pk=source_import.pk)
    if staged.status == ImportStatus.PREVIEWED:
        staged.status = ImportStatus.FAILED
        staged.finished_at = timezone.now()
        staged.content = b""
        staged.save(update_fields=["status", "finished_at", "content"])
    return staged


def source_import_confirm(*, source_import: SourceImport, actor: User) -> ImportReport:
    """Import a staged file for real; with any problem nothing is saved and it stays refused."""
    with transaction.atomic():
        staged = SourceImport.objects.select_for_update().get(pk=source_import.pk)
        if staged.status != ImportStatus.PREVIEWED:
            raise ValidationError("This file was already imported or refused.")
        report = sources_import(
            study=staged.study,
            filename=staged.filename,
            content=bytes(staged.content),
            actor=actor,
            dry_run=False,
            create_missing=staged.create_missing,
        )
        staged.status = ImportStatus.IMPORTED if report.ok else ImportStatus.FAILED
        staged.n_rows = report.n_rows
        staged.n_errors = len(report.problems or [])
        staged.n_imported = report.n_imported
        staged.finished_at = timezone.now()
        # The content is no longer needed once the file is in (or refused).
        staged.content = b""
        staged.save()
    return report
