"""Data drift per column: shifted columns flagged with their reasons, unchanged ones left
alone, small windows guarded by the p-value, degenerate windows answered with a reason (and
never a NaN), the reference profiled once and reused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ferryml.monitoring.config import DriftConfig
from ferryml.monitoring.drift import Reference, compare, infer_kind

N = 20_000
CATEGORIES = np.array(["grocery", "fuel", "travel", "online", "atm"], dtype=object)


def window(rng: np.random.Generator, n: int = N, *, shifted: bool = False) -> dict[str, object]:
    """Columns of one window; ``shifted`` moves some of them mildly, the rest stay."""
    category_weights = [0.4, 0.2, 0.1, 0.2, 0.1] if not shifted else [0.3, 0.2, 0.2, 0.2, 0.1]
    merchants = rng.choice(CATEGORIES, size=n, p=category_weights)
    if shifted:
        merchants[rng.random(n) < 0.03] = "crypto"
    return {
        "amount": rng.lognormal(3.0 + (0.2 if shifted else 0.0), 1.0, n),
        "hour_spread": rng.normal(12, 4 * (1.4 if shifted else 1.0), n),
        "merchant_category": merchants,
        "is_foreign": (rng.random(n) < (0.08 if shifted else 0.05)).astype(float),
        # unchanged in every window
        "age": rng.normal(40, 12, n),
        "tenure_days": rng.exponential(300, n),
        "channel": rng.choice(np.array(["pos", "web", "app"], dtype=object), size=n),
        "is_weekend": (rng.random(n) < 2 / 7).astype(float),
    }


SHIFTED = {"amount", "hour_spread", "merchant_category", "is_foreign"}


def test_shifted_columns_drift_with_reasons_and_unchanged_ones_stay_stable() -> None:
    rng = np.random.default_rng(0)
    reference = Reference.of(window(rng))
    report = compare(reference, window(rng, shifted=True))
    assert set(report.drifted) == SHIFTED
    by_name = {column.column: column for column in report.columns}
    assert by_name["merchant_category"].kind == "categorical"
    assert by_name["is_foreign"].kind == "binary" and by_name["amount"].kind == "numeric"
    assert any("crypto" in reason for reason in by_name["merchant_category"].reasons)
    assert any(r.startswith("wasserstein") for r in by_name["hour_spread"].reasons)
    assert any(r.startswith("rate_difference") for r in by_name["is_foreign"].reasons)
    assert all(by_name[name].status == "stable" for name in set(by_name) - SHIFTED)
    assert report.share_drifted == pytest.approx(len(SHIFTED) / len(by_name))


@pytest.mark.parametrize("seed", range(5))
def test_a_no_drift_control_raises_no_alarm(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    reference = Reference.of(window(rng))
    assert compare(reference, window(rng)).drifted == ()


def test_a_small_window_is_guarded_by_its_p_value_not_alarmed_by_noisy_effect_sizes() -> None:
    rng = np.random.default_rng(2)  # a seed whose 150-row effect sizes cross the floors
    reference = Reference.of({"x": rng.normal(0, 1, 150)})
    column = compare(reference, {"x": rng.normal(0, 1, 150)}).columns[0]
    assert column.effects["psi"] >= 0.1 and column.effects["jensen_shannon"] >= 0.1
    assert column.status == "stable" and column.adjusted_p is not None
    assert column.adjusted_p > 0.01


def test_windows_too_small_dropped_or_constant_columns_get_a_reason_and_no_nan() -> None:
    rng = np.random.default_rng(4)
    reference = Reference.of(
        {
            "amount": rng.lognormal(3, 1, 5000),
            "flag_code": np.full(5000, 7.0),  # constant
            "country": rng.choice(np.array(["FR", "DE"], dtype=object), 5000),
            "gone": rng.normal(0, 1, 5000),
        }
    )
    current = {
        "amount": rng.lognormal(3, 1, 40),  # too few rows to judge
        "flag_code": np.full(3000, 7.0),
        "country": np.array([None] * 3000, dtype=object),  # a dropped column: all null now
    }
    report = compare(reference, current)
    by_name = {column.column: column for column in report.columns}
    assert by_name["amount"].status == "not judged"
    assert "min_rows" in by_name["amount"].reasons[0]
    assert by_name["flag_code"].status == "stable"
    assert any("constant" in note for note in by_name["flag_code"].notes)
    assert by_name["country"].status == "drift"
    assert by_name["country"].reasons[0].startswith("null rate 0.0% in the reference, 100.0% now")
    assert by_name["gone"].reasons == ["the column is missing from the current data"]
    json.dumps(report.as_dict(), allow_nan=False)  # every number defined
    empty = compare(reference, {name: np.array([], dtype=float) for name in current})
    assert {c.status for c in empty.columns} >= {"not judged"}
    json.dumps(empty.as_dict(), allow_nan=False)


def test_a_null_rate_is_drift_when_it_moves_far_and_significantly() -> None:
    """A rate of 60 % missing moves by 6 points in a few hundred rows by chance: that is not a
    broken feed; the same move over thousands of rows is."""
    rng = np.random.default_rng(6)

    def with_nulls(n: int, rate: float) -> np.ndarray:
        values = rng.normal(0, 1, n)
        values[: round(n * rate)] = np.nan
        return values

    reference = Reference.of({"mean_24h": with_nulls(8000, 0.60)})
    small = compare(reference, {"mean_24h": with_nulls(150, 0.66)}).columns[0]
    large = compare(reference, {"mean_24h": with_nulls(6000, 0.66)}).columns[0]
    assert small.p_values["null_rate"] > 0.01 and not small.drifted
    assert large.p_values["null_rate"] < 0.01 and large.drifted
    assert large.reasons[0].startswith("null rate 60.0% in the reference, 66.0% now")


def test_integer_codes_can_be_declared_categorical_and_new_codes_are_flagged() -> None:
    rng = np.random.default_rng(5)
    codes = np.array([5411.0, 5812.0, 4121.0])
    config = DriftConfig(kinds={"mcc": "categorical"})
    reference = Reference.of({"mcc": rng.choice(codes, 5000)}, config)
    assert reference.columns["mcc"].kind == "categorical"
    current = np.r_[rng.choice(codes, 4000), np.full(200, 6051.0)]
    column = compare(reference, {"mcc": current}).columns[0]
    assert column.drifted and "6051.0" in column.reasons[0]
    assert infer_kind(np.array([0.0, 1.0, np.nan])) == "binary"
    assert infer_kind(np.array([0.0, 2.0])) == "numeric"
    assert infer_kind(np.array(["a"], dtype=object)) == "categorical"


def test_a_reference_is_profiled_once_and_gives_the_same_answer_every_time() -> None:
    rng = np.random.default_rng(6)
    reference = Reference.of(window(rng, 5000))
    current = window(rng, 3000, shifted=True)
    first, second = compare(reference, current), compare(reference, current)
    assert first.as_dict() == second.as_dict()
