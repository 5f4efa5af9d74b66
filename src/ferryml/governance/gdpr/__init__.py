"""GDPR: a data subject's erasure and export, retention, minimization and purpose limitation.

    from ferryml.governance.gdpr import erase_subject, export_subject, retain
    outcome = erase_subject(context, "C00000042")

One concept per module: :mod:`.subject` (raw id → pseudonym, digest), :mod:`.footprint`
(the ids that lead to the subject's data), :mod:`.selection` and :mod:`.tabular` (which rows,
and rewriting files without them), :mod:`.stores` (one small module per kind of store),
:mod:`.erase`, :mod:`.record`, :mod:`.export`, :mod:`.retain`, :mod:`.limits`. See
``docs/gdpr.md``.
"""

from ferryml.governance.gdpr.erase import ErasureOutcome, erase_subject, trace_footprint
from ferryml.governance.gdpr.export import export_subject, write_export
from ferryml.governance.gdpr.footprint import Footprint, FootprintTracer
from ferryml.governance.gdpr.limits import (
    check_minimization,
    check_purpose,
    check_training,
    features_outside,
)
from ferryml.governance.gdpr.record import ErasureRecord, ErasureRecords
from ferryml.governance.gdpr.retain import expired_data, retain, retention_plan
from ferryml.governance.gdpr.selection import OlderThan, RowSelection, ValueSelection
from ferryml.governance.gdpr.stores import STORE_TYPES, Erased, Location, SubjectStore
from ferryml.governance.gdpr.subject import Subject, project_subject

__all__ = [
    "STORE_TYPES",
    "Erased",
    "ErasureOutcome",
    "ErasureRecord",
    "ErasureRecords",
    "Footprint",
    "FootprintTracer",
    "Location",
    "OlderThan",
    "RowSelection",
    "Subject",
    "SubjectStore",
    "ValueSelection",
    "check_minimization",
    "check_purpose",
    "check_training",
    "erase_subject",
    "expired_data",
    "export_subject",
    "features_outside",
    "project_subject",
    "retain",
    "retention_plan",
    "trace_footprint",
    "write_export",
]
