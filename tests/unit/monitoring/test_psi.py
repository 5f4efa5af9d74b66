"""PSI against an independent computation: numpy's histogram on the reference's quantile
edges and scipy's relative entropy (PSI is the symmetrized KL divergence of the shares)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import rel_entr

from ferryml.errors import InvalidInputError
from ferryml.monitoring.stats.psi import EPSILON, SPEC, ReferenceBins, band, psi


def oracle(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    inner = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    edges = np.r_[-np.inf, inner, np.inf]
    r = np.histogram(reference, edges)[0] / len(reference)
    c = np.histogram(current, edges)[0] / len(current)
    r, c = np.where(r == 0, EPSILON, r), np.where(c == 0, EPSILON, c)
    return float(rel_entr(c, r).sum() + rel_entr(r, c).sum())


@pytest.mark.parametrize("shift", [0.0, 0.1, 0.5, 2.0])
@pytest.mark.parametrize("seed", [0, 1])
def test_psi_equals_the_symmetrized_kl_of_the_binned_shares(shift: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    reference = rng.normal(0, 1, 5000)
    current = rng.normal(shift, 1.3, 3000)
    assert psi(reference, current) == pytest.approx(oracle(reference, current), abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 20))
def test_reused_bins_give_the_same_value_and_psi_is_never_negative(seed: int, bins: int) -> None:
    rng = np.random.default_rng(seed)
    reference, current = rng.gamma(2.0, 1.0, 800), rng.gamma(2.2, 1.0, 600)
    fixed = ReferenceBins.of(reference, bins)
    assert psi(fixed, current) == psi(reference, current, bins=bins) >= 0


def test_the_reference_is_fixed_empty_bins_are_finite_and_bands_are_named() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(0, 1, 4000), rng.normal(0.8, 2, 4000)
    assert psi(a, b) != pytest.approx(psi(b, a))  # the bins come from the reference
    far = psi(a, rng.normal(50, 1, 1000))  # every current value in the top bin
    assert np.isfinite(far) and far > 1
    assert [band(x) for x in (0.05, 0.15, 0.2)] == ["stable", "moderate", "significant"]
    assert SPEC.drifted(0.25) and not SPEC.drifted(0.05) and SPEC.drifted(0.12, threshold=0.1)
    with pytest.raises(InvalidInputError, match="finite values"):
        psi(a, [np.nan, np.inf])
