"""generate(): files, schema, realism of the baseline traffic, determinism and atomicity."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from synth_helpers import read_transactions

from ferryml.clock import ManualClock
from ferryml.data.synth import TRANSACTION_SCHEMA, SynthConfig, SynthManifest, generate
from ferryml.errors import DataError

NOW = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
CONFIG = SynthConfig(
    seed=11,
    start=date(2025, 1, 6),  # a Monday: two whole weeks
    days=14,
    customers=1500,
    merchants=200,
    transactions_per_day=2500,
    base_fraud_rate=0.01,
    label_delay_days={"min": 3, "max": 20, "distribution": "uniform"},
)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[SynthManifest, pd.DataFrame]:
    out = tmp_path_factory.mktemp("synth") / "out"
    manifest = generate(CONFIG, out, clock=ManualClock(NOW))
    return manifest, read_transactions(out)


def test_layout_and_manifest(dataset: tuple[SynthManifest, pd.DataFrame]) -> None:
    manifest, tx = dataset
    out = manifest.out_dir
    written = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    listed = {f.path for f in manifest.files}
    assert written == listed | {"manifest.json"}
    assert "transactions/date=2025-01-06/part-0.parquet" in listed
    assert len([p for p in listed if p.startswith("transactions/")]) == 14
    for entry in manifest.files:
        data = (out / entry.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry.sha256
        assert pq.ParquetFile(out / entry.path).metadata.num_rows == entry.rows
    assert manifest.rows["transactions"] == len(tx)
    saved = json.loads((out / "manifest.json").read_text())
    assert saved["created_at"] == "2026-02-01T12:00:00Z"
    assert saved["config"]["seed"] == 11
    assert "out_dir" not in saved
    assert SynthManifest.load(out) == manifest


def test_transaction_schema(dataset: tuple[SynthManifest, pd.DataFrame]) -> None:
    manifest, _ = dataset
    path = manifest.out_dir / manifest.files[-1].path
    assert pq.read_schema(path).remove_metadata().equals(TRANSACTION_SCHEMA)


def test_entities_are_consistent(dataset: tuple[SynthManifest, pd.DataFrame]) -> None:
    manifest, tx = dataset
    out = manifest.out_dir
    customers = pq.read_table(out / "customers.parquet").to_pandas()
    cards = pq.read_table(out / "cards.parquet").to_pandas()
    merchants = pq.read_table(out / "merchants.parquet").to_pandas()
    assert customers.customer_id.is_unique and cards.card_id.is_unique
    assert customers.email.is_unique
    assert (customers.birth_date < customers.signup_date).all()
    assert customers.home_country.value_counts().index[0] == "FR"  # skewed to one market
    owner = cards.set_index("card_id").customer_id
    assert (tx.customer_id.to_numpy() == owner.loc[tx.card_id].to_numpy()).all()
    assert tx.merchant_id.isin(merchants.merchant_id).all()
    assert (tx.card_number == cards.set_index("card_id").card_number.loc[tx.card_id].values).all()


def _luhn_ok(number: str) -> bool:
    """Independent reference: the textbook Luhn algorithm, one digit at a time."""
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def test_card_numbers_are_16_digits_luhn_valid_and_unique(
    dataset: tuple[SynthManifest, pd.DataFrame],
) -> None:
    manifest, _ = dataset
    numbers = pq.read_table(manifest.out_dir / "cards.parquet").column("card_number").to_pylist()
    assert all(len(n) == 16 and n.isdigit() for n in numbers)
    assert all(_luhn_ok(n) for n in numbers)
    assert not _luhn_ok(str(int(numbers[0]) + 1))
    assert len(set(numbers)) == len(numbers)


def test_column_rules(dataset: tuple[SynthManifest, pd.DataFrame]) -> None:
    _, tx = dataset
    assert tx.transaction_id.is_unique
    assert (tx.amount > 0).all()
    assert tx.beneficiary_id.notna().eq(tx.transaction_type == "transfer").all()
    assert (tx.transaction_type == "withdrawal").eq(tx.merchant_category == "6011").all()
    assert (tx[tx.channel == "atm"].transaction_type == "withdrawal").all()
    assert tx.ip_country.notna().eq(tx.channel == "online").all()
    assert tx.device_id.notna().all()
    assert set(tx.currency) <= {"EUR", "GBP", "CHF", "USD"}
    for _, day in tx.groupby("date"):
        times = day.event_time
        assert times.is_monotonic_increasing
        assert (times.dt.floor("D") == day.date).all()


def test_daily_and_weekly_cycles(dataset: tuple[SynthManifest, pd.DataFrame]) -> None:
    _, tx = dataset
    hours = tx.event_time.dt.hour.value_counts(normalize=True)
    assert hours.loc[[2, 3, 4]].mean() < hours.loc[[11, 12, 18]].mean() / 10
    per_weekday = tx.groupby(tx.date.dt.dayofweek).size()
    assert per_weekday.loc[5] > per_weekday.loc[6] * 1.3  # busy Saturday, quiet Sunday


def test_fraud_rate_and_labels(dataset: tuple[SynthManifest, pd.DataFrame]) -> None:
    manifest, tx = dataset
    fraud = tx[tx.is_fraud == 1]
    assert manifest.positive_count == len(fraud)
    assert manifest.positive_rate == pytest.approx(len(fraud) / len(tx))
    assert 0.008 < manifest.positive_rate < 0.012  # configured 0.01
    assert tx.label_time.notna().eq(tx.is_fraud == 1).all()
    assert tx.fraud_pattern.notna().eq(tx.is_fraud == 1).all()
    delay_days = (fraud.label_time - fraud.event_time).dt.total_seconds() / 86_400
    assert delay_days.min() >= 3 and delay_days.max() <= 20
    # uniform on [3, 20]: mean 11.5, sd 4.9; with a few hundred frauds the mean is within 1.
    assert delay_days.mean() == pytest.approx(11.5, abs=1.0)
    counts = fraud.fraud_pattern.value_counts().to_dict()
    assert {k: v for k, v in manifest.positives_by_pattern.items() if v} == counts
    assert set(counts) == {"card_testing", "account_takeover", "merchant_compromise"}


def test_card_testing_is_bursts_of_tiny_online_payments(
    dataset: tuple[SynthManifest, pd.DataFrame],
) -> None:
    _, tx = dataset
    testing = tx[tx.fraud_pattern == "card_testing"]
    assert (testing.amount <= 5.0).all() and (testing.channel == "online").all()
    bursts = testing.groupby("card_id").event_time.agg(["min", "max", "size"])
    assert (bursts["size"] >= 3).mean() > 0.9
    assert ((bursts["max"] - bursts["min"]) <= pd.Timedelta(minutes=10)).mean() > 0.9


def test_account_takeover_looks_like_one(dataset: tuple[SynthManifest, pd.DataFrame]) -> None:
    manifest, tx = dataset
    ato = tx[tx.fraud_pattern == "account_takeover"]
    customers = pq.read_table(manifest.out_dir / "customers.parquet").to_pandas()
    home = customers.set_index("customer_id").home_country.loc[ato.customer_id].to_numpy()
    assert (ato.ip_country.to_numpy() != home).all()
    assert (ato.event_time.dt.hour < 5).all()
    legit = tx[tx.is_fraud == 0]
    own_devices = set(zip(legit.customer_id, legit.device_id, strict=True))
    assert not any(pair in own_devices for pair in zip(ato.customer_id, ato.device_id, strict=True))
    legit_median = legit.groupby("merchant_category").amount.median()
    ratio = ato.groupby("merchant_category").amount.median() / legit_median
    assert (ratio.dropna() > 1.5).all()


def test_merchant_compromise_follows_a_visit_to_a_breached_merchant(
    dataset: tuple[SynthManifest, pd.DataFrame],
) -> None:
    _, tx = dataset
    mc = tx[tx.fraud_pattern == "merchant_compromise"]
    assert len(mc) > 0
    legit = tx[tx.is_fraud == 0]
    first_seen = legit.groupby("card_id").event_time.min()
    lag = mc.event_time.to_numpy() - first_seen.loc[mc.card_id].to_numpy()
    assert (lag >= np.timedelta64(1, "D")).all()  # lag_min_days=2, minus time-of-day jitter
    # the cards share few merchants: the breached ones
    visited = legit[legit.card_id.isin(mc.card_id)].merchant_id.value_counts()
    assert visited.iloc[:3].sum() >= mc.card_id.nunique()


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path) -> None:
    config = SynthConfig(days=3, customers=300, merchants=60, transactions_per_day=800)
    first = generate(config, tmp_path / "a", clock=ManualClock(NOW))
    again = generate(config, tmp_path / "b", clock=ManualClock(NOW))
    other = generate(config.model_copy(update={"seed": 43}), tmp_path / "c")
    assert [f.sha256 for f in first.files] == [f.sha256 for f in again.files]
    assert (tmp_path / "a" / "manifest.json").read_bytes() == (
        tmp_path / "b" / "manifest.json"
    ).read_bytes()
    shared = {f.path: f.sha256 for f in first.files}.items() & {
        f.path: f.sha256 for f in other.files
    }.items()
    assert not shared


def test_progress_reports_each_day(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    config = SynthConfig(days=4, customers=200, merchants=40, transactions_per_day=100)
    generate(config, tmp_path / "out", progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_an_earlier_output_is_replaced_whole(tmp_path: Path) -> None:
    out = tmp_path / "out"
    small = SynthConfig(days=1, customers=200, merchants=40, transactions_per_day=100)
    generate(small, out)
    (out / "stale.txt").write_text("left by the earlier run")
    generate(small, out)
    assert not (out / "stale.txt").exists()
    assert (out / "manifest.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # nothing left aside


@pytest.mark.parametrize("content", ["notes.txt", "configs/ferry.yaml"])
def test_a_directory_that_is_not_an_earlier_output_is_never_replaced(
    tmp_path: Path, content: str
) -> None:
    out = tmp_path / "workspace"
    (out / content).parent.mkdir(parents=True, exist_ok=True)
    (out / content).write_text("the user's")
    small = SynthConfig(days=1, customers=200, merchants=40, transactions_per_day=100)
    with pytest.raises(DataError, match="refusing to generate into"):
        generate(small, out)
    assert (out / content).read_text() == "the user's"


class _InterruptedError(RuntimeError):
    pass


def _fail_on_day_2(done: int, total: int) -> None:
    if done == 2:
        raise _InterruptedError("interrupted")


def test_failure_mid_way_leaves_no_partial_output(tmp_path: Path) -> None:
    config = SynthConfig(days=4, customers=200, merchants=40, transactions_per_day=100)
    with pytest.raises(_InterruptedError):
        generate(config, tmp_path / "out", progress=_fail_on_day_2)
    assert list(tmp_path.iterdir()) == []


def test_failure_mid_way_keeps_the_previous_dataset(tmp_path: Path) -> None:
    out = tmp_path / "out"
    config = SynthConfig(days=4, customers=200, merchants=40, transactions_per_day=100)
    before = generate(config, out)
    with pytest.raises(_InterruptedError):
        generate(config.model_copy(update={"seed": 5}), out, progress=_fail_on_day_2)
    assert SynthManifest.load(out).files == before.files
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_out_dir_that_is_a_file_is_a_data_error(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("not a directory")
    with pytest.raises(DataError, match="it is a file") as info:
        generate(SynthConfig(days=1), target)
    assert info.value.hint
    assert target.read_text() == "not a directory"
