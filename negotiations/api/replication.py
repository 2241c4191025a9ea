"""The replication package of a study: every table a paper rests on, in one zip, each file
described in a README data dictionary and in a Frictionless `datapackage.json`.

Every table is built by the feature that owns it (the same row builders as the downloads) and
written by `tabular.py`, so the package's figures are the pages' figures."""

from __future__ import annotations

import csv
import json
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import IO, Any

from django.utils import timezone

from negotiations.assessments import selectors as assessment_selectors
from negotiations.codebook import selectors as codebook_selectors
from negotiations.coding import selectors as coding_selectors
from negotiations.consensus import selectors as consensus_selectors
from negotiations.interchange import selectors as interchange_selectors
from negotiations.interchange.qdpx import write_qdc
from negotiations.models import Coding, Study
from negotiations.reliability import report as reliability_report
from negotiations.reliability import services as reliability_services
from negotiations.reliability.selectors import ReliabilityFilters
from negotiations.sources import selectors as source_selectors
from negotiations.tabular import csv_lines

# Column descriptions: (name, Frictionless type, meaning).
Field = tuple[str, str, str]

_SOURCE_HEAD: list[Field] = [
    ("negotiation", "string", "the negotiation (case) the source belongs to"),
    ("phase", "string", "the phase of the negotiation; empty when not assigned"),
]
SOURCE_FIELDS: list[Field] = [
    ("source_id", "integer", "the source's id in TrustCoder"),
    *_SOURCE_HEAD,
    ("title", "string", "title of the statement"),
    ("date", "date", "date of the statement (ISO 8601); empty when undated"),
    ("speaker", "string", "who spoke or wrote"),
    ("speaker_party", "string", "the speaker's party (code); empty when none"),
    ("source_type", "string", "official statement, press briefing, joint statement, ..."),
    ("citation", "string", "bibliographic citation"),
    ("url", "string", "where the statement was found"),
    ("language", "string", "BCP 47 language tag"),
    ("text", "string", "the full text, NFC-normalised with \\n line endings"),
]
_CODING_HEAD: list[Field] = [
    ("coding_id", "string", "the coding's id"),
    ("study", "string", "the study's slug"),
    *_SOURCE_HEAD,
    ("source_id", "integer", "the coded source (sources.csv)"),
    ("source_title", "string", "its title"),
    ("source_date", "date", "its date; empty when undated"),
    ("speaker", "string", "its speaker"),
    ("speaker_party", "string", "its speaker's party"),
    ("source_type", "string", "its type"),
]
_PASSAGE: list[Field] = [
    ("code", "string", "the code (element), see codebook.csv"),
    ("stance", "string", "for = evidence the element is present, against = absent"),
    ("demonstrating_party", "string", "the party whose behaviour the passage shows"),
    ("strength", "string", "process-tracing test: straw, hoop, smoking gun, doubly decisive"),
    ("start", "integer", "start offset in code points from 0 into the source text"),
    ("end", "integer", "end offset in code points, exclusive"),
    ("quote", "string", "the text from start to end"),
]
CODING_FIELDS: list[Field] = [
    *_CODING_HEAD,
    ("coder", "string", "the coder's user name"),
    (
        "assignment_status",
        "string",
        "the coder's work on the source: assigned, in_progress, submitted; empty without one",
    ),
    *_PASSAGE,
    ("memo", "string", "the coder's memo"),
    ("created_at", "datetime", "when the coding was made (ISO 8601, UTC)"),
    ("updated_at", "datetime", "when it last changed"),
]
CONSENSUS_FIELDS: list[Field] = [
    *_CODING_HEAD,
    *_PASSAGE,
    ("decision", "string", "how the unit was settled (accepted a coder, none, written)"),
    ("rationale", "string", "the supervisor's rationale"),
    ("decided_by", "string", "who settled it"),
    ("decided_at", "datetime", "when"),
    ("unanimous", "boolean", "yes when every submitted coder agreed"),
    ("unit_status", "string", "state of the consensus unit"),
    ("segment", "integer", "the sentence's index in the source, from 0"),
    ("unit_code", "string", "the unit's code"),
    ("unit_party", "string", "the unit's party"),
]
CODEBOOK_FIELDS: list[Field] = [
    ("code_set", "string", "the code set (elements, or the assumptions)"),
    ("code_set_enabled", "boolean", "whether the set is in use"),
    ("name", "string", "the code"),
    ("label", "string", "its label"),
    ("definition", "string", "one-line definition"),
    ("when_to_use", "string", "when to use it"),
    ("when_not_to_use", "string", "when not to"),
    ("example", "string", "an example"),
    ("archived", "boolean", "an archived code is kept for old codings only"),
]
_NUMBER = "number"
RELIABILITY_FIELDS: list[Field] = [
    ("element", "string", "the code, or 'All elements' pooling every code's units"),
    ("unit", "string", "segment (sentence x element x party) or source"),
    ("level", "string", "level of measurement"),
    ("n_units", "integer", "units"),
    ("n_pairable_units", "integer", "units with values from two or more coders"),
    ("n_coders", "integer", "coders with a submitted source"),
    ("krippendorff_alpha", _NUMBER, "Krippendorff's alpha; empty when undefined"),
    ("alpha_ci95_low", _NUMBER, "95% percentile bootstrap interval over units, low"),
    ("alpha_ci95_high", _NUMBER, "and high (1,000 resamples, seed 0)"),
    ("gwet_ac1", _NUMBER, "Gwet's AC1"),
    ("fleiss_kappa", _NUMBER, "Fleiss' kappa (Gwet's generalisation for unequal coders)"),
    ("percent_agreement", _NUMBER, "pairwise percent agreement (Fleiss' P-bar)"),
    ("verdict", "string", "reliable (>= .800), tentative (>= .667), revise, or undefined"),
    ("undefined", "string", "why a statistic is undefined"),
    ("categories", "string", "the scale's values in order, for agreement_stats --order"),
    ("bootstrap_resamples", "integer", "resamples of the alpha interval"),
    ("bootstrap_seed", "integer", "the bootstrap's seed"),
]
ASSESSMENT_FIELDS: list[Field] = [
    ("negotiation", "string", "the negotiation"),
    ("phase", "string", "the phase, or 'all' for the whole negotiation"),
    ("element", "string", "the element (code)"),
    ("party", "string", "the party (code)"),
    ("n_for", "integer", "(sentence, element, party) units whose reading is for the element"),
    ("n_against", "integer", "units whose reading is against"),
    ("n_sources", "integer", "sources those units come from"),
    ("weight_for", _NUMBER, "weight of the evidence for (by strength when the rule weighs it)"),
    ("weight_against", _NUMBER, "weight against"),
    ("n_unsettled", "integer", "units whose coders tie: counted for neither side"),
    ("n_from_consensus", "integer", "units read from the consensus layer"),
    ("n_from_majority", "integer", "units read from the submitted coders' majority"),
    ("verdict", "string", "computed verdict: present, absent, contested, insufficient"),
    ("final_verdict", "string", "the verdict after a supervisor's override, if any"),
    ("override_verdict", "string", "a supervisor's override, if any"),
    ("judgement", "string", "the supervisor's written judgement"),
    ("rationale", "string", "the override's rationale"),
    ("judged_by", "string", "who wrote the judgement"),
    ("judged_at", "datetime", "when"),
]


