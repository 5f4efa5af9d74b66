"""Synthetic card transactions with fraud patterns and drift scenarios, seeded and vectorized.

    >>> import tempfile, pathlib
    >>> from ferryml.data.synth import SynthConfig, generate
    >>> config = SynthConfig(days=2, customers=200, merchants=40, transactions_per_day=200)
    >>> manifest = generate(config, pathlib.Path(tempfile.mkdtemp()) / "synth")
    >>> manifest.rows["customers"]
    200

The output directory holds ``customers.parquet``, ``cards.parquet``, ``merchants.parquet``,
``transactions/date=YYYY-MM-DD/part-0.parquet`` (Hive-style day partitions) and
``manifest.json``. ``card_number``, ``email`` and ``device_id`` are fake PII, raw as a real
feed carries them; ``fraud_pattern`` is generator ground truth, never a model input.
"""

from __future__ import annotations

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
from ferryml.data.synth.manifest import MANIFEST_NAME, FileEntry, SynthManifest
from ferryml.data.synth.writer import TRANSACTION_SCHEMA

__all__ = [
    "GENERATOR_VERSION",
    "MANIFEST_NAME",
    "TRANSACTION_SCHEMA",
    "AccountTakeover",
    "BadData",
    "CardTesting",
    "FileEntry",
    "FraudPatterns",
    "HolidaySeason",
    "LabelDelay",
    "MerchantCompromise",
    "MissingData",
    "NewCustomers",
    "NewFraudPattern",
    "NewMerchantCategory",
    "Progress",
    "Scenario",
    "Scenarios",
    "SynthConfig",
    "SynthManifest",
    "generate",
]
