import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from negotiations.models import Study
from negotiations.reliability import passages
from negotiations.reliability import report as reliability_report
from negotiations.reliability import selectors as reliability_selectors
from negotiations.reliability import services as reliability_services
from negotiations.tabular import csv_lines


class Command(BaseCommand):
    help = "Print a study's reliability report table (per element and overall) as JSON or CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--study", required=True, help="The study's slug.")
        parser.add_argument(
            "--unit",
            choices=["segment", "source", "passage"],
            default="segment",
            help="passage: Krippendorff's u-alpha of the passages themselves (unitizing).",
        )
        parser.add_argument(
            "--categories",
            choices=passages.CATEGORY_MODES,
            default="stance",
            help="Categories of the passage unit: the stance, or stance and party.",
        )
        parser.add_argument(
            "--level", choices=["nominal", "ordinal", "interval"], default="nominal"
        )
        parser.add_argument("--format", choices=["json", "csv"], default="json")

    def handle(self, *args: object, **options: object) -> None:
        study = Study.objects.filter(slug=options["study"]).first()
        if study is None:
            raise CommandError(f"No study with the slug {options['study']!r}.", returncode=2)
        filters = reliability_selectors.ReliabilityFilters(
            unit=str(options["unit"]),
            level=str(options["level"]),
            categories=str(options["categories"]),
        )
        if filters.unit == "passage":
            self._passages(study, filters, str(options["format"]))
            return
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

    def _passages(self, study: Study, filters: object, output: str) -> None:
        report = reliability_services.passage_report(study=study, filters=filters)
        assert report is not None
        if output == "csv":
            for line in csv_lines(passages.PASSAGE_COLUMNS, passages.passage_rows(report)):
                self.stdout.write(line, ending="")
            return
        table = [
            dict(zip(passages.PASSAGE_COLUMNS, row, strict=True))
            for row in passages.passage_rows(report)
        ]
        payload = {
            "study": study.slug,
            "unit": "passage",
            "categories": report["mode"],
            "length": report["length"],
            "n_sources": report["n_sources"],
            "left_out": report["left_out"],
            "coders": report["coders"],
            "rows": table,
        }
        self.stdout.write(json.dumps(payload, indent=2))
