"""Fisher's exact test on a 2x2 table: a binary value (a flag, one category against the
rest) in the reference and in the current sample, where counts are small enough for
chi-squared's approximation to mislead. Computed by ``scipy.stats.fisher_exact``; the
statistic is the sample odds ratio (current's odds over the reference's)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.stats import fisher_exact

from ferryml.errors import InvalidInputError
from ferryml.monitoring.stats.base import StatSpec, TestResult

SPEC = StatSpec(
    name="fisher",
    kinds=("binary",),
    default_threshold=0.05,
    direction="lower_is_drift",
    description="Fisher's exact test p-value on the 2x2 table of a binary value",
)


def table_of(reference: npt.ArrayLike, current: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """``[[current true, current false], [reference true, reference false]]`` of two binary
    samples (missing values left out; anything but 0/1/True/False refused)."""
    rows = []
    for name, values in (("current", current), ("reference", reference)):
        array = np.asarray(values)
        if array.dtype != np.bool_:  # flags are counted as they are (no float copy)
            array = np.asarray(array, dtype=np.float64)
            array = array[~np.isnan(array)]
            if not np.isin(array, (0.0, 1.0)).all():
                raise InvalidInputError(f"Fisher's test needs 0/1 values; the {name} has others")
        if array.size == 0:
            raise InvalidInputError(f"the {name} has no value: every value is missing")
        positives = int(np.count_nonzero(array))
        rows.append([positives, int(array.size) - positives])
    return np.array(rows, dtype=np.int64)


def fisher(reference: npt.ArrayLike, current: npt.ArrayLike) -> TestResult:
    """The two-sided test; the odds ratio as the statistic (``inf`` or 0 when a cell is 0)."""
    return fisher_of_table(table_of(reference, current))


def fisher_of_counts(
    reference_hits: int, reference_rows: int, current_hits: int, current_rows: int
) -> TestResult:
    """:func:`fisher` from counts already made (e.g. the missing values of a column)."""
    table = [
        [current_hits, current_rows - current_hits],
        [reference_hits, reference_rows - reference_hits],
    ]
    return fisher_of_table(np.array(table, dtype=np.int64))


def fisher_of_table(table: npt.NDArray[np.int64]) -> TestResult:
    """:func:`fisher` of a ``[[current true, current false], [reference true, reference
    false]]`` table."""
    result = fisher_exact(table)
    statistic = float(result.statistic)
    note = ""
    if np.isnan(statistic):
        statistic, note = 1.0, "no odds to compare: a column of the table is empty"
    return TestResult(statistic, float(result.pvalue), note)


__all__ = ["SPEC", "fisher", "fisher_of_counts", "fisher_of_table", "table_of"]