def codebook_rows(*, study: Study) -> Iterator[tuple[Any, ...]]:
    for code_set in codebook_selectors.code_set_list(study=study):
        for code in code_set.codes.all():
            yield (
                code_set.slug,
                code_set.enabled,
                code.name,
                code.label,
                code.definition,
                code.when_to_use,
                code.when_not_to_use,
                code.example,
                code.archived,
            )


@dataclass
class Table:
    name: str
    title: str
    fields: list[Field]
    lines: Iterable[str]


def _matrix_fields(header: Sequence[str]) -> list[Field]:
    coders = [(name, "string", "this coder's value; empty = did not submit") for name in header[1:]]
    return [("unit", "string", "s<source>-<sentence>-c<code>-p<party>"), *coders]


def study_settings(study: Study, filters: ReliabilityFilters) -> dict[str, Any]:
    return {
        "study": study.slug,
        "name": study.name,
        "blind_coding": study.blind_coding,
        "snap_to_words": study.snap_to_words,
        "data_version": study.data_version,
        "assessment_rule": {
            "min_sources": study.rule_min_sources,
            "use_strength": study.rule_use_strength,
            "contested_min_weight": study.rule_contested_min_weight,
            "contested_ratio": study.rule_contested_ratio,
            "evidence_base": "combined",
        },
        "agreement": {
            "unit": filters.unit,
            "level": filters.level,
            "values": ["for", "against", "mixed", "none"],
            "bootstrap": {"resamples": 1000, "seed": 0, "interval": "percentile 95%"},
            "missing": "coders who did not submit a source contribute nothing to its units",
        },
    }


