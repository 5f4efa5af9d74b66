"""Each drift scenario, checked on statistics of the generated data.

One dataset of three whole weeks (Monday to Sunday): week 1 is the baseline, week 2 holds the
holiday season and the missing-data window, week 3 the new category, the new-customer wave,
the new fraud pattern and (its last three days) bad data.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from synth_helpers import read_transactions

from ferryml.data.synth import SynthConfig, SynthManifest, generate
from ferryml.data.synth.catalog import category_shares, travel_mask
from ferryml.data.synth.scenarios import day_plans

WEEK1 = (pd.Timestamp("2025-01-06", tz="UTC"), pd.Timestamp("2025-01-12", tz="UTC"))
WEEK2 = (pd.Timestamp("2025-01-13", tz="UTC"), pd.Timestamp("2025-01-19", tz="UTC"))
WEEK3 = (pd.Timestamp("2025-01-20", tz="UTC"), pd.Timestamp("2025-01-26", tz="UTC"))
TRAVEL = {"4511", "7011", "4722"}
BASE_TRAVEL_SHARE = float(category_shares()[travel_mask()].sum())

CONFIG = SynthConfig.model_validate(
    {
        "seed": 3,
        "start": "2025-01-06",
        "days": 21,
        "customers": 2000,
        "merchants": 300,
        "transactions_per_day": 3000,
        "scenarios": {
            "holiday_season": {
                "enabled": True,
                "start": "2025-01-13",
                "end": "2025-01-19",
                "volume_factor": 1.4,
                "travel_factor": 3.0,
            },
            "missing_data": {
                "enabled": True,
                "start": "2025-01-13",
                "end": "2025-01-19",
                "column": "device_id",
                "null_rate": 0.4,
            },
            "new_merchant_category": {"enabled": True, "start": "2025-01-20", "share": 0.05},
            "new_customers": {
                "enabled": True,
                "start": "2025-01-20",
                "customers": 300,
                "share": 0.2,
            },
            "new_fraud_pattern": {
                "enabled": True,
                "start": "2025-01-20",
                "merchant_category": "4121",
                "fraud_rate": 0.2,
            },
            "bad_data": {"enabled": True, "start": "2025-01-24", "defect_rate": 0.01},
        },
    }
)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[SynthManifest, pd.DataFrame]:
    out = tmp_path_factory.mktemp("scenarios") / "out"
    manifest = generate(CONFIG, out)
    return manifest, read_transactions(out)


def _in(tx: pd.DataFrame, window: tuple[pd.Timestamp, pd.Timestamp]) -> pd.DataFrame:
    return tx[(tx.date >= window[0]) & (tx.date <= window[1])]


def test_manifest_lists_active_scenarios(dataset: tuple[SynthManifest, pd.DataFrame]) -> None:
    manifest, _ = dataset
    assert set(manifest.active_scenarios) == {
        "holiday_season",
        "missing_data",
        "new_merchant_category",
        "new_customers",
        "new_fraud_pattern",
        "bad_data",
    }
    assert manifest.scenarios["bad_data"]["start"] == "2025-01-24"
    assert manifest.scenarios["bad_data"]["end"] == "2025-01-26"


def test_holiday_multiplies_travel_share_inside_the_window_only(
    dataset: tuple[SynthManifest, pd.DataFrame],
) -> None:
    _, tx = dataset
    legit = tx[tx.is_fraud == 0]
    before = _in(legit, WEEK1).merchant_category.isin(TRAVEL).mean()
    during = _in(legit, WEEK2).merchant_category.isin(TRAVEL).mean()
    # ~900 travel rows in week 1: a relative tolerance of 12% is > 3 standard errors.
    assert before == pytest.approx(BASE_TRAVEL_SHARE, rel=0.12)
    assert during / before == pytest.approx(3.0, rel=0.12)
    volume = len(_in(tx, WEEK2)) / len(_in(tx, WEEK1))
    assert volume == pytest.approx(1.4, rel=0.04)


def test_strength_scales_the_effect() -> None:
    config = CONFIG.model_copy(
        update={
            "scenarios": CONFIG.scenarios.model_copy(
                update={
                    "holiday_season": CONFIG.scenarios.holiday_season.model_copy(
                        update={"strength": 0.5}
                    )
                }
            )
        }
    )
    plans = day_plans(config)
    travel = np.append(travel_mask(), False)
    assert plans[0].category_probs[travel].sum() == pytest.approx(BASE_TRAVEL_SHARE)
    assert plans[7].category_probs[travel].sum() == pytest.approx(2.0 * BASE_TRAVEL_SHARE)
    assert plans[7].volume_factor / plans[0].volume_factor == pytest.approx(1.2)


def test_new_category_absent_before_and_present_after(
    dataset: tuple[SynthManifest, pd.DataFrame],
) -> None:
    manifest, tx = dataset
    new = tx.merchant_category == "6051"
    assert not new[tx.date < WEEK3[0]].any()
    assert new[tx.date >= WEEK3[0]].mean() == pytest.approx(0.05, rel=0.15)
    assert tx[new].groupby("date").size().index.min() == WEEK3[0]
    merchants = pq.read_table(manifest.out_dir / "merchants.parquet").to_pandas()
    onboarded = merchants[merchants.merchant_category == "6051"].onboarded_date
    assert (onboarded == date(2025, 1, 20)).all()


def test_missing_column_null_rate_inside_window_only(
    dataset: tuple[SynthManifest, pd.DataFrame],
) -> None:
    manifest, tx = dataset
    inside = _in(tx, WEEK2).device_id.isna()
    assert inside.mean() == pytest.approx(0.4, abs=0.02)
    assert tx[tx.date < WEEK2[0]].device_id.notna().all()
    assert tx[tx.date > WEEK2[1]].device_id.notna().all()
    assert manifest.nulls_injected == {"device_id": int(inside.sum())}


def test_new_customer_wave(dataset: tuple[SynthManifest, pd.DataFrame]) -> None:
    manifest, tx = dataset
    customers = pq.read_table(manifest.out_dir / "customers.parquet").to_pandas()
    assert len(customers) == 2300
    wave = customers.iloc[2000:]
    assert wave.signup_date.min() == date(2025, 1, 20)
    assert wave.signup_date.max() <= date(2025, 1, 26)
    assert customers.iloc[:2000].signup_date.max() < date(2025, 1, 6)
    from_wave = tx.customer_id.isin(wave.customer_id)
    assert not from_wave[tx.date < WEEK3[0]].any()
    assert from_wave[(tx.date >= WEEK3[0]) & (tx.is_fraud == 0)].mean() == pytest.approx(
        0.2, abs=0.015
    )
    signup = customers.set_index("customer_id").signup_date
    wave_tx = tx[from_wave]
    assert (wave_tx.date.dt.date.to_numpy() >= signup.loc[wave_tx.customer_id].to_numpy()).all()


def test_new_fraud_pattern_changes_p_y_given_x(
    dataset: tuple[SynthManifest, pd.DataFrame],
) -> None:
    _, tx = dataset
    taxi = tx[tx.merchant_category == "4121"]
    assert taxi[taxi.date < WEEK3[0]].is_fraud.sum() == 0  # a safe category before
    inside = taxi[taxi.date >= WEEK3[0]]
    assert inside.is_fraud.mean() == pytest.approx(0.2, rel=0.15)
    assert (inside[inside.is_fraud == 1].fraud_pattern == "new_fraud_pattern").all()


def test_bad_data_defects_match_the_manifest(
    dataset: tuple[SynthManifest, pd.DataFrame],
) -> None:
    manifest, tx = dataset
    bad_days = tx.date >= pd.Timestamp("2025-01-24", tz="UTC")
    assert (tx.amount_was_string == bad_days).all()
    bad = tx[bad_days]
    period_end = pd.Timestamp("2025-01-27", tz="UTC")
    found = {
        "negative_amount": int((bad.amount < 0).sum()),
        "future_event_time": int((bad.event_time >= period_end).sum()),
        "unknown_country": int((bad.merchant_country == "XX").sum()),
        "duplicate_transaction_id": len(bad) - bad.transaction_id.nunique(),
        "withdrawal_with_beneficiary": int(
            ((bad.transaction_type == "withdrawal") & bad.beneficiary_id.notna()).sum()
        ),
        "amount_as_string": len(bad),
    }
    assert manifest.bad_data == found
    assert all(found[k] > 0 for k in found)
    for defect in ("negative_amount", "unknown_country"):
        assert found[defect] == pytest.approx(0.01 * len(bad), rel=0.35)
    good = tx[~bad_days]
    assert (good.amount > 0).all() and good.transaction_id.is_unique
    assert (good.merchant_country != "XX").all()
    assert len(manifest.string_amount_partitions) == 3
    path = manifest.out_dir / manifest.string_amount_partitions[0]
    assert pq.read_schema(path).field("amount").type == pa.string()
