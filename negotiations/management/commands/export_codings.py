from django.core.management.base import BaseCommand, CommandParser

from negotiations.coding import selectors as coding_selectors
from negotiations.management.commands._export import (
    add_export_arguments,
    output_stream,
    study_or_error,
    write_lines,
)
from negotiations.models import Coding
from negotiations.tabular import csv_lines
from negotiations.wording import counted


class Command(BaseCommand):
    help = "Export all of a study's codings as CSV, one row per coding (streamed)."

    def add_arguments(self, parser: CommandParser) -> None:
        add_export_arguments(parser)
        parser.add_argument(
            "--submitted-only",
            action="store_true",
            help="Only codings of sources their coder has submitted (the work that counts).",
        )

    def handle(self, *args: object, **options: object) -> None:
        study = study_or_error(str(options["study"]))
        codings = Coding.objects.filter(source__study=study)
        lines = csv_lines(
            coding_selectors.CODING_COLUMNS,
            coding_selectors.coding_rows(
                codings=codings, study=study, submitted_only=bool(options["submitted_only"])
            ),
        )
        with output_stream(options["output"], self.stdout) as handle:  # type: ignore[arg-type]
            n = write_lines(handle, lines)
        if options["output"]:
            self.stderr.write(f"Wrote {counted(n, 'coding')} to {options['output']}.")
