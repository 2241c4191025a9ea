"""Server render time of the coding page: a 100,000-character source with 200 and 2,000 codings.

Run by hand: `.venv/bin/python benchmarks/bench_coding_page.py` (a throwaway test database; set
DATABASE_URL to measure on PostgreSQL). Prints queries, median render time and their ratio.
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

from django.core import signals  # noqa: E402
from django.db import close_old_connections, connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    setup_test_environment,
    teardown_test_environment,
)

from negotiations import services  # noqa: E402
from negotiations.models import (  # noqa: E402
    Assignment,
    AssignmentStatus,
    Code,
    Coding,
    Membership,
    Role,
)

SENTENCES = [
    "The delegation reviewed the freeze at Yongbyon and the schedule of fuel deliveries.",
    "Officials said the consortium had not yet secured the money for the reactors.",
    "Pyongyang repeated that it would keep talking if the other side kept its word.",
    "Both sides agreed to meet again in Geneva before the end of the month.",
]


def build(n_codings: int, tag: str):
    from django.contrib.auth.models import User

    owner = User.objects.create_user(f"owner-{tag}", password="x")
    coders = [User.objects.create_user(f"coder{i}-{tag}", password="x") for i in range(3)]
    study = services.study_create(name=f"Bench {tag}", slug=f"bench-{tag}", created_by=owner)
    for coder in coders:
        Membership.objects.create(study=study, user=coder, role=Role.CODER)
    party = services.party_create(study=study, code="US", name="United States")
    negotiation = services.negotiation_create(study=study, name="Agreed Framework")
    text = ""
    i = 0
    while len(text) < 100_000:
        text += SENTENCES[i % 4] + (" " if i % 6 else "\n\n")
        i += 1
    source = services.source_create(
        study=study,
        metadata=services.SourceMetadata(
            negotiation=negotiation, title="Long", speaker_party=party
        ),
        text=text[:100_000] + f" {tag}",
        created_by=owner,
    )
    code_ids = list(
        Code.objects.filter(study=study, code_set__enabled=True).values_list("pk", flat=True)
    )
    for coder in coders:
        Assignment.objects.create(source=source, coder=coder, status=AssignmentStatus.IN_PROGRESS)
    codings = []
    for n in range(n_codings):
        start = (n * 4999) % (len(source.text) - 400)
        end = start + 30 + (n * 37) % 300
        codings.append(
            Coding(
                source=source,
                coder=coders[n % 3],
                code_id=code_ids[n % len(code_ids)],
                start=start,
                end=end,
                quote=source.text[start:end],
                stance="for" if n % 3 else "against",
                demonstrating_party=party,
            )
        )
    Coding.objects.bulk_create(codings, batch_size=1000)
    return owner, coders, study, source


def measure(client: Client, url: str, repeats: int = 15) -> tuple[int, float, int]:
    client.get(url)  # warm caches and templates
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    n_queries = len(ctx.captured_queries)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - t0)
    assert response.status_code == 200
    return n_queries, statistics.median(times), len(response.content)


def main() -> None:
    # Keep one connection for the whole run, so the query capture sees every request's queries.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0)
    try:
        print(f"database: {connection.vendor}")
        results = {}
        for n in (20, 200, 2000):
            owner, coders, study, source = build(n, str(n))
            Membership.objects.filter(study=study, user=owner).update(role=Role.SUPERVISOR)
            client = Client()
            client.force_login(owner)
            url = f"/studies/{study.slug}/sources/{source.pk}/code/?layer=all"
            queries, seconds, size = measure(client, url)
            coder_client = Client()
            coder_client.force_login(coders[0])
            c_queries, c_seconds, _ = measure(
                coder_client, f"/studies/{study.slug}/sources/{source.pk}/code/"
            )
            results[n] = seconds
            print(
                f"{n:>5} codings, {len(source.text):,} chars: supervisor all layers "
                f"{seconds * 1000:7.1f} ms, {queries} queries, {size / 1024:,.0f} KiB; "
                f"coder's own layer {c_seconds * 1000:7.1f} ms, {c_queries} queries"
            )
        ratio = results[2000] / results[200]
        print(f"render time ratio 2,000 / 200 codings: {ratio:.2f} (linear growth would be 10.0)")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


if __name__ == "__main__":
    main()
