"""Data validation: rules as config, row-level checks per chunk on Great Expectations,
whole-dataset checks (unique keys, distribution) with DuckDB, quarantine and reports.

Nothing here imports Great Expectations at import time: :class:`ChunkValidator` does, once.
"""

from __future__ import annotations

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
