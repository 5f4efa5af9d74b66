"""The bytes an audit entry is signed over, and how they are signed.

An entry is the canonical JSON (sorted keys, no whitespace, ASCII) of its fields; that text is
stored as it is (``audit_log.entry``) and its HMAC-SHA256 under the audit key is the entry's
``hash``. Verification recomputes the MAC over the stored text, so it never depends on how a
database hands a timestamp back::

    >>> from datetime import datetime, timezone
    >>> text = signed_entry(
    ...     project="fraud", seq=1, ts=datetime(2026, 1, 1, tzinfo=timezone.utc),
    ...     actor="user:ana", action="model.promote", object="fraud/3",
    ...     details={"alias": "champion"}, prev_hash=GENESIS_HASH, key_id="k1",
    ... )
    >>> text[:60]
    '{"action":"model.promote","actor":"user:ana","details":{"ali'
    >>> len(entry_mac(b"0123456789abcdef", text))
    64

Entries written before the audit key existed carry the ``sha256`` scheme: their hash is the
plain sha256 of the same fields without ``scheme`` and ``key_id`` (:func:`entry_hash`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ferryml.errors import InvalidInputError, StorageError

GENESIS_HASH = "0" * 64
"""The prev_hash of every project's first entry."""

SCHEME_KEYED = "hmac-sha256"
"""Entries signed with the audit key: ``hash = HMAC-SHA256(key, entry)``."""

SCHEME_LEGACY = "sha256"
"""Entries written before the key existed (schema revision 0004 and older):
``hash = sha256(canonical fields)``; accepted only as a prefix sealed by a keyed entry."""

SEAL_ACTION = "audit.seal"
"""The first keyed entry after legacy ones: its details name how many it seals."""

_KEY_ID_LABEL = b"ferryml audit key id"


def canonical_json(value: Any) -> str:
    """The one serialization that is signed: sorted keys, no spaces, ASCII only.

    ASCII (``\\uXXXX`` escapes) makes the signed bytes independent of any text encoding.

    >>> canonical_json({"b": [1, 2.5], "a": "ü"})
    '{"a":"\\\\u00fc","b":[1,2.5]}'
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def format_ts(ts: datetime) -> str:
    """``ts`` in UTC, ISO 8601 with microseconds: ``2026-01-01T00:00:00.000000+00:00``."""
    if ts.tzinfo is None:
        raise StorageError(f"audit timestamps must be timezone-aware, got naive {ts.isoformat()}")
    return ts.astimezone(UTC).isoformat(timespec="microseconds")


def key_id(key: bytes) -> str:
    """A public name of ``key`` (16 hex digits), recorded in each entry so that verification
    can tell "signed with another key" from "edited". It reveals nothing about the key.

    >>> key_id(b"0123456789abcdef") == key_id(b"0123456789abcdef") != key_id(b"x" * 16)
    True
    """
    return hmac.new(key, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]


def signed_entry(
    *,
    project: str,
    seq: int,
    ts: datetime,
    actor: str,
    action: str,
    object: str,
    details: Mapping[str, Any],
    prev_hash: str,
    key_id: str,
) -> str:
    """The canonical JSON text of a keyed entry: what :func:`entry_mac` signs and the DB stores."""
    return canonical_json(
        {
            "project": project,
            "seq": seq,
            "ts": format_ts(ts),
            "actor": actor,
            "action": action,
            "object": object,
            "details": details,
            "prev_hash": prev_hash,
            "scheme": SCHEME_KEYED,
            "key_id": key_id,
        }
    )


def entry_mac(key: bytes, entry: str) -> str:
    """HMAC-SHA256 (hex) of an entry's stored text under the audit key."""
    return hmac.new(key, entry.encode("ascii"), hashlib.sha256).hexdigest()


def entry_hash(
    *,
    project: str,
    seq: int,
    ts: datetime,
    actor: str,
    action: str,
    object: str,
    details: Mapping[str, Any],
    prev_hash: str,
) -> str:
    """The legacy (``sha256`` scheme) hash of an entry's content: anyone can recompute it,
    which is why new entries are keyed."""
    payload = {
        "project": project,
        "seq": seq,
        "ts": format_ts(ts),
        "actor": actor,
        "action": action,
        "object": object,
        "details": details,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(payload).encode("ascii")).hexdigest()


def check_text(name: str, value: object) -> None:
    """``actor``, ``action`` and ``object`` are non-empty text without NUL."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"audit {name} must be a non-empty string. Got {value!r} instead.")
    if "\x00" in value:  # PostgreSQL text cannot hold NUL
        raise InvalidInputError(f"audit {name} must not contain NUL characters. Got {value!r}.")


def check_json(value: object, path: str, _seen: frozenset[int] = frozenset()) -> None:
    """Raise naming the exact key (``details['a'][0]``) that JSON cannot represent."""
    hint = "pass str, int, finite float, bool, None, lists and dicts with str keys only"
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInputError(
                f"audit {path} is {value!r}; JSON has no NaN or Infinity", hint=hint
            )
        return
    if id(value) in _seen:
        raise InvalidInputError(f"audit {path} refers back to itself (a cycle)", hint=hint)
    seen = _seen | {id(value)}
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInputError(
                    f"audit {path} has the key {key!r} of type {type(key).__name__}; "
                    "JSON keys are strings",
                    hint=hint,
                )
            check_json(item, f"{path}[{key!r}]", seen)
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_json(item, f"{path}[{index}]", seen)
        return
    raise InvalidInputError(
        f"audit {path} is a {type(value).__name__} ({value!r:.80}), which is not JSON-serializable",
        hint=hint + "; e.g. str(value) or value.isoformat()",
    )


def utc(ts: datetime) -> datetime:
    """A stored timestamp as aware UTC: SQLite hands back naive datetimes (stored in UTC),
    PostgreSQL aware ones in the session's time zone."""
    if ts.tzinfo is None:
        return ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC)


__all__ = [
    "GENESIS_HASH",
    "SCHEME_KEYED",
    "SCHEME_LEGACY",
    "SEAL_ACTION",
    "canonical_json",
    "check_json",
    "check_text",
    "entry_hash",
    "entry_mac",
    "format_ts",
    "key_id",
    "signed_entry",
    "utc",
]
