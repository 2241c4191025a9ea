"""Hostile values in every free-text and name column reach no spreadsheet as a formula.

The demo study's titles, speakers, negotiation and party names, usernames, memos, rationales and
judgements are given values starting with each formula trigger; every CSV and XLSX download of
the study is then read back: a text cell starts with a trigger only behind the apostrophe
(headers included), and a numeric column stays numeric."""

from __future__ import annotations

import csv
import io
from io import StringIO
from itertools import cycle

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from negotiations.models import (
    AssessmentJudgement,
    Code,
    Coding,
    ConsensusUnit,
    Negotiation,
    Party,
    Source,
    Study,
)

pytestmark = pytest.mark.django_db

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def hostile(texts):
    for trigger, text in zip(cycle(TRIGGERS), texts, strict=False):
        yield f"{trigger}{text}"


@pytest.fixture
def study():
    call_command("load_demo", stdout=StringIO())
    study = Study.objects.get(slug="demo")
    for negotiation, name in zip(
        Negotiation.objects.filter(study=study),
        hostile(["CMD|calc", "SUM(1)", "1+1"]),
        strict=False,
    ):
        negotiation.name = name
        negotiation.save(update_fields=["name"])
    for party, name in zip(
        Party.objects.filter(study=study), hostile(["HYPERLINK(x)"] * 20), strict=False
    ):
        party.name = name
        party.save(update_fields=["name"])
    for source, title in zip(
        Source.objects.filter(study=study), hostile(["title"] * 100), strict=False
    ):
        source.title = title
        source.speaker = f"={source.pk}+1"
        source.save(update_fields=["title", "speaker"])
    users = get_user_model().objects.filter(memberships__study=study, memberships__role="coder")
    for user, name in zip(users, hostile(["coder"] * 10), strict=False):
        user.username = name.replace("\t", "@").replace("\r", "+")
        user.save(update_fields=["username"])
    for coding, memo in zip(
        Coding.objects.filter(source__study=study), hostile(["memo"] * 400), strict=False
    ):
        coding.memo = memo
        coding.save(update_fields=["memo"])
    ConsensusUnit.objects.filter(study=study).exclude(rationale="").update(rationale="=rationale")
    ConsensusUnit.objects.filter(study=study, status="settled").update(rationale="@rationale")
    code = Code.objects.filter(study=study, name="ZOPA").first()
    negotiation = Negotiation.objects.filter(study=study).first()
    AssessmentJudgement.objects.create(
        study=study,
        negotiation=negotiation,
        code=code,
        party=negotiation.parties.first(),
        judgement="-judgement",
        rationale="+rationale",
    )
    return study


def downloads(slug: str) -> list[tuple[str, str]]:
    s = {"args": [slug]}
    return [
        (reverse("negotiations:export_sources", **s), ""),
        (reverse("negotiations:export_codings", **s), ""),
        (reverse("negotiations:export_consensus", **s), ""),
        (reverse("negotiations:reliability", **s), "format=csv&compute=1"),
        (reverse("negotiations:reliability_matrix", **s), ""),
        (reverse("negotiations:assessments", **s), "format=csv"),
        (reverse("negotiations:passage_export_csv", **s), ""),
    ]


def looks_numeric(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_every_csv_and_xlsx_cell_is_neutralised(study):
    client = Client()
    client.force_login(study.memberships.get(role="owner").user)
    checked_cells = 0
    for path, query in downloads(study.slug):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 200, path
        body = (
            b"".join(response.streaming_content) if response.streaming else response.content
        ).decode("utf-8")
        rows = list(csv.reader(io.StringIO(body)))
        assert rows, path
        for row in rows:
            for cell in row:
                if cell.startswith(TRIGGERS) and not looks_numeric(cell):
                    pytest.fail(f"{path}: formula cell {cell!r}")
                checked_cells += 1
        if path.endswith("passages.csv"):
            continue
        xlsx = client.get(f"{path}?{query}&as=xlsx" if query else f"{path}?as=xlsx")
        assert xlsx.status_code == 200, path
        sheet = load_workbook(io.BytesIO(xlsx.content), read_only=True).active
        for row in sheet.iter_rows(values_only=True):
            for cell in row:
                if isinstance(cell, str) and cell.startswith(TRIGGERS):
                    pytest.fail(f"{path} (XLSX): formula cell {cell!r}")
    assert checked_cells > 1000
    # The hostile values did reach the downloads, behind the apostrophe.
    codings = client.get(reverse("negotiations:export_codings", args=[study.slug]))
    text = b"".join(codings.streaming_content).decode()
    assert "'=memo" in text and "'+memo" in text and "'@memo" in text
