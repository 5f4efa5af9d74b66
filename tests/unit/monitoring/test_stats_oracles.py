"""Every drift statistic against scipy on random data (oracle), its invariants (Hypothesis),
and its defined answers to degenerate input.

Tolerances: 1e-12 (relative) where the formula is the same computation in another order;
1e-9 for p-values from the same distribution function.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial.distance import jensenshannon

from ferryml.errors import InvalidInputError
from ferryml.monitoring.stats import (
    SortedSample,
    anderson_darling,
    category_counts,
    chi_squared,
    fisher,
    jensen_shannon,
    kl,
    ks,
    merged,
    normalized_wasserstein,
    numeric_counts,
    wasserstein,
)
from ferryml.monitoring.stats.merged import Merged
from ferryml.monitoring.stats.shares import EPSILON, tally_categories

SAMPLES = {
    "normal, clear shift": lambda rng: (rng.normal(0, 1, 3000), rng.normal(0.3, 1, 2000)),
    "normal, mean shift": lambda rng: (rng.normal(0, 1, 3000), rng.normal(0.1, 1, 2000)),
    "lognormal, same": lambda rng: (rng.lognormal(0, 1, 3000), rng.lognormal(0, 1, 2500)),
    "exponential, scale": lambda rng: (rng.exponential(1, 2000), rng.exponential(1.3, 2000)),
    "integers with ties": lambda rng: (rng.poisson(3, 3000) * 1.0, rng.poisson(3.3, 1000) * 1.0),
}


def independent_shares(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> tuple:
    """The reference's quantile bins counted with numpy's histogram (right-closed edges)."""
    inner = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    edges = np.r_[-np.inf, inner, np.inf]
    # np.histogram's bins are left-closed; negate to count right-closed bins
    r = np.histogram(-reference, -edges[::-1])[0][::-1] / len(reference)
    c = np.histogram(-current, -edges[::-1])[0][::-1] / len(current)
    return r, c


@pytest.mark.parametrize("case", SAMPLES)
@pytest.mark.parametrize("seed", [0, 1])
def test_ks_equals_scipy_asymptotic(case: str, seed: int) -> None:
    reference, current = SAMPLES[case](np.random.default_rng(seed))
    ours = ks(SortedSample.of(reference), current)
    theirs = stats.ks_2samp(reference, current, method="asymp")
    assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-12, abs=1e-15)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9, abs=1e-300)


def test_ks_answers_tiny_p_values_of_huge_samples_from_the_limiting_distribution() -> None:
    rng = np.random.default_rng(0)
    reference, current = rng.normal(0, 1, 400_000), rng.normal(0.02, 1, 400_000)
    ours = ks(reference, current)
    theirs = stats.ks_2samp(reference, current, method="asymp")
    assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-12)
    assert theirs.pvalue < 1e-6 and ours.note
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=0.01)


@pytest.mark.parametrize("case", SAMPLES)
def test_wasserstein_equals_scipy_raw_and_normalized(case: str) -> None:
    reference, current = SAMPLES[case](np.random.default_rng(7))
    expected = stats.wasserstein_distance(reference, current)
    assert wasserstein(reference, current) == pytest.approx(expected, rel=1e-12)
    normalized = normalized_wasserstein(SortedSample.of(reference), current)
    assert normalized == pytest.approx(expected / np.std(reference), rel=1e-12)


@pytest.mark.parametrize("case", SAMPLES)
def test_binned_kl_and_jensen_shannon_equal_scipy_on_the_same_shares(case: str) -> None:
    reference, current = SAMPLES[case](np.random.default_rng(3))
    counts = numeric_counts(reference, current)
    r, c = independent_shares(reference, current)
    assert counts.shares()[0] == pytest.approx(r, abs=1e-15)
    assert counts.shares()[1] == pytest.approx(c, abs=1e-15)
    rs, cs = np.where(r == 0, EPSILON, r), np.where(c == 0, EPSILON, c)
    assert kl(counts) == pytest.approx(stats.entropy(cs, rs), rel=1e-12, abs=1e-15)
    assert jensen_shannon(counts) == pytest.approx(jensenshannon(r, c, base=2), rel=1e-9, abs=1e-12)


def categories(rng: np.random.Generator, size: int, new: bool) -> np.ndarray:
    names = np.array(["grocery", "fuel", "travel", "online", "atm"], dtype=object)
    weights = [0.4, 0.2, 0.1, 0.2, 0.1]
    values = rng.choice(names, size=size, p=weights)
    if new:
        values[rng.random(size) < 0.05] = "crypto"
    return values


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_chi_squared_equals_scipy_with_unseen_categories_kept(seed: int) -> None:
    rng = np.random.default_rng(seed)
    reference, current = categories(rng, 4000, False), categories(rng, 1500, True)
    counts = category_counts(reference, current)
    assert counts.unseen == ("crypto",)
    table = pd.crosstab(
        np.r_[["r"] * len(reference), ["c"] * len(current)], np.r_[reference, current]
    ).to_numpy()
    theirs = stats.chi2_contingency(table, correction=False)
    ours = chi_squared(counts)
    assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-12)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9, abs=1e-300)
    ref_shares = pd.Series(reference).value_counts(normalize=True)
    cur_shares = pd.Series(current).value_counts(normalize=True)
    index = sorted(set(ref_shares.index) | set(cur_shares.index))
    r = ref_shares.reindex(index, fill_value=0).to_numpy()
    c = cur_shares.reindex(index, fill_value=0).to_numpy()
    assert jensen_shannon(counts) == pytest.approx(jensenshannon(r, c, base=2), rel=1e-9)
    rs, cs = np.where(r == 0, EPSILON, r), np.where(c == 0, EPSILON, c)
    assert kl(counts) == pytest.approx(stats.entropy(cs / cs.sum(), rs / rs.sum()), rel=1e-12)


@pytest.mark.parametrize("rates", [(0.02, 0.02), (0.02, 0.06), (0.5, 0.1)])
def test_fisher_equals_scipy_on_the_2x2_table(rates: tuple[float, float]) -> None:
    rng = np.random.default_rng(11)
    reference = (rng.random(600) < rates[0]).astype(float)
    current = (rng.random(400) < rates[1]).astype(float)
    table = [
        [int(current.sum()), int(len(current) - current.sum())],
        [int(reference.sum()), int(len(reference) - reference.sum())],
    ]
    theirs = stats.fisher_exact(table)
    ours = fisher(reference, current)
    assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-12)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9)
    assert fisher(reference == 1, current == 1) == ours  # flags, counted as they are


@pytest.mark.parametrize("case", SAMPLES)
def test_anderson_darling_equals_scipy_and_says_when_its_p_value_is_a_bound(case: str) -> None:
    reference, current = SAMPLES[case](np.random.default_rng(5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the oracle's own warning about its table
        theirs = stats.anderson_ksamp([reference, current], variant="midrank")
    with warnings.catch_warnings(record=True) as leaked:
        warnings.simplefilter("always")
        ours = anderson_darling(SortedSample.of(reference), current)
    assert not leaked  # handled, not passed on, and not silenced for anyone else
    assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-12)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-12)
    if theirs.pvalue <= 0.001:
        assert "floored" in ours.note
    elif theirs.pvalue >= 0.25:
        assert "capped" in ours.note
    else:
        assert ours.note == ""


def test_a_sorted_reference_is_reused_with_the_same_answers() -> None:
    rng = np.random.default_rng(2)
    reference = SortedSample.of(rng.gamma(2, 1, 5000))
    for _ in range(3):
        window = rng.gamma(2.1, 1, 800)
        assert ks(reference, window) == ks(reference.values, window)
        assert wasserstein(reference, window) == wasserstein(reference.values, window)


@pytest.mark.parametrize("case", SAMPLES)
@pytest.mark.parametrize("block", [5, 64])
def test_statistics_read_in_blocks_equal_scipy_across_block_edges(
    case: str, block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The merged samples are read a block at a time (64K positions); small blocks put block
    edges inside tied runs and between a run and the one before it."""
    monkeypatch.setattr(merged, "BLOCK", block)
    reference, current = SAMPLES[case](np.random.default_rng(9))
    pair = Merged.of(reference, current)
    assert ks(pair).statistic == pytest.approx(
        stats.ks_2samp(reference, current).statistic, rel=1e-12, abs=1e-15
    )
    expected = stats.wasserstein_distance(reference, current)
    assert wasserstein(pair) == pytest.approx(expected, rel=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the oracle's own warning about its table
        theirs = stats.anderson_ksamp([reference, current], variant="midrank")
    ours = anderson_darling(pair)
    assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-12)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-12)


