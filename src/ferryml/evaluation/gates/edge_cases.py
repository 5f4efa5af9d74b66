"""The edge-case gate: the generated suite (:mod:`ferryml.evaluation.edge_cases`) scored
through the online feature path, as serving will score it.

Each case gets its features from :class:`~ferryml.features.online.OnlineFeatures` with the
build's fitted encodings, the project's online store for batch views, and a fresh in-memory
window state holding only its own entities' earlier events, so no case sees another. Every
case must score without an exception, finite and within [0, 1]; each declared expectation
(e.g. the score never falls as the amount grows, within a tolerance) must hold on every base
event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ferryml.evaluation.config import EdgeCaseGate, Expectation
from ferryml.evaluation.edge_cases import EdgeCase, expectation_ladder, generate_cases
from ferryml.evaluation.gates.base import Check, Contender, GateResult, skipped, verdict
from ferryml.features.graph import FeatureSet
from ferryml.features.online import BatchFeatureReader, OnlineFeatures
from ferryml.features.values import to_micros
from ferryml.features.windows.state.sqlite import SqliteWindowStore

if TYPE_CHECKING:
    import pyarrow as pa
    from matplotlib.figure import Figure

SHOWN_ERRORS = 5


@dataclass
class OnlinePath:
    """Scores raw events the way serving does: online features, then the model."""

    feature_set: FeatureSet
    """With the encodings of the model's build loaded."""
    reader: BatchFeatureReader
    history: pa.Table
    """The build's training set: each window group's keys, times, ids and values."""
    _windows: dict[str, tuple[Any, ...]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        from ferryml.features.values import arrow_to_array

        id_column = self.feature_set.schema.columns_with_role("id")[0]
        for node in self.feature_set.windows:
            self._windows[node.name] = (
                arrow_to_array(self.history.column(node.key_column)).astype(str),
                arrow_to_array(self.history.column(node.time_column)).astype(np.int64),
                arrow_to_array(self.history.column(id_column)).astype(str),
                arrow_to_array(self.history.column(node.value)).astype(np.float64),
            )

    def features(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """The feature values of ``event`` with its entities' earlier events as window state."""
        schema_time = self.feature_set.event_time_column
        at = to_micros(event[schema_time]) if event.get(schema_time) is not None else None
        store = SqliteWindowStore(":memory:", project=self.feature_set.project)
        try:
            for node in self.feature_set.windows:
                keys, times, ids, values = self._windows[node.name]
                key = event.get(node.key_column)
                if key is None or at is None:
                    continue
                mask = (keys == str(key)) & (times < at)
                if mask.any():
                    store.bulk_load(
                        node.name,
                        keys[mask],
                        times[mask],
                        ids[mask],
                        values[mask],
                        node.aggregation.horizon_us,
                    )
            return OnlineFeatures(self.feature_set, self.reader, store).vector(event).values
        finally:
            store.close()


def score_events(
    path: OnlinePath, contender: Contender, events: Sequence[Mapping[str, Any]]
) -> list[float | BaseException]:
    """The score of each event, or the exception scoring it raised."""
    out: list[float | BaseException] = []
    names = contender.model.features
    for event in events:
        try:
            values = path.features(event)
            row = np.array([[_number(values[name]) for name in names]], dtype=np.float64)
            out.append(float(contender.model.predict_array(row)[0]))
        except Exception as exc:  # the gate's point: any failure is a finding, not a crash
            out.append(exc)
    return out


def _number(value: Any) -> float:
    return float("nan") if value is None else float(value)


def edge_case_gate(
    candidate: Contender,
    path: OnlinePath | None,
    bases: Sequence[Mapping[str, Any]],
    observed: Mapping[str, npt.NDArray[np.float64]],
    config: EdgeCaseGate,
) -> GateResult:
    """Run the suite for ``bases`` (raw events); ``observed`` holds each numeric raw input's
    values in the held-out period (for extremes and expectation ladders)."""
    if not config.enabled:
        return skipped("edge_cases", "disabled in gates.edge_cases")
    if path is None or not bases:
        return skipped(
            "edge_cases",
            "no online path for this build (its feature set is not the config's current one) "
            "or no raw events in the held-out period",
        )
    feature_set = path.feature_set
    observed_max = {k: float(np.nanmax(v)) for k, v in observed.items() if np.isfinite(v).any()}
    cases = generate_cases(
        bases, feature_set.schema, feature_set.event_columns, observed_max, config
    )
    scores = score_events(path, candidate, [case.event for case in cases])
    errors = [(c, s) for c, s in zip(cases, scores, strict=True) if isinstance(s, BaseException)]
    bad = [
        (c, s)
        for c, s in zip(cases, scores, strict=True)
        if not isinstance(s, BaseException) and not (np.isfinite(s) and 0.0 <= s <= 1.0)
    ]
    shown = "; ".join(f"{c.name}: {type(e).__name__}: {e}" for c, e in errors[:SHOWN_ERRORS])
    checks = [
        Check("cases raising an error", len(errors), "0", not errors, shown),
        Check(
            "scores not finite or outside [0, 1]",
            len(bad),
            "0",
            not bad,
            "; ".join(f"{c.name}: {s}" for c, s in bad[:SHOWN_ERRORS]),
        ),
    ]
    ladders: dict[str, list[dict[str, Any]]] = {}
    for expectation in config.expectations:
        check, ladder = _expectation(path, candidate, bases, observed, expectation)
        checks.append(check)
        ladders[expectation.field] = ladder
    rows = [
        {
            "case": case.name,
            "kind": case.kind,
            "base": case.base,
            "score": None if isinstance(score, BaseException) else score,
            "error": f"{type(score).__name__}: {score}" if isinstance(score, BaseException) else "",
        }
        for case, score in zip(cases, scores, strict=True)
    ]
    from ferryml.training.plots import png

    images = {"cases": png(_strip(cases, scores))}
    if ladders:
        images["expectations"] = png(_ladders(ladders))
    summary = f"{len(cases)} cases, {len(errors)} errors, {len(bad)} out of range"
    return verdict(
        "edge_cases",
        checks,
        summary,
        details={"cases": rows, "expectations": ladders},
        images=images,
    )


def _expectation(
    path: OnlinePath,
    candidate: Contender,
    bases: Sequence[Mapping[str, Any]],
    observed: Mapping[str, npt.NDArray[np.float64]],
    expectation: Expectation,
) -> tuple[Check, list[dict[str, Any]]]:
    name = f"score {expectation.direction} in {expectation.field}"
    if expectation.field not in observed:
        return Check(
            name,
            None,
            "a numeric raw input",
            False,
            f"{expectation.field!r} is not a numeric raw field the features read "
            f"(known: {', '.join(sorted(observed))})",
        ), []
    sign = 1.0 if expectation.direction == "increasing" else -1.0
    worst = 0.0
    ladder_rows = []
    for index, base in enumerate(bases):
        values, events = expectation_ladder(base, expectation, observed[expectation.field])
        scores = score_events(path, candidate, events)
        failed = [s for s in scores if isinstance(s, BaseException)]
        if failed:
            return Check(name, None, "scores for every step", False, str(failed[0])), []
        numbers = np.asarray(scores, dtype=np.float64)
        against = -sign * np.diff(numbers)  # > 0: the score moved against the direction
        worst = max(worst, float(against.max(initial=0.0)))
        ladder_rows.append({"base": index, "values": values.tolist(), "scores": numbers.tolist()})
    return Check(
        name,
        worst,
        f"largest move against it <= {expectation.tolerance:g}",
        worst <= expectation.tolerance,
    ), ladder_rows


def _strip(cases: Sequence[EdgeCase], scores: Sequence[float | BaseException]) -> Figure:
    from matplotlib.figure import Figure

    kinds = sorted({case.kind for case in cases})
    figure = Figure(figsize=(6.0, 0.8 + 0.45 * len(kinds)), layout="constrained")
    axes = figure.subplots()
    for row, kind in enumerate(kinds):
        values = [
            s for c, s in zip(cases, scores, strict=True) if c.kind == kind and isinstance(s, float)
        ]
        axes.scatter(values, row + np.linspace(-0.2, 0.2, len(values)), s=12, alpha=0.7)
    axes.set_yticks(range(len(kinds)), kinds)
    axes.set(xlabel="score", xlim=(-0.02, 1.02), title="edge cases by kind")
    axes.grid(alpha=0.3, axis="x")
    return figure


def _ladders(ladders: Mapping[str, list[dict[str, Any]]]) -> Figure:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.0, 3.2), layout="constrained")
    axes = figure.subplots(1, len(ladders), squeeze=False)[0]
    for ax, (name, rows) in zip(axes, ladders.items(), strict=True):
        for row in rows:
            ax.plot(row["values"], row["scores"], marker=".", alpha=0.7)
        ax.set(xlabel=name, ylabel="score", xscale="log" if _positive(rows) else "linear")
        ax.grid(alpha=0.3)
    return figure


def _positive(rows: Sequence[Mapping[str, Any]]) -> bool:
    return all(v > 0 for row in rows for v in row["values"])


__all__ = ["OnlinePath", "edge_case_gate", "score_events"]
