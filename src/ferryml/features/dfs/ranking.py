"""The labelled events DFS runs on (a class-balanced sample) and the ranking of candidates by
mutual information with the label."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from ferryml._optional import require
from ferryml.errors import InvalidInputError
from ferryml.features.dfs.options import require_columns
from ferryml.features.values import arrow_to_array, to_micros

FloatArray = npt.NDArray[np.float64]


def labelled_sample(
    events: pa.Table, label: str, time_column: str, size: int, until: datetime | None, seed: int
) -> tuple[pa.Array, npt.NDArray[np.int64]]:
    """Rows of labelled events (before ``until``), classes as even as they allow, and labels."""
    require_columns(events, [label, time_column])
    y = arrow_to_array(events.column(label))
    if y.dtype == object:  # a string label: its classes as codes, missing as NaN
        codes = pd.factorize(y)[0]
        y = np.where(codes < 0, np.nan, codes.astype(np.float64))
    eligible = ~np.isnan(y)
    if until is not None:
        eligible &= arrow_to_array(events.column(time_column)) < to_micros(until)
    rng = np.random.default_rng(seed)
    rows = np.flatnonzero(eligible)
    classes, counts = np.unique(y[rows], return_counts=True)
    left, picked = min(size, len(rows)), [rows[:0]]
    for i, c in enumerate(np.argsort(counts, kind="stable")):  # the rarest class first
        members = rows[y[rows] == classes[c]]
        take = min(len(members), left // (len(classes) - i))
        picked.append(rng.choice(members, take, replace=False))
        left -= take
    chosen = np.sort(np.concatenate(picked))
    if len(np.unique(y[chosen])) < 2:
        raise InvalidInputError(
            f"the {len(chosen)} labelled events sampled have {len(np.unique(y[chosen]))} "
            f"class(es) of {label!r}; mutual information needs two",
            hint="pass a later `until` or use more data",
        )
    return pa.array(chosen), y[chosen].astype(np.int64)


def mutual_information(
    matrix: FloatArray, discrete: npt.NDArray[np.bool_], y: npt.NDArray[np.int64], seed: int
) -> FloatArray:
    """Mutual information with ``y`` per column, by scikit-learn (installed with featuretools,
    through woodwork): the plug-in estimate for discrete columns (biased up by about
    ``(levels - 1) / (2 n)`` nats on small samples), the kNN estimate of ``mutual_info_classif``
    for the others. A missing value (an empty window's mean) becomes one below the column's
    minimum, so that "no events" stays a value of its own."""
    metrics = require("sklearn.metrics", extra="core", purpose="ranking features")
    selection = require("sklearn.feature_selection", extra="core", purpose="ranking features")
    x = matrix.copy()
    for j in range(x.shape[1]):
        missing = np.isnan(x[:, j])
        if missing.any():
            x[missing, j] = 0.0 if missing.all() else np.nanmin(x[:, j]) - 1.0
    scores = np.zeros(x.shape[1])
    for k in np.flatnonzero(discrete):
        scores[k] = metrics.mutual_info_score(y, pd.factorize(x[:, k])[0])
    if not discrete.all():
        scores[~discrete] = selection.mutual_info_classif(
            x[:, ~discrete], y, discrete_features=False, n_neighbors=3, random_state=seed
        )
    return scores