def test_categories_and_missing_values_are_counted_as_pandas_counts_them() -> None:
    """One pass (``factorize``) counts what ``pd.isna`` and ``value_counts`` counted in
    three: None, NaN, NaT and ``pd.NA`` are missing; values equal as Python objects (1, 1.0,
    True) are one category, named after the first of them."""
    values = np.array(
        [None, "a", np.nan, pd.NA, pd.NaT, np.datetime64("NaT"), 1, "", True, 1.0, "a", "1"] * 3,
        dtype=object,
    )
    counted, missing = tally_categories(values)
    expected: Counter[str] = Counter()
    for value, count in pd.Series(values[~pd.isna(values)]).value_counts().items():
        expected[str(value)] += int(count)  # 1 and "1" are two categories with one name
    assert missing == int(pd.isna(values).sum()) == 15
    assert counted == expected == {"a": 6, "1": 12, "": 3}


finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
samples = st.lists(finite, min_size=1, max_size=60)


@settings(max_examples=40, deadline=None)
@given(samples, samples)
def test_distances_are_bounded_symmetric_and_zero_on_the_same_sample(
    a: list[float], b: list[float]
) -> None:
    forward, backward = ks(a, b), ks(b, a)
    assert 0.0 <= forward.statistic <= 1.0 and 0.0 <= forward.p_value <= 1.0
    assert forward.statistic == pytest.approx(backward.statistic, abs=1e-12)
    distance = wasserstein(a, b)
    assert distance >= 0.0
    assert distance == pytest.approx(wasserstein(b, a), rel=1e-9, abs=1e-9)
    assert wasserstein(a, a) == 0.0 and ks(a, a).statistic == 0.0
    counts = numeric_counts(a, b)
    assert 0.0 <= jensen_shannon(counts) <= 1.0 + 1e-12
    assert kl(counts) >= -1e-12


