"""GDPR row selection and file rewrites: which rows, and files rewritten without them."""

from __future__ import annotations

import csv
import hashlib
import hmac
import importlib
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ferryml.errors import ConfigError, InvalidInputError, PolicyViolationError
from ferryml.governance.config import GdprConfig
from ferryml.governance.gdpr import (
    FootprintTracer,
    OlderThan,
    Subject,
    ValueSelection,
    check_minimization,
    check_purpose,
)
from ferryml.governance.gdpr.redact import redact_json, redact_text
from ferryml.governance.gdpr.tabular import count_selected, rewrite_file

KEY = b"k" * 32


def test_every_public_name_of_the_gdpr_package_imports() -> None:
    package = importlib.import_module("ferryml.governance.gdpr")
    assert package.__all__ and all(hasattr(package, name) for name in package.__all__)


def test_a_subject_is_their_raw_id_and_its_pseudonym_and_a_digest_that_is_neither() -> None:
    subject = Subject.resolve("C00000042", columns=("customer_id",), key=KEY)
    expected = hmac.new(KEY, b"C00000042", hashlib.sha256).hexdigest()
    assert subject.pseudonym == expected
    assert subject.values == {"C00000042", expected}
    assert subject.digest not in subject.values
    assert Subject.resolve("C00000042", columns=("customer_id",), key=KEY).digest == subject.digest
    assert "C00000042" not in repr(subject) and expected not in repr(subject)
    with pytest.raises(InvalidInputError):
        Subject.resolve(" ", columns=("customer_id",), key=KEY)
    with pytest.raises(ConfigError, match="subject_columns"):
        Subject.resolve("C1", columns=(), key=KEY)


def test_value_selection_compares_ids_as_text_whatever_their_storage() -> None:
    chosen = ValueSelection({"customer_id": frozenset({"42"}), "card": frozenset({"K1"})})
    table = pa.table(
        {
            "customer_id": pa.array([42, 7, None], pa.int64()),
            "card": pa.array(["K9", "K1", "K1"]).dictionary_encode(),
        }
    )
    assert chosen.mask(table).to_pylist() == [True, True, True]
    assert chosen.mask(pa.table({"other": [1]})) is None
    assert chosen.selects_record(orjson.dumps({"request": {"card": "K1"}}))
    assert not chosen.selects_record(orjson.dumps({"request": {"card": "K10"}}))


def test_older_than_selects_rows_and_records_before_the_cutoff() -> None:
    cutoff = datetime(2025, 10, 20, tzinfo=UTC)
    rule = OlderThan("event_time", cutoff)
    times = pa.array(
        [datetime(2025, 10, 19, tzinfo=UTC), cutoff, datetime(2025, 10, 21, tzinfo=UTC)],
        pa.timestamp("us", tz="UTC"),
    )
    assert rule.mask(pa.table({"event_time": times})).to_pylist() == [True, False, False]
    text = pa.table({"event_time": ["2025-10-19T10:00:00Z", "2025-11-01T00:00:00Z"]})
    assert rule.mask(text).to_pylist() == [True, False]
    assert rule.selects_record(b'{"ts": "2025-10-01T00:00:00+00:00"}')
    assert not rule.selects_record(b'{"ts": "2025-10-21T00:00:00+00:00"}')


def _rows() -> pa.Table:
    return pa.table(
        {
            "id": ["t1", "t2", "t3", "t4"],
            "customer_id": ["C1", "C2", "C1", "C3"],
            "amount": [1.0, 2.0, 3.0, 4.0],
        }
    )


def test_a_parquet_file_loses_exactly_the_selected_rows_and_keeps_its_schema(
    tmp_path: Path,
) -> None:
    path = tmp_path / "part.parquet"
    table = _rows().replace_schema_metadata({b"origin": b"test"})
    pq.write_table(table, path, compression="zstd")
    chosen = ValueSelection({"customer_id": frozenset({"C1"})})
    assert count_selected(path, chosen) == 2
    assert rewrite_file(path, chosen) == 2
    after = pq.read_table(path)
    assert after["id"].to_pylist() == ["t2", "t4"]
    assert after.schema.metadata == {b"origin": b"test"}
    assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "ZSTD"
    assert rewrite_file(path, chosen) == 0  # idempotent


