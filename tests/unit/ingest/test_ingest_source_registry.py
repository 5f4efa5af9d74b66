"""Source configs as a project YAML gives them, the registry, and the package's public face."""

from __future__ import annotations

import importlib
import typing
from pathlib import Path

import pyarrow as pa
import pytest
import yaml
from pydantic import TypeAdapter, ValidationError

import ferryml.data.ingest as ingest
from ferryml.data.ingest import (
    READERS,
    CsvSource,
    ParquetSource,
    PostgresSource,
    SourceConfig,
    open_source,
)
from ferryml.errors import DataError, InvalidInputError, ServiceUnavailableError

SOURCES = TypeAdapter(dict[str, SourceConfig])

BLOCK = """
transactions: {format: parquet, path: data/raw/transactions}
uploads: {format: csv, path: uploads/tx.csv, delimiter: ";", encoding: latin-1, header: false}
warehouse: {format: postgres, url: "postgresql://u:pw@db:5432/dw", table: public.transactions}
recent: {format: postgres, url: "postgresql://db/dw", query: "SELECT * FROM tx WHERE ok"}
"""


def test_a_yaml_sources_block_validates_to_the_right_configs() -> None:
    sources = SOURCES.validate_python(yaml.safe_load(BLOCK))
    assert isinstance(sources["transactions"], ParquetSource)
    assert isinstance(sources["uploads"], CsvSource)
    assert sources["uploads"].delimiter == ";"
    assert isinstance(sources["warehouse"], PostgresSource)
    assert sources["recent"].query is not None


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ({"format": "parquet", "path": "x", "delimter": ","}, "delimter"),
        ({"format": "excel", "path": "x"}, "excel"),
        ({"path": "x"}, "format"),
        ({"format": "postgres", "url": "postgresql://db/x"}, "exactly one of `table` and `query`"),
        (
            {"format": "postgres", "url": "postgresql://db/x", "table": "t", "query": "q"},
            "exactly one",
        ),
        ({"format": "csv", "path": "x", "delimiter": ",,"}, "delimiter"),
    ],
)
def test_bad_blocks_are_errors_naming_the_key(block: dict[str, object], expected: str) -> None:
    with pytest.raises(ValidationError, match=expected):
        SOURCES.validate_python({"s": block})


def test_registry_covers_every_format_literal() -> None:
    members = typing.get_args(typing.get_args(SourceConfig)[0])
    formats = {typing.get_args(m.model_fields["format"].annotation)[0] for m in members}
    assert formats == set(READERS)
    for name, reader in READERS.items():
        assert reader.format == name


def test_paths_resolve_against_base_dir_unless_absolute(tmp_path: Path) -> None:
    relative = open_source(CsvSource(path=Path("a/b.csv")), base_dir=tmp_path)
    absolute = open_source(CsvSource(path=Path("/data/b.csv")), base_dir=tmp_path)
    assert relative.describe()["path"] == str(tmp_path / "a" / "b.csv")
    assert absolute.describe()["path"] == "/data/b.csv"


def test_chunk_rows_must_be_positive(tmp_path: Path) -> None:
    reader = open_source(CsvSource(path=tmp_path / "x.csv"))
    with pytest.raises(InvalidInputError, match=r"chunk_rows must be an int >= 1\. Got 0\."):
        list(reader.batches(pa.schema([("a", pa.string())]), chunk_rows=0))


def test_unreachable_postgres_is_service_unavailable_with_masked_password() -> None:
    source = PostgresSource(url="postgresql://ferry:s3cret-pw@127.0.0.1:1/db", table="t")
    reader = open_source(source)
    with pytest.raises(ServiceUnavailableError) as caught:
        list(reader.batches(pa.schema([("a", pa.string())]), 10))
    message = str(caught.value)
    assert "127.0.0.1:1" in message
    assert "s3cret-pw" not in message
    assert "s3cret-pw" not in str(reader.describe())
    assert "s3cret-pw" not in repr(source)


def test_postgres_source_needs_a_postgres_url() -> None:
    with pytest.raises(DataError, match="needs a postgresql:// URL"):
        open_source(PostgresSource(url="sqlite:///x.db", table="t"))


@pytest.mark.parametrize("module", ["ferryml.data.ingest", "ferryml.data.ingest.sources"])
def test_all_names_import(module: str) -> None:
    imported = importlib.import_module(module)
    assert imported.__all__
    for name in imported.__all__:
        assert getattr(imported, name) is not None, name
    assert ingest.open_source is open_source
