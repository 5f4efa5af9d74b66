"""``generate``: the whole synthetic dataset, written atomically, day by day.

>>> import tempfile, pathlib
>>> from datetime import datetime, timezone
>>> from ferryml.clock import ManualClock
>>> out = pathlib.Path(tempfile.mkdtemp()) / "synth"
>>> config = SynthConfig(days=3, customers=200, merchants=40, transactions_per_day=300)
>>> clock = ManualClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
>>> manifest = generate(config, out, clock=clock)
>>> sorted(manifest.rows)
['cards', 'customers', 'merchants', 'transactions']
>>> (out / "transactions" / "date=2025-01-01" / "part-0.parquet").is_file()
True
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ferryml.clock import Clock, SystemClock
from ferryml.data.synth import catalog
from ferryml.data.synth.churn import generate_churn
from ferryml.data.synth.churn_config import ChurnSynthConfig
from ferryml.data.synth.config import SynthConfig
from ferryml.data.synth.defects import ROW_DEFECTS, bad_data, null_mask
from ferryml.data.synth.entities import Entities, build_entities
from ferryml.data.synth.fraud import FraudState, new_pattern
from ferryml.data.synth.manifest import MANIFEST_NAME, FileEntry, SynthManifest, run_fields
from ferryml.data.synth.scenarios import DayPlan, day_plans, describe
from ferryml.data.synth.transactions import DAY_US, Batch, legit_day
from ferryml.data.synth.writer import transaction_table, write_parquet
from ferryml.errors import DataError
from ferryml.storage.atomic import atomic_directory

GENERATOR_VERSION = "1.0"
"""Bumped whenever the same config and seed would produce different data."""

Progress = Callable[[int, int], None]


def generate(
    config: SynthConfig | ChurnSynthConfig,
    out_dir: Path,
    *,
    progress: Progress | None = None,
    clock: Clock | None = None,
) -> SynthManifest:
    """Generate the dataset ``config`` describes into ``out_dir``, replacing it as a whole:
    card transactions (:class:`SynthConfig`) or subscriber usage (:class:`ChurnSynthConfig`,
    see :mod:`ferryml.data.synth.churn`).

    ``progress(done_days, total_days)`` is called after each day is written. Nothing appears
    in ``out_dir`` unless every file was written: a failure (or an exception raised by
    ``progress``) leaves the previous content, or nothing, behind.
    """
    out_dir = Path(out_dir).resolve()
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError(
            f"cannot generate synthetic data into {out_dir}: it is a file, not a directory",
            hint="pass a directory path (it is created, or replaced as a whole if it exists)",
        )
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / MANIFEST_NAME).is_file():
        # Generating replaces the directory as a whole: only an earlier output may be replaced.
        raise DataError(
            f"refusing to generate into {out_dir}: it holds files that are not an earlier "
            f"generated dataset (no {MANIFEST_NAME}), and generating replaces it as a whole",
            hint="pass a new or empty directory, e.g. --out data/raw/synth",
        )
    clock = clock or SystemClock()
    try:
        with atomic_directory(out_dir) as tmp:
            if isinstance(config, ChurnSynthConfig):
                manifest = generate_churn(config, tmp, progress, clock)
            else:
                manifest = _generate_into(config, tmp, progress, clock)
            (tmp / MANIFEST_NAME).write_text(manifest.to_json(), encoding="utf-8")
    except OSError as exc:
        raise DataError(
            f"cannot write synthetic data into {out_dir}: {exc.strerror or exc}",
            hint="check that the parent directory exists, is writable and has free space",
        ) from exc
    return manifest.model_copy(update={"out_dir": out_dir})


class _Totals:
    """Counts accumulated over the days, for the manifest."""

    def __init__(self) -> None:
        self.rows = 0
        self.by_pattern = dict.fromkeys(catalog.FRAUD_PATTERNS, 0)
        self.defects = dict.fromkeys(ROW_DEFECTS, 0)
        self.string_partitions: list[str] = []
        self.nulls = 0


def _generate_into(
    config: SynthConfig, root: Path, progress: Progress | None, clock: Clock
) -> SynthManifest:
    seeds = np.random.SeedSequence(config.seed).spawn(2 + config.days)
    entities = build_entities(config, _rng(seeds[0]))
    state = FraudState(config, entities, _rng(seeds[1]))
    files: list[FileEntry] = []
    rows: dict[str, int] = {}
    for name, table in entities.tables().items():
        files.append(write_parquet(table, root, f"{name}.parquet"))
        rows[name] = table.num_rows

    totals = _Totals()
    missing = config.scenarios.missing_data.column
    for plan, seed in zip(day_plans(config), seeds[2:], strict=True):
        rng = _rng(seed)
        batch = _day_rows(config, entities, state, rng, plan)
        sequence = totals.rows + np.arange(len(batch), dtype=np.int64)
        label_time_us = batch.time_us + _label_delays_us(config, rng, len(batch))
        damaged = bad_data(
            rng,
            plan,
            batch,
            sequence,
            period_end_us=(entities.period_start_day + config.days) * DAY_US,
            legit_beneficiaries=entities.legit_beneficiaries,
        )
        nulls = null_mask(rng, plan, len(batch))
        table = transaction_table(
            entities,
            damaged.batch,
            sequence=damaged.sequence,
            label_time_us=label_time_us,
            null_column=missing,
            null_mask=nulls,
            amount_as_string=plan.amount_as_string,
        )
        partition = f"transactions/date={plan.day.isoformat()}/part-0.parquet"
        files.append(write_parquet(table, root, partition))
        totals.rows += len(batch)
        for code, name in enumerate(catalog.FRAUD_PATTERNS, start=1):
            totals.by_pattern[name] += int(np.count_nonzero(batch.pattern == code))
        for defect, count in damaged.counts.items():
            totals.defects[defect] += count
        if plan.amount_as_string:
            totals.string_partitions.append(partition)
        totals.nulls += 0 if nulls is None else int(nulls.sum())
        if progress is not None:
            progress(plan.index + 1, config.days)

    rows["transactions"] = totals.rows
    fraud = sum(totals.by_pattern.values())
    scenarios = describe(config)
    bad = dict(totals.defects)
    if "bad_data" in scenarios:
        bad["amount_as_string"] = sum(
            f.rows for f in files if f.path in set(totals.string_partitions)
        )
    return SynthManifest(
        **run_fields(config, clock),
        generator_version=GENERATOR_VERSION,
        rows=rows,
        outcome="fraud",
        positive_count=fraud,
        positive_rate=fraud / totals.rows if totals.rows else 0.0,
        positives_by_pattern=totals.by_pattern,
        active_scenarios=list(scenarios),
        scenarios=scenarios,
        bad_data=bad if "bad_data" in scenarios else {},
        string_amount_partitions=totals.string_partitions,
        nulls_injected={missing: totals.nulls} if "missing_data" in scenarios else {},
        files=files,
    )


def _day_rows(
    config: SynthConfig,
    entities: Entities,
    state: FraudState,
    rng: np.random.Generator,
    plan: DayPlan,
) -> Batch:
    """Legitimate rows, drifted labels and fraud rows of one day, sorted by event time."""
    n = int(rng.poisson(config.transactions_per_day * plan.volume_factor))
    legit = legit_day(rng, entities, plan, n)
    target = catalog.CATEGORY_CODES.index(config.scenarios.new_fraud_pattern.merchant_category)
    legit = new_pattern(rng, plan, legit, target)
    day = Batch.concat([legit, state.day(rng, plan, legit)])
    return day.take(np.argsort(day.time_us, kind="stable"))


def _label_delays_us(config: SynthConfig, rng: np.random.Generator, n: int) -> np.ndarray:
    """Chargeback delays in microseconds (used for fraud rows only)."""
    delay = config.label_delay_days
    unit = rng.random(n) if delay.distribution == "uniform" else rng.beta(1.5, 4.0, size=n)
    days = delay.min + (delay.max - delay.min) * unit
    return np.round(days * DAY_US).astype(np.int64)


def _rng(seed: np.random.SeedSequence) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))
