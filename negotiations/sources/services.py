"""Writes of sources: creation with segmentation, metadata, text corrections and bulk import.

Services take keyword-only arguments, validate with `full_clean()` and run in one transaction, so a
failure leaves nothing half-saved. A coded text never changes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from negotiations.blobs import blob_write
from negotiations.models import (
    ChangeRecord,
    Coding,
    ConsensusCoding,
    ImportStatus,
    Negotiation,
    Party,
    Phase,
    Segment,
    Source,
    SourceImport,
    SourceImportProblem,
    Study,
)
from negotiations.sources.extract import ExtractionError, decode_text
from negotiations.sources.resources import SourceResource
from negotiations.sources.text import normalise_text, split_sentences
from negotiations.studies import services as study_services
from negotiations.wording import counted


@dataclass(frozen=True)
class SourceMetadata:
    """The descriptive fields of a source, as entered on a form or read from an import row."""

    negotiation: Negotiation
    title: str
    phase: Phase | None = None
    speaker: str = ""
    speaker_party: Party | None = None
    date: date | None = None
    source_type: str = "official_statement"
    citation: str = ""
    url: str = ""
    language: str = "en"


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def prepare_source_text(raw: str) -> str:
    """Normalise text as DOMAIN.md section 3 says and check the study's limits."""
    text = normalise_text(raw)
    if not text:
        raise ValidationError({"text": "The text is empty."})
    limit = settings.TRUSTCODER_MAX_TEXT_CHARS
    if len(text) > limit:
        raise ValidationError(
            {"text": f"The text has {len(text):,} characters; the limit is {limit:,}."}
        )
    return text


def segments_for(source: Source) -> list[Segment]:
    return [
        Segment(source=source, index=i, start=start, end=end)
        for i, (start, end) in enumerate(split_sentences(source.text))
    ]


def _apply_metadata(source: Source, metadata: SourceMetadata) -> None:
    for field in (
        "negotiation",
        "title",
        "phase",
        "speaker",
        "speaker_party",
        "date",
        "source_type",
        "citation",
        "url",
        "language",
    ):
        setattr(source, field, getattr(metadata, field))


@transaction.atomic
def source_create(
    *,
    study: Study,
    metadata: SourceMetadata,
    text: str,
    created_by: User | None,
    original_filename: str = "",
    allow_duplicate: bool = False,
) -> Source:
    """Create a source from raw text: normalise it, check it, split it into sentence segments."""
    text = prepare_source_text(text)
    digest = text_digest(text)
    if not allow_duplicate:
        existing = Source.objects.filter(study=study, text_sha256=digest).first()
        if existing is not None:
            raise ValidationError(
                {
                    "text": (
                        f"This text is already in the study as source #{existing.pk} "
                        f"({existing.title})."
                    )
                }
            )
    source = Source(
        study=study,
        text=text,
        text_sha256=digest,
        created_by=created_by,
        original_filename=original_filename[:255],
    )
    _apply_metadata(source, metadata)
    source.full_clean()
    source.save()
    Segment.objects.bulk_create(segments_for(source))
    return source


class ConfirmationRequired(ValidationError):
    """A change that re-files coded data: the page lists what it affects and asks again."""


def _refiling_effects(source: Source, metadata: SourceMetadata) -> tuple[list[str], dict]:
    """What moving a coded source to another negotiation or phase would affect."""
    codings = Coding.objects.filter(source=source)
    coders = sorted(set(codings.values_list("coder__username", flat=True)))
    n_codings = codings.count()
    n_consensus = ConsensusCoding.objects.filter(source=source).count()
    old_case, new_case = source.negotiation.name, metadata.negotiation.name
    old_phase = source.phase.name if source.phase_id else "no phase"
    new_phase = metadata.phase.name if metadata.phase else "no phase"
    lines = [
        f"{counted(n_codings, 'coding')} by {', '.join(coders)} "
        f"move from {old_case} ({old_phase}) to {new_case} ({new_phase})",
    ]
    if n_consensus:
        lines.append(f"{counted(n_consensus, 'consensus coding')} move too")
    lines.append("agreement and assessments of both places change")
    affected = {"codings": n_codings, "consensus_codings": n_consensus, "coders": coders}
    return lines, affected


