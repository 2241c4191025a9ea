from django.core.management.base import BaseCommand, CommandParser

from negotiations.consensus import selectors as consensus_selectors
from negotiations.consensus import services as consensus_services
from negotiations.management.commands._export import (
    add_export_arguments,
    output_stream,
    study_or_error,
    write_lines,
)
from negotiations.tabular import csv_lines
from negotiations.wording import counted


class Command(BaseCommand):
    help = "Export a study's consensus layer as CSV: the coding columns plus the decision."

    def add_arguments(self, parser: CommandParser) -> None:
        add_export_arguments(parser)

    def handle(self, *args: object, **options: object) -> None:
        study = study_or_error(str(options["study"]))
        consensus_services.consensus_sync(study=study)
        lines = csv_lines(
            consensus_selectors.CONSENSUS_COLUMNS, consensus_selectors.consensus_rows(study=study)
        )
        with output_stream(options["output"], self.stdout) as handle:  # type: ignore[arg-type]
            n = write_lines(handle, lines)
        if options["output"]:
            self.stderr.write(f"Wrote {counted(n, 'consensus row')} to {options['output']}.")
