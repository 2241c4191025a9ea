"""Reads for REFI-QDA export: a study as a `QdaProject`, its codebook as codes.

Every coding of the study is exported (exports for owners, supervisors and the server's
operators, who see every layer). Positions are TrustCoder's: code points over the stored "\\n"
text, which is what the standard says (README, "REFI-QDA").
"""

from __future__ import annotations

import uuid

from django.db.models import Count, Sum
from django.db.models.functions import Length

from negotiations.interchange.mapping import (
    CodeFields,
    CodeSetFields,
    CodingFields,
    code_description,
    code_set_description,
    coding_description,
    parties_text,
)
from negotiations.interchange.qdpx import (
    QdaCase,
    QdaCode,
    QdaProject,
    QdaSelection,
    QdaSource,
    QdaUser,
)
from negotiations.models import (
    Code,
    CodeSet,
    Coding,
    Membership,
    Negotiation,
    Role,
    Source,
    Study,
)

# Stable GUIDs for things TrustCoder keeps no GUID for (users, code sets, negotiations), so two
# exports of the same study name them alike.
_NAMESPACE = uuid.UUID("0f6a2c1e-8d3b-4b7a-9e55-2c4d6f8a1b30")

# Variable names of a source and of a negotiation's Case, as other tools show them.
SOURCE_VARIABLES = (
    "Speaker",
    "Party",
    "Date",
    "Source type",
    "Phase",
    "Phase kind",
    "Citation",
    "URL",
    "Language",
)
CASE_VARIABLES = ("Parties", "Principal parties", "Start date", "End date", "Description")


def _guid(kind: str, study: Study, key: object) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{study.slug}:{key}"))


def codebook_codes(*, study: Study) -> list[QdaCode]:
    """Each code set as a non-codable parent code, its codes below it."""
    codes: list[QdaCode] = []
    for code_set in CodeSet.objects.filter(study=study).order_by("order", "pk"):
        set_guid = _guid("code-set", study, code_set.slug)
        codes.append(
            QdaCode(
                guid=set_guid,
                name=code_set.name,
                description=code_set_description(
                    CodeSetFields(
                        slug=code_set.slug,
                        name=code_set.name,
                        for_label=code_set.for_label,
                        against_label=code_set.against_label,
                        enabled=code_set.enabled,
                    )
                ),
                is_codable=False,
            )
        )
        for code in Code.objects.filter(code_set=code_set).order_by("order", "pk"):
            codes.append(
                QdaCode(
                    guid=str(code.guid),
                    name=code.name,
                    color=code.colour,
                    description=code_description(
                        CodeFields(
                            label=code.label,
                            definition=code.definition,
                            when_to_use=code.when_to_use,
                            when_not_to_use=code.when_not_to_use,
                            example=code.example,
                            key=code.key,
                        )
                    ),
                    parent_guid=set_guid,
                    is_codable=not code.archived and code_set.enabled,
                )
            )
    return codes


def _case(study: Study, negotiation: Negotiation) -> QdaCase:
    links = sorted(negotiation.negotiationparty_set.all(), key=lambda link: link.party.code)
    return QdaCase(
        guid=_guid("negotiation", study, negotiation.pk),
        name=negotiation.name,
        variables={
            "Parties": parties_text((link.party.code, link.party.name) for link in links),
            "Principal parties": "; ".join(link.party.code for link in links if link.is_principal),
            "Start date": negotiation.start_date,
            "End date": negotiation.end_date,
            "Description": negotiation.description,
        },
    )


def _source(study: Study, source: Source) -> QdaSource:
    return QdaSource(
        guid=str(source.guid),
        name=source.title,
        text=source.text,
        variables={
            "Speaker": source.speaker,
            "Party": source.speaker_party.code if source.speaker_party else "",
            "Date": source.date,
            "Source type": source.source_type,
            "Phase": source.phase.name if source.phase else "",
            "Phase kind": source.phase.kind if source.phase else "",
            "Citation": source.citation,
            "URL": source.url,
            "Language": source.language,
        },
        case_guids=(_guid("negotiation", study, source.negotiation_id),),
    )


def study_project(*, study: Study) -> QdaProject:
    """The whole study as a REFI-QDA project: coders, codebook, sources, codings, cases."""
    codings = list(
        Coding.objects.filter(source__study=study)
        .select_related("code", "demonstrating_party", "coder")
        .order_by("source_id", "start", "end", "pk")
    )
    coder_ids = {c.coder_id for c in codings}
    coder_ids |= set(
        Membership.objects.filter(study=study, role=Role.CODER).values_list("user_id", flat=True)
    )
    users = {
        membership.user_id: membership.user
        for membership in Membership.objects.filter(study=study, user_id__in=coder_ids)
        .select_related("user")
        .order_by("user__username")
    }
    for coding in codings:
        users.setdefault(coding.coder_id, coding.coder)
    user_guids = {pk: _guid("user", study, user.username) for pk, user in users.items()}
    negotiations = (
        Negotiation.objects.filter(study=study)
        .prefetch_related("negotiationparty_set__party")
        .order_by("order", "pk")
    )
    sources = (
        Source.objects.filter(study=study)
        .select_related("speaker_party", "phase")
        .order_by("date", "pk")
    )
    source_guids = {}
    qda_sources = []
    for source in sources.iterator(chunk_size=200):
        source_guids[source.pk] = str(source.guid)
        qda_sources.append(_source(study, source))
    selections = [
        QdaSelection(
            guid=str(coding.guid),
            source_guid=source_guids[coding.source_id],
            start=coding.start,
            end=coding.end,
            code_guid=str(coding.code.guid),
            user_guid=user_guids[coding.coder_id],
            memo=coding_description(
                CodingFields(
                    stance=coding.stance,
                    party=coding.demonstrating_party.code,
                    strength=coding.strength,
                ),
                coding.memo,
            ),
            created=coding.created_at,
        )
        for coding in codings
    ]
    return QdaProject(
        name=study.name,
        users=tuple(
            QdaUser(guid=user_guids[pk], name=user.username)
            for pk, user in sorted(users.items(), key=lambda item: item[1].username)
        ),
        codes=tuple(codebook_codes(study=study)),
        sources=tuple(qda_sources),
        selections=tuple(selections),
        cases=tuple(_case(study, negotiation) for negotiation in negotiations),
    )


# What a coding adds to an export besides its quote: its XML or CSV row, about this many characters.
CODING_CHARS = 300
# What a source costs besides its text, counted as characters: its own file in the project, its
# XML and its variables (100,000 one-line sources took 57 s to export: 0.57 ms each).
SOURCE_CHARS = 500


def study_export_chars(*, study: Study) -> int:
    """About how many characters the study's exports hold: its texts, sources and codings, in
    two aggregate queries. What decides whether an export is made by a worker."""
    sources = Source.objects.filter(study=study).aggregate(n=Count("pk"), text=Sum(Length("text")))
    codings = Coding.objects.filter(source__study=study).count()
    return (sources["text"] or 0) + SOURCE_CHARS * sources["n"] + CODING_CHARS * codings
