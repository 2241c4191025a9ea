"""The review queue with 5,000 disagreement units: first page and one unit, queries and time.

Run by hand: `.venv/bin/python benchmarks/bench_review.py` (throwaway test database; set
DATABASE_URL for PostgreSQL).
"""

from __future__ import annotations

import random
import time

from common import test_database, time_page  # sets up Django first
from django.contrib.auth.models import User
from django.test import Client

from negotiations.consensus import services as consensus_services
from negotiations.models import (
    Assignment,
    AssignmentStatus,
    Code,
    Coding,
    ConsensusUnit,
    Membership,
    Role,
    Segment,
    Source,
)
from negotiations.sources import services as source_services
from negotiations.sources.text import split_sentences
from negotiations.studies import services as study_services

SENTENCE = "The delegation reviewed the freeze and the fuel schedule. "


def build() -> tuple[object, object]:
    rng = random.Random(2)
    owner = User.objects.create_user("owner", password="x")
    coders = [User.objects.create_user(f"coder{i}", password="x") for i in range(2)]
    study = study_services.study_create(name="Bench", slug="bench", created_by=owner)
    for coder in coders:
        Membership.objects.create(study=study, user=coder, role=Role.CODER)
    us = study_services.party_create(study=study, code="US", name="US")
    dprk = study_services.party_create(study=study, code="DPRK", name="DPRK")
    negotiation = study_services.negotiation_create(study=study, name="Talks", parties=[us, dprk])
    sources = [
        Source(
            study=study,
            negotiation=negotiation,
            title=f"S{i}",
            text=SENTENCE * 10 + f"Number {i}.",
            text_sha256=source_services.text_digest(SENTENCE * 10 + f"Number {i}."),
        )
        for i in range(480)
    ]
    Source.objects.bulk_create(sources)
    Segment.objects.bulk_create(
        Segment(source=s, index=k, start=a, end=b)
        for s in sources
        for k, (a, b) in enumerate(split_sentences(s.text))
    )
    Assignment.objects.bulk_create(
        Assignment(source=s, coder=c, status=AssignmentStatus.SUBMITTED)
        for s in sources
        for c in coders
    )
    codes = list(Code.objects.filter(study=study, code_set__slug="elements"))
    codings = []
    for s in sources:
        for a, b in split_sentences(s.text):
            # One coder codes, the other does not: every coded sentence is a disagreement.
            if rng.random() < 0.95:
                codings.append(
                    Coding(
                        source=s,
                        coder=coders[0],
                        code=rng.choice(codes),
                        start=a,
                        end=b,
                        quote=s.text[a:b],
                        stance="for",
                        demonstrating_party=rng.choice([us, dprk]),
                    )
                )
    Coding.objects.bulk_create(codings, batch_size=2000)
    Membership.objects.filter(study=study, user=owner).update(role=Role.SUPERVISOR)
    study_services.study_touch(study.pk)
    return owner, study


def main() -> None:
    with test_database():
        owner, study = build()
        t0 = time.perf_counter()
        consensus_services.consensus_sync(study=study)
        print(f"first sync: {time.perf_counter() - t0:.2f} s")
        n_units = ConsensusUnit.objects.filter(study=study, unanimous=False).count()
        client = Client()
        client.force_login(owner)
        print(f"{n_units:,} disagreement units")
        for label, url in (
            ("queue, first page", "/studies/bench/review/"),
            ("queue, page 50, source order", "/studies/bench/review/?order=source&page=50"),
        ):
            n, seconds, _ = time_page(client, url)
            print(f"{label:<32} {n:>3} queries {seconds * 1000:7.1f} ms")
        unit = ConsensusUnit.objects.filter(study=study, unanimous=False).order_by("impact", "pk")[
            0
        ]
        n, seconds, _ = time_page(client, f"/studies/bench/review/{unit.pk}/")
        print(f"{'one unit':<32} {n:>3} queries {seconds * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
