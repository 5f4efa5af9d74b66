"""The records of dataset versioning: versions, publish results, diffs, and the naming rules."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypedDict

from ferryml.data.versioning.hashing import ColumnSpec
from ferryml.errors import InvalidInputError
from ferryml.names import PROJECT_NAME_PATTERN, PROJECT_NAME_RULE

VERSION_CHARS = 16
"""A version id is the first 16 hex chars (64 bits) of the content hash.

Versions only need to be unique within one dataset of one project. By the birthday bound the
chance that any two of n versions share an id is about n²/2^65: 3·10^-8 for a million versions.
The full hash is stored too, and a publish whose id matches a stored version with another full
hash fails loudly (:class:`~ferryml.errors.StorageError`) instead of aliasing the two.
"""

DATASET_NAME_RULE = PROJECT_NAME_RULE
"""Dataset names follow the project-name rule: they become directory names and lock keys."""

_DATASET_NAME = re.compile(PROJECT_NAME_PATTERN)
_VERSION = re.compile(rf"[0-9a-f]{{{VERSION_CHARS}}}")


@dataclass(frozen=True)
class DatasetVersion:
    """One published, immutable dataset snapshot (a DB row, and a directory with a manifest)."""

    dataset: str
    version: str
    content_hash: str
    rows: int
    schema: tuple[ColumnSpec, ...] = field(hash=False)
    path: Path
    """The snapshot's directory: ``<root>/<dataset>/<version>``."""
    created_at: datetime
    source: Mapping[str, Any] = field(hash=False)
    parents: tuple[str, ...]
    """Lineage: the ``dataset@version`` refs this version was derived from."""
    validation: Mapping[str, Any] | None = field(hash=False)
    key_columns: tuple[str, ...]
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @property
    def ref(self) -> str:
        """``dataset@version``, the form lineage uses."""
        return f"{self.dataset}@{self.version}"

    def column_types(self) -> dict[str, str]:
        return {c["name"]: c["type"] for c in self.schema}


@dataclass(frozen=True)
class PublishResult:
    """What :meth:`DatasetStore.publish` did.

    ``created`` is True when this call moved ``staged`` into the store (the caller must not
    delete it any more); False when the content was already published, in which case nothing was
    written and the caller deletes ``staged``. ``repaired`` says a half-finished earlier publish
    (directory without DB row, or row without directory) was completed on the way.
    """

    version: DatasetVersion
    created: bool
    repaired: bool = False


class RetypedColumn(TypedDict):
    name: str
    type_a: str
    type_b: str


@dataclass(frozen=True)
class DatasetDiff:
    """How version ``b`` of a dataset differs from version ``a``.

    Rows are matched on ``key_columns`` (NULL keys match NULL keys). ``null_count_changes`` maps
    each column whose null count differs to ``(nulls in a, nulls in b)``; ``None`` where the
    column does not exist in that version. Samples hold up to ``sample_size`` keys, sorted.
    """

    dataset: str
    a: str
    b: str
    key_columns: tuple[str, ...]
    added_columns: tuple[ColumnSpec, ...]
    removed_columns: tuple[ColumnSpec, ...]
    retyped_columns: tuple[RetypedColumn, ...]
    rows_a: int
    rows_b: int
    only_in_a: int
    only_in_b: int
    sample_only_in_a: tuple[dict[str, Any], ...] = field(hash=False)
    sample_only_in_b: tuple[dict[str, Any], ...] = field(hash=False)
    null_count_changes: Mapping[str, tuple[int | None, int | None]] = field(hash=False)

    @property
    def schema_changed(self) -> bool:
        return bool(self.added_columns or self.removed_columns or self.retyped_columns)


def validate_dataset_name(name: object) -> str:
    """Return ``name`` if it is a valid dataset name; raise :class:`InvalidInputError` otherwise.

    >>> validate_dataset_name("transactions")
    'transactions'
    """
    if not isinstance(name, str) or _DATASET_NAME.fullmatch(name) is None:
        raise InvalidInputError(
            f"invalid dataset name {name!r}: a dataset name must be {DATASET_NAME_RULE}",
            hint="e.g. 'transactions' or 'card-events'",
        )
    return name


def parse_ref(ref: object) -> tuple[str, str]:
    """Split a lineage ref ``dataset@version`` into its parts, checking both.

    >>> parse_ref("transactions@0123456789abcdef")
    ('transactions', '0123456789abcdef')
    """
    if not isinstance(ref, str) or ref.count("@") != 1:
        raise InvalidInputError(
            f"a parent must be a 'dataset@version' string. Got {ref!r} instead.",
            hint="use DatasetVersion.ref of the parent, e.g. 'transactions@0123456789abcdef'",
        )
    dataset, version = ref.split("@")
    validate_dataset_name(dataset)
    if _VERSION.fullmatch(version) is None:
        raise InvalidInputError(
            f"parent {ref!r}: a version is {VERSION_CHARS} lowercase hex characters. "
            f"Got {version!r}.",
            hint="use DatasetVersion.ref of the parent",
        )
    return dataset, version


def to_json(value: object, what: str) -> str:
    """``value`` as canonical JSON (sorted keys, ASCII); InvalidInputError naming ``what``."""
    try:
        return json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
        )
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"{what} must be JSON (str keys; str, int, finite float, bool, None, lists, dicts): "
            f"{exc}",
            hint="convert other values first, e.g. str(path) or ts.isoformat()",
        ) from exc


def check_mapping(value: object, what: str) -> Mapping[str, Any]:
    """``value`` as a JSON-safe mapping (round-tripped through JSON), or InvalidInputError."""
    if not isinstance(value, Mapping):
        raise InvalidInputError(
            f"{what} must be a mapping (a JSON object). Got {type(value).__name__}."
        )
    loaded: dict[str, Any] = json.loads(to_json(value, what))
    return loaded


def as_sequence(value: Sequence[str], what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        raise InvalidInputError(f"{what} must be a sequence of strings, not a string: {value!r}")
    return tuple(value)
