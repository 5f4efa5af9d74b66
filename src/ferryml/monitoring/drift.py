"""Data drift per column: a reference profiled once, windows compared with it, verdicts on
effect sizes with p-values second (:mod:`ferryml.monitoring.config` says why).

Per kind of column (inferred from the reference, overridable in ``monitoring.drift.kinds``):

- numeric: PSI over the reference's quantile bins, Wasserstein-1 in reference standard
  deviations, Jensen-Shannon distance over the same bins (KL reported beside it, without a
  floor); Kolmogorov-Smirnov's p-value
  (Anderson-Darling's beside it when configured);
- categorical: PSI and Jensen-Shannon over the categories, the share of rows in categories the
  reference never had; chi-squared's p-value;
- binary (0/1): the change in the share of 1s; Fisher's exact p-value.

Every column also gets its null rate compared (a move of ``null_rate_delta`` that Fisher's
exact test finds significant at ``alpha``). A column is judged only with ``min_rows``
non-missing values on both sides; otherwise its result says why it was not (never a NaN
without a reason). The p-values of the judged columns are corrected together
(Benjamini-Hochberg, ``scipy.stats.false_discovery_control``).

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> reference = Reference.of({"amount": rng.lognormal(3, 1, 5000)})
    >>> report = compare(reference, {"amount": rng.lognormal(3.5, 1, 3000)})
    >>> report.drifted, report.columns[0].reasons[0].startswith("psi")
    (('amount',), True)
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.stats import false_discovery_control

from ferryml.errors import InvalidInputError
from ferryml.monitoring.config import ColumnKind, DriftConfig
from ferryml.monitoring.stats.anderson import anderson_darling
from ferryml.monitoring.stats.chi2 import chi_squared
from ferryml.monitoring.stats.fisher import fisher, fisher_of_counts
from ferryml.monitoring.stats.js import jensen_shannon
from ferryml.monitoring.stats.kl import kl
from ferryml.monitoring.stats.ks import ks
from ferryml.monitoring.stats.merged import Merged
from ferryml.monitoring.stats.psi import psi_of_counts
from ferryml.monitoring.stats.sample import SortedSample
from ferryml.monitoring.stats.shares import (
    BinnedReference,
    Counts,
    counts_of_categories,
    nonempty,
    tally_categories,
)
from ferryml.monitoring.stats.wasserstein import wasserstein

Columns = Mapping[str, npt.ArrayLike]
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class ColumnReference:
    """What a window of one column is compared with, computed once."""

    name: str
    kind: ColumnKind
    rows: int
    null_rate: float
    sample: SortedSample | None = None
    """Numeric and binary columns: the sorted non-missing values."""
    binned: BinnedReference | None = None
    categories: Counter[str] | None = None
    spread: float = 0.0
    """Numeric: the reference's standard deviation (Wasserstein's unit)."""


@dataclass(frozen=True)
class Reference:
    """Every column of a reference, profiled once for every window compared with it."""

    columns: Mapping[str, ColumnReference]
    config: DriftConfig

    @classmethod
    def of(cls, data: Columns, config: DriftConfig | None = None) -> Reference:
        config = config or DriftConfig()

        def profile(item: tuple[str, npt.ArrayLike]) -> ColumnReference:
            name, values = item
            array = np.asarray(values)
            return _profile(name, config.kinds.get(name) or infer_kind(array), array, config)

        profiled = _each_column(profile, list(data.items()))
        return cls({column.name: column for column in profiled}, config)


@dataclass(frozen=True)
class ColumnDrift:
    """One column's comparison: what was measured, the verdict, and why."""

    column: str
    kind: ColumnKind
    status: str
    """``drift``, ``stable`` or ``not judged``."""
    reference_rows: int
    current_rows: int
    null_rate_reference: float
    null_rate_current: float
    effects: dict[str, float] = field(default_factory=dict)
    p_values: dict[str, float] = field(default_factory=dict)
    adjusted_p: float | None = None
    """The main test's p-value after the correction across columns."""
    reasons: list[str] = field(default_factory=list)
    """Why it drifted, or why it was not judged."""
    notes: list[str] = field(default_factory=list)

    @property
    def drifted(self) -> bool:
        return self.status == "drift"

    def as_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "kind": self.kind,
            "status": self.status,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "null_rate_reference": self.null_rate_reference,
            "null_rate_current": self.null_rate_current,
            "effects": self.effects,
            "p_values": self.p_values,
            "adjusted_p": self.adjusted_p,
            "reasons": self.reasons,
            "notes": self.notes,
        }