def _readme(study: Study, tables: list[Table], settings: dict[str, Any], version: str) -> str:
    lines = [
        f"# Replication package: {study.name}",
        "",
        f"Exported from TrustCoder {version} at {timezone.now().isoformat()}",
        f"(study `{study.slug}`, data version {study.data_version}). Every file is UTF-8 CSV",
        "with a header row and `\\n` line endings; `datapackage.json` describes them as a",
        "Frictionless Data Package. `codebook.qdc` is the same codebook in the REFI-QDA codebook",
        "format, for NVivo, ATLAS.ti, MAXQDA or QualCoder.",
        "",
        "Offsets (`start`, `end`) count Unicode code points from 0 in the stored text (NFC, `\\n`",
        "line endings), end exclusive, so `quote == text[start:end]` in Python. A text cell that a",
        "spreadsheet would run as a formula (starting with = + - @, tab or carriage return) has a",
        "leading apostrophe; numbers are written as numbers.",
        "",
        "## How the statistics were computed",
        "",
        "Units are (sentence, element, party) or (source, element, party); a coder's value is for,",
        "against, mixed (both) or none, from the codings overlapping the unit; only submitted work",
        "counts and a coder who did not submit a source is missing there, not 'none'. Percent",
        "agreement is pairwise (Fleiss' P-bar); Fleiss' kappa uses Gwet's (2014) generalisation",
        "for unequal numbers of values; Krippendorff's alpha comes from the coincidence matrix of",
        "pairable values; Gwet's AC1; the 95% interval of alpha is a percentile bootstrap over",
        "units (1,000 resamples, seed 0). `matrix.csv` is the unit x coder matrix of the report;",
        "`python manage.py agreement_stats matrix.csv --order for,against,mixed,none`",
        "recomputes the 'All elements' row of `reliability.csv` from it (the order names every",
        "category, also unused ones, which Gwet's AC1 counts in its chance term; R's irr and",
        "krippendorff packages read the same matrix).",
        "",
        "Assessments count evidence per unit, from the consensus layer where settled and the",
        "coders' layer otherwise, with the rule in `settings.json`.",
        "",
        "## Settings",
        "",
        "```json",
        json.dumps(settings, indent=2),
        "```",
        "",
        "## Data dictionary",
    ]
    for table in tables:
        lines += ["", f"### {table.name}.csv: {table.title}", ""]
        lines += ["| column | type | meaning |", "|---|---|---|"]
        lines += [f"| `{n}` | {t} | {d} |" for n, t, d in table.fields]
    return "\n".join(lines) + "\n"


def _schema(fields: list[Field]) -> dict[str, Any]:
    out = []
    for name, kind, description in fields:
        field: dict[str, Any] = {"name": name, "type": kind, "description": description}
        if kind == "boolean":
            field |= {"trueValues": ["True", "yes"], "falseValues": ["False", "no"]}
        if kind == "datetime":
            field["format"] = "any"
        out.append(field)
    return {"fields": out, "missingValues": [""]}


