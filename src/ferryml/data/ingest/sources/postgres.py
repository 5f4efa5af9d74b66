"""PostgreSQL: a table or a query, streamed through a server-side (named) cursor.

The column names come first from ``SELECT * … LIMIT 0``; then only the schema's columns are
selected and fetched ``chunk_rows`` at a time (``fetchmany``), so neither the server nor this
process holds the whole result. Values arrive as Python objects (``Decimal``, aware or naive
``datetime``) and are cast by :func:`conform`: a naive ``timestamp`` is read as UTC, a
``timestamptz`` converted to UTC. Passwords never appear in messages or in ``describe()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, Self

import psycopg
import pyarrow as pa
from psycopg import sql
from pydantic import Field, model_validator
from sqlalchemy.engine import URL

from ferryml.config.base import StrictModel
from ferryml.data.ingest.sources._conform import conform
from ferryml.data.ingest.sources.base import SourceReader, missing_columns_error
from ferryml.errors import DataError, ServiceUnavailableError
from ferryml.storage.db import DEFAULT_CONNECT_TIMEOUT_S, mask_url, normalize_url

_POSTGRES_START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"


class PostgresSource(StrictModel):
    """``{format: postgres, url: postgresql://…, table: transactions}`` or with ``query:``."""

    format: Literal["postgres"] = "postgres"
    url: str = Field(repr=False, description="postgresql://user:password@host:5432/db")
    table: str | None = Field(default=None, description="Table to read, optionally schema.table.")
    query: str | None = Field(default=None, description="A SELECT whose result is read.")

    @model_validator(mode="after")
    def _table_or_query(self) -> Self:
        if (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of `table` and `query`")
        return self

    def resolve(self, base_dir: Path | None) -> PostgresSource:
        """This source unchanged: a URL has no relative path."""
        return self


class PostgresReader(SourceReader):
    """Streams a table or query result from PostgreSQL with a server-side cursor."""

    format = "postgres"

    def __init__(self, config: PostgresSource) -> None:
        super().__init__()
        self.config = config
        url = normalize_url(config.url)
        if url.get_backend_name() != "postgresql":
            raise DataError(
                f"a postgres source needs a postgresql:// URL, got {mask_url(url)!r}",
                hint="set `url: postgresql://user:password@host:5432/database`",
            )
        self.url: URL = url

    @property
    def where(self) -> str:
        what = f"table {self.config.table}" if self.config.table else "query"
        return f"{what} on {mask_url(self.url)}"

    def _describe(self) -> dict[str, Any]:
        target = {"table": self.config.table} if self.config.table else {"query": self.config.query}
        return {"url": mask_url(self.url), **target}

    def _batches(self, schema: pa.Schema, chunk_rows: int) -> Iterator[pa.RecordBatch]:
        relation = self._relation()
        with self._connect() as conn:
            try:
                with conn.cursor() as probe:
                    probe.execute(
                        sql.SQL("SELECT * FROM {} AS ferry_source LIMIT 0").format(relation)
                    )
                    found = [column.name for column in probe.description or ()]
                conn.rollback()
                self._drop_extras(found, schema)
                missing = [name for name in schema.names if name not in found]
                if missing:
                    raise missing_columns_error(self.where, missing, found)
                select = sql.SQL("SELECT {} FROM {} AS ferry_source").format(
                    sql.SQL(", ").join(sql.Identifier(name) for name in schema.names), relation
                )
                with conn.cursor(name="ferryml_ingest") as cursor:
                    cursor.itersize = chunk_rows
                    cursor.execute(select)
                    offset = 0
                    while rows := cursor.fetchmany(chunk_rows):
                        columns = list(zip(*rows, strict=True))
                        raw = pa.RecordBatch.from_arrays(
                            [_array(values) for values in columns], names=schema.names
                        )
                        yield conform(
                            raw,
                            schema,
                            where=self.where,
                            first_row=offset,
                            row_label=lambda i: f"row {i + 1} of the result",
                        )
                        offset += len(rows)
            except psycopg.OperationalError as exc:
                raise self._unavailable(exc) from exc
            except psycopg.Error as exc:
                raise DataError(
                    f"reading {self.where} failed: {self._reason(exc)}",
                    hint="check `table` / `query` of the source and the user's privileges",
                ) from exc

    def _relation(self) -> sql.Composable:
        if self.config.table is not None:
            return sql.Identifier(*self.config.table.split("."))
        query = (self.config.query or "").strip().rstrip(";")
        return sql.SQL("({})").format(sql.SQL(query))  # the user's own SQL, by design

    def _connect(self) -> psycopg.Connection[Any]:
        # Keyword arguments, not a rendered URL: SQLAlchemy renders a space in a query value
        # (`options=-c TimeZone=UTC`) as `+`, which libpq does not decode.
        kwargs: dict[str, Any] = {"connect_timeout": DEFAULT_CONNECT_TIMEOUT_S}
        kwargs.update(self.url.translate_connect_args(username="user", database="dbname"))
        kwargs.update(
            (key, value if isinstance(value, str) else value[-1])
            for key, value in self.url.query.items()
        )
        try:
            return psycopg.connect(**kwargs)
        except psycopg.Error as exc:
            raise self._unavailable(exc) from exc

    def _unavailable(self, exc: psycopg.Error) -> ServiceUnavailableError:
        where = f"{self.url.host or 'localhost'}:{self.url.port or 5432}"
        return ServiceUnavailableError(
            f"PostgreSQL at {mask_url(self.url)} does not answer: {self._reason(exc)}",
            hint=f"is PostgreSQL running at {where}? start it with `{_POSTGRES_START}`; "
            "check the source's `url` (user, password, database name)",
        )

    def _reason(self, exc: psycopg.Error) -> str:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        reason = "; ".join(lines) or type(exc).__name__
        if self.url.password:
            reason = reason.replace(str(self.url.password), "***")
        return reason


def _array(values: tuple[Any, ...]) -> pa.Array:
    """The column as Arrow, its type inferred; ``conform`` casts it to the target type."""
    return pa.array(values, from_pandas=False)


__all__ = ["PostgresReader", "PostgresSource"]
