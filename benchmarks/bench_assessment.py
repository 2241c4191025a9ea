"""The assessment page of a negotiation at 1,000 and at 100,000 codings: queries and time.

Run by hand: `.venv/bin/python benchmarks/bench_assessment.py` (throwaway test database; set
DATABASE_URL for PostgreSQL).
"""

from __future__ import annotations

import random

from common import test_database, time_page  # sets up Django first
from django.contrib.auth.models import User
from django.test import Client

from negotiations.models import (
    Assignment,
    AssignmentStatus,
    Code,
    Coding,
    Membership,
    Role,
    Segment,
    Source,
)
from negotiations.sources import services as source_services
from negotiations.sources.text import split_sentences
from negotiations.studies import services as study_services

STRENGTHS = ["", "straw_in_the_wind", "hoop", "smoking_gun", "doubly_decisive"]


def add_codings(study, negotiation, phases, parties, coders, codes, n: int, rng) -> None:
    sources = []
    for i in range(max(1, n // 50)):
        text = "The delegation reviewed the freeze. " * 40 + f"{n}-{i}"
        sources.append(
            Source(
                study=study,
                negotiation=negotiation,
                phase=rng.choice(phases),
                title=f"S{i}",
                text=text,
                text_sha256=source_services.text_digest(text),
                date=f"{1994 + i % 9}-0{1 + i % 9}-15",
            )
        )
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
    codings = []
    for i in range(n):
        s = sources[i % len(sources)]
        start = rng.randrange(0, len(s.text) - 40)
        codings.append(
            Coding(
                source=s,
                coder=rng.choice(coders),
                code=rng.choice(codes),
                start=start,
                end=start + 30,
                quote=s.text[start : start + 30],
                stance=rng.choice(["for", "against"]),
                strength=rng.choice(STRENGTHS),
                demonstrating_party=rng.choice(parties),
            )
        )
    Coding.objects.bulk_create(codings, batch_size=5000)


def main() -> None:
    with test_database():
        rng = random.Random(3)
        owner = User.objects.create_user("owner", password="x")
        coders = [User.objects.create_user(f"coder{i}", password="x") for i in range(3)]
        study = study_services.study_create(name="Bench", slug="bench", created_by=owner)
        for coder in coders:
            Membership.objects.create(study=study, user=coder, role=Role.CODER)
        parties = [study_services.party_create(study=study, code=c, name=c) for c in ("US", "DPRK")]
        negotiation = study_services.negotiation_create(
            study=study, name="Agreed Framework", parties=parties, principal_parties=parties
        )
        phases = [
            study_services.phase_create(negotiation=negotiation, name=name, kind=kind)
            for name, kind in (
                ("Talks", "negotiation"),
                ("Deal", "agreement"),
                ("Later", "implementation"),
            )
        ]
        codes = list(Code.objects.filter(study=study, code_set__slug="elements"))
        client = Client()
        client.force_login(owner)
        done = 0
        for target in (1_000, 100_000):
            add_codings(study, negotiation, phases, parties, coders, codes, target - done, rng)
            done = target
            for label, url in (
                ("negotiation matrix", f"/studies/bench/assessments/{negotiation.pk}/"),
                ("cross-case overview", "/studies/bench/assessments/"),
                ("timeline", f"/studies/bench/assessments/{negotiation.pk}/timeline/"),
            ):
                n, seconds, _ = time_page(client, url, repeats=5)
                total = Coding.objects.count()
                print(f"{total:>7,} codings, {label:<20} {n:>3} queries {seconds * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
