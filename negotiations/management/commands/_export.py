"""Shared plumbing of the export commands: a study by slug and an output file or stdout."""

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from django.core.management.base import CommandError, CommandParser

from negotiations.models import Study


def add_export_arguments(parser: CommandParser) -> None:
    parser.add_argument("--study", required=True, help="The study's slug.")
    parser.add_argument("--output", type=Path, help="Write to this file instead of stdout.")


def study_or_error(slug: str) -> Study:
    study = Study.objects.filter(slug=slug).first()
    if study is None:
        raise CommandError(f"No study with the slug {slug!r}.", returncode=2)
    return study


@contextmanager
def output_stream(path: Path | None, default: IO[str] | None = None) -> Iterator[IO[str]]:
    """The file at `path`, or `default` (a command's self.stdout, so call_command captures it)."""
    if path is None:
        yield default if default is not None else sys.stdout
        return
    with path.open("w", encoding="utf-8", newline="") as handle:
        yield handle


def write_lines(handle: IO[str], lines: Iterable[str]) -> int:
    n = -1  # the header is not a row
    for line in lines:
        handle.write(line)
        n += 1
    return n
