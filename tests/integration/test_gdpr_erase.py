"""Right to erasure on a real project, searched for afterwards the way an auditor would.

A workspace with two dataset versions of the reference project (30 days ingested, then the
40 days `ferry quickstart` ingests, trains, gates and promotes), rows quarantined by the
bad-data scenario, the online store and window state in Redis, and served traffic in the
prediction log. One customer is in all of it. After `ferry gdpr erase --subject ID`, neither
the raw id nor its pseudonym (nor the customer's own cards, raw or pseudonymized) is in:

- any file of the workspace: its bytes; every string of every Parquet file, read with pyarrow
  (compressed pages hide strings from a byte search); inside gzip, bz2, xz and zip files; every
  value of every table of every SQLite file (the platform DB, MLflow's, Feast's);
- any table of the platform DB on PostgreSQL (every column of every row);
- any Redis key of the project: its name and its value.

The searches are written here, apart from ferryml's own ``find``: they first prove they find
the subject before the erasure. Everyone else's data is whole afterwards: every count drops
by exactly the subject's rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from conftest import RUN_ID, TRAINABLE_SETTINGS, fresh_database
from ferryml.cli import app as cli
from ferryml.config.loader import load_config
from ferryml.data.pseudonymize import Pseudonymizer, load_pii_key
from ferryml.pipeline import ProjectContext
from ferryml.serving.app import create_app
from ferryml.serving.service import ScoringService
from ferryml.storage.tables import labels, predictions
from stored_values import project_keys, search_files, search_postgres, search_redis

SETTINGS = (
    *TRAINABLE_SETTINGS,
    # bad rows inside the generated period, so that ingestion quarantines some
    "data.synth.scenarios.bad_data.start=2025-10-20",
    "data.synth.scenarios.bad_data.end=2025-10-21",
    "data.synth.scenarios.bad_data.defect_rate=0.02",
)
ADMIN_TOKEN = "gdpr-admin-token-for-tests-0123456789"


@dataclass
class Workspace:
    root: Path
    config: Path
    sets: list[str]
    project: str
    database_url: str | None
    redis: bool
    """Online store and window state in Redis (else in SQLite files of the workspace)."""

    def cli(self, *args: str) -> Any:
        return CliRunner().invoke(cli, [*args, "-c", str(self.config), *self.sets])

    def context(self) -> ProjectContext:
        overrides = [s for s in self.sets if s != "--set"]
        return ProjectContext.open(load_config(self.config, overrides=overrides), create=False)


@pytest.fixture(
    scope="module",
    params=[
        "sqlite+redis",
        pytest.param("postgresql+redis", marks=pytest.mark.postgres),
        "sqlite+sqlite",  # the embedded defaults: online store and window state in SQLite files
    ],
)
def workspace(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    redis_client: redis.Redis,
) -> Iterator[Workspace]:
    backend, online = request.param.split("+")
    project = f"t{RUN_ID}-gdpr-{backend[:2]}-{online[:2]}"
    root = tmp_path_factory.mktemp(f"gdpr-{backend}-{online}") / "ws"
    with ExitStack() as cleanup:
        cleanup.callback(_delete_project_keys, redis_client, project)
        settings = [*SETTINGS, f"features.store.online_store.type={online}"]
        database_url = None
        if backend == "postgresql":
            # a database of its own: other modules' projects hold the same synthetic customers
            database_url = cleanup.enter_context(fresh_database(f"ferryml_gdpr_{RUN_ID}"))
            settings.append(f"storage.database_url={database_url}")
        sets = [arg for setting in settings for arg in ("--set", setting)]
        runner = CliRunner()
        result = runner.invoke(cli, ["init", str(root), "--project", project])
        assert result.exit_code == 0, result.output
        ws = Workspace(
            root, root / "configs" / "ferry.yaml", sets, project, database_url, online == "redis"
        )
        # an earlier dataset version: the first 30 days, ingested as of their end
        result = ws.cli("generate", "--days", "30")
        assert result.exit_code == 0, result.output
        result = ws.cli("ingest", "transactions", "--as-of", "2025-10-31")
        assert result.exit_code == 0, result.output
        result = runner.invoke(cli, ["quickstart", "--no-loop", "--workspace", str(root), *sets])
        assert result.exit_code == 0, result.output
        yield ws


def _needles(ws: Workspace, customer: str) -> dict[str, bytes]:
    key = load_pii_key(key_file=ws.root / ".secrets" / "pii.key")
    pseudonymize = Pseudonymizer(key).pseudonymize_value
    cards = pq.read_table(ws.root / "data/raw/synth/cards.parquet")
    own = cards.filter(pc.equal(cards["customer_id"], customer)).to_pylist()
    assert own, f"customer {customer} has no card"
    needles = {"raw id": customer.encode(), "pseudonym": pseudonymize(customer).encode()}
    for card in own:
        needles[f"card {card['card_id']}"] = card["card_id"].encode()
        needles[f"number of {card['card_id']}"] = card["card_number"].encode()
        needles[f"pseudonymized number of {card['card_id']}"] = pseudonymize(
            card["card_number"]
        ).encode()
    return needles


def _versions(ws: Workspace) -> list[Any]:
    context = ws.context()
    try:
        return [v for v in context.datasets.list("transactions") if v.path.is_dir()]
    finally:
        context.close()


def _version_table(version: Any) -> pa.Table:
    return pa.concat_tables(pq.read_table(p) for p in sorted(version.path.glob("*.parquet")))


def _count(table: pa.Table, customer: str) -> int:
    return int(pc.sum(pc.equal(table["customer_id"], customer)).as_py() or 0)


def _raw_transactions(ws: Workspace) -> pa.Table:
    files = sorted((ws.root / "data/raw/synth/transactions").rglob("*.parquet"))
    return pa.concat_tables(pq.ParquetFile(p).read(columns=["customer_id"]) for p in files)


def _pick_subject(ws: Workspace) -> str:
    """A customer in both dataset versions and in the quarantine."""
    first, last = _versions(ws)[0], _versions(ws)[-1]
    assert first.ref != last.ref, "the workspace needs two dataset versions"
    quarantined: set[str] = set()
    for version in (first, last):
        rows = ws.root / "data/quarantine" / version.dataset / version.version / "rows.parquet"
        if rows.is_file():
            quarantined |= set(pq.read_table(rows)["customer_id"].to_pylist())
    assert quarantined, "the bad-data scenario quarantined nothing"
    in_first = set(_version_table(first)["customer_id"].to_pylist())
    counts = pc.value_counts(_version_table(last)["customer_id"]).to_pylist()
    ranked = sorted(counts, key=lambda c: -c["counts"])
    for entry in ranked:
        if entry["values"] in quarantined and entry["values"] in in_first:
            return str(entry["values"])
    pytest.fail("no quarantined customer is in both dataset versions")


def _serve(ws: Workspace, subject: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """Score the subject's last events and some of others', post two labels; return the
    (subject's, others') number of answers."""
    context = ws.context()
    try:
        service = ScoringService.open(context)
        fields = service.fields.names
        table = _version_table(_versions(ws)[-1])
        mine = table.filter(pc.equal(table["customer_id"], subject)).to_pylist()[-3:]
        others = table.filter(pc.not_equal(table["customer_id"], subject)).to_pylist()[-5:]
        monkeypatch.setenv("FERRY_ADMIN_TOKEN", ADMIN_TOKEN)
        with TestClient(create_app(lambda: service)) as client:
            for row in [*mine, *others]:
                body = {k: v for k, v in row.items() if k in fields and v is not None}
                body["event_time"] = row["event_time"].isoformat()
                response = client.post("/v1/score", content=orjson.dumps(body))
                assert response.status_code == 200, response.text
            stamp = "2025-11-20T10:00:00Z"
            posted = [
                {"event_id": mine[0]["transaction_id"], "label": 1, "label_time": stamp},
                {"event_id": others[0]["transaction_id"], "label": 0, "label_time": stamp},
            ]
            response = client.post("/v1/labels", content=orjson.dumps({"labels": posted}))
            assert response.status_code == 200, response.text
    finally:
        context.close()
    return len(mine), len(others)


# --- the searches ------------------------------------------------------------------------


def _delete_project_keys(client: redis.Redis, project: str) -> None:
    keys = project_keys(client, project)
    for start in range(0, len(keys), 500):
        client.unlink(*keys[start : start + 500])


def search_everything(ws: Workspace, client: redis.Redis, needles: dict[str, bytes]) -> list[str]:
    hits = search_files(ws.root, needles)
    if ws.database_url is not None:
        hits += search_postgres(ws.database_url, needles)
    keys, in_redis = search_redis(client, ws.project, needles)
    if ws.redis:
        assert keys > 0, "the project has no Redis key: the Redis search would prove nothing"
    return hits + in_redis


# --- the tests ---------------------------------------------------------------------------


def test_an_erased_customer_is_in_no_file_table_or_key_and_everyone_else_is_whole(
    workspace: Workspace, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = workspace
    customer = _pick_subject(ws)
    needles = _needles(ws, customer)
    served, served_others = _serve(ws, customer, monkeypatch)
    first, last = _versions(ws)[0], _versions(ws)[-1]
    before = {
        "first": (_version_table(first).num_rows, _count(_version_table(first), customer)),
        "last": (_version_table(last).num_rows, _count(_version_table(last), customer)),
        "raw": (_raw_transactions(ws).num_rows, _count(_raw_transactions(ws), customer)),
    }
    assert before["first"][1] > 0 and before["last"][1] > 0
    predictions_before, labels_before = _db_counts(ws)

    # The searches find the subject everywhere it is, before the erasure.
    found = search_everything(ws, redis_client, needles)
    places = "\n".join(found)
    for expected in (
        "data/raw/synth/transactions/",
        "data/raw/synth/customers.parquet",
        "data/raw/synth/cards.parquet",
        f"data/processed/transactions/{first.version}/",
        f"data/processed/transactions/{last.version}/",
        "data/quarantine/transactions/",
        "features/offline/",
        "data/predictions/predictions-",
        *(
            # window state; Feast's online rows, keyed by the serialized entity key
            ("Redis key b'ferryml:", "Redis key b'\\x01")
            if ws.redis
            else ("features/window_state.db: table window_events", "data/online/features.db")
        ),
    ):
        assert expected in places, f"{expected} should hold the subject before the erasure"
    assert (
        "PostgreSQL table predictions" if ws.database_url else "ferryml.db: table predictions"
    ) in places

    # Subject access first: the export holds their rows from every store.
    exported = ws.root.parent / "export.json"
    result = ws.cli("gdpr", "export", "--subject", customer, "--out", str(exported))
    assert result.exit_code == 0, result.output
    document = json.loads(exported.read_text())
    assert oct(exported.stat().st_mode & 0o777) == "0o600"
    assert document["subject"]["id"] == customer
    sections = document["sections"]
    assert {r["version"] for r in sections["datasets"]} == {first.ref, last.ref}
    assert len(sections["predictions"]) == served
    assert len(sections["labels"]) == 1

    # A dry run changes nothing.
    result = ws.cli("gdpr", "erase", "--subject", customer, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "dry run: nothing was changed" in result.output
    assert search_everything(ws, redis_client, needles) == found

    result = ws.cli("gdpr", "erase", "--subject", customer)
    assert result.exit_code == 0, result.output
    assert "NOT retrained" in result.output

    assert search_everything(ws, redis_client, needles) == []

    # Everyone else's data is whole: every count drops by exactly the subject's rows.
    context = ws.context()
    try:
        replaced = {
            v.ref: v.extra["erased"]["replaced_by"]
            for v in context.datasets.list("transactions")
            if "erased" in v.extra
        }
        assert set(replaced) == {first.ref, last.ref}
        new_first = context.datasets.get(*replaced[first.ref].split("@"))
        new_last = context.datasets.get(*replaced[last.ref].split("@"))
        assert new_first.parents == (first.ref,) and new_last.parents == (last.ref,)
        latest = context.datasets.latest("transactions")
        assert latest is not None and latest.ref == new_last.ref
    finally:
        context.close()
    assert _version_table(new_first).num_rows == before["first"][0] - before["first"][1]
    assert _version_table(new_last).num_rows == before["last"][0] - before["last"][1]
    assert _raw_transactions(ws).num_rows == before["raw"][0] - before["raw"][1]
    assert not first.path.exists() and not last.path.exists()
    predictions_after, labels_after = _db_counts(ws)
    assert predictions_after == predictions_before - served
    assert labels_after == labels_before - 1
    assert predictions_after >= served_others

    # The record names no one, maps old versions to new ones, lists the trained models.
    record = _latest_record(ws)
    assert record["status"] == "complete"
    assert record["datasets"] == replaced
    trained = {m["run_id"] for m in record["models"]}
    assert len(trained) == 3 and {m["dataset"] for m in record["models"]} == {last.ref}
    assert any(m["registered_version"] == "1" for m in record["models"])

    # Again: it finds nothing left and changes nothing.
    result = ws.cli("gdpr", "erase", "--subject", customer)
    assert result.exit_code == 0, result.output
    again = _latest_record(ws)
    assert again["erasure_id"] != record["erasure_id"]
    assert again["status"] == "complete"
    assert sum(store["items"] for store in again["stores"].values()) == 0


def test_input_examples_logged_with_models_lose_the_subjects_rows(
    workspace: Workspace, redis_client: redis.Redis
) -> None:
    ws = workspace
    examples = sorted((ws.root / "mlruns").rglob("input_example.json"))
    assert examples, "the models were logged without input examples"
    build = next((ws.root / "features/offline").glob("*/*/training.parquet"))
    training = pq.read_table(build)
    document = json.loads(examples[0].read_text())
    columns = document["columns"]
    shared = [c for c in columns if c in training.column_names]
    assert len(shared) >= 10, "the example's columns are not the training set's"
    customer = _customer_of(document["data"][0], columns, shared, training)
    theirs = training.filter(pc.equal(training["customer_id"], customer)).to_pylist()
    rows_before = {path: len(json.loads(path.read_text())["data"]) for path in examples}

    result = ws.cli("gdpr", "erase", "--subject", customer)
    assert result.exit_code == 0, result.output

    for path, count in rows_before.items():
        after = json.loads(path.read_text())
        assert after["columns"] == columns
        assert 0 < len(after["data"]) < count
        assert not any(_same_row(row, columns, shared, r) for row in after["data"] for r in theirs)
    assert search_everything(ws, redis_client, _needles_left(ws, customer)) == []


def _customer_of(row: list[Any], columns: list[str], shared: list[str], training: pa.Table) -> str:
    candidates = training.select([*shared, "customer_id"]).to_pylist()
    owners = {c["customer_id"] for c in candidates if _same_row(row, columns, shared, c)}
    assert len(owners) == 1, f"example row matches {len(owners)} customers"
    return owners.pop()


def _same_row(
    row: list[Any], columns: list[str], shared: list[str], candidate: dict[str, Any]
) -> bool:
    import math

    for name in shared:
        a, b = row[columns.index(name)], candidate[name]
        a_missing = a is None or (isinstance(a, float) and math.isnan(a))
        b_missing = b is None or (isinstance(b, float) and math.isnan(b))
        if a_missing or b_missing:
            if a_missing != b_missing:
                return False
        elif not math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12):
            return False
    return True


def _needles_left(ws: Workspace, customer: str) -> dict[str, bytes]:
    key = load_pii_key(key_file=ws.root / ".secrets" / "pii.key")
    return {
        "raw id": customer.encode(),
        "pseudonym": Pseudonymizer(key).pseudonymize_value(customer).encode(),
    }


def _latest_record(ws: Workspace) -> dict[str, Any]:
    records = [json.loads(p.read_text()) for p in (ws.root / "reports/gdpr/erasures").glob("*")]
    return max(records, key=lambda r: str(r["started_at"]))


def _db_counts(ws: Workspace) -> tuple[int, int]:
    context = ws.context()
    try:
        with context.engine.connect() as conn:
            scored = conn.execute(
                select(func.count())
                .select_from(predictions)
                .where(predictions.c.project == ws.project)
            ).scalar_one()
            labelled = conn.execute(
                select(func.count()).select_from(labels).where(labels.c.project == ws.project)
            ).scalar_one()
    finally:
        context.close()
    return int(scored), int(labelled)


def test_an_erasure_that_stops_half_way_is_finished_by_running_it_again(
    workspace: Workspace, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ferryml.governance.gdpr.stores.datasets import DatasetVersions

    ws = workspace
    latest = _version_table(_versions(ws)[-1])
    counts = sorted(pc.value_counts(latest["customer_id"]).to_pylist(), key=lambda c: -c["counts"])
    customer = str(counts[5]["values"])
    needles = _needles(ws, customer)
    assert search_everything(ws, redis_client, needles)

    def crash(self: DatasetVersions, footprint: object) -> None:
        raise RuntimeError("the machine went down")

    with monkeypatch.context() as patch:
        patch.setattr(DatasetVersions, "erase", crash)
        result = ws.cli("gdpr", "erase", "--subject", customer)
    assert isinstance(result.exception, RuntimeError)
    stopped = _latest_record(ws)
    assert stopped["status"] == "in_progress"
    assert stopped["stores"]["features"]["items"] > 0 and "datasets" not in stopped["stores"]
    left = "\n".join(search_everything(ws, redis_client, needles))
    assert "data/processed/" in left and "data/raw/" in left and "features/" not in left

    result = ws.cli("gdpr", "erase", "--subject", customer)
    assert result.exit_code == 0, result.output
    finished = _latest_record(ws)
    assert finished["erasure_id"] == stopped["erasure_id"]  # the same erasure, resumed
    assert finished["status"] == "complete" and finished["runs"] == 1
    assert finished["stores"]["datasets"]["items"] > 0
    assert search_everything(ws, redis_client, needles) == []


def test_retention_deletes_what_is_older_than_its_days(workspace: Workspace) -> None:
    ws = workspace
    keep_from = date(2025, 10, 25)
    days = (date.today() - keep_from).days
    sets = ["--set", f"governance.gdpr.retention.datasets.transactions={days}"]
    before = _versions(ws)[-1]
    assert pc.min(_version_table(before)["event_time"]).as_py().date() < keep_from

    result = CliRunner().invoke(
        cli, ["gdpr", "retain", "--dry-run", "-c", str(ws.config), *ws.sets, *sets]
    )
    assert result.exit_code == 0, result.output
    assert "would change" in result.output and "dry run" in result.output
    assert _versions(ws)[-1].ref == before.ref

    result = CliRunner().invoke(cli, ["gdpr", "retain", "-c", str(ws.config), *ws.sets, *sets])
    assert result.exit_code == 0, result.output
    after = _versions(ws)
    kept = {v.ref for v in after}
    assert before.ref not in kept
    for version in after:
        oldest = pc.min(_version_table(version)["event_time"]).as_py()
        assert oldest.date() >= keep_from, version.ref
    raw = sorted((ws.root / "data/raw/synth/transactions").rglob("*.parquet"))
    for path in raw:
        times = pq.ParquetFile(path).read(columns=["event_time"])["event_time"]
        if len(times):
            assert pc.min(times).as_py().date() >= keep_from, path
