"""``manage.py unitizing_agreement FILE.csv --length L``: Krippendorff's u-alpha of marked spans."""

import csv
import json
from argparse import ArgumentParser, ArgumentTypeError
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from negotiations.reliability.unitizing import read_units_csv, unitizing_alpha
from negotiations.tabular import csv_lines

BAD_INPUT = 2


def positive_int(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise ArgumentTypeError(f"{text!r} is not a whole number") from None
    if number <= 0:
        raise ArgumentTypeError(f"{text!r} is not a positive length")
    return number


class Command(BaseCommand):
    help = (
        "Print Krippendorff's alpha for unitizing (u-alpha) of a units CSV file: header "
        "coder,start,end,category, one row per unit, positions in code points on [0, L), end "
        "exclusive; a coder who marked nothing is a row with only the coder (coder,,,). A coder's "
        "overlapping units of one category are merged into their union (touching units stay two)."
    )

    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", help="the units CSV file (UTF-8)")
        parser.add_argument(
            "--length", type=positive_int, required=True, help="L, the continuum's length"
        )
        parser.add_argument("--format", choices=("json", "csv"), default="json")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                units, coders = read_units_csv(handle)
            result = unitizing_alpha(units, length=options["length"], coders=coders)
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}", returncode=BAD_INPUT) from exc
        except UnicodeDecodeError:
            raise CommandError(f"{path} is not UTF-8 text.", returncode=BAD_INPUT) from None
        except (ValueError, csv.Error) as exc:
            raise CommandError(str(exc), returncode=BAD_INPUT) from exc
        data = result.to_json_dict()
        if options["format"] == "json":
            self.stdout.write(json.dumps(data, indent=2, sort_keys=True))
            return
        # One row per category and one for all categories; an undefined value is an empty cell.
        rows: list[tuple[Any, ...]] = [("(all)", data["u_alpha"], None, None)]
        rows += [
            (name, value, data["observed"].get(name), data["expected"].get(name))
            for name, value in sorted(data["per_category"].items())
        ]
        header = ("category", "u_alpha", "observed_disagreement", "expected_disagreement")
        for line in csv_lines(header, rows):
            self.stdout.write(line, ending="")
