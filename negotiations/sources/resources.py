"""django-import-export resources: the bulk import of statements and the admin's buttons.

`SourceResource` resolves negotiations, phases and parties from lookups built once per import
and creates sources and their segments in batches, so a 10,000-row file costs a few dozen queries,
not one per row. It never updates an existing source: every row is a new statement.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from contextvars import ContextVar
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.text import slugify
from import_export import fields, resources, widgets

from negotiations.models import (
    Code,
    Coding,
    Negotiation,
    NegotiationParty,
    Party,
    Phase,
    PhaseKind,
    Segment,
    Source,
    SourceType,
    Study,
    validate_language_tag,
)
from negotiations.sources import selectors
from negotiations.sources.text import normalise_text, split_sentences
from negotiations.tabular import unneutralise

IMPORT_COLUMNS = tuple(c for c in selectors.SOURCE_COLUMNS if c != "source_id")


REQUIRED_COLUMNS = ("negotiation", "title", "text")


PARTY_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,20}$")


# Set by a background job around an import: called with (rows read, rows in the file) as the
# import goes, so the job's progress bar moves without the import knowing about jobs.
row_progress: ContextVar[Callable[[int, int], None] | None] = ContextVar(
    "row_progress", default=None
)


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        return unneutralise(value.strip())
    return value


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class LookupWidget(widgets.Widget):
    """Turns a cell into a study object through a function of the resource."""

    def __init__(self, resolve: Callable[[Any, dict[str, Any]], Any]) -> None:
        super().__init__()
        self.resolve = resolve

    def clean(self, value: Any, row: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return self.resolve(value, row or {})

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        return "" if value is None else str(value)


class SourceResource(resources.ModelResource):
    """Imports statements with their metadata into one study."""

    negotiation = fields.Field(attribute="negotiation", column_name="negotiation")
    phase = fields.Field(attribute="phase", column_name="phase")
    title = fields.Field(attribute="title", column_name="title")
    date = fields.Field(attribute="date", column_name="date")
    speaker = fields.Field(attribute="speaker", column_name="speaker")
    speaker_party = fields.Field(attribute="speaker_party", column_name="speaker_party")
    source_type = fields.Field(attribute="source_type", column_name="source_type")
    citation = fields.Field(attribute="citation", column_name="citation")
    url = fields.Field(attribute="url", column_name="url")
    language = fields.Field(attribute="language", column_name="language")
    text = fields.Field(attribute="text", column_name="text")

    class Meta:
        model = Source
        fields = IMPORT_COLUMNS
        import_order = IMPORT_COLUMNS
        force_init_instance = True
        use_bulk = True
        batch_size = 500
        skip_diff = True
        skip_html_diff = True
        clean_model_instances = False
        report_skipped = False

    def __init__(
        self,
        *,
        study: Study,
        actor: User | None,
        create_missing: bool = False,
        line_numbers: list[int] | None = None,
    ) -> None:
        super().__init__()
        # Spreadsheet row of each data row (header = row 1), for messages naming another row.
        self.line_numbers = line_numbers or []
        self.study = study
        self.actor = actor
        self.create_missing = create_missing
        self.created_objects: list[str] = []
        # Set when before_import refuses the header: reading the rows would only add one
        # meaningless error per row (the lookups were never built).
        self._header_refused = False
        self._total_rows = 0
        for name, method in (
            ("negotiation", self.resolve_negotiation),
            ("phase", self.resolve_phase),
            ("title", self.resolve_title),
            ("date", self.resolve_date),
            ("speaker", self.resolve_short_text),
            ("speaker_party", self.resolve_party),
            ("source_type", self.resolve_source_type),
            ("citation", self.resolve_text_or_blank),
            ("url", self.resolve_url),
            ("language", self.resolve_language),
            ("text", self.resolve_text),
        ):
            self.fields[name].widget = LookupWidget(method)

    # Set-up ---------------------------------------------------------------------------------

    def before_import(self, dataset: Any, **kwargs: Any) -> None:
        headers = [str(h or "").strip().lstrip("\ufeff").lower() for h in dataset.headers or []]
        missing = [c for c in REQUIRED_COLUMNS if c not in headers]
        unknown = [h for h in headers if h and h not in IMPORT_COLUMNS and h != "source_id"]
        duplicated = sorted({h for h in headers if h and headers.count(h) > 1})
        problems = []
        if missing:
            problems.append(f"missing column(s): {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown column(s): {', '.join(unknown)}")
        if duplicated:
            problems.append(f"repeated column(s): {', '.join(duplicated)}")
        if problems:
            self._header_refused = True
            raise ValueError(
                "The header row has "
                + "; ".join(problems)
                + f". Expected columns: {', '.join(IMPORT_COLUMNS)}."
            )
        dataset.headers = headers
        self._total_rows = len(dataset)
        self._negotiations: dict[str, Negotiation] = {}
        for negotiation in Negotiation.objects.filter(study=self.study):
            self._negotiations[negotiation.name.lower()] = negotiation
            self._negotiations[negotiation.slug.lower()] = negotiation
        self._phases: dict[tuple[int, str], Phase] = {
            (p.negotiation_id, p.name.lower()): p
            for p in Phase.objects.filter(negotiation__study=self.study)
        }
        # Parties match their code or name exactly: "us" is not "US" (codes are unique ignoring
        # case, so a near miss is reported with the party it resembles, never guessed).
        self._parties: dict[str, Party] = {}
        for party in Party.objects.filter(study=self.study):
            self._parties.setdefault(party.name, party)
        for party in Party.objects.filter(study=self.study):
            self._parties[party.code] = party
        self._digests: dict[str, str] = {
            digest: f"source #{pk}"
            for pk, digest in Source.objects.filter(study=self.study).values_list(
                "pk", "text_sha256"
            )
        }
        self._row_digest: dict[int, str] = {}
        # Links already made, so --create-missing costs no query per row.
        self._negotiation_parties: set[tuple[int, int]] = set(
            NegotiationParty.objects.filter(negotiation__study=self.study).values_list(
                "negotiation_id", "party_id"
            )
        )

    def _line(self, row_number: int) -> int:
        if 0 < row_number <= len(self.line_numbers):
            return self.line_numbers[row_number - 1]
        return row_number + 1

    def init_instance(self, row: Any = None) -> Source:
        return Source(study=self.study, created_by=self.actor)

    # Cell resolution: each raises ValueError with a message for the user ---------------------

    def resolve_negotiation(self, value: Any, row: dict[str, Any]) -> Negotiation:
        name = str(_cell(value) or "")
        if not name:
            raise ValueError("A negotiation is required.")
        negotiation = self._negotiations.get(name.lower())
        if negotiation is not None:
            return negotiation
        if not self.create_missing:
            known = sorted({n.name for n in self._negotiations.values()})
            raise ValueError(
                f"Unknown negotiation {name!r}. The study has: {', '.join(known) or 'none yet'}."
            )
        if len(name) > 200:
            raise ValueError("A negotiation name has at most 200 characters.")
        slug = slugify(name)[:50] or "negotiation"
        base, n = slug, 2
        while any(x.slug == slug for x in self._negotiations.values()) or (
            Negotiation.objects.filter(study=self.study, slug=slug).exists()
        ):
            slug, n = f"{base}-{n}", n + 1
        negotiation = Negotiation.objects.create(study=self.study, name=name, slug=slug)
        self._negotiations[name.lower()] = negotiation
        self._negotiations[slug] = negotiation
        self.created_objects.append(f"negotiation {name}")
        return negotiation

    def resolve_phase(self, value: Any, row: dict[str, Any]) -> Phase | None:
        name = str(_cell(value) or "")
        if not name:
            return None
        negotiation = self._negotiations.get(str(_cell(row.get("negotiation")) or "").lower())
        if negotiation is None:
            raise ValueError("The phase cannot be checked without a known negotiation.")
        phase = self._phases.get((negotiation.pk, name.lower()))
        if phase is not None:
            return phase
        if not self.create_missing:
            known = sorted(p.name for (nid, _), p in self._phases.items() if nid == negotiation.pk)
            raise ValueError(
                f"Unknown phase {name!r} of {negotiation.name}. "
                f"Its phases are: {', '.join(known) or 'none yet'}."
            )
        kind = next(
            (
                k
                for k, label in PhaseKind.choices
                if label.lower() == name.lower() or k == name.lower()
            ),
            PhaseKind.NEGOTIATION,
        )
        phase = Phase.objects.create(negotiation=negotiation, name=name[:200], kind=kind)
        self._phases[(negotiation.pk, name.lower())] = phase
        self.created_objects.append(f"phase {name} of {negotiation.name}")
        return phase

    def resolve_party(self, value: Any, row: dict[str, Any]) -> Party | None:
        name = str(_cell(value) or "")
        if not name:
            return None
        party = self._parties.get(name)
        if party is None:
            near = sorted(
                {p.code for key, p in self._parties.items() if key.lower() == name.lower()}
            )
            if near:
                raise ValueError(
                    f"Unknown party {name!r}; parties match exactly. Did you mean "
                    f"{' or '.join(near)}?"
                )
            if not self.create_missing:
                known = sorted({p.code for p in self._parties.values()})
                raise ValueError(
                    f"Unknown party {name!r}. The study has: {', '.join(known) or 'none yet'}."
                )
            if not PARTY_CODE.match(name):
                raise ValueError(
                    f"{name!r} cannot become a party code; use letters, digits, '-', '_' or '.'."
                )
            party = Party.objects.create(study=self.study, code=name, name=name)
            self._parties[name] = party
            self.created_objects.append(f"party {name}")
        negotiation = self._negotiations.get(str(_cell(row.get("negotiation")) or "").lower())
        link = (negotiation.pk, party.pk) if negotiation is not None else None
        if link is not None and link not in self._negotiation_parties:
            if not self.create_missing:
                raise ValueError(
                    f"{party.code} is not a party of {negotiation.name}; add it to the "
                    "negotiation first (or import with the option to create what is missing)."
                )
            NegotiationParty.objects.get_or_create(negotiation=negotiation, party=party)
            self._negotiation_parties.add(link)
        return party

    def resolve_title(self, value: Any, row: dict[str, Any]) -> str:
        title = str(_cell(value) or "")
        if not title:
            raise ValueError("A title is required.")
        if len(title) > 500:
            raise ValueError(f"The title has {len(title)} characters; the limit is 500.")
        return title

    def resolve_short_text(self, value: Any, row: dict[str, Any]) -> str:
        text = str(_cell(value) or "")
        if len(text) > 200:
            raise ValueError(f"This cell has {len(text)} characters; the limit is 200.")
        return text

    def resolve_text_or_blank(self, value: Any, row: dict[str, Any]) -> str:
        return str(_cell(value) or "")

    def resolve_date(self, value: Any, row: dict[str, Any]) -> date | None:
        value = _cell(value)
        if _blank(value):
            return None
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise ValueError(f"{value!r} is not a date; write dates as YYYY-MM-DD.") from None

    def resolve_source_type(self, value: Any, row: dict[str, Any]) -> str:
        value = str(_cell(value) or "").lower()
        if not value:
            return SourceType.OTHER
        for key, label in SourceType.choices:
            if value in (key, label.lower()):
                return key
        raise ValueError(
            f"Unknown source type {value!r}; use one of {', '.join(SourceType.values)}."
        )

    def resolve_url(self, value: Any, row: dict[str, Any]) -> str:
        url = str(_cell(value) or "")
        if not url:
            return ""
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError:
            raise ValueError(f"{url[:80]!r} is not a web address (http or https).") from None
        if len(url) > 1000:
            raise ValueError("The web address is longer than 1000 characters.")
        return url

    def resolve_language(self, value: Any, row: dict[str, Any]) -> str:
        language = str(_cell(value) or "")
        if not language:
            return "en"
        if len(language) > 16:
            raise ValueError(f"{language[:20]!r} is not a language tag such as en or ko.")
        try:
            validate_language_tag(language)
        except ValidationError as exc:
            raise ValueError(exc.messages[0]) from None
        return language

    def resolve_text(self, value: Any, row: dict[str, Any]) -> str:
        text = normalise_text(str(_cell(value) or ""))
        if not text:
            raise ValueError("The text is empty.")
        limit = settings.TRUSTCODER_MAX_TEXT_CHARS
        if len(text) > limit:
            raise ValueError(f"The text has {len(text):,} characters; the limit is {limit:,}.")
        return text

    # Row checks and saving -------------------------------------------------------------------

    def import_row(self, row: Any, instance_loader: Any, **kwargs: Any) -> Any:
        report = row_progress.get()
        if report is not None:
            report(kwargs.get("row_number", 0), self._total_rows)
        if self._header_refused:
            row_result = self.get_row_result_class()()
            row_result.import_type = row_result.IMPORT_TYPE_SKIP
            return row_result
        return super().import_row(row, instance_loader, **kwargs)

    def import_instance(self, instance: Source, row: dict[str, Any], **kwargs: Any) -> None:
        errors: dict[str, Any] = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if "text" not in errors and instance.text:
            digest = hashlib.sha256(instance.text.encode("utf-8")).hexdigest()
            instance.text_sha256 = digest
            seen = self._digests.get(digest)
            if seen is not None:
                errors.setdefault("text", []).append(
                    ValidationError(f"The same text is already in the study as {seen}.")
                )
            else:
                self._digests[digest] = (
                    f"row {self._line(kwargs.get('row_number', 0))} of this file"
                )
        if errors:
            raise ValidationError(errors)

    def bulk_create(
        self,
        using_transactions: bool,
        dry_run: bool,
        raise_errors: bool,
        batch_size: int | None = None,
        result: Any = None,
    ) -> None:
        sources = list(self.create_instances)
        super().bulk_create(using_transactions, dry_run, raise_errors, batch_size, result)
        if dry_run or not sources or any(s.pk is None for s in sources):
            return
        Segment.objects.bulk_create(
            (
                Segment(source=source, index=i, start=start, end=end)
                for source in sources
                for i, (start, end) in enumerate(split_sentences(source.text))
            ),
            batch_size=5000,
        )


class CodeResource(resources.ModelResource):
    """Admin export of codebooks."""

    study = fields.Field(attribute="study__slug", column_name="study", readonly=True)
    code_set = fields.Field(attribute="code_set__slug", column_name="code_set", readonly=True)

    class Meta:
        model = Code
        fields = (
            "id",
            "study",
            "code_set",
            "name",
            "label",
            "definition",
            "when_to_use",
            "when_not_to_use",
            "example",
            "colour",
            "key",
            "order",
            "archived",
        )


class CodingResource(resources.ModelResource):
    """Admin export of codings, in the columns of the study export."""

    study = fields.Field(attribute="source__study__slug", column_name="study")
    coder = fields.Field(attribute="coder__username", column_name="coder")
    code = fields.Field(attribute="code__name", column_name="code")
    demonstrating_party = fields.Field(
        attribute="demonstrating_party__code", column_name="demonstrating_party"
    )

    class Meta:
        model = Coding
        fields = (
            "id",
            "study",
            "source",
            "coder",
            "code",
            "stance",
            "demonstrating_party",
            "strength",
            "start",
            "end",
            "quote",
            "memo",
            "created_at",
            "updated_at",
        )

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .select_related("source__study", "coder", "code", "demonstrating_party")
        )
