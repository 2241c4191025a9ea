"""Import of REFI-QDA projects: small fixtures in each writer's convention, the round trip of the
demo study, the real samples, and files that must be refused with nothing saved."""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from io import StringIO
from pathlib import Path

import pytest
from defusedxml.ElementTree import fromstring as parse_xml
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from negotiations.coding import selectors as coding_selectors
from negotiations.demo import load_demo
from negotiations.interchange import planning, selectors, services
from negotiations.interchange.qdpx import write_qdpx
from negotiations.models import (
    Code,
    CodeSet,
    Coding,
    ImportStatus,
    Negotiation,
    Party,
    Role,
    Source,
    Study,
)
from negotiations.sources import selectors as source_selectors
from negotiations.studies import services as study_services
from tests.factories import UserFactory
from tests.interchange.shared import SHARED_MISSING, shared_qdpx
from tests.interchange.test_qdpx import (
    ATLAS_RAW,
    MINIMAL_QDE,
    NVIVO_PASSAGES,
    NVIVO_RAW,
    QC_TEXT,
    atlas_qde,
    g,
    make_qdpx,
    nvivo_project,
    qualcoder_qdpx,
)

pytestmark = pytest.mark.django_db

SHARED = shared_qdpx()
NS = "{urn:QDA-XML:project:1.0}"


@pytest.fixture
def importer() -> User:
    return UserFactory(username="importer")


def import_new(content: bytes, actor: User, slug: str = "imported") -> Study:
    plan = planning.qdpx_import_plan(content=content, study=None, study_name="Imported")
    assert plan.ok, plan.problems
    return services.qdpx_import(plan=plan, actor=actor, new_study_slug=slug)


def stored_quotes(study: Study) -> list[str]:
    codings = Coding.objects.filter(source__study=study).select_related("source")
    for coding in codings:
        assert coding.quote == coding.source.text[coding.start : coding.end]
    return sorted(c.quote for c in codings)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n"))


# --------------------------------------------------------------------------------------------
# Small fixtures, one per writer's convention
# --------------------------------------------------------------------------------------------


def test_nvivo_fixture_utf16_positions_with_crlf_land_on_the_stored_text(importer):
    study = import_new(nvivo_project(), importer)
    source = Source.objects.get(study=study)
    assert source.text == nfc(NVIVO_RAW).strip()
    assert stored_quotes(study) == sorted(nfc(p) for p in NVIVO_PASSAGES.values())
    coders = set(Coding.objects.filter(source=source).values_list("coder__username", flat=True))
    assert coders == {"Ben"}
    assert User.objects.get(username="Ana").has_usable_password() is False
    assert Coding.objects.filter(source=source, memo="Linked memo").count() == 1
    # Nested codes get names from their path; the tool's name is the label.
    assert set(Code.objects.filter(study=study).values_list("name", "label")) == {
        ("TRUST", "Trust"),
        ("TRUST_CAPACITY", "Capacity"),
        ("TRUST_INTENTION", "Intention"),
    }
    # No stance or party in another tool's file: `for`, and the unspecified party.
    assert set(Coding.objects.filter(source=source).values_list("stance", flat=True)) == {"for"}
    party = Party.objects.get(study=study)
    assert party.code == planning.UNSPECIFIED_PARTY[0]


@pytest.mark.parametrize("line_ending", ["\n", "\r\n"])
def test_qualcoder_fixture_code_points_and_case_metadata(importer, line_ending):
    study = import_new(qualcoder_qdpx(line_ending), importer)
    source = Source.objects.get(study=study)
    assert source.text == QC_TEXT.strip()
    assert stored_quotes(study) == sorted(
        [
            "We welcome the 🤝 accord.",
            "Deliveries start in May.",
            "We welcome the 🤝 accord.\nSpeaker 2",
        ]
    )
    assert source.speaker == "Gallucci"
    assert source.date.isoformat() == "1994-10-21"
    assert source.negotiation.name == "Agreed Framework"
    memos = set(Coding.objects.filter(source=source).values_list("memo", flat=True))
    assert {"Welcome memo", "Fuel memo"} <= memos
    assert Code.objects.get(study=study, label="Fuel").name == "ELEMENTS_CAPACITY_FUEL"


