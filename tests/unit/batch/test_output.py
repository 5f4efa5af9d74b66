"""The batch output directory: chunks written atomically and marked, a rerun resumes from the
marks without duplicating a row, another run's output is refused (or replaced on request,
never a directory of something else)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from ferryml.batch.output import MANIFEST, PROGRESS, BatchOutput, merged, run_fingerprint
from ferryml.batch.run import model_reference
from ferryml.errors import ConflictError, InvalidInputError

MODEL = {"name": "fraud", "version": "3"}


def fingerprint(version: str = "3", chunk_rows: int = 2) -> dict[str, object]:
    model = {**MODEL, "version": version}
    return run_fingerprint(model, "ab" * 32, engine="local", chunk_rows=chunk_rows)


def chunk(first: int, dates: list[str], decisions: list[str]) -> pa.Table:
    return pa.table(
        {
            "transaction_id": [f"t{first + i}" for i in range(len(dates))],
            "event_date": dates,
            "score": [0.1] * len(dates),
            "decision": decisions,
        }
    )


def test_chunks_land_in_date_partitions_and_a_rerun_resumes_without_duplicates(
    tmp_path: Path,
) -> None:
    out = BatchOutput(tmp_path / "scores", fingerprint(), overwrite=False)
    assert out.prepare() == set()
    out.write_chunk(0, chunk(0, ["2025-11-01", "2025-11-02"], ["approve", "block"]))
    # killed here; the rerun (a new object, the same run) finds chunk 0 done
    again = BatchOutput(tmp_path / "scores", fingerprint(), overwrite=False)
    assert again.finished() is None
    assert again.prepare() == {0}
    again.write_chunk(0, chunk(0, ["2025-11-01", "2025-11-02"], ["approve", "block"]))  # twice
    again.write_chunk(1, chunk(2, ["2025-11-02", "2025-11-02"], ["approve", "approve"]))
    manifest = again.finish({"output": merged(again.chunk_counts())})
    assert manifest["output"] == {"rows": 4, "decisions": {"approve": 3, "block": 1}}
    assert not (tmp_path / "scores" / PROGRESS).exists()
    rows = ds.dataset(tmp_path / "scores", format="parquet", partitioning="hive").to_table()
    assert sorted(rows.column("transaction_id").to_pylist()) == ["t0", "t1", "t2", "t3"]
    by_date = {
        (r["transaction_id"], str(r["event_date"])) for r in rows.to_pylist()
    }  # fmt: skip
    assert ("t1", "2025-11-02") in by_date and ("t0", "2025-11-01") in by_date
    finished = BatchOutput(tmp_path / "scores", fingerprint(), overwrite=False).finished()
    assert finished is not None and finished["fingerprint"] == fingerprint()


def test_another_runs_output_is_refused_and_replaced_only_when_asked(tmp_path: Path) -> None:
    target = tmp_path / "scores"
    first = BatchOutput(target, fingerprint("3"), overwrite=False)
    first.prepare()
    first.write_chunk(0, chunk(0, ["2025-11-01"], ["approve"]))
    first.finish({"output": merged(first.chunk_counts())})
    with pytest.raises(ConflictError, match=r"another batch run \(model fraud v3.*v4") as info:
        BatchOutput(target, fingerprint("4"), overwrite=False).prepare()
    assert "--overwrite" in (info.value.hint or "")
    assert (target / MANIFEST).exists()  # refused: nothing touched
    assert BatchOutput(target, fingerprint("4"), overwrite=True).prepare() == set()
    assert not (target / MANIFEST).exists() and not list(target.glob("event_date=*"))


def test_a_directory_of_something_else_is_never_deleted(tmp_path: Path) -> None:
    target = tmp_path / "photos"
    target.mkdir()
    (target / "holiday.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(ConflictError, match="holds no ferryml batch output"):
        BatchOutput(target, fingerprint(), overwrite=True).prepare()
    assert (target / "holiday.jpg").exists()


def test_a_killed_writes_leftovers_are_removed_on_resume(tmp_path: Path) -> None:
    out = BatchOutput(tmp_path / "scores", fingerprint(), overwrite=False)
    out.prepare()
    stray = tmp_path / "scores" / "event_date=2025-11-01" / ".part-000001.parquet.x.tmp"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"half a file")
    BatchOutput(tmp_path / "scores", fingerprint(), overwrite=False).prepare()
    assert not stray.exists()


@pytest.mark.parametrize(
    ("reference", "expected"),
    [("champion", "champion"), ("fraud@champion", "champion"), ("fraud@7", "7"), ("7", "7")],
)
def test_model_references(reference: str, expected: str) -> None:
    assert model_reference("fraud", reference) == expected


@pytest.mark.parametrize("reference", ["churn@champion", "fraud@"])
def test_bad_model_references_say_what_to_write(reference: str) -> None:
    with pytest.raises(InvalidInputError, match="fraud@champion"):
        model_reference("fraud", reference)
