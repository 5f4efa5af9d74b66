"""The ``training`` section: which models, how data is split in time, what errors cost.

Every value has a default that trains on the reference project; a typo is an error naming the
key. Hyperparameters are typed per model kind (a LightGBM key under a logistic model is an
error, not an ignored value)::

    >>> config = TrainingConfig(models={"gbm": {"kind": "lightgbm", "num_leaves": 15}})
    >>> config.models["gbm"].num_leaves, config.split.test_days
    (15, 14)
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from ferryml.config.base import StrictModel

ModelName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")]


class LightGBMModel(StrictModel):
    """Gradient-boosted trees (LightGBM), built to be bit-for-bit reproducible.

    ``deterministic``, ``force_row_wise`` and a fixed thread count are always set: the same data
    and seed give the same model file.
    """

    kind: Literal["lightgbm"] = "lightgbm"
    n_estimators: int = Field(default=300, ge=1, le=20_000, description="Boosting rounds.")
    learning_rate: float = Field(default=0.05, gt=0, le=1)
    num_leaves: int = Field(default=31, ge=2, le=131_072)
    max_depth: int = Field(default=-1, ge=-1, description="-1: no limit.")
    min_child_samples: int = Field(default=50, ge=1)
    subsample: float = Field(default=0.8, gt=0, le=1, description="Row share per bagging round.")
    subsample_freq: int = Field(default=1, ge=0, description="Bag every k rounds (0: never).")
    colsample_bytree: float = Field(default=0.8, gt=0, le=1)
    reg_lambda: float = Field(default=1.0, ge=0)
    early_stopping_rounds: int | None = Field(
        default=50, ge=1, description="Stop when validation PR-AUC has not improved this long."
    )


class LogisticModel(StrictModel):
    """The baseline: standardized features, missing values imputed, L2 logistic regression."""

    kind: Literal["logistic"] = "logistic"
    C: float = Field(default=1.0, gt=0, description="Inverse regularization strength.")
    max_iter: int = Field(default=1000, ge=10)


class EBMModel(StrictModel):
    """An Explainable Boosting Machine (InterpretML): additive, each term a readable curve."""

    kind: Literal["ebm"] = "ebm"
    interactions: int = Field(default=5, ge=0, description="Pairwise terms to add.")
    outer_bags: int = Field(default=4, ge=1)
    inner_bags: int = Field(default=0, ge=0)
    max_bins: int = Field(default=128, ge=8)
    learning_rate: float = Field(default=0.04, gt=0, le=1)
    max_rounds: int = Field(default=2000, ge=1)
    early_stopping_rounds: int = Field(default=50, ge=1)


ModelConfig = Annotated[LightGBMModel | LogisticModel | EBMModel, Field(discriminator="kind")]


def _default_models() -> dict[str, LightGBMModel | LogisticModel | EBMModel]:
    return {"lightgbm": LightGBMModel(), "logistic": LogisticModel(), "ebm": EBMModel()}


class SplitConfig(StrictModel):
    """Train on the past, validate on a later period, test on the latest: never a random split.

    Periods are counted back from the end of the *matured* events (see ``label_maturity_days``):
    test is the last ``test_days``, validation the ``validation_days`` before it, training all
    that comes earlier.
    """

    validation_days: int = Field(default=14, ge=1, le=3650)
    test_days: int = Field(default=14, ge=1, le=3650)
    min_train_days: int = Field(
        default=14, ge=1, description="Refuse to train on a shorter history than this."
    )


class CostConfig(StrictModel):
    """What a wrong decision costs; the threshold minimizes the expected cost on validation.

    A false positive (a good customer blocked) costs ``false_positive``; a false negative (a
    fraud let through) costs ``false_negative_column`` times ``false_negative_factor`` of that event
    (the amount lost), or ``false_negative`` when no column is given.
    """

    currency: str = Field(default="EUR", min_length=1, max_length=8)
    false_positive: float = Field(default=10.0, ge=0)
    false_negative: float = Field(default=100.0, ge=0)
    false_negative_column: str | None = Field(
        default=None,
        min_length=1,
        description="A numeric column of the training set holding the amount lost.",
    )
    false_negative_factor: float = Field(default=1.0, ge=0)


class SearchConfig(StrictModel):
    """A small hyperparameter search on validation PR-AUC (Optuna TPE, seeded, sequential)."""

    trials: int = Field(
        default=0,
        ge=0,
        le=500,
        description="Trials per LightGBM or logistic model, the configured values first "
        "(0: no search).",
    )


class TrackingConfig(StrictModel):
    """Where MLflow records runs and models."""

    uri: str | None = Field(
        default=None,
        description="MLflow tracking URI (e.g. postgresql://…); unset: the SQLite file "
        "`mlflow.db` in the workspace root.",
    )
    artifacts: Path = Field(
        default=Path("mlruns"), description="Artifact root, relative to paths.root."
    )
    experiment: str | None = Field(default=None, description="Unset: the project's name.")


class TrainingConfig(StrictModel):
    """Trainers, time splits, delayed labels, business costs, tracking."""

    models: dict[ModelName, ModelConfig] = Field(
        default_factory=_default_models,
        min_length=1,
        description="Models to train, by name: {kind: lightgbm|logistic|ebm, …hyperparameters}.",
    )
    label_maturity_days: int = Field(
        default=30,
        ge=0,
        le=3650,
        description="Events younger than this at the cutoff are left out: their labels "
        "(chargebacks) may still arrive.",
    )
    split: SplitConfig = Field(default_factory=SplitConfig)
    search: SearchConfig = Field(default_factory=SearchConfig)
    costs: CostConfig = Field(default_factory=CostConfig)
    primary_metric: Literal["pr_auc", "roc_auc", "recall_at_fpr", "expected_cost"] = Field(
        default="pr_auc", description="What picks the best model of a run."
    )
    fixed_fpr: float = Field(
        default=0.01, gt=0, lt=1, description="The false-positive rate of `recall_at_fpr`."
    )
    balance_classes: bool = Field(
        default=True,
        description="Weight the rare class up to the weight of the common one in training.",
    )
    exclude_features: list[str] = Field(
        default_factory=list,
        description="Features of the feature set the models must not use (e.g. one that leaks).",
    )
    seed: int = Field(default=42, ge=0, le=2**31 - 1)
    threads: int = Field(
        default=2, ge=1, le=256, description="Fixed, so that a retrain gives the same model."
    )
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)


__all__ = [
    "CostConfig",
    "EBMModel",
    "LightGBMModel",
    "LogisticModel",
    "ModelConfig",
    "SearchConfig",
    "SplitConfig",
    "TrackingConfig",
    "TrainingConfig",
]
