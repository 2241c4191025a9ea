from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from negotiations.models import Study
from negotiations.sources import imports as source_imports
from negotiations.wording import counted


class Command(BaseCommand):
    help = (
        "Import statements from a CSV or XLSX file into a study. With any invalid row nothing is "
        "saved, the problems are printed and the command exits with status 2."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--study", required=True, help="The study's slug.")
        parser.add_argument("--dry-run", action="store_true", help="Check the file; save nothing.")
        parser.add_argument(
            "--create-missing",
            action="store_true",
            help="Create negotiations, phases and parties that the file names but the study lacks.",
        )

    def handle(self, *args: object, **options: object) -> None:
        path: Path = options["file"]  # type: ignore[assignment]
        study = Study.objects.filter(slug=options["study"]).first()
        if study is None:
            raise CommandError(f"No study with the slug {options['study']!r}.", returncode=2)
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.", returncode=2) from None
        report = source_imports.sources_import(
            study=study,
            filename=path.name,
            content=content,
            actor=None,
            dry_run=bool(options["dry_run"]),
            create_missing=bool(options["create_missing"]),
        )
        if not report.ok:
            for problem in report.problems or []:
                where = []
                if problem.row is not None:
                    where.append(f"row {problem.row}")
                if problem.column:
                    where.append(f"column {problem.column}")
                prefix = (", ".join(where) + ": ") if where else ""
                self.stdout.write(f"{prefix}{problem.message}")
            raise CommandError(
                f"{len(report.problems or [])} problem(s) in {path.name}; nothing was saved "
                "(rows are numbered as in a spreadsheet, the header being row 1).",
                returncode=2,
            )
        for created in report.created or []:
            self.stdout.write(f"created {created}")
        if options["dry_run"]:
            self.stdout.write(
                f"{counted(report.n_rows, 'row')} checked: no problems (dry run, nothing saved)."
            )
        else:
            imported = counted(report.n_imported, "source")
            self.stdout.write(self.style.SUCCESS(f"Imported {imported}."))
