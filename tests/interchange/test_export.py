"""Export of a study as REFI-QDA: schema-valid, unique GUIDs, every reference resolved, TrustCoder's
fields carried in text another tool shows."""

from __future__ import annotations

import io
import zipfile
from io import StringIO
from pathlib import Path

import pytest
import xmlschema
from defusedxml.ElementTree import fromstring as parse_xml
from django.core.management import CommandError, call_command

from negotiations.demo import load_demo
from negotiations.interchange import selectors
from negotiations.interchange.mapping import parse_coding_description
from negotiations.interchange.qdpx import read_qdc, read_qdpx, write_qdc, write_qdpx
from negotiations.models import Code, Coding, Source, Study
from tests.interchange.shared import SHARED_MISSING, shared_qdpx

pytestmark = pytest.mark.django_db

NS = "{urn:QDA-XML:project:1.0}"
SHARED = shared_qdpx()


@pytest.fixture
def demo() -> Study:
    load_demo()
    return Study.objects.get(slug="demo")


def project_xml(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read("project.qde")


def test_export_validates_against_the_project_schema(demo):
    if SHARED is None:
        pytest.skip(SHARED_MISSING)
    data = write_qdpx(selectors.study_project(study=demo))
    xmlschema.XMLSchema(str(SHARED / "Project-mrt2019.xsd")).validate(io.BytesIO(project_xml(data)))


def test_codebook_export_validates_against_the_codebook_schema(demo):
    if SHARED is None:
        pytest.skip(SHARED_MISSING)
    data = write_qdc(selectors.codebook_codes(study=demo))
    xmlschema.XMLSchema(str(SHARED / "Codebook.xsd")).validate(io.BytesIO(data))
    names = {code.name for code in read_qdc(data)}
    assert set(Code.objects.filter(study=demo).values_list("name", flat=True)) <= names


def test_export_guids_are_unique_and_every_reference_resolves(demo):
    root = parse_xml(project_xml(write_qdpx(selectors.study_project(study=demo))))
    guids = [el.get("guid") for el in root.iter() if el.get("guid")]
    assert len(guids) == len(set(guids))
    declared = set(guids)
    users = {el.get("guid") for el in root.iter(f"{NS}User")}
    codes = {el.get("guid") for el in root.iter(f"{NS}Code")}
    for el in root.iter():
        for attribute in ("creatingUser", "modifyingUser"):
            if el.get(attribute):
                assert el.get(attribute) in users
        if el.get("targetGUID"):
            assert el.get("targetGUID") in declared
    for ref in root.iter(f"{NS}CodeRef"):
        assert ref.get("targetGUID") in codes
    n_codings = Coding.objects.filter(source__study=demo).count()
    assert len(list(root.iter(f"{NS}Coding"))) == n_codings
    assert len(list(root.iter(f"{NS}TextSource"))) == Source.objects.filter(study=demo).count()
    assert len(list(root.iter(f"{NS}Case"))) == demo.negotiations.count()


def test_export_carries_stance_party_strength_and_memo_on_each_coding(demo):
    project = read_qdpx(write_qdpx(selectors.study_project(study=demo)))
    by_guid = {s.guid: s for s in project.selections}
    texts = {s.guid: s.text for s in project.sources}
    codings = Coding.objects.filter(source__study=demo).select_related("demonstrating_party")
    for coding in codings:
        selection = by_guid[str(coding.guid)]
        fields, memo = parse_coding_description(selection.memo)
        assert fields is not None
        assert (fields.stance, fields.party, fields.strength) == (
            coding.stance,
            coding.demonstrating_party.code,
            coding.strength,
        )
        assert memo == coding.memo
        assert texts[selection.source_guid][selection.start : selection.end] == coding.quote
    assert any(c.strength for c in codings) and any(c.memo for c in codings)


def test_export_has_a_case_per_negotiation_and_source_variables(demo):
    project = selectors.study_project(study=demo)
    cases = {case.guid: case for case in project.cases}
    source = Source.objects.filter(study=demo, speaker_party__isnull=False).first()
    exported = next(s for s in project.sources if s.guid == str(source.guid))
    assert exported.variables["Speaker"] == source.speaker
    assert exported.variables["Party"] == source.speaker_party.code
    assert exported.variables["Date"] == source.date
    assert exported.variables["Source type"] == source.source_type
    assert cases[exported.case_guids[0]].name == source.negotiation.name
    assert "US" in cases[exported.case_guids[0]].variables["Parties"]


def test_export_command_writes_the_project_and_the_codebook(demo, tmp_path: Path):
    err = StringIO()
    output = tmp_path / "demo.qdpx"
    call_command("export_qdpx", "--study", "demo", "--output", str(output), stderr=err)
    project = read_qdpx(output.read_bytes())
    assert len(project.selections) == Coding.objects.filter(source__study=demo).count()
    assert f"{len(project.selections)} codings" in err.getvalue()
    codebook = tmp_path / "demo.qdc"
    call_command("export_qdpx", "--study", "demo", "--output", str(codebook), stderr=err)
    assert {c.name for c in read_qdc(codebook.read_bytes())} >= {"ZOPA", "CAPACITY"}


def test_export_command_refuses_an_unknown_study(db, tmp_path: Path):
    with pytest.raises(CommandError) as excinfo:
        call_command("export_qdpx", "--study", "nope", "--output", str(tmp_path / "x.qdpx"))
    assert excinfo.value.returncode == 2
