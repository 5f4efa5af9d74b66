"""A workspace moved to another directory keeps working there (ferryml.relocation): its MLflow
runs and models, its Feast registry and online store are found in the new place, and nothing
it reads or writes afterwards is in the old one."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from feast.protos.feast.core.Registry_pb2 import Registry

from conftest import TRAINABLE_SETTINGS, Quickstarted
from ferryml.config.loader import load_config
from ferryml.pipeline import ProjectContext
from ferryml.registry import ModelRegistry
from ferryml.relocation import MLFLOW_LOCATIONS, _rewrite_strings, moved_from
from ferryml.serving.service import ScoringService
from ferryml.training.project import tracker_for

pytestmark = pytest.mark.slow


def mlflow_locations(root: Path) -> list[str]:
    with closing(sqlite3.connect(root / "mlflow.db")) as db:
        return [
            value
            for table, column in MLFLOW_LOCATIONS
            for (value,) in db.execute(f"SELECT {column} FROM {table}")
            if value.startswith("file://")
        ]


def test_a_moved_workspace_serves_its_champion_from_its_new_place(
    quickstarted: Quickstarted, tmp_path: Path
) -> None:
    first = quickstarted.copy(tmp_path / "first")
    loaded = load_config(first / "configs" / "ferry.yaml", overrides=list(TRAINABLE_SETTINGS))
    tracker = tracker_for(loaded, first.resolve())
    champion = ModelRegistry(tracker, "fraud").get("champion").run_id
    assert champion is not None
    tracker.client.log_text(champion, "before", "moves/before.txt")  # MLflow caches where
    assert (first / "mlruns" / "fraud" / champion / "artifacts" / "moves").is_dir()
    shutil.move(first, tmp_path / "moved")  # the directory it was made in is gone
    moved = tmp_path / "moved"
    loaded = load_config(moved / "configs" / "ferry.yaml", overrides=list(TRAINABLE_SETTINGS))
    assert moved_from(loaded, moved.resolve()) == first.resolve()

    context = ProjectContext.open(loaded, create=False)
    try:
        relocations = context.audit.find(action="workspace.relocate")
        assert [e.details["from"] for e in relocations][-1] == str(first.resolve())
        assert moved_from(loaded, context.workspace.root) is None
        locations = mlflow_locations(moved)
        assert len(locations) >= 7  # the experiment, three runs, three logged models, a version
        assert all(v.startswith((moved.resolve() / "mlruns").as_uri() + "/") for v in locations)
        for mlmodel in (moved / "mlruns").rglob("MLmodel"):
            assert str(first.resolve()) not in mlmodel.read_text()
        store_yaml = (moved / "features" / "repo" / "feature_store.yaml").read_text()
        assert f"path: {moved.resolve()}/data/online/features.db" in store_yaml
        registry = Registry()
        registry.ParseFromString((moved / "features" / "repo" / "registry.db").read_bytes())
        sources = [s.file_options.uri for s in registry.data_sources if s.file_options.uri]
        assert sources and all(s.startswith(f"{moved.resolve()}/features/") for s in sources)
        assert all(Path(s).is_file() for s in sources)

        service = ScoringService.open(context)  # the champion, loaded and verified from here
        assert service.deployment.version == "1"
        # in this process too, artifacts go to the new place, not the cached old one
        tracker_for(loaded, moved.resolve()).client.log_text(champion, "after", "moves/after.txt")
        logged = moved / "mlruns" / "fraud" / champion / "artifacts" / "moves"
        assert sorted(p.name for p in logged.iterdir()) == ["after.txt", "before.txt"]
        assert not first.exists()
    finally:
        context.close()
    reopened = ProjectContext.open(loaded, create=False)  # nothing left to move: no new entry
    try:
        assert len(reopened.audit.find(action="workspace.relocate")) == len(relocations)
    finally:
        reopened.close()


def test_strings_nested_in_messages_lists_and_maps_are_rewritten() -> None:
    registry = Registry()
    source = registry.data_sources.add()
    source.file_options.uri = "/old/ws/features/a.parquet"
    source.tags["path"] = "/old/ws/b"
    source.tags["other"] = "/elsewhere/c"
    source.field_mapping["/old/ws/key"] = "kept"  # keys are names, not locations
    assert _rewrite_strings(registry, "/old/ws/", "/new/ws/") == 2
    assert source.file_options.uri == "/new/ws/features/a.parquet"
    assert dict(source.tags) == {"path": "/new/ws/b", "other": "/elsewhere/c"}
    assert dict(source.field_mapping) == {"/old/ws/key": "kept"}