def test_csv_and_json_lines_files_are_rewritten_without_the_subject(tmp_path: Path) -> None:
    rows = _rows().to_pylist()
    path = tmp_path / "drop.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    chosen = ValueSelection({"customer_id": frozenset({"C1"})})
    assert rewrite_file(path, chosen) == 2
    with path.open(newline="") as handle:
        assert [r["id"] for r in csv.DictReader(handle)] == ["t2", "t4"]
    lines = tmp_path / "drop.jsonl"
    lines.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    assert rewrite_file(lines, chosen) == 2
    assert [orjson.loads(x)["id"] for x in lines.read_bytes().splitlines()] == ["t2", "t4"]


def test_anonymize_empties_the_columns_once(tmp_path: Path) -> None:
    path = tmp_path / "part.parquet"
    pq.write_table(_rows(), path)
    chosen = ValueSelection({"customer_id": frozenset({"C1"})})
    chosen.action, chosen.blank = "anonymize", frozenset({"customer_id", "id"})
    assert rewrite_file(path, chosen) == 2
    after = pq.read_table(path)
    assert after["customer_id"].to_pylist() == [None, "C2", None, "C3"]
    assert after["amount"].to_pylist() == [1.0, 2.0, 3.0, 4.0]
    assert rewrite_file(path, chosen) == 0  # nothing left to empty


def test_the_footprint_takes_only_ids_no_one_else_holds() -> None:
    subject = Subject.resolve("C1", columns=("customer_id",), key=KEY)
    tracer = FootprintTracer(subject, id_column="id", entity_columns=["card", "shop"])
    tracer.add_table(
        pa.table(
            {
                "id": ["t1", "t2", "t3", "t1"],  # t1 reused by someone else (a duplicate)
                "customer_id": ["C1", "C1", "C2", "C2"],
                "card": ["K1", "K2", "K3", "K3"],
                "shop": ["S1", "S2", "S1", "S1"],
            }
        )
    )
    tracer.add_table(pa.table({"card": ["K1"], "id": ["t9"]}))  # no subject column: ignored
    tracer.add_event_ids(["t7"])
    found = tracer.footprint()
    assert found.event_ids == {"t2", "t7"}
    assert found.linked == {"card": {"K1", "K2"}, "shop": {"S2"}}
    assert found.counts() == {"event_ids": 2, "linked.card": 2, "linked.shop": 1}


def test_redaction_replaces_whole_tokens_only() -> None:
    assert redact_text("C1, C10 and xC1", ["C1"]) == ("[erased], C10 and xC1", 1)
    value = {"C1": ["C1 blocked", 5, None]}
    assert redact_json(value, ["C1"]) == ({"[erased]": ["[erased] blocked", 5, None]}, 2)


def test_minimization_and_purpose_refuse_naming_every_problem() -> None:
    rules = GdprConfig(
        allowed_features=["amount_eur", "customer_amount_*"],
        purposes={"transactions": ["fraud_prevention"], "marketing": ["advertising"]},
        training_purpose="fraud_prevention",
    )
    check_minimization(["amount_eur", "customer_amount_sum_1h"], rules)
    with pytest.raises(PolicyViolationError, match="customer_age, home_distance_km"):
        check_minimization(["amount_eur", "customer_age", "home_distance_km"], rules)
    check_purpose(["transactions@0123456789abcdef"], rules)
    with pytest.raises(PolicyViolationError, match="marketing, clicks") as raised:
        check_purpose(["transactions", "marketing", "clicks"], rules)
    assert "clicks: none declared" in raised.value.message
    check_minimization(["anything"], GdprConfig())
    check_purpose(["anything"], GdprConfig())
