"""Data validation: rules as config, row-level checks per chunk on Great Expectations,
whole-dataset checks (unique keys, distribution) with DuckDB, quarantine and reports.

Nothing here imports Great Expectations at import time: :class:`ChunkValidator` does, once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ferryml._lazy import lazy_exports

if TYPE_CHECKING:  # what type checkers see; at run time, __getattr__ below
    from ferryml.data.validate.chunk import (
        BROKEN_RULES_COLUMN,
        ChunkValidator,
        ChunkVerdict,
        RuleFailure,
        RuleTally,
        validate_chunk,
    )
    from ferryml.data.validate.quarantine import write_quarantine
    from ferryml.data.validate.report import (
        RuleReport,
        SummaryBuilder,
        ValidationSummary,
        write_summary,
    )
    from ferryml.data.validate.rules import (
        AllowedValuesRule,
        Check,
        DistributionRule,
        NotInFutureRule,
        NotNullRule,
        NullWhenRule,
        OutliersRule,
        RangeRule,
        Rule,
        TypeRule,
        UniqueRule,
        ValidationConfig,
        resolve,
    )
    from ferryml.data.validate.stored import validate_stored
    from ferryml.data.validate.whole import (
        DistributionResult,
        DuplicateKeys,
        WholeVerdict,
        quarantine_duplicates,
        validate_whole,
    )

# Names load on first use: the config loader imports config models below this package,
# and a command (or a spawned process) that only reads a config should not pay for the rest.
_EXPORTS = {
    "AllowedValuesRule": "ferryml.data.validate.rules",
    "BROKEN_RULES_COLUMN": "ferryml.data.validate.chunk",
    "Check": "ferryml.data.validate.rules",
    "ChunkValidator": "ferryml.data.validate.chunk",
    "ChunkVerdict": "ferryml.data.validate.chunk",
    "DistributionResult": "ferryml.data.validate.whole",
    "DistributionRule": "ferryml.data.validate.rules",
    "DuplicateKeys": "ferryml.data.validate.whole",
    "NotInFutureRule": "ferryml.data.validate.rules",
    "NotNullRule": "ferryml.data.validate.rules",
    "NullWhenRule": "ferryml.data.validate.rules",
    "OutliersRule": "ferryml.data.validate.rules",
    "RangeRule": "ferryml.data.validate.rules",
    "Rule": "ferryml.data.validate.rules",
    "RuleFailure": "ferryml.data.validate.chunk",
    "RuleReport": "ferryml.data.validate.report",
    "RuleTally": "ferryml.data.validate.chunk",
    "SummaryBuilder": "ferryml.data.validate.report",
    "TypeRule": "ferryml.data.validate.rules",
    "UniqueRule": "ferryml.data.validate.rules",
    "ValidationConfig": "ferryml.data.validate.rules",
    "ValidationSummary": "ferryml.data.validate.report",
    "WholeVerdict": "ferryml.data.validate.whole",
    "quarantine_duplicates": "ferryml.data.validate.whole",
    "resolve": "ferryml.data.validate.rules",
    "validate_chunk": "ferryml.data.validate.chunk",
    "validate_stored": "ferryml.data.validate.stored",
    "validate_whole": "ferryml.data.validate.whole",
    "write_quarantine": "ferryml.data.validate.quarantine",
    "write_summary": "ferryml.data.validate.report",
}

__getattr__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "BROKEN_RULES_COLUMN",
    "AllowedValuesRule",
    "Check",
    "ChunkValidator",
    "ChunkVerdict",
    "DistributionResult",
    "DistributionRule",
    "DuplicateKeys",
    "NotInFutureRule",
    "NotNullRule",
    "NullWhenRule",
    "OutliersRule",
    "RangeRule",
    "Rule",
    "RuleFailure",
    "RuleReport",
    "RuleTally",
    "SummaryBuilder",
    "TypeRule",
    "UniqueRule",
    "ValidationConfig",
    "ValidationSummary",
    "WholeVerdict",
    "quarantine_duplicates",
    "resolve",
    "validate_chunk",
    "validate_stored",
    "validate_whole",
    "write_quarantine",
    "write_summary",
]
