from __future__ import annotations

from pathlib import Path

import pytest

from ferryml.storage.atomic import atomic_directory, atomic_path, atomic_write_text


class InjectedError(Exception):
    pass


def test_write_replaces_the_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "f.json"
    atomic_write_text(target, "old")
    atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in target.parent.iterdir()] == ["f.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    atomic_write_text(target, "old")
    with pytest.raises(InjectedError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise InjectedError
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_directory_appears_whole_or_not_at_all(tmp_path: Path) -> None:
    target = tmp_path / "dataset"
    with pytest.raises(InjectedError), atomic_directory(target) as tmp:
        (tmp / "part-0").write_text("rows")
        raise InjectedError
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []

    with atomic_directory(target) as tmp:
        (tmp / "part-0").write_text("v1")
    with atomic_directory(target) as tmp:
        (tmp / "part-1").write_text("v2")
    assert sorted(p.name for p in target.iterdir()) == ["part-1"]  # replaced whole, no mix
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset"]


def test_an_interrupted_swap_puts_the_old_directory_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "dataset"
    with atomic_directory(target) as tmp:
        (tmp / "part-0").write_text("v1")

    real_replace = Path.replace

    def interrupted(self: Path, destination: Path) -> Path:
        if self.name.endswith(".tmp"):  # the new directory moving into place
            raise KeyboardInterrupt
        return real_replace(self, destination)

    monkeypatch.setattr(Path, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt), atomic_directory(target) as tmp:
        (tmp / "part-1").write_text("v2")
    monkeypatch.undo()
    assert sorted(p.name for p in target.iterdir()) == ["part-0"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset"]
