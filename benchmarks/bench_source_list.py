"""The sources list with 10 and with 10,000 sources in a study: queries and time per page.

Run by hand: `.venv/bin/python benchmarks/bench_source_list.py` (throwaway test database; set
DATABASE_URL for PostgreSQL).
"""

from __future__ import annotations

from common import test_database, time_page  # sets up Django first
from django.contrib.auth.models import User
from django.test import Client

from negotiations.models import Source
from negotiations.sources import services as source_services
from negotiations.studies import services as study_services


def add_sources(study, negotiation, start: int, n: int) -> None:
    body = "The delegation met in Geneva. Both sides spoke about the freeze. " * 8
    Source.objects.bulk_create(
        (
            Source(
                study=study,
                negotiation=negotiation,
                title=f"Statement {i}",
                text=f"{body} Number {i}.",
                text_sha256=source_services.text_digest(f"{body} Number {i}."),
                date=f"{1993 + i % 20}-0{1 + i % 9}-1{i % 9}",
            )
            for i in range(start, start + n)
        ),
        batch_size=2000,
    )


def main() -> None:
    with test_database():
        owner = User.objects.create_user("owner", password="x")
        study = study_services.study_create(name="Bench", slug="bench", created_by=owner)
        negotiation = study_services.negotiation_create(study=study, name="Agreed Framework")
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
                n, seconds, _ = time_page(client, f"/studies/bench/sources/{query}", repeats=10)
                print(f"{total:>6} sources, {label:<24} {n:>2} queries, {seconds * 1000:6.1f} ms")


if __name__ == "__main__":
    main()