@dataclass(frozen=True)
class DriftReport:
    """Every column's comparison of one window with the reference."""

    columns: tuple[ColumnDrift, ...]
    config: DriftConfig

    @property
    def drifted(self) -> tuple[str, ...]:
        return tuple(c.column for c in self.columns if c.drifted)

    @property
    def share_drifted(self) -> float:
        judged = [c for c in self.columns if c.status != "not judged"]
        return len([c for c in judged if c.drifted]) / len(judged) if judged else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "drifted": list(self.drifted),
            "share_drifted": self.share_drifted,
            "columns": [c.as_dict() for c in self.columns],
            "config": self.config.model_dump(mode="json"),
        }


def infer_kind(values: npt.NDArray[Any]) -> ColumnKind:
    """``categorical`` for text, ``binary`` for numbers that are all 0 or 1, else ``numeric``."""
    if values.dtype == object or values.dtype.kind in "USb":
        if values.dtype.kind == "b":
            return "binary"
        return "categorical"
    numbers = np.asarray(values, dtype=np.float64)
    for part in (numbers[:64], numbers):  # a number other than 0 and 1 usually comes early
        finite = part[np.isfinite(part)]
        if not np.isin(finite, (0.0, 1.0)).all():
            return "numeric"
    return "binary" if finite.size else "numeric"


def compare(reference: Reference, current: Columns) -> DriftReport:
    """Compare ``current`` (columns by name) with ``reference``; columns of the reference
    missing from ``current`` drift (a dropped column), extra columns are not compared."""
    config = reference.config

    def measure(ref: ColumnReference) -> _Draft:
        if ref.name not in current:
            return _Draft(ref, 0, 1.0, reasons=["the column is missing from the current data"])
        return _measure(ref, np.asarray(current[ref.name]), config)

    drafts = _each_column(measure, list(reference.columns.values()))
    judged = [d for d in drafts if d.p_main is not None]
    if judged:
        adjusted = false_discovery_control([d.p_main for d in judged], method="bh")
        for draft, p in zip(judged, adjusted, strict=True):
            draft.adjusted = float(p)
    return DriftReport(tuple(d.verdict(config) for d in drafts), config)


@dataclass
class _Draft:
    ref: ColumnReference
    rows: int
    null_rate: float
    effects: dict[str, float] = field(default_factory=dict)
    floors: dict[str, float] = field(default_factory=dict)
    p_values: dict[str, float] = field(default_factory=dict)
    p_main: float | None = None
    adjusted: float | None = None
    reasons: list[str] = field(default_factory=list)
    """Drift on their own (null rate, new categories, missing column)."""
    skipped: str = ""
    notes: list[str] = field(default_factory=list)

    def verdict(self, config: DriftConfig) -> ColumnDrift:
        reasons = list(self.reasons)
        if not self.skipped and self.adjusted is not None and self.adjusted < config.alpha:
            for name, value in self.effects.items():
                floor = self.floors.get(name)
                if floor is not None and value >= floor:
                    reasons.append(
                        f"{name} {value:.4g} >= {floor:g} (p {self.adjusted:.3g} "
                        f"after correction < {config.alpha:g})"
                    )
        if reasons:
            status = "drift"
        elif self.skipped:
            status, reasons = "not judged", [self.skipped]
        else:
            status = "stable"
        return ColumnDrift(
            column=self.ref.name,
            kind=self.ref.kind,
            status=status,
            reference_rows=self.ref.rows,
            current_rows=self.rows,
            null_rate_reference=self.ref.null_rate,
            null_rate_current=self.null_rate,
            effects=self.effects,
            p_values=self.p_values,
            adjusted_p=self.adjusted,
            reasons=reasons,
            notes=self.notes,
        )


