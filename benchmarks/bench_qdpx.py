"""Time REFI-QDA export and import: a study of 10,000 codings, and the large NVivo sample.

Run by hand: ``.venv/bin/python benchmarks/bench_qdpx.py``. It creates a throwaway test database
(in-memory SQLite, or a ``test_`` copy of the database that DATABASE_URL names), builds a study of
200 sources (~2,700 characters each) with 10,000 codings by three coders, and prints the time of
the export (reading the study and writing the .qdpx), of reading and planning the file (the
preview), and of the import into a new study. Then the same for the NVivo 12 sample (two texts of
~600,000 characters with emoji and CRLF, 303 codings) when ``../shared/qdpx/samples`` is there.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from common import test_database  # sets up Django first
from django.contrib.auth import get_user_model

from negotiations.interchange import planning, selectors, services
from negotiations.interchange.qdpx import write_qdpx
from negotiations.models import Assignment, Code, Coding, Role, Source, Stance
from negotiations.sources.services import SourceMetadata, source_create
from negotiations.studies import services as study_services

N_SOURCES = 200
PER_SOURCE = 50
SENTENCE = "The delegation affirms that the fuel deliveries will resume {n} days after the review. "


def timed(label: str, func):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = func()
    print(f"{label}: {time.perf_counter() - started:.2f} s")
    return result


def build_study():  # type: ignore[no-untyped-def]
    users = get_user_model().objects
    owner = users.create_user("bench-owner")
    study = study_services.study_create(name="Bench", slug="bench", created_by=owner)
    us = study_services.party_create(study=study, code="US", name="United States")
    dprk = study_services.party_create(study=study, code="DPRK", name="North Korea")
    negotiation = study_services.negotiation_create(
        study=study, name="Agreed Framework", parties=[us, dprk], principal_parties=[us, dprk]
    )
    coders = []
    for n in range(3):
        coders.append(users.create_user(f"bench-coder{n}"))
        study_services.membership_add(
            study=study, identifier=f"bench-coder{n}", role=Role.CODER, actor_role=Role.OWNER
        )
    codes = list(Code.objects.filter(study=study, code_set__enabled=True))
    rng = random.Random(0)
    codings = []
    for s in range(N_SOURCES):
        text = "".join(SENTENCE.format(n=s * 100 + i) for i in range(30))
        source = source_create(
            study=study,
            metadata=SourceMetadata(
                negotiation=negotiation, title=f"Statement {s}", speaker_party=us
            ),
            text=text,
            created_by=owner,
        )
        for coder in coders:
            Assignment.objects.create(source=source, coder=coder, assigned_by=owner)
        for i in range(PER_SOURCE):
            start = rng.randrange(0, len(text) - 200)
            end = start + rng.randrange(20, 200)
            codings.append(
                Coding(
                    source=source,
                    coder=coders[i % 3],
                    code=codes[i % len(codes)],
                    start=start,
                    end=end,
                    quote=text[start:end],
                    stance=Stance.FOR if i % 2 else Stance.AGAINST,
                    demonstrating_party=us if i % 3 else dprk,
                    strength="hoop" if i % 5 == 0 else "",
                    memo="memo" if i % 7 == 0 else "",
                )
            )
    Coding.objects.bulk_create(codings, batch_size=2000)
    return study, owner


def run(label: str, content: bytes, owner, slug: str) -> None:  # type: ignore[no-untyped-def]
    plan = timed(
        f"{label}: read and plan (preview)",
        lambda: planning.qdpx_import_plan(content=content, study=None, study_name=slug),
    )
    assert plan.ok, plan.problems
    study = timed(
        f"{label}: import into a new study",
        lambda: services.qdpx_import(plan=plan, actor=owner, new_study_slug=slug),
    )
    n = Coding.objects.filter(source__study=study).count()
    chars = sum(len(t) for t in Source.objects.filter(study=study).values_list("text", flat=True))
    print(f"{label}: {n:,} codings, {chars:,} characters imported")
    data = timed(
        f"{label}: export of the imported study",
        lambda: write_qdpx(selectors.study_project(study=study)),
    )
    print(f"{label}: .qdpx of {len(data):,} bytes")


def main() -> None:
    with test_database():
        study, owner = timed("set-up: 200 sources, 10,000 codings", build_study)
        data = timed(
            "10,000 codings: export (read the study, write the .qdpx)",
            lambda: write_qdpx(selectors.study_project(study=study)),
        )
        print(f"10,000 codings: .qdpx of {len(data):,} bytes")
        run("10,000 codings", data, owner, "bench-copy")
        # `shared/qdpx` next to the project root or one of its parents.
        name = "shared/qdpx/samples/nvivo12-win_oltas0517.qdpx"
        candidates = [p / name for p in Path(__file__).resolve().parents[1].parents]
        sample = next((c for c in candidates if c.is_file()), None)
        if sample is not None:
            run("NVivo 12 sample", sample.read_bytes(), owner, "bench-nvivo")
        else:
            print("NVivo 12 sample not found next to the project (../shared/qdpx); skipped")


if __name__ == "__main__":
    main()
