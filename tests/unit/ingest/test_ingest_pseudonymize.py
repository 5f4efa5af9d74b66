"""Keyed pseudonyms: equal to HMAC-SHA256 (the oracle), deterministic, key-dependent, injective,
nulls kept, nothing raw left; key loading errors never show the key."""

from __future__ import annotations

import hashlib
import hmac
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferryml.data.pseudonymize import Pseudonymizer, load_pii_key
from ferryml.errors import ConfigError, DataError

KEY = b"k" * 32
CARDS = ["4111111111111111", "5500005555555559", None, "4111111111111111"]


def batch() -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict(
        {"card": CARDS, "amount": [1.0, 2.0, 3.0, 4.0], "device": ["dev-1", None, "dev-2", "x"]}
    )


@pytest.mark.parametrize("key", [KEY, b"s" * 16, b"long" * 40])  # padded, exact, hashed first
@pytest.mark.parametrize("value", ["4111111111111111", "", "é-ü 日本"])
def test_equals_hmac_sha256(key: bytes, value: str) -> None:
    expected = hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
    assert Pseudonymizer(key).pseudonymize_value(value) == expected


def test_apply_is_deterministic_keeps_nulls_and_other_columns() -> None:
    out = Pseudonymizer(KEY).apply(batch(), ["card", "device"])
    card = out.column("card").to_pylist()
    assert card[0] == card[3] != card[1]
    assert card[2] is None and out.column("device")[1].as_py() is None
    assert all(len(v) == 64 for v in card if v is not None)
    assert out.column("amount").equals(batch().column("amount"))
    assert out.equals(Pseudonymizer(KEY).apply(batch(), ["card", "device"]))


def test_pseudonyms_depend_on_the_key() -> None:
    one = Pseudonymizer(KEY).apply(batch(), ["card"]).column("card")
    other = Pseudonymizer(b"o" * 32).apply(batch(), ["card"]).column("card")
    assert one[0].as_py() != other[0].as_py()


def test_no_raw_value_is_left_in_the_written_bytes() -> None:
    out = Pseudonymizer(KEY).apply(batch(), ["card", "device"])
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_batches([out]), buffer, compression="none")
    raw = buffer.getvalue()
    for value in ["4111111111111111", "5500005555555559", "dev-1", "dev-2"]:
        assert value.encode() not in raw


def test_non_string_columns_are_pseudonymized_as_text() -> None:
    out = Pseudonymizer(KEY).apply(pa.RecordBatch.from_pydict({"n": [42, None]}), ["n"])
    assert out.column("n").to_pylist() == [Pseudonymizer(KEY).pseudonymize_value("42"), None]


def test_unknown_column_is_an_error() -> None:
    with pytest.raises(DataError, match="email"):
        Pseudonymizer(KEY).apply(batch(), ["email"])


def test_key_is_not_in_repr() -> None:
    assert "kkkk" not in repr(Pseudonymizer(KEY))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.text(max_size=30), min_size=2, max_size=20, unique=True))
def test_distinct_values_get_distinct_pseudonyms(values: list[str]) -> None:
    out = Pseudonymizer(KEY).apply(pa.RecordBatch.from_pydict({"v": values}), ["v"])
    assert len(set(out.column("v").to_pylist())) == len(values)


def test_key_from_env_and_file(tmp_path: Path) -> None:
    assert load_pii_key(environ={"FERRY_PII_KEY": f" {'a' * 32}\n"}) == b"a" * 32
    key_file = tmp_path / "pii.key"
    key_file.write_text("b" * 20 + "\n")
    env = {"FERRY_PII_KEY": "a" * 32}
    assert load_pii_key(key_file=key_file, environ=env) == b"b" * 20  # the file wins when given


@pytest.mark.parametrize("value", [None, "", "   ", "short-key-123"])
def test_missing_or_short_env_key_is_a_clear_error(value: str | None) -> None:
    environ = {} if value is None else {"MY_KEY": value}
    with pytest.raises(ConfigError) as caught:
        load_pii_key("MY_KEY", environ=environ)
    message = str(caught.value)
    assert "MY_KEY" in message
    assert "secrets.token_hex(32)" in message
    if value and value.strip():
        assert value not in message
        assert "too short" in message


def test_missing_or_short_key_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.key cannot be read"):
        load_pii_key(key_file=tmp_path / "nope.key", environ={})
    short = tmp_path / "short.key"
    short.write_text("tiny-secret")
    with pytest.raises(ConfigError) as caught:
        load_pii_key(key_file=short, environ={})
    assert "short.key" in str(caught.value) and "tiny-secret" not in str(caught.value)


def test_short_key_is_refused_by_the_pseudonymizer_too() -> None:
    with pytest.raises(ConfigError) as caught:
        Pseudonymizer(b"tiny-secret")
    assert "tiny-secret" not in str(caught.value)
