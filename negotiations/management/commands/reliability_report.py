import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from negotiations import exports, services
from negotiations.models import Study
from negotiations.selectors import ReliabilityFilters


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
        filters = ReliabilityFilters(unit=str(options["unit"]), level=str(options["level"]))
        report = services.reliability_report(study=study, filters=filters)
        if options["format"] == "csv":
            for line in exports.csv_lines(
                exports.RELIABILITY_COLUMNS, exports.reliability_rows(report)
            ):
                self.stdout.write(line, ending="")
            return
        table = [
            dict(zip(exports.RELIABILITY_COLUMNS, row, strict=True))
            for row in exports.reliability_rows(report)
        ]
        self.stdout.write(json.dumps({"study": study.slug, "rows": table}, indent=2))
