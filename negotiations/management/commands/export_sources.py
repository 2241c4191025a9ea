from django.core.management.base import BaseCommand, CommandParser

from negotiations.management.commands._export import (
    add_export_arguments,
    output_stream,
    study_or_error,
    write_lines,
)
from negotiations.sources import selectors as source_selectors
from negotiations.tabular import csv_lines
from negotiations.wording import counted


class Command(BaseCommand):
    help = "Export a study's sources as CSV (streamed; formulas neutralised)."

    def add_arguments(self, parser: CommandParser) -> None:
        add_export_arguments(parser)

    def handle(self, *args: object, **options: object) -> None:
        study = study_or_error(str(options["study"]))
        lines = csv_lines(
            source_selectors.SOURCE_COLUMNS, source_selectors.source_rows(study=study)
        )
        with output_stream(options["output"], self.stdout) as handle:  # type: ignore[arg-type]
            n = write_lines(handle, lines)
        if options["output"]:
            self.stderr.write(f"Wrote {counted(n, 'source')} to {options['output']}.")
