"""TrustCoder's data model, in the words of DOMAIN.md.

Every row belongs to exactly one study, directly or through its source or negotiation, so that
nothing of one study can be reached from another. Offsets are Unicode code points, end exclusive,
into `Source.text` as stored (NFC, `\\n` line endings).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    SUPERVISOR = "supervisor", "Supervisor"
    CODER = "coder", "Coder"
    READER = "reader", "Reader"


# Roles that may manage a study's set-up (codebook, sources, negotiations, assignments).
MANAGING_ROLES = frozenset({Role.OWNER, Role.SUPERVISOR})


class Study(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    description = models.TextField(blank=True)
    blind_coding = models.BooleanField(
        default=True,
        help_text="Coders see nobody else's codings of a source until they submit their own.",
    )
    snap_to_words = models.BooleanField(
        default=True, help_text="Selections in the coding page widen to whole words."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Bumped by every write that can change agreement or assessments (codings, submissions),
    # so cached reports know when they are stale.
    data_version = models.PositiveBigIntegerField(default=0, editable=False)
    # The data_version the consensus layer was last brought up to date with.
    consensus_version = models.PositiveBigIntegerField(default=0, editable=False)
    # Whether coders may see their own agreement with the consensus.
    consensus_released = models.BooleanField(
        default=False, help_text="Coders see their own agreement with the consensus."
    )
    # The assessment rule (DOMAIN.md section 5), editable by supervisors; see assessment.py.
    rule_min_sources = models.PositiveSmallIntegerField(
        default=2,
        help_text="Below this many sources with evidence, a verdict is 'insufficient evidence'.",
    )
    rule_use_strength = models.BooleanField(
        default=True,
        help_text="Weigh passages by evidence strength (otherwise every passage weighs 1).",
    )
    rule_contested_min_weight = models.FloatField(
        default=3.0,
        help_text="Both sides need at least this weight for a verdict of 'contested'.",
    )
    rule_contested_ratio = models.FloatField(
        default=1.5,
        help_text="...and the stronger side at most this many times the weaker.",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="studies"
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "studies"

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["study", "user__username"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "user"],
                name="membership_unique_user",
                violation_error_message="This person is already a member of the study.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.study} ({self.role})"

    @property
    def can_manage(self) -> bool:
        return self.role in MANAGING_ROLES


class Party(models.Model):
    """A negotiating party (US, DPRK, ROK, KEDO...), shared by the study's negotiations."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="parties")
    code = models.CharField(
        max_length=20,
        validators=[RegexValidator(r"^[A-Za-z0-9_.-]+$", "Use letters, digits, '-', '_' or '.'.")],
        help_text="Short code used in exports, e.g. US or DPRK.",
    )
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "parties"
        constraints = [
            models.UniqueConstraint(
                fields=["study", "code"],
                name="party_unique_code",
                violation_error_message="A party with this code already exists in the study.",
            ),
            # "US" and "us" would be one party in every reader's eyes and in the importer.
            models.UniqueConstraint(
                "study",
                Lower("code"),
                name="party_unique_code_ignoring_case",
                violation_error_message="A party with this code (ignoring case) already exists.",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class Negotiation(models.Model):
    """A case, e.g. the Agreed Framework process."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="negotiations")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60)
    description = models.TextField(blank=True)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    order = models.PositiveIntegerField(default=0)
    parties = models.ManyToManyField(Party, through="NegotiationParty", related_name="negotiations")

    class Meta:
        ordering = ["order", "start_date", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "slug"],
                name="negotiation_unique_slug",
                violation_error_message="A negotiation with this short name already exists.",
            ),
            models.UniqueConstraint(
                fields=["study", "name"],
                name="negotiation_unique_name",
                violation_error_message="A negotiation with this name already exists in the study.",
            ),
            models.CheckConstraint(
                condition=Q(start_date__isnull=True)
                | Q(end_date__isnull=True)
                | Q(end_date__gte=F("start_date")),
                name="negotiation_dates_ordered",
                violation_error_message="The end date must be on or after the start date.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class NegotiationParty(models.Model):
    negotiation = models.ForeignKey(Negotiation, on_delete=models.CASCADE)
    party = models.ForeignKey(Party, on_delete=models.CASCADE)
    # Strategic trust in a case needs every element present for both principal parties.
    is_principal = models.BooleanField(default=False)

    class Meta:
        ordering = ["-is_principal", "party__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["negotiation", "party"], name="negotiation_party_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.party} in {self.negotiation}"


class PhaseKind(models.TextChoices):
    PRE_NEGOTIATION = "pre_negotiation", "Pre-negotiation"
    NEGOTIATION = "negotiation", "Negotiation"
    AGREEMENT = "agreement", "Agreement"
    IMPLEMENTATION = "implementation", "Implementation"
    BREAKDOWN = "breakdown", "Breakdown"
    COLLAPSE = "collapse", "Collapse"


class Phase(models.Model):
    negotiation = models.ForeignKey(Negotiation, on_delete=models.CASCADE, related_name="phases")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=PhaseKind.choices)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["negotiation", "order", "start_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["negotiation", "name"],
                name="phase_unique_name",
                violation_error_message="This negotiation already has a phase with this name.",
            ),
            models.CheckConstraint(
                condition=Q(start_date__isnull=True)
                | Q(end_date__isnull=True)
                | Q(end_date__gte=F("start_date")),
                name="phase_dates_ordered",
                violation_error_message="A phase must end on or after its start date.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Event(models.Model):
    """A key event of a negotiation, marked on its timeline."""

    negotiation = models.ForeignKey(Negotiation, on_delete=models.CASCADE, related_name="events")
    date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    title = models.CharField(max_length=300)

    class Meta:
        ordering = ["negotiation", "date"]

    def __str__(self) -> str:
        return f"{self.date}: {self.title}"


class CodeSet(models.Model):
    """A group of codes in the study's codebook: the three elements, or the five assumptions."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="code_sets")
    slug = models.SlugField(max_length=60)
    name = models.CharField(max_length=200)
    # The stance values are always `for` / `against`; a set may name them differently
    # (the assumptions are "reflecting" / "countering").
    for_label = models.CharField(max_length=40, default="for")
    against_label = models.CharField(max_length=40, default="against")
    enabled = models.BooleanField(default=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["study", "order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "slug"],
                name="code_set_unique_slug",
                violation_error_message="A code set with this short name already exists.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


# One rule for every way a source arrives (form, import): a BCP 47-like tag such as en, ko, zh-Hant.
language_tag = RegexValidator(
    r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*\Z", "Use a language tag such as en, ko or zh-Hant."
)


def validate_language_tag(value: str) -> None:
    """The language rule with the value in the message, as the importer reports it."""
    try:
        language_tag(value)
    except ValidationError:
        raise ValidationError(
            f"{value!r} is not a language tag such as en or ko.", code="invalid"
        ) from None


hex_colour = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a colour like #a6cee3.")


class Code(models.Model):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="codes")
    code_set = models.ForeignKey(CodeSet, on_delete=models.CASCADE, related_name="codes")
    name = models.CharField(
        max_length=60,
        validators=[RegexValidator(r"^[A-Z][A-Z0-9_]*$", "Use capitals, digits and '_'.")],
        help_text="Short name used in exports, e.g. ZOPA.",
    )
    label = models.CharField(max_length=200, help_text="e.g. Understanding of interests")
    definition = models.CharField(max_length=500)
    when_to_use = models.TextField(blank=True)
    when_not_to_use = models.TextField(blank=True)
    example = models.TextField(blank=True)
    colour = models.CharField(max_length=7, validators=[hex_colour], default="#a6cee3")
    key = models.CharField(
        max_length=1,
        blank=True,
        validators=[RegexValidator(r"^[0-9a-z]$", "Use one digit or lower-case letter.")],
        help_text="Keyboard key that picks this code on the coding page.",
    )
    order = models.PositiveIntegerField(default=0)
    # A code that has codings is archived rather than deleted, so no coding loses its code.
    archived = models.BooleanField(default=False)
    guid = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)

    class Meta:
        ordering = ["code_set__order", "order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "name"],
                name="code_unique_name",
                violation_error_message="A code with this name already exists in the codebook.",
            ),
            models.UniqueConstraint(
                fields=["study", "key"],
                condition=Q(archived=False) & ~Q(key=""),
                name="code_unique_active_key",
                violation_error_message="Another code in use already has this keyboard key.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CodebookVersion(models.Model):
    """A snapshot of the whole codebook after each change, with who changed it and when."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="codebook_versions")
    number = models.PositiveIntegerField()
    snapshot = models.JSONField()
    note = models.CharField(max_length=300)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["study", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["study", "number"], name="codebook_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.study} codebook v{self.number}"


class SourceType(models.TextChoices):
    OFFICIAL_STATEMENT = "official_statement", "Official statement"
    PRESS_BRIEFING = "press_briefing", "Press briefing"
    JOINT_STATEMENT = "joint_statement", "Joint statement"
    TESTIMONY = "testimony", "Testimony"
    INTERVIEW = "interview", "Interview"
    NEWS_REPORT = "news_report", "News report"
    OTHER = "other", "Other"


class Source(models.Model):
    """One primary-source statement. Its text never changes once anyone has coded it."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="sources")
    negotiation = models.ForeignKey(Negotiation, on_delete=models.PROTECT, related_name="sources")
    phase = models.ForeignKey(
        Phase, null=True, blank=True, on_delete=models.PROTECT, related_name="sources"
    )
    title = models.CharField(max_length=500)
    speaker = models.CharField(max_length=200, blank=True)
    speaker_party = models.ForeignKey(
        Party, null=True, blank=True, on_delete=models.PROTECT, related_name="sources"
    )
    date = models.DateField(null=True, blank=True)
    source_type = models.CharField(
        max_length=32, choices=SourceType.choices, default=SourceType.OFFICIAL_STATEMENT
    )
    citation = models.TextField(blank=True)
    url = models.URLField(max_length=1000, blank=True)
    language = models.CharField(
        max_length=16,
        default="en",
        validators=[validate_language_tag],
        help_text="BCP 47 tag, e.g. en, ko.",
    )
    text = models.TextField()
    text_sha256 = models.CharField(max_length=64, db_index=True, editable=False)
    original_filename = models.CharField(max_length=255, blank=True)
    # A correction of a coded text is a new source that supersedes the old one.
    version = models.PositiveIntegerField(default=1)
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="superseded_by"
    )
    guid = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["date", "pk"]
        indexes = [
            models.Index(fields=["study", "date"], name="source_study_date"),
            models.Index(fields=["study", "negotiation", "phase"], name="source_study_negotiation"),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        errors = {}
        if (
            self.phase_id
            and self.negotiation_id
            and self.phase.negotiation_id != self.negotiation_id
        ):
            errors["phase"] = "This phase belongs to another negotiation."
        if self.negotiation_id and self.negotiation.study_id != self.study_id:
            errors["negotiation"] = "This negotiation belongs to another study."
        if self.speaker_party_id and self.speaker_party.study_id != self.study_id:
            errors["speaker_party"] = "This party belongs to another study."
        elif (
            self.speaker_party_id
            and self.negotiation_id
            and not NegotiationParty.objects.filter(
                negotiation_id=self.negotiation_id, party_id=self.speaker_party_id
            ).exists()
        ):
            errors["speaker_party"] = (
                f"{self.speaker_party.code} is not a party of {self.negotiation.name}; "
                "add it to the negotiation first."
            )
        if errors:
            raise ValidationError(errors)


class Segment(models.Model):
    """A sentence of a source, computed once when the source is created."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="segments")
    index = models.PositiveIntegerField()
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()

    class Meta:
        ordering = ["source", "index"]
        constraints = [
            models.UniqueConstraint(fields=["source", "index"], name="segment_unique_index"),
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="segment_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.source_id}#{self.index} [{self.start}:{self.end}]"


class AssignmentStatus(models.TextChoices):
    ASSIGNED = "assigned", "Assigned"
    IN_PROGRESS = "in_progress", "In progress"
    SUBMITTED = "submitted", "Submitted"


class Assignment(models.Model):
    """A coder's status on one source. Only submitted work counts in agreement."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="assignments")
    coder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments"
    )
    status = models.CharField(
        max_length=16, choices=AssignmentStatus.choices, default=AssignmentStatus.ASSIGNED
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assigned_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["source", "coder"]
        constraints = [
            models.UniqueConstraint(fields=["source", "coder"], name="assignment_unique_coder"),
        ]
        indexes = [models.Index(fields=["coder", "status"], name="assignment_coder_status")]

    def __str__(self) -> str:
        return f"{self.coder} on {self.source_id}: {self.status}"


class Stance(models.TextChoices):
    FOR = "for", "For"
    AGAINST = "against", "Against"


class Strength(models.TextChoices):
    """Process-tracing tests, weakest to strongest."""

    STRAW_IN_THE_WIND = "straw_in_the_wind", "Straw in the wind"
    HOOP = "hoop", "Hoop"
    SMOKING_GUN = "smoking_gun", "Smoking gun"
    DOUBLY_DECISIVE = "doubly_decisive", "Doubly decisive"


class Coding(models.Model):
    """A tagged passage: one coder's evidence for or against one code, shown by one party."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="codings")
    coder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="codings"
    )
    code = models.ForeignKey(Code, on_delete=models.PROTECT, related_name="codings")
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    quote = models.TextField()
    stance = models.CharField(max_length=8, choices=Stance.choices)
    demonstrating_party = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="codings")
    strength = models.CharField(max_length=20, choices=Strength.choices, blank=True)
    memo = models.TextField(blank=True)
    guid = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["source", "start", "end", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="coding_not_empty"),
            # A double submit must not count one passage twice in agreement and assessments.
            models.UniqueConstraint(
                fields=["coder", "source", "start", "end", "code", "stance", "demonstrating_party"],
                name="coding_unique_passage",
            ),
        ]
        indexes = [
            models.Index(fields=["source", "coder"], name="coding_source_coder"),
            models.Index(fields=["code", "demonstrating_party"], name="coding_code_party"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.stance} {self.demonstrating_party} [{self.start}:{self.end}]"


class ImportStatus(models.TextChoices):
    CHECKING = "checking", "Being checked"
    PREVIEWED = "previewed", "Previewed"
    IMPORTED = "imported", "Imported"
    FAILED = "failed", "Failed"


class SourceImport(models.Model):
    """An uploaded CSV or XLSX of statements, kept between its preview and its confirmation."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="source_imports")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    filename = models.CharField(max_length=255)
    content = models.BinaryField()
    size = models.PositiveIntegerField(default=0, help_text="Bytes uploaded.")
    create_missing = models.BooleanField(default=False)
    status = models.CharField(
        max_length=16, choices=ImportStatus.choices, default=ImportStatus.PREVIEWED
    )
    n_rows = models.PositiveIntegerField(default=0)
    n_errors = models.PositiveIntegerField(default=0)
    n_imported = models.PositiveIntegerField(default=0)
    # The dry run's findings, computed once when the file is staged: the first rows as cells,
    # the objects --create-missing would add; the problems are SourceImportProblem rows.
    preview = models.JSONField(default=list, blank=True)
    created_objects = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.status})"


class QdpxImport(models.Model):
    """An uploaded REFI-QDA project, kept between its preview and its import.

    `study` is the study to import into; when it is empty the import creates a new study named
    `new_study_name` (slug `new_study_slug`) owned by the uploader. The content is emptied once
    the import has run.
    """

    study = models.ForeignKey(
        Study, null=True, blank=True, on_delete=models.CASCADE, related_name="qdpx_imports"
    )
    new_study_name = models.CharField(max_length=200, blank=True)
    new_study_slug = models.SlugField(max_length=60, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    filename = models.CharField(max_length=255)
    content = models.BinaryField()
    status = models.CharField(
        max_length=16, choices=ImportStatus.choices, default=ImportStatus.PREVIEWED
    )
    n_sources = models.PositiveIntegerField(default=0)
    n_codings = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    # The plan's public fields, computed once when the file is checked; the preview shows them.
    preview = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.status})"

    def get_preview_url(self) -> str:
        return reverse("negotiations:qdpx_import_preview", args=[self.pk])


