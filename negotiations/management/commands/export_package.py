"""``manage.py export_package --study SLUG --output FILE.zip``: the study's replication package."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser

from negotiations.api.replication import replication_package_write
from negotiations.management.commands._export import study_or_error


class Command(BaseCommand):
    help = (
        "Write a study's replication package (sources, codings, consensus, assessments, "
        "reliability report, unit x coder matrix, codebook, settings, README data dictionary "
        "and datapackage.json) as a zip."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--study", required=True, help="The study's slug.")
        parser.add_argument("--output", type=Path, required=True, help="The zip file to write.")

    def handle(self, *args: object, **options: object) -> None:
        study = study_or_error(str(options["study"]))
        path = Path(str(options["output"]))
        with path.open("wb") as handle:
            names = replication_package_write(study=study, output=handle)
        self.stderr.write(f"Wrote {len(names)} files to {path}: {', '.join(names)}.")
