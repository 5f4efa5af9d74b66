"""Reports and other text documents in the workspace that may quote a subject.

HTML and JSON reports (validation Data Docs, gate and training reports, model cards, MLflow
text artifacts) can quote a customer id or a transaction id. Every UTF-8 text file of the
workspace with a known text suffix is searched for the footprint's values as whole tokens and
rewritten with them replaced by ``[erased]``. Data files belong to their own stores, secrets
are never opened, and binary files (models, images) are not text: see ``docs/gdpr.md`` for
what erasure cannot reach.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from ferryml.governance.gdpr.footprint import Footprint
from ferryml.governance.gdpr.redact import redact_text, token_pattern
from ferryml.governance.gdpr.stores.base import Erased, Location, SubjectStore
from ferryml.storage.atomic import atomic_write_bytes

TEXT_SUFFIXES = frozenset(
    {".json", ".html", ".htm", ".md", ".txt", ".yaml", ".yml", ".xml", ".svg", ".log", ".js"}
)
MAX_BYTES = 256 * 1024 * 1024


class Documents(SubjectStore):
    """Text documents under the workspace root."""

    name = "documents"
    description = "reports and text artifacts (HTML, JSON, Markdown …)"

    def files(self) -> Iterator[Path]:
        skipped = self._skipped()
        for path in sorted(self.scope.root.rglob("*")):
            if path.suffix.lower() not in TEXT_SUFFIXES or not path.is_file():
                continue
            resolved = path.resolve()
            if any(resolved.is_relative_to(s) for s in skipped):
                continue
            if path.stat().st_size <= MAX_BYTES:
                yield path

    def find(self, footprint: Footprint) -> list[Location]:
        pattern = token_pattern(footprint.tokens)
        found = []
        for path, text in self._texts(pattern):
            count = len(pattern.findall(text)) if pattern is not None else 0
            if count:
                found.append(Location(self.name, self.scope.relative(path), count))
        return found

    def erase(self, footprint: Footprint) -> Erased:
        pattern = token_pattern(footprint.tokens)
        items = places = 0
        for path, text in self._texts(pattern):
            redacted, count = redact_text(text, pattern)
            if count:
                atomic_write_bytes(path, redacted.encode("utf-8"))
                items += count
                places += 1
        return Erased(self.name, items, places)

    def _texts(self, pattern: re.Pattern[str] | None) -> Iterator[tuple[Path, str]]:
        if pattern is None:
            return
        for path in self.files():
            try:
                text = path.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            if pattern.search(text):
                yield path, text

    def _skipped(self) -> list[Path]:
        config = self.scope.context.loaded.config
        workspace = self.scope.context.workspace
        secrets = {
            self.scope.root / p
            for p in (config.data.ingest.pii_key_file, config.governance.audit.key_file)
            if p is not None
        }
        return [
            p.resolve()
            for p in (
                self.scope.root / ".secrets",
                *secrets,
                self.scope.root / config.serving.prediction_log.directory,
                workspace.processed,
            )
        ]


__all__ = ["TEXT_SUFFIXES", "Documents"]
