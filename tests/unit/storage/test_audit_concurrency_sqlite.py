"""Writers in several processes append to one SQLite file and still form one chain each, and
the head checkpoint file ends at each chain's final head (it never moves backwards)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

from ferryml.governance import AuditTrail, FileCheckpoint
from ferryml.storage.db import make_engine, upgrade

WRITERS, APPENDS = 4, 25
PROJECTS = ("race-a", "race-b")
KEY = b"concurrency-audit-key-0123456789"


def _trail(engine: Any, project: str, heads: Path) -> AuditTrail:
    return AuditTrail(
        engine, project, key=KEY, checkpoints=[FileCheckpoint(heads / f"{project}.json")]
    )


def append_many(url: str, heads: Path, writer: int, start: Any) -> None:
    """One writer process (module-level: the forkserver imports it by name)."""
    engine = make_engine(url)
    upgrade(engine)  # every worker migrates at once, as serving workers do at start-up
    trails = [_trail(engine, project, heads) for project in PROJECTS]
    start.wait(timeout=60)
    for i in range(APPENDS):
        trails[i % 2].append(f"writer:{writer}", "test.append", f"item-{i}", {"w": writer, "i": i})
    engine.dispose()


def run_writers(url: str, heads: Path) -> None:
    """WRITERS processes appending at once; each must exit 0."""
    # forkserver: workers inherit no state (pooled connections, file locks) from the test
    # process, and fork from a server that imported ferryml once instead of four times.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["ferryml.governance", "ferryml.storage.db"])
    start = context.Barrier(WRITERS)
    workers = [
        context.Process(target=append_many, args=(url, heads, writer, start))
        for writer in range(WRITERS)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0] * WRITERS


def check_chains(url: str, heads: Path) -> None:
    """Each project: one gap-free chain holding every append, its checkpoint at its head."""
    engine = make_engine(url)
    for index, project in enumerate(PROJECTS):
        trail = _trail(engine, project, heads)
        entries = trail.entries()
        per_writer = len(range(index, APPENDS, 2))
        assert trail.verify() == len(entries) == WRITERS * per_writer
        assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
        assert len({e.hash for e in entries}) == len(entries)
        written = {(e.details["w"], e.details["i"]) for e in entries}
        assert written == {(w, i) for w in range(WRITERS) for i in range(index, APPENDS, 2)}
        kept = trail.checkpoints[0].read()
        assert kept is not None and (kept.seq, kept.hash) == (entries[-1].seq, entries[-1].hash)
    engine.dispose()


def test_concurrent_process_appends_form_one_chain(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ferryml.db'}"
    run_writers(url, tmp_path)
    check_chains(url, tmp_path)