def _each_column(work: Callable[[T], R], items: list[T]) -> list[R]:
    """``work`` on every item, in order, on a thread per core: the heavy steps (sorting,
    merging, binning) are numpy calls that release the GIL, so columns run in parallel."""
    workers = min(len(items), os.cpu_count() or 1)
    if workers <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ferry-drift") as pool:
        return list(pool.map(work, items))


def _profile(
    name: str, kind: ColumnKind, values: npt.NDArray[Any], config: DriftConfig
) -> ColumnReference:
    rows = int(values.size)
    missing, present, categories = _split(values, kind)
    null_rate = missing / rows if rows else 0.0
    if missing == rows:
        return ColumnReference(name, kind, rows, null_rate)
    if kind == "categorical":
        return ColumnReference(name, kind, rows, null_rate, categories=nonempty(categories, name))
    sample = SortedSample.of(_numbers(present, name), name)
    binned = BinnedReference.of(sample, config.bins) if kind == "numeric" else None
    return ColumnReference(
        name, kind, rows, null_rate, sample, binned, spread=float(np.std(sample.values))
    )


def _measure(ref: ColumnReference, values: npt.NDArray[Any], config: DriftConfig) -> _Draft:
    rows = int(values.size)
    missing, present, categories = _split(values, ref.kind)
    null_rate = missing / rows if rows else 0.0
    draft = _Draft(ref, rows, null_rate)
    if rows and abs(null_rate - ref.null_rate) >= config.null_rate_delta:
        tested = fisher_of_counts(round(ref.rows * ref.null_rate), ref.rows, missing, rows)
        draft.p_values["null_rate"] = tested.p_value
        if tested.p_value < config.alpha:  # a few hundred rows move a rate by chance
            draft.reasons.append(
                f"null rate {ref.null_rate:.1%} in the reference, {null_rate:.1%} now "
                f"(Fisher p {tested.p_value:.3g})"
            )
    reference_present = round(ref.rows * (1 - ref.null_rate))
    if rows - missing < config.min_rows or reference_present < config.min_rows:
        draft.skipped = (
            f"{rows - missing} non-missing values now and {reference_present} in the reference; "
            f"judging needs {config.min_rows} on each side (monitoring.drift.min_rows)"
        )
        return draft
    try:
        if ref.kind == "categorical":
            _categorical(draft, categories, config)
        elif ref.kind == "binary":
            _binary(draft, present, config)
        else:
            _numeric(draft, present, config)
    except InvalidInputError as exc:  # e.g. a numeric column that arrives as text
        draft.skipped = f"not comparable: {exc.message}"
    return draft


def _numeric(draft: _Draft, present: npt.NDArray[Any], config: DriftConfig) -> None:
    ref = draft.ref
    assert ref.sample is not None and ref.binned is not None
    current = SortedSample.of(_numbers(present, ref.name), "current")
    counts = ref.binned.counts_of(current)
    floors = config.floors
    draft.effects["psi"], draft.floors["psi"] = psi_of_counts(counts), floors.psi
    pair = Merged.of(ref.sample, current)  # one merge for Wasserstein, KS, Anderson-Darling
    if ref.spread > 0:
        draft.effects["wasserstein"] = wasserstein(pair) / ref.spread
        draft.floors["wasserstein"] = floors.wasserstein
    else:
        draft.notes.append("constant in the reference: no Wasserstein distance in its units")
    draft.effects["jensen_shannon"] = jensen_shannon(counts)
    draft.floors["jensen_shannon"] = floors.jensen_shannon
    draft.effects["kl"] = kl(counts)  # reported beside the others; no floor of its own
    tested = ks(pair)
    draft.p_values["ks"] = tested.p_value
    draft.effects["ks_statistic"] = tested.statistic
    draft.p_main = tested.p_value
    if config.anderson_darling:
        ad = anderson_darling(pair)
        draft.p_values["anderson_darling"] = ad.p_value
        if ad.note:
            draft.notes.append(f"anderson_darling: {ad.note}")


