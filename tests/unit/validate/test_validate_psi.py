"""PSI against an independent, direct implementation on random data."""

from __future__ import annotations

import numpy as np
import pytest

from ferryml.data.validate.psi import EPSILON, bin_counts, psi, quantile_edges


@pytest.mark.parametrize("seed", range(5))
def test_psi_matches_direct_formula(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ref = rng.lognormal(3, 1, 2000)
    cur = rng.lognormal(3 + 0.3 * seed, 1, 1500)
    edges = np.quantile(ref, np.linspace(0, 1, 11)[1:-1])
    e_hist = np.histogram(ref, bins=[-np.inf, *edges, np.inf])[0] / ref.size
    a_hist = np.histogram(cur, bins=[-np.inf, *edges, np.inf])[0] / cur.size
    e, a = np.maximum(e_hist, EPSILON), np.maximum(a_hist, EPSILON)
    expected = float(np.sum((a - e) * np.log(a / e)))
    got = psi(bin_counts(ref, quantile_edges(ref, bins=10)), bin_counts(cur, edges))
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_same_distribution_is_near_zero_and_shift_is_large() -> None:
    rng = np.random.default_rng(0)
    ref = rng.normal(size=5000)
    edges = quantile_edges(ref, bins=10)
    assert psi(bin_counts(ref, edges), bin_counts(rng.normal(size=5000), edges)) < 0.02
    assert psi(bin_counts(ref, edges), bin_counts(rng.normal(1, 1, 5000), edges)) > 0.2
