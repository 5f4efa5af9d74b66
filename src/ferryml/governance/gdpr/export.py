"""Right of access: every row a project holds about one subject, in one JSON document.

    document = export_subject(context, "C00000042")
    write_export(document, Path("subject.json"))           # mode 600: it is personal data

The document has one section per store (raw files, dataset versions, feature builds,
prediction records, labels…), each a list of rows as stored, with where each row was found.
The audit trail records that an export happened, under the subject's keyed digest only.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from ferryml.governance.gdpr.erase import trace_footprint
from ferryml.governance.gdpr.stores import Scope, open_stores
from ferryml.governance.gdpr.subject import project_subject
from ferryml.storage.atomic import atomic_path

if TYPE_CHECKING:
    from ferryml.pipeline import ProjectContext

EXPORT_ACTION = "gdpr.export"
EXPORT_FORMAT = "ferryml-subject-export/1"


def export_subject(
    context: ProjectContext, raw_id: str, *, actor: str = "user:unknown"
) -> dict[str, Any]:
    """The subject's data in every store, as a JSON-able document."""
    subject = project_subject(context.loaded, context.workspace.root, raw_id)
    scope = Scope(context, operation_id="export")
    try:
        stores = open_stores(scope)
        footprint = trace_footprint(context, subject, stores)
        sections = {store.name: store.export(footprint) for store in stores}
    finally:
        scope.close()
    counts = {name: len(rows) for name, rows in sections.items() if rows}
    context.audit.append(
        actor,
        EXPORT_ACTION,
        f"subject/{subject.digest[:16]}",
        {"subject_digest": subject.digest, "rows": counts},
    )
    return {
        "format": EXPORT_FORMAT,
        "project": context.workspace.project,
        "generated_at": context.clock.now().isoformat(),
        "subject": {"id": subject.raw_id, "columns": list(subject.columns)},
        "pseudonym": subject.pseudonym,
        "counts": counts,
        "sections": {name: rows for name, rows in sections.items() if rows},
    }


def write_export(document: dict[str, Any], target: Path) -> Path:
    """Write the document as JSON to ``target``, readable by its owner only."""
    with atomic_path(target) as tmp:
        tmp.chmod(0o600)
        tmp.write_bytes(
            orjson.dumps(
                document, default=_json, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS
            )
        )
    return target


def _json(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if hasattr(value, "as_py"):
        return value.as_py()
    return str(value)


__all__ = ["EXPORT_ACTION", "EXPORT_FORMAT", "export_subject", "write_export"]
