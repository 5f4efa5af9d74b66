"""The computational gate: a micro-benchmark of the candidate, inside the gate.

Single rows are what real-time scoring pays per request, so each timed call scores one row
of the held-out features (cycling through them) after untimed warm-up calls; percentiles come
from the individual timings. Throughput is the best of a few calls on a batch. When there is a
champion it is measured in the same run, interleaved with the candidate (candidate, champion,
candidate, champion; each keeps its better round), so that relative limits compare like with
like on whatever machine runs the gate. Model size is the bytes of the logged model's files.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ferryml.evaluation.config import LatencyGate
from ferryml.evaluation.data import HeldOut
from ferryml.evaluation.gates.base import (
    Check,
    Contender,
    GateResult,
    bounded,
    skipped,
    verdict,
)
from ferryml.training.trainers import TrainedModel

if TYPE_CHECKING:
    from matplotlib.figure import Figure

ROUNDS = 2


@dataclass(frozen=True)
class Timing:
    """One model's single-row latency percentiles and batch throughput."""

    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    rows_per_second: float

    def as_dict(self) -> dict[str, float]:
        return {key: float(value) for key, value in asdict(self).items()}


def measure(
    model: TrainedModel, values: npt.NDArray[np.float64], config: LatencyGate
) -> tuple[Timing, npt.NDArray[np.float64]]:
    """Time ``model`` on rows of ``values``; returns the timing and each single-row time (ms)."""
    rows = [values[i : i + 1] for i in range(min(len(values), config.repetitions))]
    for i in range(config.warmup):
        model.predict_array(rows[i % len(rows)])
    single = np.empty(config.repetitions)
    clock = time.perf_counter_ns
    for i in range(config.repetitions):
        row = rows[i % len(rows)]
        start = clock()
        model.predict_array(row)
        single[i] = (clock() - start) / 1e6
    batch = values[np.arange(config.batch_rows) % len(values)]
    best = float("inf")
    for _ in range(config.batch_repetitions):
        start = clock()
        model.predict_array(batch)
        best = min(best, (clock() - start) / 1e9)
    p50, p95, p99 = np.percentile(single, [50, 95, 99])
    timing = Timing(
        p50_ms=float(p50),
        p95_ms=float(p95),
        p99_ms=float(p99),
        mean_ms=float(single.mean()),
        rows_per_second=config.batch_rows / max(best, 1e-9),
    )
    return timing, single


def latency_gate(
    candidate: Contender, champion: Contender | None, data: HeldOut, config: LatencyGate
) -> GateResult:
    if not config.enabled:
        return skipped("latency", "disabled in gates.latency")
    contenders = [candidate] if champion is None else [candidate, champion]
    best: dict[str, tuple[Timing, npt.NDArray[np.float64]]] = {}
    for _ in range(ROUNDS):
        for contender in contenders:
            features = contender.frame(data)[contender.model.features].to_numpy(np.float64)
            timing, single = measure(contender.model, features, config)
            kept = best.get(contender.label)
            if kept is None or timing.p50_ms < kept[0].p50_ms:
                best[contender.label] = (timing, single)
    mine = best[candidate.label][0]
    size_mb = candidate.size_bytes / 1e6
    checks = [
        bounded(f"single-row {name}", getattr(mine, f"{name}_ms"), None, limit, "ms")
        for name, limit in (("p50", config.p50_ms), ("p95", config.p95_ms), ("p99", config.p99_ms))
        if limit is not None
    ]
    if config.min_rows_per_second is not None:
        checks.append(
            bounded("batch rows/s", mine.rows_per_second, config.min_rows_per_second, None)
        )
    if config.max_model_mb is not None:
        checks.append(bounded("model size", size_mb, None, config.max_model_mb, "MB"))
    details: dict[str, object] = {"candidate": mine.as_dict(), "model_mb": size_mb}
    if champion is not None:
        theirs = best[champion.label][0]
        details["champion"] = theirs.as_dict()
        details["champion_model_mb"] = champion.size_bytes / 1e6
        checks.extend(_relative(mine, theirs, config.max_ratio_to_champion))
    figure = _histogram({label: single for label, (_, single) in best.items()})
    from ferryml.training.plots import png

    summary = (
        f"p50 {mine.p50_ms:.3f} ms, p99 {mine.p99_ms:.3f} ms, {mine.rows_per_second:,.0f} rows/s"
    )
    return verdict("latency", checks, summary, details=details, images={"latency": png(figure)})


def _relative(mine: Timing, theirs: Timing, max_ratio: float | None) -> list[Check]:
    ratio_p50 = mine.p50_ms / max(theirs.p50_ms, 1e-9)
    ratio_throughput = mine.rows_per_second / max(theirs.rows_per_second, 1e-9)
    if max_ratio is None:
        return [
            Check("p50 vs champion", ratio_p50, "reported", None, "x"),
            Check("throughput vs champion", ratio_throughput, "reported", None, "x"),
        ]
    return [
        bounded("p50 vs champion", ratio_p50, None, max_ratio, "x the champion's"),
        bounded("throughput vs champion", ratio_throughput, 1 / max_ratio, None, "x"),
    ]


def _histogram(samples: dict[str, npt.NDArray[np.float64]]) -> Figure:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.0, 3.5), dpi=100, layout="constrained")
    axes = figure.subplots()
    high = max(float(np.percentile(s, 99.5)) for s in samples.values())
    bins = np.linspace(0, high * 1.05 or 1.0, 60).tolist()
    for label, values in samples.items():
        axes.hist(np.minimum(values, bins[-1]), bins=bins, alpha=0.6, label=label)
    axes.set(xlabel="single-row latency (ms)", ylabel="calls", title="single-row scoring")
    axes.legend()
    axes.grid(alpha=0.3)
    return figure


__all__ = ["Timing", "latency_gate", "measure"]
