"""Server render time of the coding page: a 100,000-character source with 200 and 2,000 codings.

Run by hand: `.venv/bin/python benchmarks/bench_coding_page.py` (a throwaway test database; set
DATABASE_URL to measure on PostgreSQL). Prints queries, median render time and their ratio.
"""

from __future__ import annotations

from common import test_database, time_page  # sets up Django first
from django.test import Client

from negotiations.models import (
    Assignment,
    AssignmentStatus,
    Code,
    Coding,
    Membership,
    Role,
)
from negotiations.sources import services as source_services
from negotiations.studies import services as study_services

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
    study = study_services.study_create(name=f"Bench {tag}", slug=f"bench-{tag}", created_by=owner)
    for coder in coders:
        Membership.objects.create(study=study, user=coder, role=Role.CODER)
    party = study_services.party_create(study=study, code="US", name="United States")
    negotiation = study_services.negotiation_create(
        study=study, name="Agreed Framework", parties=[party]
    )
    text = ""
    i = 0
    while len(text) < 100_000:
        text += SENTENCES[i % 4] + (" " if i % 6 else "\n\n")
        i += 1
    source = source_services.source_create(
        study=study,
        metadata=source_services.SourceMetadata(
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


def main() -> None:
    # Keep one connection for the whole run, so the query capture sees every request's queries.
    with test_database():
        results = {}
        for n in (20, 200, 2000):
            owner, coders, study, source = build(n, str(n))
            Membership.objects.filter(study=study, user=owner).update(role=Role.SUPERVISOR)
            client = Client()
            client.force_login(owner)
            url = f"/studies/{study.slug}/sources/{source.pk}/code/?layer=all"
            queries, seconds, size = time_page(client, url, repeats=15)
            coder_client = Client()
            coder_client.force_login(coders[0])
            c_queries, c_seconds, _ = time_page(
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


if __name__ == "__main__":
    main()