def test_atlas_fixture_crlf_as_one_over_non_nfc_text(importer):
    content = make_qdpx(atlas_qde().decode(), {"A.txt": ATLAS_RAW.encode("utf-8")})
    study = import_new(content, importer)
    source = Source.objects.get(study=study)
    assert source.text == nfc(ATLAS_RAW.removeprefix("\ufeff"))
    assert stored_quotes(study) == sorted(
        ["Café au lait", "then cola.\n\nNo milk 😀", "then cola.\n\nNo milk 😀"]
    )


def test_positions_shift_by_what_the_stored_text_strips(importer):
    raw = "\r\n  \x07Intro line.\r\nWe will deliver the fuel.\x0c\r\n  "
    passage = "We will deliver the fuel."
    start = raw.index(passage)
    qde = MINIMAL_QDE.replace(
        'startPosition="0" endPosition="3"',
        f'startPosition="{start}" endPosition="{start + len(passage)}"',
    ).replace('name="p"', 'name="p" origin="MAXQDA 24"')
    study = import_new(make_qdpx(qde, {"s.txt": raw.encode()}), importer)
    source = Source.objects.get(study=study)
    assert source.text == "Intro line.\nWe will deliver the fuel."
    coding = Coding.objects.get(source=source)
    assert (coding.start, coding.end, coding.quote) == (12, 12 + len(passage), passage)


# --------------------------------------------------------------------------------------------
# Round trip of the demo study
# --------------------------------------------------------------------------------------------


def comparable_codings(study: Study) -> list[tuple]:
    columns = coding_selectors.CODING_COLUMNS
    # Submission is a state of the work, not of the data: imported work arrives in progress.
    drop = {"coding_id", "study", "source_id", "assignment_status", "created_at", "updated_at"}
    keep = [i for i, name in enumerate(columns) if name not in drop]
    codings = Coding.objects.filter(source__study=study)
    return sorted(
        tuple(row[i] for i in keep)
        for row in coding_selectors.coding_rows(codings=codings, study=study)
    )


def comparable_sources(study: Study) -> list[tuple]:
    return sorted(row[1:] for row in source_selectors.source_rows(study=study))


def test_round_trip_of_the_demo_study_loses_nothing(tmp_path: Path):
    load_demo()
    demo = Study.objects.get(slug="demo")
    output = tmp_path / "demo.qdpx"
    call_command("export_qdpx", "--study", "demo", "--output", str(output), stderr=StringIO())
    out = StringIO()
    call_command("import_qdpx", str(output), "--study", "copy", "--owner", "owner", stdout=out)
    copy = Study.objects.get(slug="copy")
    assert comparable_codings(copy) == comparable_codings(demo)
    assert len(comparable_codings(copy)) == Coding.objects.filter(source__study=demo).count()
    assert comparable_sources(copy) == comparable_sources(demo)
    assert Coding.objects.filter(source__study=demo).exclude(memo="").exists()
    assert Coding.objects.filter(source__study=demo).exclude(strength="").exists()

    def codes(study: Study) -> list[tuple]:
        return sorted(
            Code.objects.filter(study=study).values_list(
                "code_set__slug",
                "code_set__name",
                "code_set__enabled",
                "name",
                "label",
                "definition",
                "when_to_use",
                "when_not_to_use",
                "example",
                "colour",
                "key",
            )
        )

    assert codes(copy) == codes(demo)
    assert sorted(CodeSet.objects.filter(study=copy).values_list("for_label", "against_label")) == (
        sorted(CodeSet.objects.filter(study=demo).values_list("for_label", "against_label"))
    )

    def parties(study: Study) -> list[tuple]:
        return sorted(
            Negotiation.objects.filter(study=study).values_list(
                "name",
                "start_date",
                "end_date",
                "negotiationparty__party__code",
                "negotiationparty__party__name",
                "negotiationparty__is_principal",
            )
        )

    assert parties(copy) == parties(demo)
    coders = {c.coder.username for c in Coding.objects.filter(source__study=copy)}
    assert coders == {"coder1", "coder2", "coder3"}
    # The demo's coders exist already: they are mapped, not created again.
    assert "map user 'coder1' to coder1" in out.getvalue()
    assert User.objects.filter(username__startswith="coder").count() == 3


