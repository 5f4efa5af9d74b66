"""Hostile CSV input to ingestion ends in a published version or a located DataError that
wrote nothing: no dataset version, no staged, quarantined or report file left behind.

Inputs are random bytes and CSV files written from random rows, then broken: missing,
repeated and extra columns, junk values (quotes, delimiters, line breaks, huge numbers, NaN,
unicode), ragged rows, a truncated or re-encoded file, binary junk, the wrong delimiter or
encoding declared, very long lines. A file left unbroken (its columns in any order, extra
columns, CRLF, a byte-order mark) must be published with every row. The ``@example`` inputs
are the crashes this file found: nulls in a non-nullable column escaped from the Parquet
writer as ``ArrowInvalid``; others were typed but said the wrong thing (a header repeating a
column, a row longer than a parsed block, a UTF-16 file without its byte-order mark).
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from ferryml.config.schema import SchemaConfig
from ferryml.data.ingest import CsvSource
from ferryml.data.ingest.job import IngestResult, Validation, ingest_dataset
from ferryml.data.validate import ChunkValidator, ValidationConfig
from ferryml.data.versioning import DatasetStore
from ferryml.data.versioning.store import STAGING_DIR
from ferryml.errors import DataError
from ferryml.storage.db import make_engine, upgrade

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KEY = b"k" * 32
AS_OF = datetime(2030, 1, 1, tzinfo=UTC)
SCHEMA = SchemaConfig.model_validate(
    {
        "columns": {
            "id": {"type": "string", "role": "id"},
            "customer": {"type": "string", "role": "entity", "pii": True},
            "at": {"type": "timestamp", "role": "event_time"},
            "amount": {"type": "float"},
            "n": {"type": "int", "nullable": True},
            "ok": {"type": "bool", "nullable": True},
            "day": {"type": "date", "nullable": True},
            "note": {"type": "string", "nullable": True},
        }
    }
)
COLUMNS = list(SCHEMA.columns)
RULES = ValidationConfig.model_validate(
    {
        "rules": [
            {"rule": "not_null", "columns": "auto", "severity": "error"},
            {"rule": "range", "column": "amount", "min": 0, "severity": "warn"},
            {"rule": "unique", "columns": ["id"], "severity": "warn"},
        ]
    }
)
_names = (f"tx{i}" for i in itertools.count())


@dataclass(frozen=True)
class Workspace:
    """A platform DB and dataset store shared by the examples; each ingests a new dataset."""

    root: Path
    store: DatasetStore
    validator: ChunkValidator


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    root = tmp_path_factory.mktemp("csv-fuzz")
    engine: Engine = make_engine(f"sqlite:///{root / 'ferryml.db'}")
    upgrade(engine)
    yield Workspace(
        root, DatasetStore(engine, "demo", root / "processed"), ChunkValidator(RULES, SCHEMA)
    )
    engine.dispose()


def _written(ws: Workspace) -> set[Path]:
    """Every file and directory under the workspace but the DB and the store's own folders."""
    fixed = {ws.store.root, ws.store.root / STAGING_DIR}
    return {p for p in ws.root.rglob("*") if p not in fixed and not p.name.startswith("ferryml.db")}


def _ingest(
    ws: Workspace, content: bytes, source: dict[str, Any], *, validate: bool = False
) -> IngestResult | None:
    """Ingest ``content``; None when refused, after checking the refusal wrote nothing."""
    path = ws.root / "input.csv"
    path.write_bytes(content)
    dataset = next(_names)
    before = _written(ws)
    validation = (
        Validation(ws.validator, AS_OF, ws.root / "quarantine", ws.root / "reports")
        if validate
        else None
    )
    try:
        return ingest_dataset(
            dataset,
            CsvSource.model_validate({"path": path, **source}),
            base_dir=ws.root,
            schema=SCHEMA,
            store=ws.store,
            chunk_rows=7,  # several chunks from a few rows: the chunk boundaries are crossed
            pii_key=KEY,
            validation=validation,
        )
    except DataError as exc:
        text = str(exc)
        assert str(path) in text or repr(dataset) in text, text
        assert exc.hint, text
        assert ws.store.list(dataset) == []
        assert _written(ws) == before, "a refused ingestion left files behind"
        return None


