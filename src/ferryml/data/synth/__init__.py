"""Synthetic data, seeded and vectorized: card transactions with fraud patterns (the default,
``data.synth.kind: fraud``) or subscribers' weekly usage and cancellations (``kind: churn``,
:mod:`ferryml.data.synth.churn`), each with drift scenarios.

    >>> import tempfile, pathlib
    >>> from ferryml.data.synth import SynthConfig, generate
    >>> config = SynthConfig(days=2, customers=200, merchants=40, transactions_per_day=200)
    >>> manifest = generate(config, pathlib.Path(tempfile.mkdtemp()) / "synth")
    >>> manifest.rows["customers"]
    200

The output directory holds ``customers.parquet``, ``cards.parquet``, ``merchants.parquet``,
``transactions/date=YYYY-MM-DD/part-0.parquet`` (Hive-style day partitions) and
``manifest.json`` (the churn generator writes ``customers.parquet`` and ``usage/...``).
``card_number``, ``email`` and ``device_id`` are fake PII, raw as a real
feed carries them; ``fraud_pattern`` is generator ground truth, never a model input.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ferryml._lazy import lazy_exports

if TYPE_CHECKING:  # what type checkers see; at run time, __getattr__ below
    from ferryml.data.synth.churn_config import (
        ChurnScenarios,
        ChurnSynthConfig,
        CompetitorLaunch,
        PriceIncrease,
    )
    from ferryml.data.synth.config import (
        AccountTakeover,
        BadData,
        CardTesting,
        FraudPatterns,
        HolidaySeason,
        LabelDelay,
        MerchantCompromise,
        MissingData,
        NewCustomers,
        NewFraudPattern,
        NewMerchantCategory,
        Scenario,
        Scenarios,
        SynthConfig,
    )
    from ferryml.data.synth.generator import GENERATOR_VERSION, Progress, generate
    from ferryml.data.synth.kinds import SynthSettings
    from ferryml.data.synth.manifest import MANIFEST_NAME, FileEntry, SynthManifest
    from ferryml.data.synth.writer import TRANSACTION_SCHEMA

# Names load on first use: the config loader imports the config models of this package,
# and a command (or a spawned worker) that only reads a config should not pay for pandas.
_EXPORTS = {
    "AccountTakeover": "ferryml.data.synth.config",
    "BadData": "ferryml.data.synth.config",
    "CardTesting": "ferryml.data.synth.config",
    "ChurnScenarios": "ferryml.data.synth.churn_config",
    "ChurnSynthConfig": "ferryml.data.synth.churn_config",
    "CompetitorLaunch": "ferryml.data.synth.churn_config",
    "FileEntry": "ferryml.data.synth.manifest",
    "FraudPatterns": "ferryml.data.synth.config",
    "GENERATOR_VERSION": "ferryml.data.synth.generator",
    "HolidaySeason": "ferryml.data.synth.config",
    "LabelDelay": "ferryml.data.synth.config",
    "MANIFEST_NAME": "ferryml.data.synth.manifest",
    "MerchantCompromise": "ferryml.data.synth.config",
    "MissingData": "ferryml.data.synth.config",
    "NewCustomers": "ferryml.data.synth.config",
    "NewFraudPattern": "ferryml.data.synth.config",
    "NewMerchantCategory": "ferryml.data.synth.config",
    "PriceIncrease": "ferryml.data.synth.churn_config",
    "Progress": "ferryml.data.synth.generator",
    "Scenario": "ferryml.data.synth.config",
    "Scenarios": "ferryml.data.synth.config",
    "SynthConfig": "ferryml.data.synth.config",
    "SynthManifest": "ferryml.data.synth.manifest",
    "SynthSettings": "ferryml.data.synth.kinds",
    "TRANSACTION_SCHEMA": "ferryml.data.synth.writer",
    "generate": "ferryml.data.synth.generator",
}

__getattr__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "GENERATOR_VERSION",
    "MANIFEST_NAME",
    "TRANSACTION_SCHEMA",
    "AccountTakeover",
    "BadData",
    "CardTesting",
    "ChurnScenarios",
    "ChurnSynthConfig",
    "CompetitorLaunch",
    "FileEntry",
    "FraudPatterns",
    "HolidaySeason",
    "LabelDelay",
    "MerchantCompromise",
    "MissingData",
    "NewCustomers",
    "NewFraudPattern",
    "NewMerchantCategory",
    "PriceIncrease",
    "Progress",
    "Scenario",
    "Scenarios",
    "SynthConfig",
    "SynthManifest",
    "SynthSettings",
    "generate",
]
