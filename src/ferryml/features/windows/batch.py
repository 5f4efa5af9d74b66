"""Window aggregations over a whole event table at once, for training: vectorized numpy.

The rows are stably sorted by (entity, time); each window of each row is a slice ``[lo, hi)`` of
that order, found by binary search within the row's entity group. Counts come from prefix sums
of ones, sums from exact integer prefix sums (see :func:`_exact_window_sums`), maxima from a
sparse table (:func:`_window_max`). No Python loop runs over rows: loops go over windows, limbs
of 41-52 bits and ``log2`` levels. One million events take about a second on one core.

    >>> import numpy as np
    >>> from ferryml.features.windows.spec import WindowAggregation
    >>> spec = WindowAggregation.of("amount", ["1h"], ["count", "sum"])
    >>> hour = 3_600_000_000
    >>> out = window_features(
    ...     spec,
    ...     np.array(["a", "a", "b", "a"], dtype=object),
    ...     np.array([0, hour // 2, 0, hour], dtype=np.int64),
    ...     np.array([1.0, 2.0, 5.0, 4.0]),
    ... )
    >>> out["amount_count_1h"].tolist(), out["amount_sum_1h"].tolist()
    ([0, 1, 0, 1], [0.0, 1.0, 0.0, 2.0])

The last row sees only the event at ``hour // 2``: the one at 0 is exactly one hour back, and
windows are open at both ends.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ferryml.errors import InvalidInputError
from ferryml.features.windows.spec import WindowAggregation

_INT64_MIN = int(np.iinfo(np.int64).min)


def window_features(
    spec: WindowAggregation,
    entity_keys: npt.ArrayLike,
    times_us: npt.ArrayLike,
    values: npt.ArrayLike,
) -> dict[str, npt.NDArray[Any]]:
    """The spec's columns for every row, in the rows' original order.

    ``entity_keys`` are strings (object or unicode arrays) or integers, ``times_us`` int64
    microseconds since the epoch (UTC), ``values`` floats where NaN means "missing": counted by
    ``count``, skipped by ``sum``/``mean``/``max``. Counts are int64, the rest float64.
    """
    keys, times, vals = _checked(entity_keys, times_us, values, spec.horizon_us)
    n = len(times)
    if n == 0:
        return {
            name: np.empty(0, np.int64 if name.split("_")[-2] == "count" else np.float64)
            for name in spec.output_names()
        }

    codes = _entity_codes(keys)
    order = np.lexsort((times, codes))  # stable: by entity, then time
    group, t, v = codes[order], times[order], vals[order]

    # Binary search within entity groups in one global searchsorted: key = group * stride + the
    # rank of the time among the table's distinct times (+1), increasing along `order`. A query
    # time is mapped to the rank of the largest distinct time <= it, so "t_j <= q" holds exactly
    # when "key_j <= query key"; ranks stay below `stride`, so keys never cross into a neighbour
    # group, and group * stride < n**2 fits int64 for any table numpy can hold in memory.
    # Searches run on sorted queries (numpy narrows each search with the previous one; random
    # queries into a large array cost ~10x more): time ranks through a global sort of `t`.
    by_time = np.argsort(t, kind="stable")
    t_sorted = t[by_time]
    first = np.empty(n, bool)
    first[0] = True
    np.not_equal(t_sorted[1:], t_sorted[:-1], out=first[1:])
    distinct = t_sorted[first]
    rank = np.empty(n, np.int64)
    rank[by_time] = np.cumsum(first)  # 1-based rank among distinct times
    stride = np.int64(len(distinct) + 1)
    key = group * stride + rank
    # First event at or after the row's own time: the start of the row's run of equal keys.
    run_start = np.empty(n, bool)
    run_start[0] = True
    np.not_equal(key[1:], key[:-1], out=run_start[1:])
    hi = np.maximum.accumulate(np.where(run_start, np.arange(n), 0))
    bounds = []
    for window in spec.windows:
        below = np.empty(n, np.int64)
        below[by_time] = np.searchsorted(distinct, t_sorted - window.micros, side="right")
        bounds.append((np.searchsorted(key, group * stride + below, side="right"), hi))

    missing = np.isnan(v)
    present = np.zeros(n + 1, np.int64)
    np.cumsum(~missing, out=present[1:])
    wanted = set(spec.aggregations)
    sums = _exact_window_sums(np.where(missing, 0.0, v), bounds) if wanted & {"sum", "mean"} else []
    maxima = _window_max(np.where(missing, -np.inf, v), bounds) if "max" in wanted else []

    columns: dict[str, npt.NDArray[Any]] = {}
    for i, window in enumerate(spec.windows):
        lo, _ = bounds[i]
        n_present = present[hi] - present[lo]
        empty = n_present == 0
        for aggregation in spec.aggregations:
            if aggregation == "count":
                column: npt.NDArray[Any] = hi - lo
            elif aggregation == "sum":
                column = sums[i]
            elif aggregation == "mean":
                with np.errstate(invalid="ignore", divide="ignore"):
                    column = np.where(empty, np.nan, sums[i] / n_present)
            else:
                column = np.where(empty, np.nan, maxima[i])
            unsorted = np.empty_like(column)
            unsorted[order] = column
            columns[f"{spec.prefix}_{aggregation}_{window.label}"] = unsorted
    return columns


def _checked(
    entity_keys: npt.ArrayLike, times_us: npt.ArrayLike, values: npt.ArrayLike, horizon_us: int
) -> tuple[npt.NDArray[Any], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    keys, times, vals = np.asarray(entity_keys), np.asarray(times_us), np.asarray(values)
    problems = []
    for name, array in (("entity_keys", keys), ("times_us", times), ("values", vals)):
        if array.ndim != 1:
            problems.append(f"{name} must be one-dimensional, got shape {array.shape}")
    if len({keys.shape, times.shape, vals.shape}) > 1:
        problems.append(
            f"entity_keys, times_us and values must have one length, got "
            f"{len(keys)}, {len(times)} and {len(vals)}"
        )
    if not np.issubdtype(times.dtype, np.integer):
        problems.append(f"times_us must be integer microseconds since the epoch, got {times.dtype}")
    if not (np.issubdtype(vals.dtype, np.floating) or np.issubdtype(vals.dtype, np.integer)):
        problems.append(f"values must be numbers, got {vals.dtype}")
    if problems:
        raise InvalidInputError(
            "cannot compute window features: " + "; ".join(problems),
            hint="pass three 1-D arrays of equal length: keys, int64 µs times, float values",
        )
    times = times.astype(np.int64, copy=False)
    vals = vals.astype(np.float64, copy=False)
    infinite = int(np.isinf(vals).sum())
    if infinite:
        raise InvalidInputError(
            f"values hold {infinite} infinite number(s); window sums need finite values",
            hint="replace infinities with NaN (missing) or a finite cap before aggregating",
        )
    if len(times) and int(times.min()) - horizon_us < _INT64_MIN:
        raise InvalidInputError(
            f"times_us minimum {int(times.min())} is too far in the past for a window of "
            f"{horizon_us} µs",
            hint="times are microseconds since 1970-01-01 UTC",
        )
    return keys, times, vals


def _entity_codes(keys: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    # A hash factorization: sorting a million Python strings (np.unique) costs ~1 s on its own.
    codes, _ = pd.factorize(keys, use_na_sentinel=True)
    if (codes < 0).any():
        raise InvalidInputError(
            f"entity_keys hold {int((codes < 0).sum())} missing key(s) (None/NaN)",
            hint="drop or fill events without an entity key before computing window features",
        )
    return codes.astype(np.int64, copy=False)


def _exact_window_sums(
    x: npt.NDArray[np.float64],
    bounds: list[tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]],
) -> list[npt.NDArray[np.float64]]:
    """``x[lo:hi].sum()`` for each row and window, correctly rounded: the float nearest to the
    exact sum, like :func:`math.fsum`, which the online path uses.

    Why not float prefix sums: ``P[hi] - P[lo]`` carries the rounding error of the prefix, about
    ``ulp(P)``. With amounts up to 50k and a few thousand events per entity the prefix reaches
    1e8, whose ulp is 1.5e-8, so even per-entity float prefixes miss a 1e-9 agreement with any
    other summation order (and the window sum itself can have an ulp above 1e-9). Instead each
    value is cut, exactly, into integer limbs on fixed binary grids ``2**e``: ``u = trunc(r /
    2**e)``, ``r -= u * 2**e`` (exact: the remainder is a multiple of ``ulp(r)`` no larger than
    ``r``), until nothing is left; a finite double needs at most ~26 limbs, cents-valued
    amounts two. Integer prefix sums are exact (limbs hold ``B`` bits with ``n * 2**B <
    2**61``), so each window's limb differences give the exact sum, which is then rounded once
    to nearest-even by building its top 62 bits plus a sticky bit as an int64 and letting the
    int -> double conversion round. Results are bit-identical to ``math.fsum`` (a subnormal
    result could be rounded twice by the final ``ldexp``; amounts never are subnormal).
    """
    n = len(x)
    limb_bits = min(52, 61 - n.bit_length())
    largest = float(np.abs(x).max())
    if largest == 0.0:
        return [np.zeros(n, np.float64) for _ in bounds]
    exponent = int(np.frexp(largest)[1])  # every |x| < 2**exponent
    rest = x.copy()
    prefixes: list[npt.NDArray[np.int64]] = []
    grids: list[int] = []
    while True:
        exponent -= limb_bits
        limb = np.trunc(np.ldexp(rest, -exponent))
        rest -= np.ldexp(limb, exponent)
        prefix = np.zeros(n + 1, np.int64)
        np.cumsum(limb.astype(np.int64), out=prefix[1:])
        prefixes.append(prefix)
        grids.append(exponent)
        if not rest.any():
            break
    return [
        _round_limbs([p[hi] - p[lo] for p in prefixes], grids[0], limb_bits) for lo, hi in bounds
    ]


def _round_limbs(
    digits: list[npt.NDArray[np.int64]], top_grid: int, limb_bits: int
) -> npt.NDArray[np.float64]:
    """The double nearest to ``sum(d * 2**(top_grid - k * limb_bits))`` (ties to even)."""
    base = np.int64(limb_bits)
    mask = np.int64((1 << limb_bits) - 1)

    def normalize(ds: list[npt.NDArray[np.int64]]) -> None:
        # Carry upward so that every digit but the first lies in [0, 2**B): a positional number.
        for k in range(len(ds) - 1, 0, -1):
            ds[k - 1] = ds[k - 1] + (ds[k] >> base)
            ds[k] = ds[k] & mask

    normalize(digits)
    negative = digits[0] < 0
    if negative.any():
        digits = [np.where(negative, -d, d) for d in digits]
        normalize(digits)

    # Gather the leading bits into `top` (< 2**62) while whole digits fit; bits that do not fit
    # only matter as "something below": the sticky bit. Once a digit is cut, all later ones are
    # sticky (`whole` turns False), and `top` then holds at least 60 bits.
    top = digits[0].copy()
    lsb = np.full(len(top), top_grid, np.int64)
    sticky = np.zeros(len(top), bool)
    whole = np.ones(len(top), bool)
    for digit in digits[1:]:
        # frexp of the rounded double may overstate the bit length by one, never understate it.
        length = np.frexp(top.astype(np.float64))[1].astype(np.int64)
        shift = np.where(whole, np.clip(62 - length, 0, base), 0)
        cut = base - shift
        top = (top << shift) | (digit >> cut)
        sticky |= (digit & ((np.int64(1) << cut) - 1)) != 0
        lsb -= shift
        whole &= shift == base
    rounded = np.ldexp(((top << 1) | sticky).astype(np.float64), lsb - 1)
    return np.where(negative, -rounded, rounded)


def _window_max(
    x: npt.NDArray[np.float64],
    bounds: list[tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]],
) -> list[npt.NDArray[np.float64]]:
    """``x[lo:hi].max()`` (``-inf`` when empty) for each row and window: a sparse table.

    Level ``j`` holds ``max(x[i : i + 2**j])``; a slice of length ``L`` is the max of two level-
    ``floor(log2 L)`` entries. Levels are built one after the other and each query is answered at
    its level, so only one level is in memory at a time, and levels stop at the longest slice.
    """
    levels = []
    deepest = 0
    for lo, hi in bounds:
        length = hi - lo
        level = np.frexp(np.maximum(length, 1))[1].astype(np.int64) - 1  # floor(log2), exact
        levels.append(np.where(length > 0, level, -1))
        deepest = max(deepest, int(levels[-1].max()))
    results = [np.full(len(x), -np.inf) for _ in bounds]
    table = x
    for j in range(deepest + 1):
        span = 1 << j
        for (lo, hi), level, result in zip(bounds, levels, results, strict=True):
            at = np.flatnonzero(level == j)
            result[at] = np.maximum(table[lo[at]], table[hi[at] - span])
        if j < deepest:
            table = np.maximum(table[:-span], table[span:])
    return results


__all__ = ["window_features"]