@transaction.atomic
def source_update_metadata(
    *,
    source: Source,
    metadata: SourceMetadata,
    actor: User | None = None,
    confirmed: bool = False,
) -> Source:
    """Change a source's descriptive fields; its text is untouched.

    Moving a coded source to another negotiation or phase re-files its codings: it is refused
    while a coded party is not a party of the new negotiation, needs `confirmed` (the error
    lists what would move), and is recorded with who, when, before and after.
    """
    current = (
        Source.objects.select_for_update(of=("self",))
        .select_related("negotiation", "phase")
        .get(pk=source.pk)
    )
    new_phase_id = metadata.phase.pk if metadata.phase else None
    moves = current.negotiation_id != metadata.negotiation.pk or current.phase_id != new_phase_id
    record = None
    if moves and source_is_coded(current):
        if current.negotiation_id != metadata.negotiation.pk:
            coded_parties = set(
                Coding.objects.filter(source=current).values_list(
                    "demonstrating_party__code", flat=True
                )
            ) | set(
                ConsensusCoding.objects.filter(source=current).values_list(
                    "demonstrating_party__code", flat=True
                )
            )
            allowed = set(metadata.negotiation.parties.values_list("code", flat=True))
            if missing := sorted(coded_parties - allowed):
                raise ValidationError(
                    {
                        "negotiation": (
                            f"Codings of this source name {', '.join(missing)}, which "
                            f"{'is' if len(missing) == 1 else 'are'} not a party of "
                            f"{metadata.negotiation.name}; add "
                            f"{'it' if len(missing) == 1 else 'them'} there first."
                        )
                    }
                )
        lines, affected = _refiling_effects(current, metadata)
        if not confirmed:
            raise ConfirmationRequired(
                "This source is coded. Saving re-files its coded data: "
                + "; ".join(lines)
                + ". Tick the confirmation to save anyway."
            )
        record = {
            "summary": f"{current.title[:200]}: " + "; ".join(lines),
            "before": {
                "negotiation": current.negotiation.name,
                "phase": current.phase.name if current.phase_id else None,
            },
            "after": {
                "negotiation": metadata.negotiation.name,
                "phase": metadata.phase.name if metadata.phase else None,
            },
            "affected": {"source": current.pk, **affected},
        }
    _apply_metadata(current, metadata)
    current.full_clean()
    current.save()
    if record is not None:
        study_services.change_record_create(
            study=current.study, actor=actor, action=ChangeRecord.Action.SOURCE_REFILED, **record
        )
        study_services.study_touch(current.study_id)
    return current


def source_is_coded(source: Source) -> bool:
    return source.codings.exists()


@transaction.atomic
def source_replace_text(*, source: Source, text: str, actor: User) -> Source:
    """Correct a source's text.

    An uncoded source is corrected in place (its segments are recomputed). A coded source keeps
    its text, since every span points into it; the correction becomes a new version that
    supersedes it, with the same metadata and no codings.
    """
    source = Source.objects.select_for_update().get(pk=source.pk)
    new_text = prepare_source_text(text)
    if new_text == source.text:
        return source
    if not source_is_coded(source):
        source.text = new_text
        source.text_sha256 = text_digest(new_text)
        source.full_clean()
        source.save()
        source.segments.all().delete()
        Segment.objects.bulk_create(segments_for(source))
        return source
    if hasattr(source, "superseded_by"):
        raise ValidationError("A newer version of this source exists; correct that one instead.")
    new = Source(
        study=source.study,
        text=new_text,
        text_sha256=text_digest(new_text),
        created_by=actor,
        version=source.version + 1,
        supersedes=source,
        original_filename=source.original_filename,
    )
    for field in (
        "negotiation",
        "title",
        "phase",
        "speaker",
        "speaker_party",
        "date",
        "source_type",
        "citation",
        "url",
        "language",
    ):
        setattr(new, field, getattr(source, field))
    new.full_clean()
    new.save()
    Segment.objects.bulk_create(segments_for(new))
    return new


@transaction.atomic
def source_delete(*, source: Source) -> None:
    if source_is_coded(source):
        raise ValidationError("This source has codings and cannot be deleted.")
    source.delete()


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


def size_limit_text(limit: int) -> str:
    if limit >= 1024 * 1024:
        return f"{limit / (1024 * 1024):g} MB"
    return f"{max(1, round(limit / 1024)):,} KB"


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


IMPORT_COLUMNS = (
    "negotiation",
    "phase",
    "title",
    "date",
    "speaker",
    "speaker_party",
    "source_type",
    "citation",
    "url",
    "language",
    "text",
)


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
