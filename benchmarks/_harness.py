"""Helpers shared by the benchmark scripts: timing, machine description, result files.

Not a benchmark itself (``make bench`` runs it too, and it does nothing as a script).

    >>> timing = measure(lambda: sum(range(1000)), repeat=3, warmup=1)
    >>> timing.best <= timing.median
    True
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ferryml.storage.atomic import atomic_write_text

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds of each measured repetition (after the warm-up runs)."""

    seconds: tuple[float, ...]

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def measure(fn: Callable[[], object], *, repeat: int = 3, warmup: int = 1) -> Timing:
    """Run ``fn`` ``warmup`` times unmeasured, then ``repeat`` times timed with perf_counter."""
    for _ in range(warmup):
        fn()
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return Timing(tuple(seconds))


def machine() -> dict[str, Any]:
    """What the figure was measured on."""
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": sys.version.split()[0],
    }


def write_result(
    name: str,
    *,
    figure: dict[str, float],
    anchor: dict[str, float],
    ratio: float,
    anchor_description: str,
    notes: str = "",
) -> Path:
    """Write ``results/<name>.json`` atomically and print it."""
    result = {
        "benchmark": name,
        "figure": figure,
        "anchor": anchor,
        "anchor_description": anchor_description,
        "ratio": round(ratio, 3),
        "notes": notes,
        "machine": machine(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    text = json.dumps(result, indent=2) + "\n"
    path = RESULTS / f"{name}.json"
    atomic_write_text(path, text)
    print(text, end="")
    return path
