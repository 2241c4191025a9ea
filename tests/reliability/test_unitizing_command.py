"""``manage.py unitizing_agreement``: JSON and CSV output, silent coders, refusals (no database)."""

import csv
import io
import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

# Krippendorff (2004, p. 254), moved to positions 0..300 as in test_unitizing.py.
BOOK_2004_CSV = """coder,start,end,category
i,75,145,c
i,220,250,c
i,30,90,k
i,150,200,k
j,70,150,c
j,205,225,c
j,250,270,c
j,30,90,k
j,150,200,k
"""


def book_csv() -> str:
    return BOOK_2004_CSV


def run(*args: str) -> str:
    out = StringIO()
    call_command("unitizing_agreement", *args, stdout=out)
    return out.getvalue()


def write(tmp_path: Path, content: str | bytes, name: str = "units.csv") -> str:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return str(path)


def test_json_output_has_values_and_counts(tmp_path):
    result = json.loads(run(write(tmp_path, book_csv()), "--length", "300"))
    assert round(result["u_alpha"], 4) == 0.8587
    assert round(result["per_category"]["c"], 4) == 0.7286
    assert result["per_category"]["k"] == 1.0
    assert result["coders"] == 2
    assert result["units_per_coder"] == {"i": 4, "j": 5}
    assert result["length"] == 300
    assert result["reasons"] == [] and result["merged"] == 0


def test_csv_output_one_row_per_category_numbers_as_numbers(tmp_path):
    text = run(write(tmp_path, book_csv()), "--length", "300", "--format", "csv")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["category", "u_alpha", "observed_disagreement", "expected_disagreement"]
    assert [r[0] for r in rows[1:]] == ["(all)", "c", "k"]
    assert round(float(rows[1][1]), 4) == 0.8587
    assert rows[3][1] == "1.0" and rows[3][2] == "0.0"
    assert rows[1][2] == "" and rows[1][3] == ""  # disagreements are per category only


def test_a_coder_with_no_units_counts_as_a_coder(tmp_path):
    with_silent = book_csv() + "kim,,,\n"
    result = json.loads(run(write(tmp_path, with_silent), "--length", "300"))
    assert result["coders"] == 3
    assert result["units_per_coder"]["kim"] == 0
    without = json.loads(run(write(tmp_path, book_csv(), "two.csv"), "--length", "300"))
    # Kim marked nothing where both others marked passages: agreement drops.
    assert result["u_alpha"] < without["u_alpha"]


def test_undefined_is_null_with_a_reason(tmp_path):
    result = json.loads(
        run(write(tmp_path, "coder,start,end,category\nann,,,\nbob,,,\n"), "--length", "50")
    )
    assert result["u_alpha"] is None
    assert result["per_category"] == {}
    assert any("no coder marked any unit" in r for r in result["reasons"])
    one = json.loads(
        run(write(tmp_path, "coder,start,end,category\nann,0,5,c\n", "one.csv"), "--length", "50")
    )
    assert one["u_alpha"] is None and one["per_category"] == {"c": None}
    assert any("at least two coders" in r for r in one["reasons"])
    text = run(
        write(tmp_path, "coder,start,end,category\nann,0,5,c\n", "one.csv"),
        "--length",
        "50",
        "--format",
        "csv",
    )
    assert text.splitlines()[1] == "(all),,,"


def test_overlapping_units_are_merged_and_counted(tmp_path):
    content = (
        "coder,start,end,category\nann,0,10,c\nann,5,20,c\nann,20,25,c\nbob,0,20,c\nbob,20,25,c\n"
    )
    result = json.loads(run(write(tmp_path, content), "--length", "100"))
    assert result["merged"] == 1
    assert result["units_per_coder"] == {"ann": 2, "bob": 2}  # touching units stay two
    assert result["u_alpha"] == 1.0


@pytest.mark.parametrize(
    ("content", "length", "message"),
    [
        ("coder,begin,end,category\nann,0,5,c\n", "50", "expected the header"),
        ("coder,start,end,category\nann,0,x,c\n", "50", "line 2: end must be an integer"),
        ("coder,start,end,category\nann,5,5,c\n", "50", "line 2: unit end must be greater"),
        ("coder,start,end,category\nann,0,60,c\n", "50", "ends beyond the continuum length 50"),
        ("coder,start,end,category\nann,0,5\n", "50", "line 2: expected 4 fields"),
        ("coder,start,end,category\n,0,5,c\n", "50", "line 2: the coder field is empty"),
        ("coder,start,end,category\nann,0,,c\n", "50", "a unit needs start, end and category"),
        (b"coder,start,end,category\nj\xf6rg,0,5,c\n", "50", "is not UTF-8 text"),
        ("", "50", "missing the header line"),
    ],
)
def test_bad_input_exits_with_2(tmp_path, content, length, message):
    with pytest.raises(CommandError, match=message) as error:
        run(write(tmp_path, content), "--length", length)
    assert error.value.returncode == 2


def test_missing_file_exits_with_2(tmp_path):
    with pytest.raises(CommandError, match="Cannot read") as error:
        run(str(tmp_path / "nowhere.csv"), "--length", "10")
    assert error.value.returncode == 2


def test_bom_from_spreadsheets_is_accepted(tmp_path):
    path = write(tmp_path, ("\ufeff" + book_csv()).encode("utf-8"))
    assert round(json.loads(run(path, "--length", "300"))["u_alpha"], 4) == 0.8587


@pytest.mark.parametrize("length", ["0", "-3", "ten"])
def test_bad_length_exits_with_2_from_the_shell(tmp_path, length):
    path = write(tmp_path, book_csv())
    manage = Path(settings.BASE_DIR) / "manage.py"
    done = subprocess.run(
        [sys.executable, str(manage), "unitizing_agreement", path, "--length", length],
        capture_output=True,
        text=True,
        env={**_env(), "DJANGO_DEBUG": "1"},
        check=False,
    )
    assert done.returncode == 2
    assert "--length" in done.stderr


def test_bad_file_exits_with_2_from_the_shell(tmp_path):
    path = write(tmp_path, "coder,start,end,category\nann,0,x,c\n")
    manage = Path(settings.BASE_DIR) / "manage.py"
    done = subprocess.run(
        [sys.executable, str(manage), "unitizing_agreement", path, "--length", "10"],
        capture_output=True,
        text=True,
        env={**_env(), "DJANGO_DEBUG": "1"},
        check=False,
    )
    assert done.returncode == 2
    assert "end must be an integer" in done.stderr


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)