class SourceImportProblem(models.Model):
    """One problem the dry run of a staged import found; rows numbered as in a spreadsheet."""

    source_import = models.ForeignKey(
        SourceImport, on_delete=models.CASCADE, related_name="problems"
    )
    position = models.PositiveIntegerField()
    row = models.PositiveIntegerField(null=True, blank=True)
    column = models.CharField(max_length=100, blank=True)
    message = models.TextField()

    class Meta:
        ordering = ["source_import", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["source_import", "position"], name="import_problem_unique_position"
            ),
        ]

    def __str__(self) -> str:
        return f"row {self.row}: {self.message}"


class JobKind(models.TextChoices):
    IMPORT_CHECK = "import_check", "Import check"
    IMPORT_RUN = "import_run", "Import"
    QDPX_CHECK = "qdpx_check", "REFI-QDA check"
    QDPX_IMPORT = "qdpx_import", "REFI-QDA import"
    QDPX_EXPORT = "qdpx_export", "REFI-QDA export"
    REPLICATION = "replication", "Replication package"
    RELIABILITY = "reliability", "Reliability report"
    PASSAGES = "passages", "Passages report"


class JobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Job(models.Model):
    """One piece of long work done by a background worker, with its progress and outcome."""

    # Empty only while a REFI-QDA file that will become a new study is checked or imported.
    study = models.ForeignKey(
        Study, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs"
    )
    kind = models.CharField(max_length=20, choices=JobKind.choices)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=12, choices=JobState.choices, default=JobState.QUEUED)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    source_import = models.ForeignKey(
        SourceImport, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    qdpx_import = models.ForeignKey(
        QdpxImport, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    # What the work needs besides its study (a report's filters and its cache key).
    params = models.JSONField(default=dict, blank=True)
    # A file the job made (an export), in the default storage under a random name; served only
    # by the job's download view, as `output_name`.
    output = models.FileField(upload_to="jobs/%Y/%m/", blank=True, max_length=200)
    output_name = models.CharField(max_length=200, blank=True)
    # What the job ended with, for people: a summary or the error.
    message = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["state", "heartbeat_at"], name="job_state_heartbeat")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.state})"

    @property
    def finished(self) -> bool:
        return self.state in (JobState.SUCCEEDED, JobState.FAILED)

    @property
    def duration_text(self) -> str:
        """How long the job ran (or has been running), as 1 h 2 min / 3 min 4 s / 5.6 s."""
        if self.started_at is None:
            return ""
        from django.utils import timezone

        seconds = ((self.finished_at or timezone.now()) - self.started_at).total_seconds()
        if seconds < 60:
            return f"{seconds:.1f} s"
        minutes, secs = divmod(round(seconds), 60)
        if minutes < 60:
            return f"{minutes} min {secs} s"
        hours, minutes = divmod(minutes, 60)
        return f"{hours} h {minutes} min"

    @property
    def progress_unit(self) -> str:
        """What the progress counts, for the bar's words ("1 of 1 row", "2 of 5 rows")."""
        unit = {
            JobKind.IMPORT_CHECK: "row",
            JobKind.IMPORT_RUN: "row",
            JobKind.QDPX_IMPORT: "sources and codings",
            JobKind.QDPX_EXPORT: "step",
            JobKind.REPLICATION: "table",
        }.get(self.kind, "step")
        if self.progress_total == 1 or unit.endswith("codings"):
            return unit
        return unit + "s"

    @property
    def percent(self) -> int:
        if not self.progress_total:
            return 100 if self.state == JobState.SUCCEEDED else 0
        return min(100, round(100 * self.progress_done / self.progress_total))


