"""Batch scoring: many records at once, with the answers online scoring would give.

``ferry batch score`` reads Parquet, computes features with the offline builder's code (the
batch views of the model's build as of each record's time, the build's fitted encodings,
window aggregates over the input's own events), scores with the registered model and writes
Parquet partitioned by event date, with a manifest. Two engines give the same scores:

- :mod:`ferryml.batch.local` (default): one process, the model on all cores, resumable: a
  killed run finishes on rerun without duplicates or gaps;
- :mod:`ferryml.batch.spark`: the same features and model inside Spark (``mapInArrow``), for
  inputs that outgrow one machine.

:mod:`ferryml.batch.source` checks the input before anything is written;
:mod:`ferryml.batch.output` owns the output directory (parts, progress, manifest).
"""

from __future__ import annotations

from ferryml._lazy import lazy_exports

# Names load on first use: the config loader imports this package's config module.
_EXPORTS = {
    "BatchConfig": "ferryml.batch.config",
    "BatchInput": "ferryml.batch.source",
    "BatchOutput": "ferryml.batch.output",
    "BatchResult": "ferryml.batch.local",
    "open_input": "ferryml.batch.source",
    "score_batch": "ferryml.batch.run",
    "score_local": "ferryml.batch.local",
    "score_spark": "ferryml.batch.spark",
}

__getattr__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "BatchConfig",
    "BatchInput",
    "BatchOutput",
    "BatchResult",
    "open_input",
    "score_batch",
    "score_local",
    "score_spark",
]
