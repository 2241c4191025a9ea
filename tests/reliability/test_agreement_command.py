"""``manage.py agreement_stats``: JSON output and refusals of malformed files (no database)."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from negotiations.reliability.agreement import all_statistics, read_reliability_csv

KRIPPENDORFF_2011_CSV = """unit,A,B,C,D
1,1,1,,1
2,2,2,3,2
3,3,3,3,3
4,3,3,3,3
5,2,2,2,2
6,1,2,3,4
7,4,4,4,4
8,1,1,2,1
9,2,2,2,2
10,,5,5,5
11,,,1,1
12,,3,,
"""

SEGMENTS_CSV = """unit,ana,ben
s1,for,for
s2,none,none
s3,against,none
s4,none,
s5,mixed,mixed
s6,none,none
"""


def run(*args: str) -> dict:
    out = StringIO()
    call_command("agreement_stats", *args, stdout=out)
    return json.loads(out.getvalue())


def write(tmp_path: Path, content: str | bytes, name: str = "reliability.csv") -> str:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_prints_the_module_results(tmp_path: Path, level: str) -> None:
    path = write(tmp_path, KRIPPENDORFF_2011_CSV)

    report = run(path, "--level", level)

    stats = all_statistics(read_reliability_csv(KRIPPENDORFF_2011_CSV, level), level)
    assert report == {
        "n_units": 12,
        "n_coders": 4,
        "n_pairable_units": 11,
        "percent_agreement": stats["percent_agreement"].value,
        "cohen_kappa": None,
        "fleiss_kappa": stats["fleiss_kappa"].value,
        "gwet_ac1": stats["gwet_ac1"].value,
        "krippendorff_alpha": stats["krippendorff_alpha"].value,
        "alpha_ci95": None,
        "undefined": {"cohen_kappa": "Cohen's kappa needs exactly two coders; the data has 4"},
    }
    published = {"nominal": 0.743, "ordinal": 0.815, "interval": 0.849, "ratio": 0.797}
    assert round(report["krippendorff_alpha"], 3) == published[level]


def test_two_coders_with_order_and_bootstrap(tmp_path: Path) -> None:
    path = write(tmp_path, SEGMENTS_CSV)
    order = ["for", "against", "mixed", "none"]

    report = run(path, "--order", ",".join(order), "--bootstrap", "300", "--seed", "11")

    stats = all_statistics(
        read_reliability_csv(SEGMENTS_CSV, "nominal", order), "nominal", bootstrap=300, seed=11
    )
    assert (report["n_units"], report["n_coders"], report["n_pairable_units"]) == (6, 2, 5)
    assert report["cohen_kappa"] == stats["cohen_kappa"].value
    assert report["gwet_ac1"] == stats["gwet_ac1"].value
    assert report["krippendorff_alpha"] == stats["krippendorff_alpha"].value
    assert report["alpha_ci95"] == list(stats["krippendorff_alpha"].ci95)
    low, high = report["alpha_ci95"]
    assert low <= report["krippendorff_alpha"] <= high
    assert report["undefined"] == {}
    assert run(path, "--order", ",".join(order), "--bootstrap", "300", "--seed", "11") == report


def test_undefined_statistics_are_null_with_a_reason(tmp_path: Path) -> None:
    path = write(tmp_path, "unit,ana,ben\n1,none,none\n2,none,none\n3,none,\n")

    report = run(path, "--bootstrap", "100")

    assert report["percent_agreement"] == 1.0
    for name in ("cohen_kappa", "fleiss_kappa", "gwet_ac1", "krippendorff_alpha"):
        assert report[name] is None
        assert report["undefined"][name]
    assert "no variation" in report["undefined"]["krippendorff_alpha"]
    assert report["alpha_ci95"] is None


def test_accepts_a_byte_order_mark_and_crlf(tmp_path: Path) -> None:
    content = "\ufeff" + SEGMENTS_CSV.replace("\n", "\r\n")
    path = write(tmp_path, content.encode("utf-8"))

    assert run(path) == run(write(tmp_path, SEGMENTS_CSV, "plain.csv"))


@pytest.mark.parametrize(
    ("content", "args", "where", "message"),
    [
        (b"", [], ":1:", "empty"),
        (b"id,a,b\n1,x,y\n", [], ":1:", "must start with 'unit'"),
        (b"unit,a,a\n1,x,y\n", [], ":1:", "coder 'a' appears twice"),
        (b"unit,a,b\n1,x,y\n2,x\n", [], ":3:", "expected 3 cells"),
        (b"unit,a,b\n1,x,y\n1,y,y\n", [], ":3:", "unit '1' already appears on line 2"),
        (b"unit,a,b\n1,1,2\n2,3,high\n", ["--level", "interval"], ":3:", "must be numbers"),
        (b"unit,a,b\n1,1,two\n", ["--level", "ratio"], ":2:", "must be numbers"),
        (b"unit,a,b\n1,low,high\n2,mid,low\n", ["--order", "low,high"], ":3:", "'mid'"),
        (b"unit,a,b\n1,x,y\n2,\xff,y\n", [], ":3:", "not UTF-8"),
    ],
)
def test_malformed_files_exit_with_status_2_naming_the_line(
    tmp_path: Path, content: bytes, args: list[str], where: str, message: str
) -> None:
    path = write(tmp_path, content)

    with pytest.raises(CommandError) as error:
        run(path, *args)

    assert error.value.returncode == 2
    assert f"{path}{where}" in str(error.value)
    assert message in str(error.value)


def test_unreadable_file_exits_with_status_2(tmp_path: Path) -> None:
    for path in (tmp_path / "missing.csv", tmp_path):
        with pytest.raises(CommandError, match="cannot read") as error:
            run(str(path))
        assert error.value.returncode == 2


def test_bad_order_exits_with_status_2(tmp_path: Path) -> None:
    path = write(tmp_path, SEGMENTS_CSV)

    with pytest.raises(CommandError, match="twice") as error:
        run(path, "--order", "for,for,against,mixed,none")

    assert error.value.returncode == 2


def test_negative_bootstrap_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="negative"):
        run(write(tmp_path, SEGMENTS_CSV), "--bootstrap", "-5")
