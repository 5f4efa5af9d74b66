"""A data subject: the raw id a person is known by, its pseudonym, and the columns naming them.

Which columns identify a subject is configuration (``governance.gdpr.subject_columns``, e.g.
``[customer_id]``). A ``pii: true`` column holds pseudonyms after ingestion while the raw files
still hold the raw value, so every store is searched for both::

    >>> subject = Subject.resolve("C00000042", columns=("customer_id",), key=b"k" * 32)
    >>> sorted(subject.values) == sorted([subject.raw_id, subject.pseudonym])
    True
    >>> subject.digest != subject.pseudonym and len(subject.digest) == 64
    True

``digest`` names the subject in erasure records: a keyed HMAC under a label of its own, so it
never equals the pseudonym stored in the data, and without the PII key it cannot be recomputed
from a guessed id (a plain or randomly salted hash of a short customer number can be
brute-forced in seconds when the salt sits beside it). With the key, the same id gives the same
digest again: a second ``ferry gdpr erase`` of the person resumes the same erasure.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ferryml.config.loader import LoadedConfig
from ferryml.data.pseudonymize import Pseudonymizer, load_pii_key
from ferryml.errors import ConfigError, InvalidInputError

_DIGEST_LABEL = b"ferryml-gdpr-subject\x00"
MAX_ID_CHARS = 256


@dataclass(frozen=True)
class Subject:
    """One person, as the stores may hold them: the raw id and its pseudonym."""

    raw_id: str = field(repr=False)
    pseudonym: str = field(repr=False)
    columns: tuple[str, ...]
    digest: str
    """Keyed digest of the raw id, for records that must not name the person."""

    def __repr__(self) -> str:  # never print the id or the pseudonym by accident
        return f"Subject(columns={self.columns!r}, digest={self.digest[:12]}…)"

    @property
    def values(self) -> frozenset[str]:
        """What a subject column holds for this person: the raw id or its pseudonym."""
        return frozenset((self.raw_id, self.pseudonym))

    @classmethod
    def resolve(cls, raw_id: str, *, columns: Sequence[str], key: bytes) -> Subject:
        """The subject ``raw_id``, its pseudonym and digest computed with the PII ``key``."""
        check_subject_id(raw_id)
        if not columns:
            raise ConfigError(
                "no column identifies a data subject: governance.gdpr.subject_columns is empty",
                hint="name the column(s) holding a person's id, e.g. "
                "`governance: {gdpr: {subject_columns: [customer_id]}}`",
            )
        digest = hmac.new(key, _DIGEST_LABEL + raw_id.encode("utf-8"), hashlib.sha256)
        return cls(
            raw_id=raw_id,
            pseudonym=Pseudonymizer(key).pseudonymize_value(raw_id),
            columns=tuple(columns),
            digest=digest.hexdigest(),
        )


def check_subject_id(raw_id: object) -> str:
    """``raw_id`` if it can name a subject: a non-empty string without control characters."""
    if (
        not isinstance(raw_id, str)
        or not raw_id.strip()
        or len(raw_id) > MAX_ID_CHARS
        or any(ord(c) < 32 for c in raw_id)
    ):
        raise InvalidInputError(
            f"a subject id must be 1-{MAX_ID_CHARS} printable characters",
            hint="pass the id as the source data holds it, e.g. --subject C00000042",
        )
    return raw_id


def project_subject(loaded: LoadedConfig, root: Path, raw_id: str) -> Subject:
    """The subject ``raw_id`` of a project: its subject columns (checked against the schema)
    and the project's PII key (``data.ingest``: the environment variable, else the file)."""
    config = loaded.config
    columns = config.governance.gdpr.subject_columns
    unknown = [c for c in columns if c not in config.schema_.columns]
    if unknown:
        raise ConfigError(
            f"governance.gdpr.subject_columns names {unknown}, which the schema does not have",
            hint=f"choose among the schema's columns: {', '.join(config.schema_.columns)}",
        )
    ingest = config.data.ingest
    # As at ingestion: the environment variable wins (production keys come from a secret store).
    if os.environ.get(ingest.pii_key_env) or ingest.pii_key_file is None:
        key = load_pii_key(ingest.pii_key_env)
    else:
        key = load_pii_key(ingest.pii_key_env, key_file=root / ingest.pii_key_file)
    return Subject.resolve(raw_id, columns=columns, key=key)


__all__ = ["MAX_ID_CHARS", "Subject", "check_subject_id", "project_subject"]
