"""The reliability report: the demo study, and a study of 1,000 sources x 3 coders.

Run by hand: `.venv/bin/python benchmarks/bench_reliability.py` (throwaway test database; set
DATABASE_URL for PostgreSQL). Prints the queries and time of the page, computed and cached.
"""

from __future__ import annotations

import random
import statistics
import time

from common import test_database, time_page  # sets up Django first
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from negotiations.demo import load_demo
from negotiations.models import (
    Assignment,
    AssignmentStatus,
    Code,
    Coding,
    Membership,
    ReportCache,
    Role,
    Segment,
    Source,
    Study,
)
from negotiations.sources import services as source_services
from negotiations.sources.text import split_sentences
from negotiations.studies import services as study_services

SENTENCES = [
    "The delegation reviewed the freeze at Yongbyon.",
    "Officials said the consortium lacked the money for the reactors.",
    "Pyongyang said it would keep talking if the other side kept its word.",
    "Both sides agreed to meet again in Geneva.",
    "The fuel shipment was delayed by a month.",
]


# The passages (unitizing) unit, with stance and with stance x party categories.
PASSAGE_QUERIES = (
    "unit=passage&compute=1",
    "unit=passage&categories=stance_party&compute=1",
)


def big_study() -> Study:
    rng = random.Random(1)
    owner = User.objects.create_user("bench-owner", password="x")
    coders = [User.objects.create_user(f"bench-coder{i}", password="x") for i in range(3)]
    study = study_services.study_create(name="Bench", slug="bench", created_by=owner)
    for coder in coders:
        Membership.objects.create(study=study, user=coder, role=Role.CODER)
    us = study_services.party_create(study=study, code="US", name="United States")
    dprk = study_services.party_create(study=study, code="DPRK", name="DPRK")
    negotiation = study_services.negotiation_create(
        study=study, name="Agreed Framework", parties=[us, dprk], principal_parties=[us, dprk]
    )
    sources = []
    for i in range(1000):
        text = " ".join(rng.choice(SENTENCES) for _ in range(10)) + f" Statement {i}."
        sources.append(
            Source(
                study=study,
                negotiation=negotiation,
                title=f"S{i}",
                text=text,
                text_sha256=source_services.text_digest(text),
            )
        )
    Source.objects.bulk_create(sources)
    Segment.objects.bulk_create(
        (
            Segment(source=s, index=k, start=a, end=b)
            for s in sources
            for k, (a, b) in enumerate(split_sentences(s.text))
        ),
        batch_size=5000,
    )
    Assignment.objects.bulk_create(
        Assignment(source=s, coder=c, status=AssignmentStatus.SUBMITTED)
        for s in sources
        for c in coders
    )
    codes = list(Code.objects.filter(study=study, code_set__slug="elements"))
    codings = []
    for s in sources:
        segments = split_sentences(s.text)
        for _ in range(3):
            a, b = rng.choice(segments)
            code, party, stance = (
                rng.choice(codes),
                rng.choice([us, dprk]),
                rng.choice(["for", "against"]),
            )
            for coder in coders:
                if rng.random() < 0.8:  # coders mostly agree
                    codings.append(
                        Coding(
                            source=s,
                            coder=coder,
                            code=code,
                            start=a,
                            end=b,
                            quote=s.text[a:b],
                            stance=stance,
                            demonstrating_party=party,
                        )
                    )
    Coding.objects.bulk_create(codings, batch_size=2000)
    Membership.objects.filter(study=study, user=owner).update(role=Role.SUPERVISOR)
    n_sentences = Segment.objects.filter(source__study=study).count()
    print(
        f"big study: {len(sources)} sources, {n_sentences} sentences, "
        f"{len(codings)} codings, 3 coders"
    )
    return study


def measure(study: Study, username: str, query: str = "compute=1") -> None:
    client = Client()
    client.force_login(User.objects.get(username=username))
    url = f"/studies/{study.slug}/reliability/?{query}"
    computed = []
    for _ in range(3):
        ReportCache.objects.filter(study=study).delete()
        t0 = time.perf_counter()
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        computed.append(time.perf_counter() - t0)
        n_queries = len(ctx.captured_queries)
        assert response.status_code == 200
    cached_queries, cached_seconds, _ = time_page(client, url, repeats=5)
    print(
        f"{study.slug} ({query}): computed {statistics.median(computed) * 1000:.0f} ms "
        f"({n_queries} queries); cached {cached_seconds * 1000:.0f} ms ({cached_queries} queries)"
    )


def main() -> None:
    with test_database():
        load_demo()
        demo = Study.objects.get(slug="demo")
        measure(demo, "supervisor")
        for query in PASSAGE_QUERIES:
            measure(demo, "supervisor", query)
        big = big_study()
        measure(big, "bench-owner")
        for query in PASSAGE_QUERIES:
            measure(big, "bench-owner", query)


if __name__ == "__main__":
    main()
