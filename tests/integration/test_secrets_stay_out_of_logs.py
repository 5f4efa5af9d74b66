"""Secrets and raw personal data never reach a log, a report or any stored copy.

A small project runs its data stages from the CLI on the machine's PostgreSQL with debug logs
on: a password in the database URL, the pseudonymization and audit keys from the environment,
raw card numbers and device ids in the generated feed. Then every line the commands printed
(logs included), every file of the workspace except the raw feed itself, and every table of
the platform database are searched: none may hold a secret or a raw personal value (the keys
and the password must not appear even once, the personal values only in ``data/raw``).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest
from typer.testing import CliRunner

from conftest import fresh_database
from ferryml.cli import app as cli
from stored_values import search_blob, search_files, search_postgres

SETTINGS = (
    "data.synth.start=2025-12-01",
    "data.synth.days=3",
    "data.synth.transactions_per_day=200",
    "data.synth.customers=300",
    "data.synth.merchants=50",
    "logging.level=DEBUG",
)
PII_COLUMNS = ("card_number", "device_id")
SAMPLE = 40
"""Raw values searched per personal column (each is looked for in every file and table)."""


@dataclass(frozen=True)
class Run:
    root: Path
    database_url: str
    output: str
    needles: dict[str, bytes]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    password = "db-pass-" + secrets.token_hex(12)
    keys = {
        "FERRY_PII_KEY": "pii-key-" + secrets.token_hex(16),
        "FERRY_AUDIT_KEY": "audit-key-" + secrets.token_hex(16),
    }
    root = tmp_path_factory.mktemp("secrets") / "ws"
    with (
        fresh_database(f"ferryml_secrets_{secrets.token_hex(4)}") as plain_url,
        pytest.MonkeyPatch.context() as env,
    ):
        # trust authentication ignores the password: it is there to be leaked, or not
        url = plain_url.replace("postgres@", f"postgres:{password}@", 1)
        for name, value in keys.items():
            env.setenv(name, value)
        env.setenv("FERRY_STORAGE__DATABASE_URL", url)
        for setting in SETTINGS:  # as variables: not every command takes --set
            key, _, value = setting.partition("=")
            env.setenv("FERRY_" + key.upper().replace(".", "__"), value)
        config = str(root / "configs" / "ferry.yaml")
        output = []
        runner = CliRunner()
        result = runner.invoke(cli, ["init", str(root), "--project", "secrets"])
        output.append(result.output)
        assert result.exit_code == 0, result.output
        for command in (
            ["generate"],
            ["ingest"],
            ["validate", "transactions"],
            ["data", "show", "transactions"],
            ["doctor"],
            ["audit", "verify"],
            ["audit", "show"],
            ["config", "show"],
        ):
            result = runner.invoke(cli, [*command, "--config", config])
            output.append(result.output)
            # doctor exits 1 when Spark's prerequisites or Redis fail; the rest must succeed
            assert result.exit_code == 0 or command[0] == "doctor", (command, result.output)
        needles = {f"secret {name}": value.encode() for name, value in keys.items()}
        needles["database password"] = password.encode()
        needles.update(_raw_values(root))
        yield Run(root, url, "\n".join(output), needles)


def _raw_values(root: Path) -> dict[str, bytes]:
    raw = ds.dataset(root / "data" / "raw" / "synth" / "transactions").to_table(
        columns=list(PII_COLUMNS)
    )
    found = {}
    for column in PII_COLUMNS:
        values = pc.unique(pc.drop_null(raw.column(column))).to_pylist()[:SAMPLE]
        assert len(values) == SAMPLE, f"the feed has too few {column} values to search"
        found.update({f"raw {column} {value}": str(value).encode() for value in values})
    return found


def test_the_run_logged_at_debug_level(run: Run) -> None:
    """The search below means something only if the commands did log."""
    assert re.search(r"DEBUG|\"level\": \"DEBUG\"", run.output), run.output[:2000]


def test_no_output_line_holds_a_secret_or_a_raw_personal_value(run: Run) -> None:
    assert search_blob("command output", run.output.encode(), run.needles, None) == []


def test_no_stored_file_outside_the_raw_feed_holds_them(run: Run) -> None:
    raw_feed = run.root / "data" / "raw"
    hits = [
        hit
        for hit in search_files(run.root, run.needles)
        if not hit.startswith(str(raw_feed.relative_to(run.root)))
    ]
    assert hits == []
    # the raw feed does hold them: the search can find what it looks for
    assert any("raw card_number" in hit for hit in search_files(raw_feed, run.needles))


def test_no_table_of_the_platform_database_holds_them(run: Run) -> None:
    assert search_postgres(run.database_url, run.needles) == []
