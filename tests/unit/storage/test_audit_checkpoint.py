"""The head checkpoints outside the DB: a file (moved per append, forward only) and an MLflow
experiment tag (moved by flush); what verify says when they disagree with the chain."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, delete

from ferryml.errors import AuditChainBrokenError, StorageError
from ferryml.governance import AuditTrail, FileCheckpoint, Head, MlflowCheckpoint
from ferryml.governance.audit_checkpoint import MLFLOW_TAG
from ferryml.storage.tables import audit_log

KEY = b"checkpoint-audit-key-0123456789"


def _trail(engine: Engine, *sinks: FileCheckpoint | MlflowCheckpoint) -> AuditTrail:
    return AuditTrail(engine, "fraud", key=KEY, checkpoints=sinks)


def _fill(trail: AuditTrail, n: int) -> None:
    for i in range(n):
        trail.append("user:ana", "model.train", f"fraud/{i}", {"i": i})


def _drop_after(engine: Engine, seq: int) -> None:
    with engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq > seq))


def _broken(trail: AuditTrail) -> AuditChainBrokenError:
    with pytest.raises(AuditChainBrokenError) as caught:
        trail.verify()
    return caught.value


def test_the_file_follows_every_append(sqlite_engine: Engine, tmp_path: Path) -> None:
    sink = FileCheckpoint(tmp_path / "head.json")
    trail = _trail(sqlite_engine, sink)
    assert trail.verify() == 0 and sink.read() is None  # a fresh trail needs no checkpoint
    _fill(trail, 3)
    head = trail.head()
    assert head is not None and sink.read() == Head("fraud", 3, head.hash)
    assert [s.status for s in trail.check().checkpoints] == ["matches"]


def test_the_file_never_moves_backwards(tmp_path: Path) -> None:
    sink = FileCheckpoint(tmp_path / "head.json")
    assert sink.advance(Head("fraud", 5, "5" * 64))
    assert not sink.advance(Head("fraud", 4, "4" * 64))
    assert not sink.advance(Head("fraud", 5, "6" * 64))
    assert sink.read() == Head("fraud", 5, "5" * 64)
    assert sink.advance(Head("fraud", 2, "2" * 64), force=True)
    assert sink.read() == Head("fraud", 2, "2" * 64)


def test_a_missing_file_is_an_error_and_anchor_restores_it(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    sink = FileCheckpoint(tmp_path / "head.json")
    trail = _trail(sqlite_engine, sink)
    _fill(trail, 2)
    sink.path.unlink()
    error = _broken(trail)
    assert "is missing" in str(error) and "holds 2 entries" in str(error)
    assert "ferry audit anchor" in (error.hint or "")

    verification = trail.anchor("user:ops")
    assert verification.entries == 3
    assert trail.entries()[-1].action == "audit.anchor"
    assert sink.read() == verification.head
    assert trail.verify() == 3


def test_a_head_behind_the_chain_is_fine(sqlite_engine: Engine, tmp_path: Path) -> None:
    sink = FileCheckpoint(tmp_path / "head.json")
    trail = _trail(sqlite_engine, sink)
    _fill(trail, 2)
    _fill(_trail(sqlite_engine), 3)  # a writer that keeps no checkpoint (another machine)
    (state,) = trail.check().checkpoints
    assert (state.status, state.note) == ("behind", "3 newer entries since it was written")


def test_a_restore_older_than_the_checkpoint_needs_force(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    sink = FileCheckpoint(tmp_path / "head.json")
    trail = _trail(sqlite_engine, sink)
    _fill(trail, 5)
    _drop_after(sqlite_engine, 3)  # as a restore of an older backup would
    error = _broken(trail)
    assert (error.entry_id, error.seq) == (None, 4)
    assert "entries seq 4..5 were deleted" in str(error)
    with pytest.raises(AuditChainBrokenError, match="truncated"):
        trail.anchor("user:ops")

    verification = trail.anchor("user:ops", force=True)
    anchor = trail.entries()[-1]
    assert (anchor.action, anchor.seq, anchor.details["force"]) == ("audit.anchor", 4, True)
    assert "entries seq 4..5 were deleted" in anchor.details["replaced"][0]
    assert verification.entries == 4 and sink.read() == verification.head


def test_a_checkpoint_hash_that_differs_is_a_rewrite(sqlite_engine: Engine, tmp_path: Path) -> None:
    sink = FileCheckpoint(tmp_path / "head.json")
    trail = _trail(sqlite_engine, sink)
    _fill(trail, 3)
    # Someone holding the key replaces the last two entries with others, consistently signed.
    _drop_after(sqlite_engine, 1)
    _fill(_trail(sqlite_engine), 2)
    error = _broken(trail)
    third = trail.entries()[2]
    assert (error.entry_id, error.seq) == (third.id, 3)
    assert "was rewritten" in str(error)


def test_a_damaged_file_is_named(sqlite_engine: Engine, tmp_path: Path) -> None:
    sink = FileCheckpoint(tmp_path / "head.json")
    trail = _trail(sqlite_engine, sink)
    _fill(trail, 1)
    sink.path.write_text('{"project": "fraud", "seq": "x"')
    with pytest.raises(StorageError, match="is damaged: it is not the JSON ferryml writes"):
        trail.verify()
    trail.anchor("user:ops", force=True)
    assert trail.verify() == 2


def test_a_checkpoint_of_another_project_is_refused(sqlite_engine: Engine, tmp_path: Path) -> None:
    sink = FileCheckpoint(tmp_path / "head.json")
    _fill(AuditTrail(sqlite_engine, "churn", key=KEY, checkpoints=[sink]), 1)
    trail = _trail(sqlite_engine, sink)
    _fill(_trail(sqlite_engine), 1)
    with pytest.raises(AuditChainBrokenError, match="belongs to project 'churn'"):
        trail.verify()


def test_mlflow_keeps_the_head_when_flushed(
    sqlite_engine: Engine, tmp_path: Path, mlflow_backend: str
) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_backend)
    experiment = f"audit-{tmp_path.name}"
    sink = MlflowCheckpoint(mlflow_backend, experiment, lock=tmp_path / "lock")
    trail = _trail(sqlite_engine, sink)
    _fill(trail, 2)
    assert sink.read() is None and trail.flush() == []  # no experiment: nothing is created
    assert client.get_experiment_by_name(experiment) is None

    client.create_experiment(experiment)
    assert trail.flush() == [sink.name]  # deferred: written by flush, not by append
    head = trail.head()
    assert head is not None and sink.read() == Head("fraud", 2, head.hash)
    assert not sink.advance(Head("fraud", 1, "1" * 64))  # forward only
    tags = client.get_experiment_by_name(experiment).tags
    assert '"seq": 2' in tags[MLFLOW_TAG]

    # With the file gone, the tag alone still reveals a deleted tail.
    _drop_after(sqlite_engine, 1)
    error = _broken(trail)
    assert error.seq == 2 and f"MLflow tag {MLFLOW_TAG}" in str(error)


def test_mlflow_without_a_backend_reads_nothing_and_creates_nothing(tmp_path: Path) -> None:
    database = tmp_path / "mlflow.db"
    sink = MlflowCheckpoint(f"sqlite:///{database}", "fraud")
    assert sink.read() is None
    assert not sink.advance(Head("fraud", 1, "1" * 64))
    assert not database.exists()
