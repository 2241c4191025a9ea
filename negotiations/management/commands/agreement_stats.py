"""``manage.py agreement_stats FILE.csv``: a reliability CSV file's agreement statistics as JSON."""

import json
from argparse import ArgumentParser, ArgumentTypeError
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from negotiations.reliability.agreement import (
    LEVELS,
    ReliabilityFileError,
    Result,
    all_statistics,
    decode_reliability_csv,
    read_reliability_csv,
)

# Exit status for bad input, as argparse uses for bad arguments.
BAD_INPUT = 2


def non_negative_int(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise ArgumentTypeError(f"{text!r} is not a whole number") from None
    if number < 0:
        raise ArgumentTypeError(f"{text!r} is negative")
    return number


class Command(BaseCommand):
    help = (
        "Print agreement statistics of a reliability CSV file (header unit,<coder>,<coder>,...; "
        "one row per unit; an empty cell means the coder did not code the unit) as one JSON "
        "object. n_units and n_coders count the file's rows and coder columns, "
        "n_pairable_units the units with values from two or more coders."
    )

    # Pure computation on a file: no database, so none of the project's checks apply (and
    # running them would open a database connection).
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", help="the reliability CSV file (UTF-8)")
        parser.add_argument("--level", choices=LEVELS, default="nominal")
        parser.add_argument(
            "--order",
            help="comma-separated values in scale order (default: numeric order when all values "
            "are numbers, else order of first appearance); every value must be listed",
        )
        parser.add_argument(
            "--bootstrap",
            type=non_negative_int,
            default=0,
            metavar="N",
            help="resamples for a 95%% bootstrap interval of alpha (default: none)",
        )
        parser.add_argument("--seed", type=int, default=None, help="seed for the bootstrap")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        level = options["level"]
        order = options["order"].split(",") if options["order"] is not None else None
        try:
            raw = path.read_bytes()
        except OSError as error:
            raise CommandError(
                f"{path}: cannot read the file ({error.strerror or error})", returncode=BAD_INPUT
            ) from error
        try:
            data = read_reliability_csv(decode_reliability_csv(raw), level=level, order=order)
        except ReliabilityFileError as error:
            where = f"{path}:{error.line}" if error.line is not None else str(path)
            raise CommandError(f"{where}: {error.message}", returncode=BAD_INPUT) from error

        stats = all_statistics(
            data, level=level, bootstrap=options["bootstrap"], seed=options["seed"]
        )
        results: dict[str, Result] = {
            "percent_agreement": stats["percent_agreement"],
            "cohen_kappa": stats["cohen_kappa"],
            "fleiss_kappa": stats["fleiss_kappa"],
            "gwet_ac1": stats["gwet_ac1"],
            "krippendorff_alpha": stats["krippendorff_alpha"],
        }
        alpha = stats["krippendorff_alpha"]
        undefined = {
            name: result.undefined_reason for name, result in results.items() if not result.defined
        }
        if options["bootstrap"] and alpha.defined and alpha.ci95 is None:
            undefined["alpha_ci95"] = "no bootstrap resample had any variation"
        report = {
            "n_units": stats["n_units"],
            "n_coders": stats["n_coders"],
            "n_pairable_units": stats["n_pairable_units"],
            **{name: result.value for name, result in results.items()},
            "alpha_ci95": list(alpha.ci95) if alpha.ci95 is not None else None,
            "undefined": undefined,
        }
        self.stdout.write(json.dumps(report))