# --- values and files ----------------------------------------------------------------------

clean_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\u2028\u2029\x85"),
    min_size=1,
    max_size=12,
)
moments = st.datetimes(datetime(1970, 1, 2), datetime(2100, 1, 1))
VALID: dict[str, st.SearchStrategy[str | None]] = {
    "id": clean_text,
    "customer": clean_text,
    "at": st.builds(
        lambda t, z: t.isoformat(sep=z[0]) + z[1:],
        moments,
        st.sampled_from([" ", "T", "TZ", " +02:00"]),
    ),
    "amount": st.floats(allow_nan=True, allow_infinity=True).map(repr),
    "n": st.none() | st.integers(-(2**63), 2**63 - 1).map(str),
    "ok": st.none() | st.sampled_from(["true", "false", "True", "0", "1"]),
    "day": st.none() | st.dates(date(1900, 1, 1), date(2100, 1, 1)).map(date.isoformat),
    "note": st.none() | clean_text,
}
JUNK = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        ['"', '""', 'a"b', "a,b", "a;b", "a\nb", "a\rb", "\x00", "NaN", "-inf", "1e999", ""]
    ),
    st.sampled_from(["9" * 40, "-" + "9" * 20, "2025-02-30", "25:61:00", "10000-01-01", "√"]),
)
ENCODINGS = ["utf-8", "latin-1", "utf-16", "utf-8-sig", "cp1252", "ascii", "utf-7"]
DELIMITERS = [",", ";", "\t", "|", " "]


@dataclass(frozen=True)
class CsvCase:
    """A CSV file and how its source is declared; ``clean`` says it must be published."""

    content: bytes
    source: dict[str, Any]
    rows: int
    clean: bool


