"""The replication package: the command and the download, every file described, the
datapackage.json valid for frictionless, and alpha recomputed from its matrix."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import frictionless
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from negotiations.coding import selectors as coding_selectors
from negotiations.models import Coding
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

FILES = {
    "sources.csv",
    "codings.csv",
    "consensus.csv",
    "assessments.csv",
    "reliability.csv",
    "matrix.csv",
    "codebook.csv",
    "codebook.qdc",
    "settings.json",
    "README.md",
    "datapackage.json",
}


@pytest.fixture
def package(corpus, tmp_path):
    path = tmp_path / "package.zip"
    call_command("export_package", study="test-study", output=str(path))
    folder = tmp_path / "package"
    with zipfile.ZipFile(path) as archive:
        assert set(archive.namelist()) == FILES
        archive.extractall(folder)
    return folder


def table(folder, name: str) -> list[dict[str, str]]:
    with (folder / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_package_holds_every_table_and_describes_every_column(package, corpus):
    codings = table(package, "codings.csv")
    assert {int(r["coding_id"]) for r in codings} == {c.pk for c in corpus.codings.values()}
    assert list(codings[0]) == list(coding_selectors.CODING_COLUMNS)
    assert {r["name"] for r in table(package, "codebook.csv")} >= {"ZOPA", "CAPACITY"}
    settings = json.loads((package / "settings.json").read_text())
    assert settings["assessment_rule"]["min_sources"] == corpus.members.study.rule_min_sources
    assert settings["agreement"]["unit"] == "segment"
    readme = (package / "README.md").read_text()
    described = json.loads((package / "datapackage.json").read_text())
    for resource in described["resources"]:
        with (package / resource["path"]).open(encoding="utf-8", newline="") as handle:
            header = next(csv.reader(handle))
        assert header == [f["name"] for f in resource["schema"]["fields"]], resource["name"]
        for name in header:
            assert f"| `{name}` |" in readme
    assert "code points" in readme and "bootstrap" in readme


def test_datapackage_is_valid_for_frictionless(package):
    report = frictionless.validate(package / "datapackage.json")
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])


def test_alpha_recomputed_from_the_packages_matrix_matches_the_report(package, capsys):
    (overall,) = [r for r in table(package, "reliability.csv") if r["element"] == "All elements"]
    # The order lists every category, also those nobody used: AC1's chance term counts them.
    call_command("agreement_stats", str(package / "matrix.csv"), order="for,against,mixed,none")
    recomputed = json.loads(capsys.readouterr().out)
    assert recomputed["n_units"] == int(overall["n_units"])
    assert recomputed["n_pairable_units"] == int(overall["n_pairable_units"])
    assert repr(recomputed["krippendorff_alpha"]) == overall["krippendorff_alpha"]
    assert repr(recomputed["percent_agreement"]) == overall["percent_agreement"]
    assert repr(recomputed["gwet_ac1"]) == overall["gwet_ac1"]
    assert repr(recomputed["fleiss_kappa"]) == overall["fleiss_kappa"]
    # The figures are real: the coders disagree on CAPACITY, so alpha is below 1.
    assert float(overall["krippendorff_alpha"]) < 1


def test_package_codings_hold_every_layer_even_for_blind_coding(package):
    assert len(table(package, "codings.csv")) == Coding.objects.count()


@pytest.mark.parametrize(
    ("role", "status"),
    [("reader", 200), ("supervisor", 200), ("owner", 200), ("coder", 403), ("outsider", 404)],
)
def test_download_for_readers_and_above(corpus, role, status):
    user = {
        "reader": corpus.members.reader,
        "supervisor": corpus.members.supervisor,
        "owner": corpus.members.owner,
        "coder": corpus.members.coder,
        "outsider": corpus.members.outsider,
    }[role]
    response = client_for(user).get(
        reverse("negotiations:replication_package", args=["test-study"])
    )
    assert response.status_code == status
    if status == 200:
        assert response["Content-Type"] == "application/zip"
        assert "test-study-replication-" in response["Content-Disposition"]
        with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as archive:
            assert set(archive.namelist()) == FILES


def test_command_refuses_an_unknown_study(tmp_path, db):
    with pytest.raises(CommandError):
        call_command("export_package", study="nope", output=str(tmp_path / "x.zip"))


def test_codebook_qdc_holds_the_codebook_csv_codes(package):
    """The REFI-QDA codebook in the package has every code of codebook.csv, with its definition."""
    import csv

    from negotiations.interchange.qdpx import read_qdc

    codes = read_qdc((package / "codebook.qdc").read_bytes())
    with (package / "codebook.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    names = {code.name for code in codes}
    assert rows and {row["name"] for row in rows} <= names
    definitions = {code.name: code.description for code in codes}
    for row in rows:
        assert row["definition"].lstrip("'") in (definitions[row["name"]] or "")
