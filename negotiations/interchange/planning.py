"""Planning a REFI-QDA import: what a file will create and map in a study, decided without saving.

`qdpx_import_plan` reads the file and the study and returns an `ImportPlan`; the preview page
shows it, and `services.qdpx_import` saves exactly it.

What a file without TrustCoder's own fields gets (docs/decisions.md, "REFI-QDA interchange"):
stance `for`, the demonstrating party named by the source's `Party` variable or else the party
`UNSPECIFIED`, the negotiation of the source's Case or else one named after the project.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.text import slugify

from negotiations.interchange.mapping import (
    DEFINITION_MAX,
    CodeFields,
    CodeSetFields,
    StoredText,
    code_label,
    colour_from,
    derive_code_names,
    parse_code_description,
    parse_code_set,
    parse_coding_description,
    parse_parties,
)
from negotiations.interchange.qdpx import QdaProject, QdaUser, QdpxError, read_project
from negotiations.models import (
    Code,
    CodeSet,
    Membership,
    Negotiation,
    Party,
    PhaseKind,
    Role,
    SourceType,
    Stance,
    Strength,
    Study,
)
from negotiations.sources import services as source_services

Progress = Callable[[int, int], None]

UNSPECIFIED_PARTY = ("UNSPECIFIED", "Not specified in the imported file")
_USERNAME_OK = re.compile(r"^[\w.@+-]+\Z")
_PARTY_OK = re.compile(r"^[A-Za-z0-9_.-]{1,20}$")
_PALETTE = ("#a6cee3", "#b2df8a", "#fb9a99", "#fdbf6f", "#cab2d6", "#ffff99", "#8dd3c7", "#bebada")


class QdpxImportError(Exception):
    """The file cannot be imported; `plan.problems` says why. Nothing was saved."""

    def __init__(self, plan: ImportPlan) -> None:
        super().__init__("; ".join(plan.problems))
        self.plan = plan


@dataclass
class _Source:
    guid: str
    title: str
    text: str
    negotiation: str
    phase: tuple[str, str] | None
    speaker: str
    party: str
    date: date | None
    source_type: str
    citation: str
    url: str
    language: str


@dataclass
class _Coding:
    source_guid: str
    start: int
    end: int
    code_guid: str
    user_guid: str
    stance: str
    party: str
    strength: str
    memo: str


@dataclass
class _Code:
    guid: str
    name: str
    label: str
    set_slug: str
    fields: CodeFields
    colour: str
    existing: bool


@dataclass
class ImportPlan:
    """What an import will create and map; shown in the preview before anything is saved."""

    project_name: str = ""
    origin: str = ""
    position_convention: str = ""
    study_name: str = ""
    new_study: bool = False
    sources: list[str] = field(default_factory=list)
    code_sets_created: list[str] = field(default_factory=list)
    codes_created: list[tuple[str, str]] = field(default_factory=list)
    codes_mapped: list[str] = field(default_factory=list)
    users_created: list[tuple[str, str]] = field(default_factory=list)
    users_mapped: list[tuple[str, str]] = field(default_factory=list)
    parties_created: list[str] = field(default_factory=list)
    negotiations_created: list[str] = field(default_factory=list)
    phases_created: list[str] = field(default_factory=list)
    n_codings: int = 0
    warnings: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # Everything the import needs, decided once.
    _sources: list[_Source] = field(default_factory=list, repr=False)
    _codings: list[_Coding] = field(default_factory=list, repr=False)
    _codes: list[_Code] = field(default_factory=list, repr=False)
    _code_sets: dict[str, CodeSetFields] = field(default_factory=dict, repr=False)
    _users: dict[str, str] = field(default_factory=dict, repr=False)
    _party_names: dict[str, str] = field(default_factory=dict, repr=False)
    _negotiations: dict[str, dict[str, object]] = field(default_factory=dict, repr=False)
    _not_in_use: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary_lines(self) -> list[str]:
        """The preview as plain lines (the command prints them; the page shows the same)."""
        lines = []
        if self.origin or self.project_name:
            lines.append(
                f"File: '{self.project_name}' written by {self.origin or 'an unnamed tool'}"
            )
        if self.position_convention:
            lines.append(f"Positions read as {self.position_convention}")
        target = "new study" if self.new_study else "study"
        lines.append(f"Into the {target} '{self.study_name}'")
        lines.append(f"Sources: {len(self.sources)}; codings: {self.n_codings}")
        for name, label in self.codes_created:
            lines.append(f"create code {name}" + (f" (label '{label}')" if label != name else ""))
        lines += [f"map code {name} to the study's code" for name in self.codes_mapped]
        lines += [f"create code set '{name}'" for name in self.code_sets_created]
        lines += [f"create user {u} (no password) for '{n}'" for n, u in self.users_created]
        lines += [f"map user '{n}' to {u}" for n, u in self.users_mapped]
        lines += [f"create party {code}" for code in self.parties_created]
        lines += [f"create negotiation '{name}'" for name in self.negotiations_created]
        lines += [f"create phase {name}" for name in self.phases_created]
        lines += [f"warning: {w}" for w in self.warnings]
        lines += [f"problem: {p}" for p in self.problems]
        return lines


def _variables(values: dict[str, object]) -> dict[str, object]:
    return {name.strip().lower(): value for name, value in values.items()}


def _text(value: object, limit: int) -> str:
    if value is None:
        return ""
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value).strip()[:limit]


def _date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def _username(name: str, guid: str) -> str:
    name = name.strip()
    if name and _USERNAME_OK.match(name) and len(name) <= 150:
        return name
    derived = re.sub(r"[^\w.@+-]+", ".", slugify(name, allow_unicode=False) or "").strip(".")
    return (derived or f"user-{guid[:8]}")[:150]


def _plan_users(project: QdaProject, study: Study | None, plan: ImportPlan) -> None:
    user_model = get_user_model()
    used_guids = {s.user_guid for s in project.selections}
    users = list(project.users)
    if None in used_guids:
        users.append(QdaUser(guid="", name="unknown coder"))
    roles: dict[int, str] = {}
    if study is not None:
        roles = dict(Membership.objects.filter(study=study).values_list("user_id", "role"))
    taken: set[str] = set()
    for qda_user in users:
        username = _username(qda_user.name, qda_user.guid or "unknown")
        existing = user_model.objects.filter(username__iexact=username).first()
        if existing is None and qda_user.name.strip():
            existing = user_model.objects.filter(username__iexact=qda_user.name.strip()).first()
        shown = qda_user.name or "(no name)"
        if existing is not None:
            role = roles.get(existing.pk)
            if role is not None and role != Role.CODER and qda_user.guid in used_guids:
                plan.problems.append(
                    f"The file's user '{shown}' is {existing.username}, who is a {role} of this "
                    "study; only coders code, so their codings cannot be imported. Rename the "
                    "user in the file or import into another study."
                )
            plan.users_mapped.append((shown, existing.username))
            plan._users[qda_user.guid or ""] = existing.username
            continue
        while username.lower() in taken:
            username = f"{username}-2"
        taken.add(username.lower())
        plan.users_created.append((shown, username))
        plan._users[qda_user.guid or ""] = username


def _plan_codes(project: QdaProject, study: Study | None, plan: ImportPlan) -> None:
    existing = {}
    existing_sets: set[str] = set()
    if study is not None:
        existing = {c.name: c for c in Code.objects.filter(study=study).select_related("code_set")}
        existing_sets = set(CodeSet.objects.filter(study=study).values_list("slug", flat=True))
    by_guid = {code.guid: code for code in project.codes}
    set_of: dict[str, CodeSetFields] = {}
    for code in project.codes:
        fields = parse_code_set(code)
        if fields is not None and not code.is_codable:
            set_of[code.guid] = fields
    own: dict[str, tuple[CodeFields, str]] = {}
    for code in project.codes:
        if code.guid in set_of:
            continue
        fields, _ = parse_code_description(code.description)
        parent = set_of.get(code.parent_guid or "")
        if (
            fields is not None
            and parent is not None
            and re.fullmatch(r"[A-Z][A-Z0-9_]*", code.name)
        ):
            own[code.guid] = (fields, parent.slug)
    keep = {guid: by_guid[guid].name for guid in own}
    others = [c for c in project.codes if c.guid not in set_of and c.guid not in own]
    names = derive_code_names(others, taken=existing.keys(), keep=keep)
    imported_slug = ""
    if others:
        imported_slug = "imported"
        number = 2
        while imported_slug in existing_sets or imported_slug in {f.slug for f in set_of.values()}:
            imported_slug = f"imported-{number}"
            number += 1
        name = f"Imported from {project.name or 'a REFI-QDA project'}"[:200]
        plan._code_sets[imported_slug] = CodeSetFields(slug=imported_slug, name=name)
    for fields in set_of.values():
        if fields.slug not in existing_sets:
            plan._code_sets.setdefault(fields.slug, fields)
    plan.code_sets_created = [f.name for f in plan._code_sets.values()]
    colours = iter(_PALETTE * (len(project.codes) // len(_PALETTE) + 1))
    for code in project.codes:
        if code.guid in set_of:
            continue
        name = names[code.guid]
        if code.guid in own:
            fields, slug = own[code.guid]
        else:
            description = code.description.strip()
            fields = CodeFields(
                label=code_label(code),
                definition=(description or code_label(code))[:DEFINITION_MAX],
                when_to_use=description if len(description) > DEFINITION_MAX else "",
            )
            slug = imported_slug
        is_existing = name in existing
        colour = colour_from(code.color) or next(colours)
        plan._codes.append(
            _Code(
                guid=code.guid,
                name=name,
                label=fields.label,
                set_slug=slug,
                fields=fields,
                colour=colour,
                existing=is_existing,
            )
        )
        if is_existing:
            plan.codes_mapped.append(name)
            if existing[name].archived or not existing[name].code_set.enabled:
                plan._not_in_use[code.guid] = name
        else:
            plan.codes_created.append((name, code.name))


def _plan_sources(
    project: QdaProject, study: Study | None, plan: ImportPlan
) -> dict[str, StoredText]:
    cases = {case.guid: case for case in project.cases}
    default_negotiation = (project.name or "Imported project")[:200]
    stored: dict[str, StoredText] = {}
    seen_texts: set[str] = set()
    for case in project.cases:
        variables = _variables(case.variables)
        parties = parse_parties(variables.get("parties"))
        for code, name in parties:
            plan._party_names.setdefault(code, name)
        principal = [p.strip() for p in _text(variables.get("principal parties"), 2000).split(";")]
        plan._negotiations.setdefault(
            case.name[:200] or default_negotiation,
            {
                "parties": [code for code, _ in parties],
                "principal": [p for p in principal if p],
                "start_date": _date(variables.get("start date")),
                "end_date": _date(variables.get("end date")),
                "description": _text(variables.get("description"), 10_000),
            },
        )
    url_ok = URLValidator()
    for index, source in enumerate(project.sources, start=1):
        label = source.name or f"source {index}"
        text = StoredText(source.text)
        if not text.text:
            plan.warnings.append(f"Text source '{label}' is empty; skipped.")
            continue
        if text.text in seen_texts:
            plan.problems.append(f"Text source '{label}' repeats the text of another source.")
        seen_texts.add(text.text)
        stored[source.guid] = text
        variables = _variables(source.variables)
        case_names = [cases[g].name for g in source.case_guids if g in cases]
        if len(case_names) > 1:
            plan.warnings.append(
                f"Text source '{label}' is in {len(case_names)} cases; it was put in the first "
                f"('{case_names[0]}')."
            )
        negotiation = (case_names[0] if case_names else default_negotiation)[:200] or (
            default_negotiation
        )
        plan._negotiations.setdefault(
            negotiation,
            {
                "parties": [],
                "principal": [],
                "start_date": None,
                "end_date": None,
                "description": "",
            },
        )
        phase_name = _text(variables.get("phase"), 200)
        phase_kind = _text(variables.get("phase kind"), 20)
        if phase_kind not in PhaseKind.values:
            phase_kind = PhaseKind.NEGOTIATION
        party = _text(variables.get("party"), 20)
        if party and not _PARTY_OK.match(party):
            plan.warnings.append(f"Text source '{label}': party '{party}' is not a party code.")
            party = ""
        url = _text(variables.get("url"), 1000)
        if url:
            try:
                url_ok(url)
            except ValidationError:
                plan.warnings.append(f"Text source '{label}': '{url}' is not a URL; dropped.")
                url = ""
        source_type = _text(variables.get("source type"), 32)
        plan._sources.append(
            _Source(
                guid=source.guid,
                title=(source.name or f"Imported source {index}")[:500],
                text=text.text,
                negotiation=negotiation,
                phase=(phase_name, phase_kind) if phase_name else None,
                speaker=_text(variables.get("speaker"), 200),
                party=party,
                date=_date(variables.get("date")),
                source_type=source_type if source_type in SourceType.values else SourceType.OTHER,
                citation=_text(variables.get("citation"), 100_000),
                url=url,
                language=_text(variables.get("language"), 16) or "en",
            )
        )
        plan.sources.append(source.name or f"Imported source {index}")
    return stored


def _plan_codings(project: QdaProject, stored: dict[str, StoredText], plan: ImportPlan) -> None:
    sources = {s.guid: s for s in plan._sources}
    codes = {c.guid for c in plan._codes}
    names = {s.guid: s.name or s.guid for s in project.sources}
    for selection in project.selections:
        if selection.source_guid not in stored:
            plan.warnings.append(
                f"A coding of the empty source '{names.get(selection.source_guid)}' was skipped."
            )
            continue
        label = f"Coding {selection.guid} in '{names[selection.source_guid]}'"
        if selection.code_guid not in codes:
            plan.problems.append(f"{label} applies a code set, not a code.")
            continue
        start, end = stored[selection.source_guid].span(selection.start, selection.end)
        if start >= end:
            plan.problems.append(f"{label} covers only whitespace that TrustCoder strips.")
            continue
        fields, memo = parse_coding_description(selection.memo)
        source = sources[selection.source_guid]
        stance = fields.stance if fields else Stance.FOR
        party = fields.party if fields else (source.party or UNSPECIFIED_PARTY[0])
        strength = fields.strength if fields else ""
        if stance not in Stance.values:
            plan.problems.append(f"{label} has the unknown stance '{stance}'.")
        if strength and strength not in Strength.values:
            plan.problems.append(f"{label} has the unknown evidence strength '{strength}'.")
        if not _PARTY_OK.match(party):
            plan.problems.append(f"{label} names '{party}', which is not a party code.")
        plan._codings.append(
            _Coding(
                source_guid=selection.source_guid,
                start=start,
                end=end,
                code_guid=selection.code_guid,
                user_guid=selection.user_guid or "",
                stance=stance,
                party=party,
                strength=strength,
                memo=memo,
            )
        )
    plan.n_codings = len(plan._codings)
    unusable = sorted(
        {plan._not_in_use[c.code_guid] for c in plan._codings if c.code_guid in plan._not_in_use}
    )
    for name in unusable:
        plan.problems.append(
            f"The file codes with {name}, which this study does not use (archived, or its code "
            "set is switched off); switch it on in the codebook first."
        )


def _plan_structure(study: Study | None, plan: ImportPlan) -> None:
    parties = {s.party for s in plan._sources if s.party} | {c.party for c in plan._codings}
    for negotiation in plan._negotiations.values():
        parties |= set(negotiation["parties"])  # type: ignore[arg-type]
    existing_parties: set[str] = set()
    existing_negotiations: set[str] = set()
    existing_phases: set[tuple[str, str]] = set()
    if study is not None:
        existing_parties = set(Party.objects.filter(study=study).values_list("code", flat=True))
        existing_negotiations = set(
            Negotiation.objects.filter(study=study).values_list("name", flat=True)
        )
        existing_phases = set(
            Negotiation.objects.filter(study=study).values_list("name", "phases__name")
        )
    if UNSPECIFIED_PARTY[0] in parties:
        plan._party_names.setdefault(*UNSPECIFIED_PARTY)
    plan.parties_created = sorted(p for p in parties if p not in existing_parties)
    used = {s.negotiation for s in plan._sources} | set(plan._negotiations)
    plan.negotiations_created = [n for n in plan._negotiations if n not in existing_negotiations]
    plan._negotiations = {n: v for n, v in plan._negotiations.items() if n in used}
    phases = {(s.negotiation, s.phase[0]) for s in plan._sources if s.phase}
    plan.phases_created = [f"{n}: {p}" for n, p in sorted(phases) if (n, p) not in existing_phases]


def qdpx_plan_project(
    *, project: QdaProject, study: Study | None, study_name: str = ""
) -> ImportPlan:
    """Decide what importing `project` into `study` (or a new study) creates and maps."""
    plan = ImportPlan(
        project_name=project.name,
        origin=project.origin,
        position_convention=project.position_convention,
        study_name=study.name if study is not None else study_name,
        new_study=study is None,
        warnings=list(project.warnings),
        problems=list(project.problems),
    )
    _plan_users(project, study, plan)
    _plan_codes(project, study, plan)
    stored = _plan_sources(project, study, plan)
    _plan_codings(project, stored, plan)
    _plan_structure(study, plan)
    if study is not None:
        for source in plan._sources:
            if source_services.Source.objects.filter(
                study=study, text_sha256=source_services.text_digest(source.text)
            ).exists():
                plan.problems.append(f"The text of '{source.title}' is already in the study.")
    return plan


def qdpx_import_plan(
    *, content: bytes, study: Study | None, study_name: str = "", max_bytes: int | None = None
) -> ImportPlan:
    """Read a .qdpx (or bare .qde) and plan its import; a file that cannot be read is a plan
    with one problem."""
    try:
        limits = {"max_bytes": max_bytes} if max_bytes else {}
        project = read_project(content, **limits)
    except QdpxError as err:
        return ImportPlan(study_name=study_name, new_study=study is None, problems=[err.message])
    return qdpx_plan_project(project=project, study=study, study_name=study_name)
