from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.text import slugify

from negotiations.interchange import planning as interchange_planning
from negotiations.interchange import services as interchange_services
from negotiations.models import Study
from negotiations.wording import counted


class Command(BaseCommand):
    help = (
        "Import a REFI-QDA project (.qdpx or a bare .qde) from NVivo, ATLAS.ti, MAXQDA, "
        "QualCoder or TrustCoder into a study, creating the study if it does not exist. Prints "
        "what will be created and mapped; a file that cannot be imported exits with status 2 "
        "and saves nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--study", required=True, help="The study's slug.")
        parser.add_argument(
            "--name",
            default="",
            help="Name of a study created by the import (default: the file's).",
        )
        parser.add_argument(
            "--owner",
            default="",
            help="Username of the owner of a study created by the import (default: the first "
            "superuser).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Show the plan; save nothing.")

    def handle(self, *args: object, **options: object) -> None:
        path: Path = options["file"]  # type: ignore[assignment]
        slug = str(options["study"])
        limit = settings.TRUSTCODER_MAX_QDPX_BYTES
        try:
            size = path.stat().st_size
            if size > limit:
                raise CommandError(
                    f"{path.name} has {size:,} bytes; the limit is {limit:,} "
                    "(TRUSTCODER_MAX_QDPX_BYTES).",
                    returncode=2,
                )
            content = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.", returncode=2) from None
        study = Study.objects.filter(slug=slug).first()
        owner = None
        if study is None:
            owner = self._owner(str(options["owner"]))
            if slugify(slug) != slug:
                raise CommandError(f"{slug!r} is not a valid slug.", returncode=2)
        plan = interchange_planning.qdpx_import_plan(
            content=content, study=study, study_name=str(options["name"])
        )
        if study is None and not plan.study_name:
            plan.study_name = plan.project_name or slug
        for line in plan.summary_lines():
            self.stdout.write(line)
        if not plan.ok:
            raise CommandError(
                f"{len(plan.problems)} problem(s) in {path.name}; nothing was saved.", returncode=2
            )
        if options["dry_run"]:
            self.stdout.write("Dry run: nothing was saved.")
            return
        try:
            study = interchange_services.qdpx_import(
                plan=plan, actor=owner, study=study, new_study_slug=slug
            )
        except ValidationError as err:
            raise CommandError(
                f"{path.name} cannot be imported: {'; '.join(err.messages)}. Nothing was saved.",
                returncode=2,
            ) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {counted(len(plan.sources), 'source')} and "
                f"{counted(plan.n_codings, 'coding')} into "
                f"'{study.slug}'."
            )
        )

    def _owner(self, username: str) -> User:
        users = get_user_model().objects.filter(is_active=True)
        owner = (
            users.filter(username=username).first()
            if username
            else users.filter(is_superuser=True).order_by("pk").first()
        )
        if owner is None:
            raise CommandError(
                f"No user {username!r} to own the new study."
                if username
                else "The study does not exist and there is no superuser to own it; "
                "give --owner USERNAME.",
                returncode=2,
            )
        return owner