class ReportCache(models.Model):
    """A computed report (reliability, assessments), valid while the study's data_version holds."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="report_caches")
    key = models.CharField(max_length=64)
    data_version = models.PositiveBigIntegerField()
    payload = models.JSONField()
    seconds = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "key"], name="report_cache_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.study_id}:{self.key}@{self.data_version}"


class ConsensusStatus(models.TextChoices):
    OPEN = "open", "Open"
    SETTLED = "settled", "Settled"
    FLAGGED = "flagged", "Flagged for review"


class Decision(models.TextChoices):
    CODER = "coder", "Accepted a coder's reading"
    NONE = "none", "Accepted none"
    CUSTOM = "custom", "Consensus coding written"
    UNANIMOUS = "unanimous", "Unanimous"


class ConsensusUnit(models.Model):
    """A (sentence, code, party) unit in the consensus layer: a disagreement to settle, or a
    reading all submitted coders shared (unanimous). Coder layers are never changed by it."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="consensus_units")
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="consensus_units")
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="consensus_units")
    code = models.ForeignKey(Code, on_delete=models.PROTECT, related_name="consensus_units")
    party = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="consensus_units")
    status = models.CharField(
        max_length=12, choices=ConsensusStatus.choices, default=ConsensusStatus.OPEN
    )
    unanimous = models.BooleanField(default=False)
    decision = models.CharField(max_length=12, choices=Decision.choices, blank=True)
    chosen_coder = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rationale = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    # Each submitted coder's value ({user id: "for" | "against" | "mixed" | "none"}) as last seen,
    # and as it was when the unit was settled: a difference flags the unit for review.
    readings = models.JSONField(default=dict)
    decided_readings = models.JSONField(default=dict, blank=True)
    # How close the unit's negotiation x element x party evidence is to a tie (smaller first).
    impact = models.IntegerField(default=0)
    # Raised by every decision and reopening: a form showing an older version is refused.
    version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["source", "segment__index", "code", "party"]
        constraints = [
            models.UniqueConstraint(
                fields=["segment", "code", "party"], name="consensus_unit_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["study", "status"], name="consensus_study_status"),
            models.Index(fields=["study", "impact"], name="consensus_study_impact"),
        ]

    def __str__(self) -> str:
        return f"{self.source_id}#{self.segment_id} {self.code_id}/{self.party_id}: {self.status}"


class ConsensusCoding(models.Model):
    """A passage in the consensus layer, as a supervisor settled it (or as coders agreed)."""

    unit = models.ForeignKey(
        ConsensusUnit, on_delete=models.CASCADE, related_name="consensus_codings"
    )
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="consensus_codings")
    code = models.ForeignKey(Code, on_delete=models.PROTECT, related_name="consensus_codings")
    demonstrating_party = models.ForeignKey(
        Party, on_delete=models.PROTECT, related_name="consensus_codings"
    )
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    quote = models.TextField()
    stance = models.CharField(max_length=8, choices=Stance.choices)
    strength = models.CharField(max_length=20, choices=Strength.choices, blank=True)
    from_coding = models.ForeignKey(
        Coding, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["source", "start", "end", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="consensus_not_empty"),
        ]

    def __str__(self) -> str:
        return f"consensus {self.code_id} {self.stance} [{self.start}:{self.end}]"


