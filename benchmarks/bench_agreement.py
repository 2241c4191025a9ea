"""Time TrustCoder's agreement statistics against the ``krippendorff`` package.

Run by hand: ``.venv/bin/python benchmarks/bench_agreement.py``. Targets: nominal alpha within
1.5x of one ``krippendorff.alpha`` call, all five statistics within 3x, and a 1,000-resample
bootstrap on 10,000 units in a few seconds. Does not import Django.
"""

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import krippendorff
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from negotiations.reliability.agreement import (
    MISSING,
    ReliabilityData,
    all_statistics,
    bootstrap_alpha,
    krippendorff_alpha,
)

N_CODERS = 5
N_UNITS = 100_000
N_CATEGORIES = 10
MISSING_SHARE = 0.2
BOOTSTRAP_UNITS = 10_000
BOOTSTRAP_RESAMPLES = 1_000
RUNS = 7


def median_seconds(function: Callable[[], object], runs: int = RUNS) -> float:
    function()  # warm-up: first-call imports and allocations
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def reliability_matrix(seed: int = 2024) -> np.ndarray:
    """coders x units values 0..9 as floats, NaN where missing (the krippendorff package's form)."""
    rng = np.random.default_rng(seed)
    matrix = rng.integers(0, N_CATEGORIES, size=(N_CODERS, N_UNITS)).astype(np.float64)
    matrix[rng.random(matrix.shape) < MISSING_SHARE] = np.nan
    return matrix


def as_reliability_data(matrix: np.ndarray) -> ReliabilityData:
    """The same data as ``ReliabilityData`` (units x coders codes), encoded with numpy."""
    present = ~np.isnan(matrix)
    categories, codes = np.unique(matrix[present], return_inverse=True)
    values = np.full(matrix.shape, MISSING, dtype=np.int64)
    values[present] = codes
    return ReliabilityData(
        values=values.T,
        categories=tuple(categories.tolist()),
        coders=tuple(f"coder {i}" for i in range(matrix.shape[0])),
        units=tuple(f"unit {u}" for u in range(matrix.shape[1])),
    )


def main() -> None:
    matrix = reliability_matrix()
    data = as_reliability_data(matrix)
    theirs_value = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    ours_value = krippendorff_alpha(data, "nominal").value
    assert ours_value is not None and abs(ours_value - theirs_value) < 1e-9

    theirs = median_seconds(
        lambda: krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    )
    ours = median_seconds(lambda: krippendorff_alpha(data, "nominal"))
    ours_with_encoding = median_seconds(
        lambda: krippendorff_alpha(as_reliability_data(matrix), "nominal")
    )
    everything = median_seconds(lambda: all_statistics(data, "nominal"))

    small = ReliabilityData(
        values=data.values[:BOOTSTRAP_UNITS],
        categories=data.categories,
        coders=data.coders,
        units=data.units[:BOOTSTRAP_UNITS],
    )
    bootstrap = median_seconds(
        lambda: bootstrap_alpha(small, "nominal", n_resamples=BOOTSTRAP_RESAMPLES, seed=1), runs=3
    )
    bootstrap_ordinal = median_seconds(
        lambda: bootstrap_alpha(small, "ordinal", n_resamples=BOOTSTRAP_RESAMPLES, seed=1), runs=3
    )

    def row(label: str, seconds: float) -> None:
        print(f"{label:<58} {seconds * 1000:8.1f} ms   {seconds / theirs:5.2f}x")

    print(
        f"data: {N_CODERS} coders x {N_UNITS:,} units x {N_CATEGORIES} categories, "
        f"{MISSING_SHARE:.0%} missing; median of {RUNS} runs (bootstrap: 3)"
    )
    print(f"nominal alpha: ours {ours_value:.12f}, krippendorff {theirs_value:.12f}")
    print(f"{'':<58} {'time':>11}   ratio to krippendorff.alpha")
    row("krippendorff.alpha, nominal", theirs)
    row("ours: krippendorff_alpha, nominal", ours)
    row("ours: encode the float matrix with numpy + alpha", ours_with_encoding)
    row("ours: all_statistics (five statistics + Cohen pairs)", everything)
    row(f"ours: bootstrap {BOOTSTRAP_RESAMPLES:,} x {BOOTSTRAP_UNITS:,} units, nominal", bootstrap)
    row(
        f"ours: bootstrap {BOOTSTRAP_RESAMPLES:,} x {BOOTSTRAP_UNITS:,} units, ordinal",
        bootstrap_ordinal,
    )
    print(
        f"targets: alpha <= 1.5x: {ours / theirs <= 1.5}; "
        f"all five <= 3x: {everything / theirs <= 3}"
    )
    print(f"django imported: {'django' in sys.modules}")


if __name__ == "__main__":
    main()
