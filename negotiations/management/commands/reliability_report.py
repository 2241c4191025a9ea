import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from negotiations.exports.tabular import csv_lines
from negotiations.models import Study
from negotiations.reliability import report as reliability_report
from negotiations.reliability import selectors as reliability_selectors
from negotiations.reliability import services as reliability_services


class Command(BaseCommand):
    help = "Print a study's reliability report table (per element and overall) as JSON or CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--study", required=True, help="The study's slug.")
        parser.add_argument("--unit", choices=["segment", "source"], default="segment")
        parser.add_argument(
            "--level", choices=["nominal", "ordinal", "interval"], default="nominal"
        )
        parser.add_argument("--format", choices=["json", "csv"], default="json")

    def handle(self, *args: object, **options: object) -> None:
        study = Study.objects.filter(slug=options["study"]).first()
        if study is None:
            raise CommandError(f"No study with the slug {options['study']!r}.", returncode=2)
        filters = reliability_selectors.ReliabilityFilters(
            unit=str(options["unit"]), level=str(options["level"])
        )
        report = reliability_services.reliability_report(study=study, filters=filters)
        if options["format"] == "csv":
            for line in csv_lines(
                reliability_report.RELIABILITY_COLUMNS, reliability_report.reliability_rows(report)
            ):
                self.stdout.write(line, ending="")
            return
        table = [
            dict(zip(reliability_report.RELIABILITY_COLUMNS, row, strict=True))
            for row in reliability_report.reliability_rows(report)
        ]
        self.stdout.write(json.dumps({"study": study.slug, "rows": table}, indent=2))
