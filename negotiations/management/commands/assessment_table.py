import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from negotiations.assessments import selectors as assessment_selectors
from negotiations.consensus import services as consensus_services
from negotiations.models import Study
from negotiations.tabular import csv_lines


class Command(BaseCommand):
    help = (
        "Print a study's assessment table: one row per negotiation x phase ('all' for the whole "
        "negotiation) x element x party, with the evidence, the verdict and any override."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--study", required=True, help="The study's slug.")
        parser.add_argument("--format", choices=["csv", "json"], default="csv")

    def handle(self, *args: object, **options: object) -> None:
        study = Study.objects.filter(slug=options["study"]).first()
        if study is None:
            raise CommandError(f"No study with the slug {options['study']!r}.", returncode=2)
        consensus_services.consensus_sync(study=study)
        data = assessment_selectors.assessment(study=study)
        if options["format"] == "json":
            rows = [
                dict(zip(assessment_selectors.ASSESSMENT_COLUMNS, row, strict=True))
                for row in assessment_selectors.assessment_rows(data)
            ]
            self.stdout.write(json.dumps({"study": study.slug, "rows": rows}, indent=2))
            return
        for line in csv_lines(
            assessment_selectors.ASSESSMENT_COLUMNS, assessment_selectors.assessment_rows(data)
        ):
            self.stdout.write(line, ending="")
