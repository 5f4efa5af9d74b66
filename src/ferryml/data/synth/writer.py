"""Index-space rows to Arrow tables, and tables to Parquet files with their sha256.

The transaction schema is fixed here; the bad-data window may replace ``amount`` by a string
column (see :mod:`ferryml.data.synth.defects`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ferryml.data.synth import catalog
from ferryml.data.synth._arrow import pa, pc, pq
from ferryml.data.synth.entities import Entities, vocab
from ferryml.data.synth.manifest import FileEntry
from ferryml.data.synth.transactions import Batch

TIMESTAMP = pa.timestamp("us", tz="UTC")
TRANSACTION_SCHEMA = pa.schema(
    [
        ("transaction_id", pa.string()),
        ("event_time", TIMESTAMP),
        ("customer_id", pa.string()),
        ("card_id", pa.string()),
        ("card_number", pa.string()),
        ("merchant_id", pa.string()),
        ("merchant_category", pa.string()),
        ("merchant_country", pa.string()),
        ("channel", pa.string()),
        ("transaction_type", pa.string()),
        ("beneficiary_id", pa.string()),
        ("amount", pa.float64()),
        ("currency", pa.string()),
        ("device_id", pa.string()),
        ("ip_country", pa.string()),
        ("is_fraud", pa.int8()),
        ("label_time", TIMESTAMP),
        ("fraud_pattern", pa.string()),
    ]
)
_COUNTRIES = vocab(catalog.COUNTRIES)
_CHANNELS = vocab(catalog.CHANNELS)
_TYPES = vocab(catalog.TRANSACTION_TYPES)
_CURRENCIES = vocab(catalog.CURRENCIES)
_PATTERNS = vocab(catalog.FRAUD_PATTERNS)


def transaction_table(
    entities: Entities,
    batch: Batch,
    *,
    sequence: npt.NDArray[np.int64],
    label_time_us: npt.NDArray[np.int64],
    null_column: str | None = None,
    null_mask: npt.NDArray[np.bool_] | None = None,
    amount_as_string: bool = False,
) -> pa.Table:
    """The Arrow table of one day's rows."""
    fraud = batch.pattern != catalog.LEGIT
    amount: pa.Array = pa.array(batch.amount, type=pa.float64())
    if amount_as_string:
        amount = pc.cast(amount, pa.string())
    columns: dict[str, pa.Array] = {
        "transaction_id": pc.binary_join_element_wise(
            "tx-", pc.utf8_lpad(pc.cast(pa.array(sequence), pa.string()), 10, "0"), ""
        ),
        "event_time": pa.array(batch.time_us).cast(TIMESTAMP),
        "customer_id": entities.customer_ids.take(pa.array(batch.customer)),
        "card_id": entities.card_ids.take(pa.array(batch.card)),
        "card_number": entities.card_numbers.take(pa.array(batch.card)),
        "merchant_id": entities.merchant_ids.take(pa.array(batch.merchant)),
        "merchant_category": vocab(entities.category_codes).take(pa.array(batch.category)),
        "merchant_country": _COUNTRIES.take(pa.array(batch.merchant_country)),
        "channel": _CHANNELS.take(pa.array(batch.channel)),
        "transaction_type": _TYPES.take(pa.array(batch.transaction_type)),
        "beneficiary_id": entities.beneficiary_ids.take(_nullable(batch.beneficiary)),
        "amount": amount,
        "currency": _CURRENCIES.take(pa.array(catalog.COUNTRY_CURRENCY[batch.merchant_country])),
        "device_id": entities.device_ids.take(_nullable(batch.device)),
        "ip_country": _COUNTRIES.take(_nullable(batch.ip_country)),
        "is_fraud": pa.array(fraud.astype(np.int8)),
        "label_time": pa.array(label_time_us, mask=~fraud).cast(TIMESTAMP),
        "fraud_pattern": _PATTERNS.take(pa.array(batch.pattern.astype(np.int64) - 1, mask=~fraud)),
    }
    if null_column is not None and null_mask is not None:
        column = columns[null_column]
        columns[null_column] = pc.if_else(pa.array(null_mask), pa.nulls(1, column.type)[0], column)
    return pa.table(columns)


def write_parquet(table: pa.Table, root: Path, relative: str) -> FileEntry:
    """Write ``table`` to ``root / relative`` and describe the file for the manifest."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="snappy")
    return FileEntry(
        path=relative, rows=table.num_rows, bytes=path.stat().st_size, sha256=sha256_of(path)
    )


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _nullable(index: npt.NDArray[np.int64]) -> pa.Array:
    return pa.array(index, mask=index < 0)
