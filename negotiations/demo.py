"""The demo study: fixtures/demo_study.json loaded through the same services the pages use.

The statements in it are illustrative writing for TrustCoder, not quotations.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from negotiations.codebook import services as codebook_services
from negotiations.coding import assignments as assignment_services
from negotiations.coding import services as coding_services
from negotiations.consensus import services as consensus_services
from negotiations.models import (
    Assignment,
    AssignmentStatus,
    Code,
    CodeSet,
    Coding,
    ConsensusStatus,
    ConsensusUnit,
    Membership,
    Source,
    Study,
)
from negotiations.sources import services as source_services
from negotiations.studies import services as study_services

DEMO_FILE = Path(settings.BASE_DIR) / "fixtures" / "demo_study.json"
DEMO_SLUG = "demo"


def demo_password(username: str) -> str:
    return f"{username}-demo"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str


@dataclass(frozen=True)
class DemoResult:
    created: bool
    logins: list[DemoLogin]
    n_sources: int
    n_codings: int


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def quote_offsets(text: str, quote: str, occurrence: int = 1) -> tuple[int, int]:
    """Code-point offsets of the n-th occurrence of a quote in a text."""
    start = -1
    for _ in range(occurrence):
        start = text.find(quote, start + 1)
        if start < 0:
            raise ValueError(f"Quote not found {occurrence} time(s): {quote[:60]!r}")
    return start, start + len(quote)


def _logins(data: dict[str, Any]) -> list[DemoLogin]:
    return [
        DemoLogin(u["username"], demo_password(u["username"]), u["role"]) for u in data["users"]
    ]


def load_demo(path: Path = DEMO_FILE) -> DemoResult:
    """Create the demo study and its users; a second call changes nothing."""
    data = json.loads(path.read_text("utf-8"))
    existing = Study.objects.filter(slug=DEMO_SLUG).first()
    if existing is not None:
        return DemoResult(
            created=False,
            logins=_logins(data),
            n_sources=existing.sources.count(),
            n_codings=Coding.objects.filter(source__study=existing).count(),
        )
    with transaction.atomic():
        return _create(data)


def _create(data: dict[str, Any]) -> DemoResult:
    user_model = get_user_model()
    users = {}
    for u in data["users"]:
        user, created = user_model.objects.get_or_create(
            username=u["username"],
            defaults={
                "first_name": u.get("first_name", ""),
                "last_name": u.get("last_name", ""),
                "email": u.get("email", ""),
            },
        )
        if created:
            user.set_password(demo_password(u["username"]))
            user.save()
        users[u["username"]] = user
    owner = next(users[u["username"]] for u in data["users"] if u["role"] == "owner")
    meta = data["study"]
    study = study_services.study_create(
        name=meta["name"], slug=DEMO_SLUG, description=meta.get("description", ""), created_by=owner
    )
    for u in data["users"]:
        if users[u["username"]] != owner:
            Membership.objects.create(study=study, user=users[u["username"]], role=u["role"])
    # The demo codes some passages with the optional second codebook, so it is switched on.
    for code_set in CodeSet.objects.filter(study=study, enabled=False):
        codebook_services.code_set_set_enabled(code_set=code_set, enabled=True, actor=owner)

    parties = {
        p["code"]: study_services.party_create(study=study, code=p["code"], name=p["name"])
        for p in data["parties"]
    }
    negotiations, phases = {}, {}
    for n in data["negotiations"]:
        negotiation = study_services.negotiation_create(
            study=study,
            name=n["name"],
            slug=n["slug"],
            description=n.get("description", ""),
            start_date=_date(n.get("start")),
            end_date=_date(n.get("end")),
            parties=[parties[c] for c in n.get("parties", [])],
            principal_parties=[parties[c] for c in n.get("principal_parties", [])],
        )
        negotiations[n["slug"]] = negotiation
        for p in n.get("phases", []):
            phases[(n["slug"], p["name"])] = study_services.phase_create(
                negotiation=negotiation,
                name=p["name"],
                kind=p["kind"],
                start_date=_date(p.get("start")),
                end_date=_date(p.get("end")),
            )
        for e in n.get("events", []):
            study_services.event_create(
                negotiation=negotiation,
                date=_date(e["date"]),
                end_date=_date(e.get("end")),
                title=e["title"],
            )

    sources: dict[str, Source] = {}
    for s in data["sources"]:
        sources[s["key"]] = source_services.source_create(
            study=study,
            metadata=source_services.SourceMetadata(
                negotiation=negotiations[s["negotiation"]],
                phase=phases.get((s["negotiation"], s.get("phase"))),
                title=s["title"],
                speaker=s.get("speaker", ""),
                speaker_party=parties.get(s.get("speaker_party") or ""),
                date=_date(s.get("date")),
                source_type=s.get("source_type", "official_statement"),
                citation=s.get("citation", ""),
                url=s.get("url", ""),
                language=s.get("language", "en"),
            ),
            text=s["text"],
            created_by=owner,
        )

    codes = {c.name: c for c in Code.objects.filter(study=study)}
    statuses: dict[tuple[str, str], str] = {}
    for a in data["assignments"]:
        for username, status in a["coders"].items():
            assignment_services.assignment_create(
                source=sources[a["source"]], coder=users[username], assigned_by=owner
            )
            statuses[(a["source"], username)] = status

    n_codings = 0
    for c in data["codings"]:
        source = sources[c["source"]]
        start, end = quote_offsets(source.text, c["quote"], c.get("occurrence", 1))
        coding_services.coding_create(
            source=source,
            coder=users[c["coder"]],
            code=codes[c["code"]],
            start=start,
            end=end,
            quote=source.text[start:end],
            stance=c["stance"],
            demonstrating_party=parties[c["party"]],
            strength=c.get("strength") or "",
            memo=c.get("memo", ""),
        )
        n_codings += 1

    # Statuses last: coding moves an assignment to "in progress" on its own.
    # Submissions spread over the past months, in source order, so that the coders-versus-
    # consensus chart has a history to show.
    now = timezone.now()
    order = {key: i for i, key in enumerate(sources)}
    for (key, username), status in statuses.items():
        weeks_ago = len(sources) - order[key]
        Assignment.objects.filter(source=sources[key], coder=users[username]).update(
            status=status,
            submitted_at=now - timedelta(weeks=weeks_ago)
            if status == AssignmentStatus.SUBMITTED
            else None,
        )
    supervisor = next(users[u["username"]] for u in data["users"] if u["role"] == "supervisor")
    _settle_some_units(study, supervisor)
    return DemoResult(
        created=True, logins=_logins(data), n_sources=len(sources), n_codings=n_codings
    )


def _settle_some_units(study: Study, supervisor: object) -> None:
    """Settle about two in five disagreements, so the review and assessment pages show both."""
    study_services.study_touch(study.pk)
    consensus_services.consensus_sync(study=study)
    open_units = ConsensusUnit.objects.filter(study=study, status=ConsensusStatus.OPEN).order_by(
        "source__date", "segment__index", "code_id", "party_id"
    )
    for i, unit in enumerate(open_units):
        if i % 5 not in (0, 2):
            continue
        # Accept the reading of the first coder (by id) who found evidence.
        coder = min(
            (int(c) for c, value in unit.readings.items() if value != "none"),
            default=int(min(unit.readings)),
        )
        consensus_services.consensus_decide(
            unit_id=unit.pk,
            actor=supervisor,
            decision="coder",
            coder_id=coder,
            seen_version=unit.version,
        )