def test_second_export_of_the_imported_study_matches_the_first():
    load_demo()
    demo = Study.objects.get(slug="demo")
    owner = User.objects.get(username="owner")
    first = write_qdpx(selectors.study_project(study=demo))
    copy = import_new(first, owner, slug="copy")
    again = selectors.study_project(study=copy)
    original = selectors.study_project(study=demo)
    assert sorted((s.start, s.end, s.memo) for s in again.selections) == sorted(
        (s.start, s.end, s.memo) for s in original.selections
    )
    assert sorted(s.text for s in again.sources) == sorted(s.text for s in original.sources)


# --------------------------------------------------------------------------------------------
# Into an existing study
# --------------------------------------------------------------------------------------------


def test_import_into_an_existing_study_maps_codes_by_name(members):
    load_demo()
    content = write_qdpx(selectors.study_project(study=Study.objects.get(slug="demo")))
    plan = planning.qdpx_import_plan(content=content, study=members.study)
    # The demo codes with the assumptions, which a new study has switched off.
    assert any("switch it on in the codebook" in p for p in plan.problems)
    CodeSet.objects.filter(study=members.study).update(enabled=True)
    plan = planning.qdpx_import_plan(content=content, study=members.study)
    assert plan.ok, plan.problems
    assert {"ZOPA", "CAPACITY", "WILLINGNESS"} <= set(plan.codes_mapped)
    n_codes = Code.objects.filter(study=members.study).count()
    services.qdpx_import(plan=plan, actor=members.owner, study=members.study)
    assert Code.objects.filter(study=members.study).count() == n_codes + len(plan.codes_created)
    zopa = Code.objects.get(study=members.study, name="ZOPA")
    assert (
        Coding.objects.filter(code=zopa).count()
        == Coding.objects.filter(code__study__slug="demo", code__name="ZOPA").count()
    )


def test_a_file_user_who_manages_the_study_is_a_problem(members, importer):
    study_services.membership_add(
        study=members.study, identifier="importer", role=Role.SUPERVISOR, actor_role=Role.OWNER
    )
    content = make_qdpx(
        MINIMAL_QDE.replace(
            'name="p">', 'name="p"><Users><User guid="' + g(1) + '" name="importer"/></Users>', 1
        ).replace(
            '<Coding guid="' + g(61) + '">',
            '<Coding guid="' + g(61) + '" creatingUser="' + g(1) + '">',
        ),
        {"s.txt": b"abcdef"},
    )
    plan = planning.qdpx_import_plan(content=content, study=members.study)
    assert any("only coders code" in p for p in plan.problems)


def test_the_same_text_twice_in_a_study_is_a_problem(members):
    content = make_qdpx(MINIMAL_QDE, {"s.txt": b"abcdef"})
    plan = planning.qdpx_import_plan(content=content, study=members.study)
    services.qdpx_import(plan=plan, actor=members.owner, study=members.study)
    again = planning.qdpx_import_plan(content=content, study=members.study)
    assert any("already in the study" in p for p in again.problems)


# --------------------------------------------------------------------------------------------
# Stored uploads and progress (what a background task runs)
# --------------------------------------------------------------------------------------------


