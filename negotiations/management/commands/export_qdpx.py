from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser

from negotiations.interchange import selectors as interchange_selectors
from negotiations.interchange.qdpx import write_qdc, write_qdpx
from negotiations.management.commands._export import study_or_error


class Command(BaseCommand):
    help = (
        "Export a study as a REFI-QDA project (.qdpx) for NVivo, ATLAS.ti, MAXQDA or QualCoder; "
        "with an output ending in .qdc (or --codebook), the codebook alone."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--study", required=True, help="The study's slug.")
        parser.add_argument("--output", type=Path, required=True, help="FILE.qdpx or FILE.qdc")
        parser.add_argument(
            "--codebook", action="store_true", help="Write only the codebook (.qdc)."
        )

    def handle(self, *args: object, **options: object) -> None:
        study = study_or_error(str(options["study"]))
        output: Path = options["output"]  # type: ignore[assignment]
        if options["codebook"] or output.suffix.lower() == ".qdc":
            codes = interchange_selectors.codebook_codes(study=study)
            output.write_bytes(write_qdc(codes))
            self.stderr.write(f"Wrote {len(codes)} codes and code sets to {output}.")
            return
        project = interchange_selectors.study_project(study=study)
        output.write_bytes(write_qdpx(project))
        self.stderr.write(
            f"Wrote {len(project.sources)} sources, {len(project.selections)} codings, "
            f"{len(project.codes)} codes and code sets and {len(project.users)} coders to {output}."
        )