def replication_package_write(
    *, study: Study, output: IO[bytes], progress: Callable[[int, int], None] | None = None
) -> list[str]:
    """Write the study's replication package as a zip to `output`; the names of its files.

    `progress`, when given, is called with (tables written, tables) as the work goes."""
    filters = ReliabilityFilters()
    report = reliability_services.reliability_report(study=study, filters=filters)
    assert report is not None
    matrix_lines = list(reliability_services.reliability_matrix_lines(study=study, filters=filters))
    matrix_header = next(csv.reader(matrix_lines[:1]))
    assessment = assessment_selectors.assessment(study=study)
    tables = [
        Table(
            "sources",
            "the primary-source statements",
            SOURCE_FIELDS,
            csv_lines(source_selectors.SOURCE_COLUMNS, source_selectors.source_rows(study=study)),
        ),
        Table(
            "codings",
            "every coder's codings (submitted or not), one row per coding",
            CODING_FIELDS,
            csv_lines(
                coding_selectors.CODING_COLUMNS,
                coding_selectors.coding_rows(
                    codings=Coding.objects.filter(source__study=study), study=study
                ),
            ),
        ),
        Table(
            "consensus",
            "the consensus layer: settled units, one row per consensus coding or 'none'",
            CONSENSUS_FIELDS,
            csv_lines(
                consensus_selectors.CONSENSUS_COLUMNS,
                consensus_selectors.consensus_rows(study=study),
            ),
        ),
        Table(
            "assessments",
            "negotiation x phase x element x party: evidence and verdicts",
            ASSESSMENT_FIELDS,
            csv_lines(
                assessment_selectors.ASSESSMENT_COLUMNS,
                assessment_selectors.assessment_rows(assessment),
            ),
        ),
        Table(
            "reliability",
            f"the reliability report ({filters.unit} units, {filters.level} level)",
            RELIABILITY_FIELDS,
            csv_lines(
                reliability_report.RELIABILITY_COLUMNS, reliability_report.reliability_rows(report)
            ),
        ),
        Table(
            "matrix",
            "the unit x coder matrix behind the report",
            _matrix_fields(matrix_header),
            matrix_lines,
        ),
        Table(
            "codebook",
            "the codebook",
            CODEBOOK_FIELDS,
            csv_lines([f[0] for f in CODEBOOK_FIELDS], codebook_rows(study=study)),
        ),
    ]
    try:
        version = metadata.version("trustcoder")
    except metadata.PackageNotFoundError:
        version = "unreleased"
    settings = study_settings(study, filters)
    names = []
    steps = len(tables) + 1
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for done, table in enumerate(tables, start=1):
            with archive.open(f"{table.name}.csv", "w") as handle:
                for line in table.lines:
                    handle.write(line.encode("utf-8"))
            names.append(f"{table.name}.csv")
            if progress is not None:
                progress(done, steps)
        archive.writestr(
            "codebook.qdc", write_qdc(interchange_selectors.codebook_codes(study=study))
        )
        names.append("codebook.qdc")
        archive.writestr("settings.json", json.dumps(settings, indent=2) + "\n")
        archive.writestr("README.md", _readme(study, tables, settings, version))
        package = {
            "name": study.slug,
            "title": f"{study.name}: replication package",
            "created": timezone.now().isoformat(),
            "resources": [
                {
                    "name": table.name,
                    "path": f"{table.name}.csv",
                    "title": table.title,
                    "profile": "tabular-data-resource",
                    "format": "csv",
                    "mediatype": "text/csv",
                    "encoding": "utf-8",
                    "schema": _schema(table.fields),
                }
                for table in tables
            ],
        }
        archive.writestr("datapackage.json", json.dumps(package, indent=2) + "\n")
        names += ["settings.json", "README.md", "datapackage.json"]
    if progress is not None:
        progress(steps, steps)
    return names
