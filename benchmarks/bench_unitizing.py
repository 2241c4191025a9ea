"""Time unitizing_alpha on a 100,000-position continuum with 2,000 units by three coders.

Run by hand: ``.venv/bin/python benchmarks/bench_unitizing.py``. Target: well under the 0.8 s the
Java reference (DKPro Statistics) takes on this machine. Does not import Django.

The coders' units are noisy copies of one shared unitization, so the study looks like real
work (high but imperfect agreement, some overlaps to merge) rather than random noise.
"""

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from negotiations.reliability.passages import PassageInput, build_continuum, passage_report
from negotiations.reliability.report import CodingInput
from negotiations.reliability.unitizing import Unit, unitizing_alpha

LENGTH = 100_000
CODERS = ("ann", "bob", "cat")
CATEGORIES = ("claim", "evidence", "hedge", "question", "other")
TOTAL_UNITS = 2_000
REPEATS = 5


def make_units(seed: int = 0) -> list[Unit]:
    rng = np.random.default_rng(seed)
    per_coder = [TOTAL_UNITS // len(CODERS)] * len(CODERS)
    per_coder[0] += TOTAL_UNITS - sum(per_coder)
    base_count = max(per_coder)
    base_starts = np.sort(rng.integers(0, LENGTH - 250, size=base_count))
    base_lengths = rng.integers(5, 200, size=base_count)
    base_categories = rng.integers(0, len(CATEGORIES), size=base_count)
    units = []
    for coder, count in zip(CODERS, per_coder, strict=True):
        chosen = rng.choice(base_count, size=count, replace=False)
        jitter = rng.integers(-6, 7, size=(count, 2))
        for index, (d_start, d_end) in zip(chosen, jitter, strict=True):
            start = int(np.clip(base_starts[index] + d_start, 0, LENGTH - 2))
            end = int(np.clip(base_starts[index] + base_lengths[index] + d_end, start + 1, LENGTH))
            units.append(Unit(coder, start, end, CATEGORIES[base_categories[index]]))
    return units


def main() -> None:
    units = make_units()
    timings = []
    result = None
    for _ in range(REPEATS):
        began = time.perf_counter()
        result = unitizing_alpha(units, length=LENGTH, coders=CODERS)
        timings.append(time.perf_counter() - began)
    assert result is not None
    print(
        f"L={LENGTH:,}, units={len(units):,}, coders={len(CODERS)}, "
        f"categories={len(result.per_category)}, merged={result.merged}"
    )
    print(f"u-alpha={result.u_alpha:.6f}")
    print(f"best of {REPEATS}: {min(timings) * 1000:.1f} ms")
    passages()


def passage_study(seed: int = 1) -> PassageInput:
    """1,000 sources of about 500 characters, three coders, three elements: like the big study
    of bench_reliability.py (three passages a source, each coder marking 80% of them)."""
    rng = np.random.default_rng(seed)
    lengths = {i: int(rng.integers(450, 551)) for i in range(1, 1001)}
    coders = (1, 2, 3)
    codings = []
    for source, n in lengths.items():
        for _ in range(3):
            start = int(rng.integers(0, n - 50))
            end = start + int(rng.integers(10, 50))
            code, party = int(rng.integers(1, 4)), int(rng.integers(1, 3))
            stance = "for" if rng.random() < 0.5 else "against"
            for coder in coders:
                if rng.random() < 0.8:
                    codings.append(CodingInput(source, coder, code, party, start, end, stance))
    return PassageInput(
        continuum=build_continuum(lengths, coders),
        codings=codings,
        codes=[(1, "ZOPA"), (2, "CAPACITY"), (3, "WILLINGNESS")],
        parties={1: "US", 2: "DPRK"},
        coder_names={1: "ann", 2: "bob", 3: "cat"},
    )


def passages() -> None:
    """The reliability page's passages unit: exact values and 1,000 bootstrap resamples."""
    data = passage_study()
    for bootstrap in (0, 1000):
        cpu, wall = [], []
        for _ in range(3):
            began_cpu, began = time.process_time(), time.perf_counter()
            passage_report(data, bootstrap=bootstrap)
            cpu.append(time.process_time() - began_cpu)
            wall.append(time.perf_counter() - began)
        print(
            f"passages report, {len(data.codings):,} codings, L={data.continuum.length:,}, "
            f"{bootstrap} resamples: best of 3 {min(cpu) * 1000:.0f} ms processor time "
            f"({min(wall) * 1000:.0f} ms elapsed)"
        )


if __name__ == "__main__":
    main()
