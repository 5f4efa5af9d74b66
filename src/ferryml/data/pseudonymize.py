"""Keyed pseudonyms for PII columns: HMAC-SHA256 of the value's UTF-8 text, as 64 hex digits.

The same value and key always give the same pseudonym, so tables pseudonymized apart still
join on it; without the key a pseudonym cannot be recomputed from a guessed value (a plain
hash of a 16-digit card number can be brute-forced). Nulls stay null. The key is read once,
never logged and never put in a message::

    >>> p = Pseudonymizer(b"0123456789abcdef0123456789abcdef")
    >>> p.pseudonymize_value("4111111111111111")
    '7b7e6cb2715c7b1c37110f035123abd3fe93c04fa302da2946c4bd9342d2fd2c'
    >>> import pyarrow as pa
    >>> batch = pa.RecordBatch.from_pydict({"card": ["4111111111111111", None]})
    >>> p.apply(batch, ["card"]).column("card")[1].as_py() is None
    True

Cost: the inner and outer SHA-256 states of HMAC (RFC 2104) are computed once per key and
copied per value, which is 2.3x faster than ``hmac.new(...).copy()`` and 3x faster than
``hmac.digest``; only the distinct values of a column are hashed (``dictionary_encode``), then
taken back. Measured 2026-11-27 on the dev container (2 vCPU AMD EPYC, Python 3.11):
``apply`` on 1M distinct 16-character values 1.7 s (the hashing alone 1.2 s;
``hmac.new().copy()`` per value 2.7 s); on 1M rows holding 5,000 distinct values 0.09 s.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from ferryml.errors import ConfigError, DataError

DEFAULT_KEY_ENV = "FERRY_PII_KEY"
MIN_KEY_BYTES = 16
_BLOCK = 64  # SHA-256 block size: the HMAC key is padded (or first hashed) to it
_CREATE = 'python -c "import secrets; print(secrets.token_hex(32))"'


def load_pii_key(
    env_var: str = DEFAULT_KEY_ENV,
    key_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> bytes:
    """The pseudonymization key: the contents of ``key_file`` if given, else of ``env_var``.

    The key is the text's UTF-8 bytes, surrounding whitespace stripped (a hex token is used as
    its text, not decoded). A missing, empty or short (< 16 bytes) key is a
    :class:`~ferryml.errors.ConfigError` that says where it was looked for and how to make one.
    Keep the key stable: a new key gives new pseudonyms, which no longer join with old ones.
    """
    if key_file is not None:
        source = f"PII key file {key_file}"
        create = f"{_CREATE} > {key_file} && chmod 600 {key_file}"
        try:
            raw = Path(key_file).read_bytes()
        except OSError as exc:
            raise ConfigError(
                f"{source} cannot be read: {exc.strerror}", hint=f"create one with: {create}"
            ) from exc
    else:
        env = os.environ if environ is None else environ
        source = f"environment variable {env_var}"
        create = f"export {env_var}=$({_CREATE})"
        raw = env.get(env_var, "").encode("utf-8")
    key = raw.strip()
    if not key:
        raise ConfigError(
            f"no key to pseudonymize PII with: {source} is missing or empty",
            hint=f"create one with: {create} (and keep it: a new key gives new pseudonyms)",
        )
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(
            f"the PII key in {source} is too short: {len(key)} bytes, "
            f"at least {MIN_KEY_BYTES} are needed",
            hint=f"create a longer one with: {create}",
        )
    return key


class Pseudonymizer:
    """Replaces values by their keyed HMAC-SHA256 pseudonym (lowercase hex, 64 characters)."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ConfigError(
                f"the PII key is too short: {len(key)} bytes, at least {MIN_KEY_BYTES} are needed",
                hint=f"create one with: {_CREATE}",
            )
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def __repr__(self) -> str:
        return "Pseudonymizer(key=***)"

    def pseudonymize_value(self, value: str) -> str:
        """The pseudonym of one value: equal to ``hmac.new(key, value, sha256).hexdigest()``."""
        inner = self._inner.copy()
        inner.update(value.encode("utf-8"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()

    def apply(self, batch: pa.RecordBatch, columns: Sequence[str]) -> pa.RecordBatch:
        """``batch`` with each of ``columns`` replaced by its pseudonyms (a string column).

        Non-string columns are pseudonymized by their text (``cast`` to string); nulls stay null.
        """
        absent = [name for name in columns if name not in batch.schema.names]
        if absent:
            raise DataError(
                f"cannot pseudonymize column(s) {', '.join(absent)}: not in the batch, "
                f"which has {', '.join(batch.schema.names)}",
                hint="mark only columns of the schema as `pii: true`",
            )
        for name in dict.fromkeys(columns):
            index = batch.schema.get_field_index(name)
            field = batch.schema.field(index)
            batch = batch.set_column(
                index,
                pa.field(name, pa.string(), nullable=field.nullable),
                self._column(batch.column(index)),
            )
        return batch

    def _column(self, column: pa.Array) -> pa.Array:
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            column = pc.cast(column, pa.string())
        encoded = pc.dictionary_encode(column)  # hash each distinct value once
        names = [self.pseudonymize_value(value) for value in encoded.dictionary.to_pylist()]
        return pa.array(names, pa.string()).take(encoded.indices)


__all__ = ["DEFAULT_KEY_ENV", "MIN_KEY_BYTES", "Pseudonymizer", "load_pii_key"]