def _write(header: list[str] | None, rows: list[list[str | None]], delimiter: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    if header is not None:
        writer.writerow(header)
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    return out.getvalue()


@st.composite
def csv_cases(draw: st.DrawFn) -> CsvCase:
    records = draw(
        st.lists(st.fixed_dictionaries(VALID), min_size=1, max_size=20).filter(
            lambda rs: len({r["id"] for r in rs}) == len(rs)
        )
    )
    header = draw(st.permutations(COLUMNS))
    extra = draw(st.lists(st.text(max_size=8).filter(lambda n: n not in COLUMNS), max_size=2))
    header = [*header, *extra]
    rows = [[r[name] if name in r else draw(clean_text) for name in header] for r in records]
    delimiter = draw(st.sampled_from(DELIMITERS))
    has_header = draw(st.booleans()) if not extra and header == COLUMNS else True
    encoding = draw(st.sampled_from(ENCODINGS))
    crlf, bom = draw(st.booleans()), draw(st.booleans())
    breaks = draw(
        st.lists(
            st.sampled_from(
                [
                    "drop_column",
                    "repeat_column",
                    "junk_value",
                    "ragged",
                    "truncate",
                    "wrong_delimiter",
                    "wrong_encoding",
                    "binary",
                    "empty",
                ]
            ),
            max_size=2,
            unique=True,
        )
    )
    for kind in breaks:
        if kind == "drop_column":
            index = draw(st.integers(0, len(header) - 1))
            header = header[:index] + header[index + 1 :]
            rows = [row[:index] + row[index + 1 :] for row in rows]
        elif kind == "repeat_column":
            index = draw(st.integers(0, len(header) - 1))
            header = [*header, header[index]]
            rows = [[*row, row[index]] for row in rows]
        elif kind == "junk_value":
            row, column = draw(st.integers(0, len(rows) - 1)), draw(st.integers(0, len(header) - 1))
            rows[row][column] = draw(JUNK)
        elif kind == "ragged":
            row = draw(st.integers(0, len(rows) - 1))
            rows[row] = rows[row][:-1] if draw(st.booleans()) else [*rows[row], "x"]
    text = _write(header if has_header else None, rows, delimiter)
    if crlf:
        text = text.replace("\n", "\r\n")
    declared = {"delimiter": delimiter, "encoding": encoding, "header": has_header}
    if "wrong_delimiter" in breaks:
        declared["delimiter"] = draw(st.sampled_from([d for d in DELIMITERS if d != delimiter]))
    if "wrong_encoding" in breaks:
        declared["encoding"] = draw(st.sampled_from([e for e in ENCODINGS if e != encoding]))
    try:
        content = text.encode(encoding)
    except UnicodeEncodeError:  # the text does not fit the encoding: write it as UTF-8
        content, breaks = text.encode("utf-8"), [*breaks, "wrong_encoding"]
    if bom and encoding == "utf-8":
        content = b"\xef\xbb\xbf" + content
    if "truncate" in breaks:
        content = content[: draw(st.integers(0, max(len(content) - 1, 0)))]
    if "binary" in breaks:
        at = draw(st.integers(0, len(content)))
        content = content[:at] + draw(st.binary(min_size=1, max_size=20)) + content[at:]
    if "empty" in breaks:
        content = b""
    return CsvCase(content, declared, len(records), clean=not breaks)


def _expect(ws: Workspace, case: CsvCase, *, validate: bool) -> None:
    result = _ingest(ws, case.content, case.source, validate=validate)
    event(f"{'clean' if case.clean else 'broken'}, {'refused' if result is None else 'published'}")
    if case.clean:
        assert result is not None, f"a clean file was refused: {case}"
        assert result.rows == case.rows
        assert result.version.rows == case.rows - sum((result.quarantine_reasons or {}).values())
    elif result is not None:  # a break that left valid CSV (a junk value in an extra column)
        assert ws.store.list(result.version.dataset) == [result.version]


# --- the tests -----------------------------------------------------------------------------

HEADER = ",".join(COLUMNS) + "\n"
ROW = "a,c1,2025-01-01 10:00:00,1.5,3,true,2025-01-01,hello\n"


@FUZZ
@given(
    content=st.binary(max_size=400) | st.binary(max_size=400).map(lambda b: HEADER.encode() + b),
    source=st.fixed_dictionaries(
        {},
        optional={
            "delimiter": st.sampled_from(DELIMITERS),
            "encoding": st.sampled_from(ENCODINGS),
            "header": st.booleans(),
        },
    ),
)
@example(content=b"", source={})
@example(content=HEADER.encode(), source={})
@example(content=(HEADER + ROW.replace("a,", ",", 1)).encode(), source={})  # a null id
@example(content=(HEADER + ROW.replace("1.5", "")).encode(), source={})  # a null amount
@example(content=("id," + HEADER + "x," + ROW).encode(), source={})  # id twice
@example(content=(HEADER + "a" * (1 << 21) + ROW).encode(), source={})  # a 2 MiB line
@example(content=(HEADER + ROW).encode("utf-16-le"), source={"encoding": "utf-16"})
@example(content=(HEADER + ROW).encode(), source={"encoding": "utf-16"})
@example(content=b"\xff\xfe\x00" + (HEADER + ROW).encode(), source={})
@example(content=(HEADER + ROW).replace(",", ";").encode(), source={})
@example(content=(HEADER + '"a,c1\n').encode(), source={})
def test_any_bytes_are_published_or_refused_cleanly(
    workspace: Workspace, content: bytes, source: dict[str, Any]
) -> None:
    _ingest(workspace, content, source)


@FUZZ
@given(case=csv_cases())
def test_broken_csv_is_refused_and_clean_csv_published(workspace: Workspace, case: CsvCase) -> None:
    _expect(workspace, case, validate=False)


NULL_ID = ROW.replace("a,", ",", 1)
NEGATIVE = ROW.replace("a,", "b,", 1).replace("1.5", "-2")


@settings(FUZZ, max_examples=15)
@given(case=csv_cases())
@example(case=CsvCase((HEADER + NEGATIVE + NULL_ID).encode(), {}, 2, clean=False))
def test_with_validation_a_refusal_leaves_no_quarantine_or_report(
    workspace: Workspace, case: CsvCase
) -> None:
    """A quarantined row (a negative amount) and a broken error rule (a null id): refused."""
    _expect(workspace, case, validate=True)