class ConsensusEvent(models.Model):
    """The audit trail: every decision, reopening and flag, with who, when, before and after."""

    class Action(models.TextChoices):
        SETTLE = "settle", "Settled"
        REOPEN = "reopen", "Reopened"
        FLAG = "flag", "Flagged: coders changed their codings"
        UNANIMOUS = "unanimous", "Entered as unanimous"

    unit = models.ForeignKey(ConsensusUnit, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=12, choices=Action.choices)
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.action} at {self.at}"


class Verdict(models.TextChoices):
    PRESENT = "present", "Present"
    ABSENT = "absent", "Absent"
    CONTESTED = "contested", "Contested"
    INSUFFICIENT = "insufficient", "Insufficient evidence"


class AssessmentJudgement(models.Model):
    """A supervisor's written judgement on one cell of a negotiation's assessment, optionally
    overriding the computed verdict. Never edited: each change is a new row, so history stays."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="judgements")
    negotiation = models.ForeignKey(
        Negotiation, on_delete=models.CASCADE, related_name="judgements"
    )
    phase = models.ForeignKey(
        Phase, null=True, blank=True, on_delete=models.CASCADE, related_name="judgements"
    )
    code = models.ForeignKey(Code, on_delete=models.CASCADE, related_name="judgements")
    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="judgements")
    judgement = models.TextField(blank=True)
    override_verdict = models.CharField(max_length=16, choices=Verdict.choices, blank=True)
    rationale = models.TextField(blank=True)
    computed_verdict = models.CharField(max_length=16, choices=Verdict.choices, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["negotiation", "phase", "code", "party", "-created_at"],
                name="judgement_cell_latest",
            )
        ]

    def __str__(self) -> str:
        return f"{self.negotiation_id}/{self.phase_id}/{self.code_id}/{self.party_id}"


class ApiToken(models.Model):
    """A personal token for the read API. Only the SHA-256 digest of the secret is stored; the
    prefix (the secret's first characters) lets its owner tell tokens apart. A token acts exactly
    as its user. The request count of the current minute lives in the row, so the limit holds
    across every server process."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    rate_per_minute = models.PositiveIntegerField(default=120)
    window_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    window_count = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Invitation(models.Model):
    """A link that lets one person join a study with a role: single-use, expiring, revocable.

    Only the SHA-256 of the link's token is stored, so the link is shown once, when it is made."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(max_length=16, choices=Role.choices)
    email = models.EmailField(blank=True, help_text="Optional: who the invitation is for.")
    token_sha256 = models.CharField(max_length=64, unique=True, editable=False)
    expires_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.study_id}: {self.role} invitation ({self.email or 'no e-mail'})"

    @property
    def state(self) -> str:
        """One of "used", "withdrawn", "expired" or "open"."""
        if self.accepted_at is not None:
            return "used"
        if self.revoked_at is not None:
            return "withdrawn"
        if self.expires_at <= timezone.now():
            return "expired"
        return "open"


class ChangeRecord(models.Model):
    """A change to a study's structure that touched coded data: who, when, what it was before and
    after, and what it affected (sources re-filed, parties removed, renamed or merged)."""

    class Action(models.TextChoices):
        SOURCE_REFILED = "source_refiled", "Coded source re-filed"
        NEGOTIATION_PARTIES = "negotiation_parties", "Negotiation parties changed"
        PARTY_RENAMED = "party_renamed", "Party renamed"
        PARTY_MERGED = "party_merged", "Party merged"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="change_records")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=24, choices=Action.choices)
    summary = models.CharField(max_length=500)
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)
    affected = models.JSONField(default=dict)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.study_id} {self.action} at {self.at}"
