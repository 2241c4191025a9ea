"""What the Django benchmarks share: set-up, a throwaway test database, timing a page."""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trustcoder.settings_test")

import django

django.setup()

from django.core import signals  # noqa: E402
from django.db import close_old_connections, connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    setup_test_environment,
    teardown_test_environment,
)


@contextmanager
def test_database() -> Iterator[None]:
    """A test database for the run (SQLite in memory, or DATABASE_URL's server), then gone."""
    # One connection for the whole run, so that query captures see every request's queries.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0)
    try:
        print(f"database: {connection.vendor}")
        yield
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


def time_page(client: Client, url: str, repeats: int = 7) -> tuple[int, float, int]:
    """Queries of one request, median seconds over `repeats` more, and the page's size."""
    client.get(url)  # warm caches and templates
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    n_queries = len(ctx.captured_queries)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        client.get(url)
        times.append(time.perf_counter() - started)
    return n_queries, statistics.median(times), len(response.content)