def test_stored_upload_imports_with_progress_and_is_emptied(importer):
    stored, plan = services.qdpx_import_stage(
        content=nvivo_project(),
        filename="talks.qdpx",
        uploaded_by=importer,
        study=None,
        new_study_name="Talks",
        new_study_slug="talks",
    )
    assert plan.ok and stored.status == ImportStatus.PREVIEWED
    assert not Study.objects.filter(slug="talks").exists()
    seen: list[tuple[int, int]] = []
    study = services.qdpx_import_run(upload=stored, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (1 + len(NVIVO_PASSAGES), 1 + len(NVIVO_PASSAGES))
    stored.refresh_from_db()
    assert stored.status == ImportStatus.IMPORTED and bytes(stored.content) == b""
    assert study.memberships.get(user=importer).role == Role.OWNER
    with pytest.raises(Exception, match="already imported"):
        services.qdpx_import_run(upload=stored)


# --------------------------------------------------------------------------------------------
# Files that are refused: exit 2, clear message, nothing saved
# --------------------------------------------------------------------------------------------


BROKEN = {
    "not a zip": (b"this is not a zip", "not a REFI-QDA project archive"),
    "broken XML": (make_qdpx("<Project xmlns='urn:QDA-XML:project:1.0'><Sources>", {}), "XML"),
    "selection past the end": (
        make_qdpx(MINIMAL_QDE.replace('endPosition="3"', 'endPosition="99"'), {"s.txt": b"abcdef"}),
        "lies outside the text",
    ),
    "unknown code": (
        make_qdpx(
            MINIMAL_QDE.replace(f'<CodeRef targetGUID="{g(10)}"', f'<CodeRef targetGUID="{g(11)}"'),
            {"s.txt": b"abcdef"},
        ),
        "unknown code",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_unreadable_files_exit_2_with_a_message_and_save_nothing(case, importer, tmp_path):
    content, message = BROKEN[case]
    path = tmp_path / "broken.qdpx"
    path.write_bytes(content)
    counts = (Study.objects.count(), User.objects.count(), Source.objects.count())
    out = StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("import_qdpx", str(path), "--study", "new", "--owner", "importer", stdout=out)
    assert excinfo.value.returncode == 2
    assert "nothing was saved" in str(excinfo.value)
    assert re.search(message, out.getvalue(), re.IGNORECASE)
    assert (Study.objects.count(), User.objects.count(), Source.objects.count()) == counts


def test_dry_run_shows_the_plan_and_saves_nothing(importer, tmp_path):
    path = tmp_path / "talks.qdpx"
    path.write_bytes(nvivo_project())
    out = StringIO()
    call_command(
        "import_qdpx", str(path), "--study", "talks", "--owner", "importer", "--dry-run", stdout=out
    )
    text = out.getvalue()
    assert "create user Ana (no password)" in text
    assert "create code TRUST_CAPACITY (label 'Capacity')" in text
    assert f"codings: {len(NVIVO_PASSAGES)}" in text
    assert "Dry run" in text
    assert not Study.objects.filter(slug="talks").exists()
    assert not User.objects.filter(username="Ana").exists()


def test_a_file_over_the_size_limit_is_refused_before_reading(importer, tmp_path, settings):
    settings.TRUSTCODER_MAX_QDPX_BYTES = 100
    path = tmp_path / "big.qdpx"
    path.write_bytes(nvivo_project())
    with pytest.raises(CommandError, match="the limit is 100") as excinfo:
        call_command("import_qdpx", str(path), "--study", "big", "--owner", "importer")
    assert excinfo.value.returncode == 2


# --------------------------------------------------------------------------------------------
# The real samples in ../shared/qdpx/samples
# --------------------------------------------------------------------------------------------


def sample(name: str) -> bytes:
    if SHARED is None:
        pytest.skip(SHARED_MISSING)
    path = SHARED / "samples" / name
    if not path.is_file():
        pytest.skip(f"sample {name} not found in {SHARED / 'samples'}")
    return path.read_bytes()


def xml_codings(content: bytes) -> dict[str, tuple[str, int, int]]:
    """Each Coding's (source file, start, end) as the XML says, read without the importer."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        root = parse_xml(archive.read("project.qde"))
    found = {}
    for source in root.iter(f"{NS}TextSource"):
        path = source.get("plainTextPath", "").removeprefix("internal://")
        for selection in source.iter(f"{NS}PlainTextSelection"):
            for coding in selection.iter(f"{NS}Coding"):
                found[coding.get("guid")] = (
                    path,
                    int(selection.get("startPosition")),
                    int(selection.get("endPosition")),
                )
    return found


def raw_texts(content: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {
            info.filename.partition("/")[2]: archive.read(info).decode("utf-8-sig")
            for info in archive.infolist()
            if info.filename.lower().startswith("sources/") and info.filename.endswith(".txt")
        }


def test_nvivo12_sample_every_quote_is_what_nvivo_meant(importer):
    content = sample("nvivo12-win_oltas0517.qdpx")
    study = import_new(content, importer)
    expected = xml_codings(content)
    assert len(expected) == 303
    assert Coding.objects.filter(source__study=study).count() == 303
    texts = raw_texts(content)
    # NVivo counts UTF-16 code units with CRLF as two: cut the raw file in UTF-16.
    wanted = []
    for path, start, end in expected.values():
        units = texts[path].encode("utf-16-le")
        wanted.append(nfc(units[2 * start : 2 * end].decode("utf-16-le")))
    assert stored_quotes(study) == sorted(wanted)
    assert set(
        Coding.objects.filter(source__study=study).values_list("coder__username", flat=True)
    ) <= {
        "Gergo",
        "floriansipos",
    }
    assert Source.objects.filter(study=study).count() == 2
    assert Code.objects.filter(study=study).count() == 152


def test_qc_sample_every_quote_is_what_qc_meant(importer):
    content = sample("qc-1.3.2_demo.qdpx")
    study = import_new(content, importer)
    expected = xml_codings(content)
    assert len(expected) == 205
    assert Coding.objects.filter(source__study=study).count() == 205
    texts = raw_texts(content)
    assert stored_quotes(study) == sorted(nfc(texts[p][s:e]) for p, s, e in expected.values())
    # 262 nested codes, 9 names used twice: every derived name is unique, labels keep the names.
    codes = Code.objects.filter(study=study)
    assert codes.count() == 262
    assert len(set(codes.values_list("name", flat=True))) == 262


def test_nvivo15_mac_sample_imports_its_codebook_and_skips_empty_sources(importer):
    content = sample("nvivo15-mac_qc-project.qdpx")
    plan = planning.qdpx_import_plan(content=content, study=None, study_name="Mac")
    assert plan.ok and plan.n_codings == 0 == len(xml_codings(content))
    assert sum("is empty; skipped" in w for w in plan.warnings) == 2
    study = services.qdpx_import(plan=plan, actor=importer, new_study_slug="mac")
    assert Code.objects.filter(study=study).count() == 262
    assert Source.objects.filter(study=study).count() == 0


def test_atlas_sample_without_its_texts_imports_codes_and_users(importer):
    content = sample("atlasti-8.4_standard-project.qde")
    plan = planning.qdpx_import_plan(content=content, study=None, study_name="Atlas")
    assert plan.ok, plan.problems
    study = services.qdpx_import(plan=plan, actor=importer, new_study_slug="atlas")
    assert Code.objects.filter(study=study).count() == 14
    assert Code.objects.get(study=study, label="diet Coke").name == "COKE_DIET_COKE"
    assert {"Friedrich Markgraf", "Sebastian Petrausch"} <= {n for n, _ in plan.users_created}


def test_command_creates_a_missing_study_for_the_first_superuser(db, tmp_path):
    path = tmp_path / "talks.qdpx"
    path.write_bytes(nvivo_project())
    with pytest.raises(CommandError, match="give --owner") as excinfo:
        call_command("import_qdpx", str(path), "--study", "talks", stdout=StringIO())
    assert excinfo.value.returncode == 2
    admin = User.objects.create_superuser("admin", "admin@example.org", "pw-admin-123")
    call_command("import_qdpx", str(path), "--study", "talks", stdout=StringIO())
    study = Study.objects.get(slug="talks")
    assert study.memberships.get(user=admin).role == Role.OWNER
    assert Coding.objects.filter(source__study=study).count() == len(NVIVO_PASSAGES)


def test_command_imports_into_an_existing_study(members, tmp_path):
    path = tmp_path / "talks.qdpx"
    path.write_bytes(nvivo_project())
    out = StringIO()
    call_command("import_qdpx", str(path), "--study", members.study.slug, stdout=out)
    assert f"Into the study '{members.study.name}'" in out.getvalue()
    assert Coding.objects.filter(source__study=members.study).count() == len(NVIVO_PASSAGES)