def test_degenerate_input_gets_a_defined_answer_or_a_named_error() -> None:
    with pytest.raises(InvalidInputError, match="current has no finite value"):
        ks([1.0, 2.0], [math.nan, math.inf])
    with pytest.raises(InvalidInputError, match="reference has no finite value"):
        wasserstein([], [1.0])
    with pytest.raises(InvalidInputError, match="constant"):
        normalized_wasserstein([3.0, 3.0, 3.0], [3.0, 4.0])
    with pytest.raises(InvalidInputError, match="every value is missing"):
        category_counts([None, math.nan], ["a"])
    with pytest.raises(InvalidInputError, match="0/1"):
        fisher([0, 1, 2], [0, 1])
    same = anderson_darling([5.0] * 10, [5.0] * 7)
    assert (same.statistic, same.p_value) == (0.0, 1.0) and "same" in same.note
    single = chi_squared(category_counts(["a"] * 5, ["a"] * 3))
    assert (single.statistic, single.p_value) == (0.0, 1.0) and single.note
    assert wasserstein([1.0, math.nan, 2.0], [1.0, 2.0]) == 0.0  # missing values left out
    assert SortedSample.of([1.0, math.nan, math.inf]).dropped == 2
    ends = SortedSample.of([3.0, -math.inf, math.nan, 1.0, math.inf, -0.0])
    assert ends.values.tolist() == [-0.0, 1.0, 3.0] and ends.dropped == 3
    assert fisher([0, 0], [0, 0]).note  # no odds: a defined answer, not NaN
