"""The reliability report of a study, computed from its inputs and cached per study version."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

from negotiations.models import (
    CodebookVersion,
    ReportCache,
    Study,
)
from negotiations.reliability import passages, selectors, unitizing
from negotiations.reliability import report as reliability
from negotiations.tabular import csv_lines


def reliability_report(
    *,
    study: Study,
    filters: Any,
    pair: tuple[int, int] | None = None,
    use_cache: bool = True,
    compute: bool = True,
) -> dict[str, Any] | None:
    """The reliability report for the filters, from the cache while the study's data holds.

    With `compute=False` it only looks in the cache and returns None when nothing fresh is there.

    The cache is keyed by the filters and the codebook version, and is valid only for the
    study's current `data_version`, which every submission or reopening bumps.
    """
    import time

    version, key = _reliability_cache_key(study, filters, pair)
    if use_cache:
        cached = ReportCache.objects.filter(study=study, key=key, data_version=version).first()
        if cached is not None:
            return {**cached.payload, "cached": True, "seconds": cached.seconds}
    if not compute:
        return None
    inputs = selectors.reliability_inputs(study=study, filters=filters)
    started = time.perf_counter()
    table = reliability.build_unit_table(
        inputs.sources,
        inputs.codings,
        code_ids=[pk for pk, _ in inputs.codes],
        coder_ids=inputs.coder_ids,
        level=filters.unit,
    )
    report = reliability.build_report(
        reliability.ReportInput(
            table=table,
            codes=inputs.codes,
            parties=inputs.parties,
            coder_names=inputs.coder_names,
            options=reliability.ReportOptions(level=filters.level, pair=pair),
        )
    )
    payload = reliability.strip_private(report)
    payload["coder_names"] = {str(k): v for k, v in inputs.coder_names.items()}
    payload["parties"] = {str(k): v for k, v in inputs.parties.items()}
    payload["codes"] = {str(k): v for k, v in inputs.codes}
    payload["unit"] = filters.unit
    payload["command"] = reliability.agreement_command(filters.level)
    seconds = time.perf_counter() - started
    ReportCache.objects.update_or_create(
        study=study,
        key=key,
        defaults={"data_version": version, "payload": payload, "seconds": seconds},
    )
    return {**payload, "cached": False, "seconds": seconds}


def _reliability_key(filters: Any, codebook_version: int, pair: tuple[int, int] | None) -> str:
    return hashlib.sha256(
        f"reliability:{filters.key()}:cb{codebook_version}:pair{pair}".encode()
    ).hexdigest()


def _reliability_cache_key(
    study: Study, filters: Any, pair: tuple[int, int] | None
) -> tuple[int, str]:
    version = Study.objects.filter(pk=study.pk).values_list("data_version", flat=True).get()
    codebook_version = (
        CodebookVersion.objects.filter(study=study)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
        or 0
    )
    return version, _reliability_key(filters, codebook_version, pair)


def reliability_matrix_table(*, study: Study, filters: Any, code_id: int | None = None) -> Any:
    """Header and rows of the unit x coder matrix, for checking our figures in R or Python; with
    `code_id` only that element's rows, exactly the units of its row on the report."""

    inputs = selectors.reliability_inputs(study=study, filters=filters)
    table = reliability.build_unit_table(
        inputs.sources,
        inputs.codings,
        code_ids=[pk for pk, _ in inputs.codes],
        coder_ids=inputs.coder_ids,
        level=filters.unit,
    )
    if code_id is not None:
        table = table.select(table.code == code_id)
    rows = reliability.matrix_csv_rows(table, inputs.coder_names, filters.level)
    header = next(rows)
    return header, rows


def reliability_matrix_lines(*, study: Study, filters: Any, code_id: int | None = None) -> Any:
    """The unit x coder matrix as CSV lines (the page's CSV download, byte for byte)."""
    return csv_lines(*reliability_matrix_table(study=study, filters=filters, code_id=code_id))


def passage_report(
    *, study: Study, filters: Any, use_cache: bool = True, compute: bool = True
) -> dict[str, Any] | None:
    """u-alpha of the passages per element, cached like the reliability report.

    With `compute=False` it only looks in the cache and returns None when nothing fresh is there.
    """
    import time

    version, key = _passage_cache_key(study, filters)
    if use_cache:
        cached = ReportCache.objects.filter(study=study, key=key, data_version=version).first()
        if cached is not None:
            return {**cached.payload, "cached": True, "seconds": cached.seconds}
    if not compute:
        return None
    inputs = selectors.passage_inputs(study=study, filters=filters)
    started = time.perf_counter()
    payload = passages.passage_report(inputs)
    seconds = time.perf_counter() - started
    ReportCache.objects.update_or_create(
        study=study,
        key=key,
        defaults={"data_version": version, "payload": payload, "seconds": seconds},
    )
    return {**payload, "cached": False, "seconds": seconds}


def _passage_cache_key(study: Study, filters: Any) -> tuple[int, str]:
    version, reliability_key = _reliability_cache_key(study, filters, None)
    key = f"passages:{reliability_key}:{filters.categories}"
    return version, hashlib.sha256(key.encode()).hexdigest()


def passage_units_lines(*, study: Study, filters: Any, code_id: int | None) -> tuple[Any, int, str]:
    """The units CSV of one element (or all, pooled), its continuum length L and a file name.

    `manage.py unitizing_agreement FILE.csv --length L` on it gives the page's figures.
    """
    inputs = selectors.passage_inputs(study=study, filters=filters)
    codes = dict(inputs.codes)
    if code_id is not None and code_id not in codes:
        code_id = None
    units, coders = passages.element_units(inputs, code_id)
    name = codes[code_id] if code_id is not None else "all-elements"
    lines = csv_lines(unitizing.CSV_HEADER, passages.unit_rows(units, coders))
    return lines, inputs.continuum.length, name


def report_params(
    *, study: Study, filters: Any, pair: tuple[int, int] | None = None, unitizing: bool = False
) -> dict[str, Any]:
    """What a worker needs to compute a report (the reliability one, or with `unitizing` the
    passages one), with the key naming it: the cache key and the study's data version, so that a
    job is shared by everyone asking for the same report of the same data."""
    if unitizing:
        version, key = _passage_cache_key(study, filters)
    else:
        version, key = _reliability_cache_key(study, filters, pair)
    return {
        "key": f"{key}:v{version}",
        "filters": dataclasses.asdict(filters),
        "pair": list(pair) if pair else None,
        "unitizing": unitizing,
    }


def report_compute(*, study: Study, params: dict[str, Any]) -> dict[str, Any]:
    """Compute and cache the report that `report_params` described (what the worker runs)."""
    values = dict(params["filters"])
    values["coders"] = tuple(values.get("coders") or ())
    filters = selectors.ReliabilityFilters(**values)
    if params.get("unitizing"):
        report = passage_report(study=study, filters=filters)
    else:
        pair = tuple(params["pair"]) if params.get("pair") else None
        report = reliability_report(study=study, filters=filters, pair=pair)  # type: ignore[arg-type]
    assert report is not None
    return report
