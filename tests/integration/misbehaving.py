"""Challengers that misbehave, for the release tests.

- :class:`Misbehaving` acts on the prefix of the transaction id, for the shadow tests: it is
  loaded in the shadow process (spawned, so it is found by module name).
- :class:`FailingModel` and :class:`SlowModel` are model kinds (``failing``, ``slow``) that
  real ``ferry serve`` workers load like any other, declared as ``ferryml.model_kinds`` entry
  points by :func:`install_model_kinds`: the real LightGBM model, except that on real traffic
  one raises and the other takes 100 ms. Both pass the warm-up (rows of zeros), as a model that
  fails only on production data does.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import numpy.typing as npt

from ferryml.config.loader import LoadedConfig
from ferryml.serving.deployment import Deployment, Scored, load_version
from ferryml.training.trainers.lightgbm import LightGBMTrainedModel

TESTS = Path(__file__).parent


class Misbehaving:
    """The real deployment, except: ``raise-…`` raises, ``sleep-…`` takes 200 ms, ``hang-…``
    never answers, ``spin-…`` busy-loops on the CPU forever."""

    def __init__(self, inner: Deployment) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    @property
    def feature_set(self) -> Any:
        """Another feature-set version than the champion's: the shadow calls :meth:`score`
        with the request (and its cue), not the champion's features."""
        return SimpleNamespace(version="misbehaving")

    def warm_up(self) -> None:
        self.inner.warm_up()

    def score(self, event: dict[str, Any]) -> Scored:
        cue = str(event.get("transaction_id", "")).split("-", 1)[0]
        if cue == "raise":
            raise RuntimeError("challenger exploded")
        if cue == "sleep":
            time.sleep(0.2)
        if cue == "hang":
            time.sleep(3600)
        while cue == "spin":
            pass
        return self.inner.score(event)


def load_misbehaving(loaded: LoadedConfig, root: Path, version: str) -> Misbehaving:
    return Misbehaving(load_version(loaded, root, None, version))


def _warm_up_row(values: npt.NDArray[np.float64]) -> bool:
    return not values.any()


class FailingModel(LightGBMTrainedModel):
    """Answers the warm-up, raises on every real row."""

    kind = "failing"

    def predict_array(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        if not _warm_up_row(values):
            raise RuntimeError("the failing challenger fails on real traffic")
        return super().predict_array(values)


class SlowModel(LightGBMTrainedModel):
    """Answers like the real model, 100 ms late on every real row."""

    kind = "slow"

    def predict_array(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        if not _warm_up_row(values):
            time.sleep(0.1)
        return super().predict_array(values)


def install_model_kinds(directory: Path) -> str:
    """Declare ``failing`` and ``slow`` as ``ferryml.model_kinds`` entry points in a
    distribution's metadata under ``directory``; the PYTHONPATH that makes a process see them
    (and this module)."""
    info = directory / "ferryml_misbehaving_kinds-1.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: ferryml-misbehaving-kinds\nVersion: 1.0\n"
    )
    (info / "entry_points.txt").write_text(
        "[ferryml.model_kinds]\nfailing = misbehaving:FailingModel\nslow = misbehaving:SlowModel\n"
    )
    return f"{directory}{os.pathsep}{TESTS}"
