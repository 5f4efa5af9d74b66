"""The churn generator (data.synth.kind: churn): its strict settings, its determinism, and
the story its rows tell (labels from the future, customers who leave stop sending usage,
the drift scenarios where they are switched on)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.dataset as ds
import pytest
from pydantic import TypeAdapter, ValidationError

from ferryml.clock import ManualClock
from ferryml.config.loader import load_config
from ferryml.data.synth import (
    ChurnSynthConfig,
    SynthConfig,
    SynthManifest,
    SynthSettings,
    generate,
)
from ferryml.errors import ConfigError

NOW = datetime(2026, 2, 1, tzinfo=UTC)
REPO_CHURN = Path(__file__).resolve().parents[3] / "configs" / "churn.yaml"
CONFIG = ChurnSynthConfig(
    kind="churn",
    seed=5,
    start=date(2025, 1, 6),
    days=70,
    customers=800,
    signups_per_day=3.0,
    monthly_churn_rate=0.05,
    horizon_days=21,
    scenarios={
        "price_increase": {"enabled": True, "start": date(2025, 2, 10), "plans": ["premium"]},
        "competitor_launch": {"enabled": True, "start": date(2025, 2, 17), "countries": ["DE"]},
    },
)


@pytest.fixture(scope="module")
def churn(tmp_path_factory: pytest.TempPathFactory) -> tuple[SynthManifest, pd.DataFrame]:
    out = tmp_path_factory.mktemp("churn") / "synth"
    manifest = generate(CONFIG, out, clock=ManualClock(NOW))
    usage = ds.dataset(out / "usage", partitioning="hive").to_table().to_pandas()
    return manifest, usage


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*.parquet"))
    }


def test_the_churn_config_loads_strictly_and_selects_its_generator() -> None:
    loaded = load_config(REPO_CHURN)
    assert isinstance(loaded.config.data.synth, ChurnSynthConfig)
    assert loaded.config.schema_.columns_with_role("label") == ["churned"]
    assert loaded.config.governance.policy.use_case.risk_tier == "limited"
    with pytest.raises(ConfigError) as caught:  # a typo names the file, the line and the key
        load_config(REPO_CHURN, overrides=["data.synth.horizon_dayz=14"])
    issue = caught.value.issues[0]
    assert issue.key_path == "data.synth.horizon_dayz"
    assert "did you mean 'horizon_days'" in issue.expected
    with pytest.raises(ConfigError) as caught:  # a fraud-only key is not a churn key
        load_config(REPO_CHURN, overrides=["data.synth.merchants=40"])
    assert caught.value.issues[0].key_path == "data.synth.merchants"


def test_data_synth_is_the_fraud_generator_unless_kind_says_otherwise() -> None:
    settings = TypeAdapter(SynthSettings)
    assert type(settings.validate_python({"days": 3})) is SynthConfig
    assert type(settings.validate_python({"kind": "churn"})) is ChurnSynthConfig
    with pytest.raises(ValidationError, match="'fraud' \\(the default\\) or 'churn'"):
        settings.validate_python({"kind": "retail"})
    with pytest.raises(ValidationError, match=r"competitor_launch\.countries must be among"):
        ChurnSynthConfig(kind="churn", scenarios={"competitor_launch": {"countries": ["US"]}})


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path) -> None:
    small = CONFIG.model_copy(update={"days": 21, "customers": 200})
    first = generate(small, tmp_path / "a", clock=ManualClock(NOW))
    again = generate(small, tmp_path / "b", clock=ManualClock(NOW))
    other = generate(small.model_copy(update={"seed": 6}), tmp_path / "c", clock=ManualClock(NOW))
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")
    assert _digests(tmp_path / "a") != _digests(tmp_path / "c")
    assert first.files == again.files
    assert {f.sha256 for f in first.files} != {f.sha256 for f in other.files}


def test_layout_and_manifest(churn: tuple[SynthManifest, pd.DataFrame]) -> None:
    manifest, usage = churn
    out = manifest.out_dir
    assert (manifest.kind, manifest.outcome) == ("churn", "churn")
    assert manifest.rows == {"customers": len(pd.read_parquet(out / "customers.parquet")),
                             "usage": len(usage)}  # fmt: skip
    for entry in manifest.files:  # every file listed with its sha256
        assert hashlib.sha256((out / entry.path).read_bytes()).hexdigest() == entry.sha256
    days = sorted(p.name for p in (out / "usage").iterdir())
    assert days[0] == "date=2025-01-06" and days[-1] == "date=2025-03-16"
    assert manifest.positive_count == int(usage["churned"].sum())
    assert manifest.positive_rate == pytest.approx(usage["churned"].mean())
    assert sum(manifest.positives_by_pattern.values()) == manifest.positive_count
    assert manifest.active_scenarios == ["price_increase", "competitor_launch"]
    assert json.loads((out / "manifest.json").read_text())["config"]["kind"] == "churn"
    assert SynthManifest.load(out) == manifest


def test_labels_come_from_the_cancellation_within_the_horizon(
    churn: tuple[SynthManifest, pd.DataFrame],
) -> None:
    _, usage = churn
    positive = usage[usage["churned"] == 1]
    negative = usage[usage["churned"] == 0]
    assert 0.01 < usage["churned"].mean() < 0.3
    assert negative["label_time"].isna().all() and negative["churn_reason"].isna().all()
    delay = positive["label_time"] - positive["event_time"]
    assert (delay > timedelta(0)).all() and (delay <= timedelta(days=21)).all()
    # one cancellation per customer: every positive of a customer shares its label time
    assert (positive.groupby("customer_id")["label_time"].nunique() == 1).all()
    cancelled = positive.groupby("customer_id")["label_time"].first()
    last_event = usage.groupby("customer_id")["event_time"].max()
    assert (last_event[cancelled.index] < cancelled).all()  # nobody uses it after leaving
    # a customer's summaries are a week apart
    gaps = usage.sort_values("event_time").groupby("customer_id")["event_time"].diff().dropna()
    assert ((gaps > timedelta(days=6)) & (gaps < timedelta(days=8))).all()


def test_usage_falls_before_a_cancellation(churn: tuple[SynthManifest, pd.DataFrame]) -> None:
    _, usage = churn
    by_label = usage.groupby("churned")[["sessions", "support_tickets", "payment_failures"]].mean()
    assert by_label.loc[1, "sessions"] < 0.9 * by_label.loc[0, "sessions"]
    assert by_label.loc[1, "support_tickets"] > by_label.loc[0, "support_tickets"]
    assert by_label.loc[1, "payment_failures"] > by_label.loc[0, "payment_failures"]


def test_the_price_increase_and_the_competitor_drift_the_data_from_their_start(
    churn: tuple[SynthManifest, pd.DataFrame],
) -> None:
    _, usage = churn
    premium = usage[usage["plan"] == "premium"]
    before = premium[premium["event_time"] < pd.Timestamp("2025-02-10", tz="UTC")]
    after = premium[premium["event_time"] >= pd.Timestamp("2025-02-10", tz="UTC")]
    assert set(before["monthly_price"]) == {24.99}
    assert set(after["monthly_price"]) == {29.99}  # +20 %
    assert set(usage.loc[usage["plan"] == "basic", "monthly_price"]) == {9.99}
    rival = usage["event_time"] >= pd.Timestamp("2025-02-17", tz="UTC")
    german = usage["country"] == "DE"
    reasons = usage.loc[usage["churned"] == 1, "churn_reason"].value_counts()
    assert reasons.get("competitor", 0) > 0 and reasons.get("price", 0) > 0
    assert (
        usage.loc[rival & german, "churned"].mean() > usage.loc[rival & ~german, "churned"].mean()
    )