def _categorical(draft: _Draft, categories: Counter[str], config: DriftConfig) -> None:
    ref = draft.ref
    assert ref.categories is not None
    counts = counts_of_categories(ref.categories, nonempty(categories, "current"))
    _new_categories(draft, counts, config)
    floors = config.floors
    draft.effects["psi"], draft.floors["psi"] = psi_of_counts(counts), floors.psi
    draft.effects["jensen_shannon"] = jensen_shannon(counts)
    draft.floors["jensen_shannon"] = floors.jensen_shannon
    draft.effects["kl"] = kl(counts)
    tested = chi_squared(counts)
    draft.p_values["chi2"] = draft.p_main = tested.p_value
    if tested.note:
        draft.notes.append(f"chi2: {tested.note}")


def _binary(draft: _Draft, present: npt.NDArray[Any], config: DriftConfig) -> None:
    ref = draft.ref
    assert ref.sample is not None
    current = _numbers(present, ref.name)
    tested = fisher(ref.sample.values, current)
    difference = abs(float(current.mean()) - float(ref.sample.values.mean()))
    draft.effects["rate_difference"] = difference
    draft.floors["rate_difference"] = config.floors.rate_difference
    draft.p_values["fisher"] = draft.p_main = tested.p_value
    if tested.note:
        draft.notes.append(f"fisher: {tested.note}")


def _new_categories(draft: _Draft, counts: Counts, config: DriftConfig) -> None:
    unseen = counts.unseen
    if not unseen:
        return
    index = {label: i for i, label in enumerate(counts.labels)}
    share = sum(int(counts.current[index[label]]) for label in unseen) / int(counts.current.sum())
    draft.effects["new_category_share"] = share
    if share >= config.new_category_share:
        shown = ", ".join(unseen[:5]) + (f" and {len(unseen) - 5} more" if len(unseen) > 5 else "")
        draft.reasons.append(f"categories the reference never had: {shown} ({share:.1%} of rows)")


def _split(
    values: npt.NDArray[Any], kind: ColumnKind
) -> tuple[int, npt.NDArray[Any], Counter[str]]:
    """How many values are missing, and the others as the kind needs them: the non-missing
    values (not copied when none is missing, the usual case), or their categories counted.
    Text is counted in one pass (``factorize`` leaves out what ``pd.isna`` calls missing)."""
    if kind == "categorical" and values.dtype == object:
        categories, missing = tally_categories(values)
        return missing, values[:0], categories
    absent = _missing(values)
    missing = int(np.count_nonzero(absent))
    present = values[~absent] if missing else values
    if kind == "categorical":  # e.g. a non-finite float: missing, not a category
        return missing, values[:0], tally_categories(present)[0]
    return missing, present, Counter()


def _missing(values: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    if values.dtype == object:
        return np.asarray(pd.isna(values), dtype=bool)
    if values.dtype.kind in "fc":
        return np.asarray(~np.isfinite(values), dtype=bool)
    return np.zeros(values.shape, dtype=bool)


def _numbers(values: npt.NDArray[Any], name: str) -> npt.NDArray[np.float64]:
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"column {name!r} holds values that are not numbers") from exc


__all__ = ["ColumnDrift", "ColumnReference", "DriftReport", "Reference", "compare", "infer_kind"]
