"""Invariants of any small valid config (hypothesis)."""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from synth_helpers import read_transactions

from ferryml.data.synth import SynthConfig, generate

configs = st.builds(
    SynthConfig,
    seed=st.integers(0, 2**32 - 1),
    start=st.dates(date(2020, 1, 1), date(2030, 12, 31)),
    days=st.integers(1, 3),
    customers=st.integers(100, 250),
    merchants=st.integers(16, 60),
    transactions_per_day=st.floats(20, 400),
    base_fraud_rate=st.floats(0, 0.05),
    label_delay_days=st.integers(0, 30).map(lambda low: {"min": low, "max": low + 10}),
)


@settings(max_examples=8, deadline=None)
@given(config=configs)
def test_any_small_config_gives_a_clean_dataset(config: SynthConfig) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        manifest = generate(config, Path(tmp) / "out")
        tx = read_transactions(manifest.out_dir)
    assert len(tx) == manifest.rows["transactions"]
    assert tx.transaction_id.is_unique
    start = pd.Timestamp(config.start, tz="UTC")
    end = pd.Timestamp(config.start + timedelta(days=config.days), tz="UTC")
    assert ((tx.event_time >= start) & (tx.event_time < end)).all()
    assert (tx.amount > 0).all()
    assert tx.label_time.notna().eq(tx.is_fraud == 1).all()
    delay = (tx.label_time - tx.event_time).dt.total_seconds().dropna() / 86_400
    low = config.label_delay_days.min
    assert ((delay >= low - 1e-6) & (delay <= low + 10 + 1e-6)).all()


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_same_seed_same_files(seed: int) -> None:
    config = SynthConfig(seed=seed, days=1, customers=100, merchants=20, transactions_per_day=50)
    with tempfile.TemporaryDirectory() as tmp:
        first = generate(config, Path(tmp) / "a")
        second = generate(config, Path(tmp) / "b")
    assert [f.sha256 for f in first.files] == [f.sha256 for f in second.files]
