"""Time the bulk import of 10,000 statements through ``imports.sources_import``.

Run by hand: ``.venv/bin/python benchmarks/bench_import.py``. It creates a throwaway test
database (in-memory SQLite, or a ``test_`` copy of the database that DATABASE_URL names), imports
a 10,000-row CSV of ~400-character, three-sentence statements, and prints the time, the rate, the
SQL queries spent (and those of a 1,000-row file, to show they do not grow per row), what was
created, and the time of a dry run of the same file. The database is destroyed at the end.
"""

from __future__ import annotations

import csv
import io
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trustcoder.settings_test")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    setup_test_environment,
    teardown_test_environment,
)

N_ROWS = 10_000
N_SMALL = 1_000
HEADER = (
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
SUBJECTS = ("The delegation", "Our government", "The envoy", "The ministry", "The committee")
VERBS = ("insists", "affirms", "notes", "warns", "recalls")
CLAUSES = (
    "that heavy-fuel-oil deliveries must arrive on the schedule both sides accepted in Geneva",
    "that the freeze of the graphite-moderated reactors will continue while talks go on",
    "that light-water reactor construction depends on the consortium's funding",
    "that inspections can resume once the other side honours its written assurances",
    "that sanctions relief and diplomatic recognition were promised in the framework",
)


def statement(n: int) -> str:
    """A distinct three-sentence statement of about 400 characters."""
    sentences = []
    for k in range(3):
        i = n * 3 + k
        sentences.append(
            f"{SUBJECTS[i % 5]} {VERBS[(i // 5) % 5]} {CLAUSES[(i // 25) % 5]}, "
            f"as stated in note {n}-{k}."
        )
    return " ".join(sentences)


def csv_file(n_rows: int, offset: int = 0) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    for n in range(offset, offset + n_rows):
        writer.writerow(
            [
                "Agreed Framework",
                "",
                f"Statement {n}",
                f"199{n % 10}-10-21",
                "Spokesperson",
                "DPRK",
                "official_statement",
                "Illustrative statement written for TrustCoder.",
                "",
                "en",
                statement(n),
            ]
        )
    return buffer.getvalue().encode("utf-8")


def timed_import(study, content: bytes, *, dry_run: bool):
    from negotiations.sources import imports as source_imports

    start = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        report = source_imports.sources_import(
            study=study,
            filename="statements.csv",
            content=content,
            actor=None,
            dry_run=dry_run,
        )
    seconds = time.perf_counter() - start
    if report.problems:
        raise SystemExit(f"the import refused the file: {report.problems[:3]}")
    return report, seconds, len(queries)


def main() -> None:
    from django.contrib.auth import get_user_model

    from negotiations.models import Negotiation, Segment, Source, Study
    from negotiations.studies import services as study_services

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0)
    try:
        owner = get_user_model().objects.create_user("bench-owner")
        study = study_services.study_create(name="Import benchmark", slug="bench", created_by=owner)
        dprk = study_services.party_create(study=study, code="DPRK", name="North Korea")
        negotiation = study_services.negotiation_create(
            study=study, name="Agreed Framework", parties=[dprk]
        )
        content = csv_file(N_ROWS)
        print(f"database: {connection.vendor} ({connection.settings_dict['NAME']})")
        print(f"file: {N_ROWS:,} rows, {len(content) / 1e6:.1f} MB")

        _report, dry_seconds, dry_queries = timed_import(study, content, dry_run=True)
        assert not Source.objects.filter(study=study).exists()
        print(
            f"dry run: {dry_seconds:.2f} s, {N_ROWS / dry_seconds:,.0f} statements/s, "
            f"{dry_queries} queries"
        )

        report, seconds, n_queries = timed_import(study, content, dry_run=False)
        n_sources = Source.objects.filter(study=study).count()
        n_segments = Segment.objects.filter(source__study=study).count()
        print(
            f"import: {report.n_imported:,} rows in {seconds:.2f} s, "
            f"{report.n_imported / seconds:,.0f} statements/s, {n_queries} queries"
        )
        print(f"created: {n_sources:,} sources, {n_segments:,} segments")

        _small, small_seconds, small_queries = timed_import(
            study, csv_file(N_SMALL, offset=N_ROWS), dry_run=False
        )
        print(
            f"for comparison, {N_SMALL:,} rows: {small_seconds:.2f} s, {small_queries} queries "
            f"({n_queries - small_queries} more for {N_ROWS - N_SMALL:,} more rows)"
        )
        assert Negotiation.objects.filter(study=study).get() == negotiation
        assert Study.objects.count() == 1
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


if __name__ == "__main__":
    main()
