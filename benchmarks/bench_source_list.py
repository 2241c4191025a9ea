"""The sources list with 10 and with 10,000 sources in a study: queries and time per page.

Run by hand: `.venv/bin/python benchmarks/bench_source_list.py` (throwaway test database; set
DATABASE_URL for PostgreSQL).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trustcoder.settings_test")

import django

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core import signals  # noqa: E402
from django.db import close_old_connections, connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    setup_test_environment,
    teardown_test_environment,
)

from negotiations import services  # noqa: E402
from negotiations.models import Source  # noqa: E402


def add_sources(study, negotiation, start: int, n: int) -> None:
    body = "The delegation met in Geneva. Both sides spoke about the freeze. " * 8
    Source.objects.bulk_create(
        (
            Source(
                study=study,
                negotiation=negotiation,
                title=f"Statement {i}",
                text=f"{body} Number {i}.",
                text_sha256=services.text_digest(f"{body} Number {i}."),
                date=f"{1993 + i % 20}-0{1 + i % 9}-1{i % 9}",
            )
            for i in range(start, start + n)
        ),
        batch_size=2000,
    )


def measure(client: Client, url: str) -> tuple[int, float]:
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    n_queries = len(ctx.captured_queries)
    times = []
    for _ in range(10):
        t0 = time.perf_counter()
        client.get(url)
        times.append(time.perf_counter() - t0)
    return n_queries, statistics.median(times)


def main() -> None:
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0)
    try:
        print(f"database: {connection.vendor}")
        owner = User.objects.create_user("owner", password="x")
        study = services.study_create(name="Bench", slug="bench", created_by=owner)
        negotiation = services.negotiation_create(study=study, name="Agreed Framework")
        client = Client()
        client.force_login(owner)
        add_sources(study, negotiation, 0, 10)
        for total, extra in ((10, 0), (10_000, 9_990)):
            add_sources(study, negotiation, 10, extra) if extra else None
            for label, query in (
                ("first page", ""),
                ("search 'freeze 42'", "?q=freeze+42"),
                ("page 100, newest first", "?sort=-date&page=100"),
            ):
                n, seconds = measure(client, f"/studies/bench/sources/{query}")
                print(f"{total:>6} sources, {label:<24} {n:>2} queries, {seconds * 1000:6.1f} ms")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


if __name__ == "__main__":
    main()
