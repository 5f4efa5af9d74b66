"""One training run: every configured model on the same periods, each an MLflow run.

For each model: fit on the training period, score validation and test, choose the business
threshold on validation (:func:`~ferryml.training.threshold.best_threshold`), state its cost on
test, and log parameters, metrics, plots, lineage tags and the model itself. The best model on
the primary metric (validation) is the run's candidate; registration is the caller's.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

import numpy as np

from ferryml.errors import InvalidInputError
from ferryml.training.config import TrainingConfig
from ferryml.training.dataset import PreparedData
from ferryml.training.metrics import RankingMetrics, ranking_metrics
from ferryml.training.search import search, searchable
from ferryml.training.threshold import CostThreshold, best_threshold, cost_at_threshold
from ferryml.training.tracking import Tracker, lineage_tags, model_sha256
from ferryml.training.trainers import TrainedModel, make_trainer

LOWER_IS_BETTER = frozenset({"expected_cost"})


@dataclass(frozen=True)
class ModelResult:
    """One trained model: where it is logged and how it did."""

    name: str
    kind: str
    run_id: str
    model_uri: str
    sha256: str
    validation: RankingMetrics
    test: RankingMetrics
    threshold: CostThreshold
    """Chosen on validation."""
    test_at_threshold: CostThreshold
    """The validation threshold applied to the test period."""
    importance: dict[str, float]
    images: dict[str, bytes]
    """The run's plots as PNG, by name (pr_curve, confusion_test, importance)."""

    def metric(self, name: str) -> float:
        """A validation metric by name (``expected_cost`` from the threshold)."""
        if name == "expected_cost":
            return self.threshold.expected_cost
        return float(getattr(self.validation, name))


@dataclass(frozen=True)
class TrainingResult:
    """All models of one run, and the best on the primary metric."""

    training_id: str
    models: list[ModelResult]
    best: ModelResult
    primary_metric: str


Progress = Callable[[str], None]


def train_models(
    prepared: PreparedData,
    config: TrainingConfig,
    tracker: Tracker,
    *,
    lineage: dict[str, Any],
    artifacts: dict[str, str],
    only: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> TrainingResult:
    """Train the configured models (or those named in ``only``) and log each as an MLflow run.

    ``lineage`` becomes ``ferryml.*`` tags; ``artifacts`` maps artifact paths to text content
    (the resolved config, for instance) stored with every run.
    """
    names = list(config.models) if not only else list(only)
    unknown = [name for name in names if name not in config.models]
    if unknown:
        raise InvalidInputError(
            f"no model named {unknown} in training.models",
            hint=f"configured: {sorted(config.models)}",
        )
    training_id = uuid.uuid4().hex[:12]
    results = []
    for name in names:
        if progress:
            progress(name)
        results.append(
            _train_one(
                name, prepared, config, tracker, {**lineage, "training_id": training_id}, artifacts
            )
        )
    metric = config.primary_metric
    pick = min if metric in LOWER_IS_BETTER else max
    best = pick(results, key=lambda r: r.metric(metric))
    return TrainingResult(training_id, results, best, metric)


def _train_one(
    name: str,
    prepared: PreparedData,
    config: TrainingConfig,
    tracker: Tracker,
    lineage: dict[str, Any],
    artifacts: dict[str, str],
) -> ModelResult:
    import mlflow
    from mlflow.models import infer_signature

    from ferryml.training import plots

    model_config = config.models[name]
    trials: list[dict[str, Any]] | None = None
    if config.search.trials and searchable(model_config):
        model_config, trials = search(
            model_config,
            prepared.training_data(),
            trials=config.search.trials,
            seed=config.seed,
            threads=config.threads,
        )
    trainer = make_trainer(model_config, seed=config.seed, threads=config.threads)
    trained = trainer.fit(prepared.training_data())
    valid_scores = trained.predict(prepared.validation.x)
    test_scores = trained.predict(prepared.test.x)
    validation = ranking_metrics(prepared.validation.y, valid_scores, config.fixed_fpr)
    test = ranking_metrics(prepared.test.y, test_scores, config.fixed_fpr)
    costs = config.costs
    chosen = best_threshold(
        prepared.validation.y, valid_scores, prepared.validation.fn_costs, costs.false_positive
    )
    on_test = cost_at_threshold(
        prepared.test.y,
        test_scores,
        prepared.test.fn_costs,
        costs.false_positive,
        chosen.threshold,
    )
    importance = trained.importance()
    tags = lineage_tags({**lineage, "model_name": name, "model_kind": model_config.kind})
    with tracker.run(f"{name}-{lineage['training_id']}", tags) as run:
        mlflow.log_params(_params(prepared, config, trained))
        mlflow.log_metrics(
            {
                **{f"validation_{k}": v for k, v in validation.as_dict().items()},
                **{f"test_{k}": v for k, v in test.as_dict().items()},
                **{f"validation_{k}": v for k, v in _finite(chosen.as_dict()).items()},
                **{f"test_{k}": v for k, v in _finite(on_test.as_dict()).items()},
            }
        )
        for path, text in artifacts.items():
            mlflow.log_text(text, path)
        if trials is not None:
            mlflow.log_dict({"trials": trials}, "search/trials.json")
            mlflow.log_param("search.trials", len(trials))
        mlflow.log_text(json.dumps(completeness_rows(prepared), indent=2), "data/labels.json")
        mlflow.log_dict(prepared.split.describe(), "data/split.json")
        mlflow.log_dict({"warnings": prepared.warnings}, "data/warnings.json")
        if prepared.warnings:
            mlflow.set_tag("ferryml.warnings", " | ".join(prepared.warnings)[:5000])
        figures = {
            "pr_curve": plots.pr_curves(
                {
                    "validation": (prepared.validation.y, valid_scores),
                    "test": (prepared.test.y, test_scores),
                },
                f"{name}: precision-recall",
            ),
            "confusion_test": plots.confusion(
                on_test.true_positives,
                on_test.false_positives,
                on_test.false_negatives,
                on_test.true_negatives,
                threshold=chosen.threshold,
                cost=on_test.expected_cost,
                currency=costs.currency,
            ),
            "importance": plots.importance(importance, f"{name}: importance"),
        }
        images = {}
        for key, figure in figures.items():
            mlflow.log_figure(figure, f"plots/{key}.png")
            images[key] = plots.png(figure)
        mlflow.log_dict(importance, "model_importance.json")
        example = prepared.validation.x.head(5)
        info = trained.log(
            "model",
            signature=infer_signature(example, trained.predict(example)),
            input_example=example,
            pip_requirements=pinned(trained.requirements),
        )
        sha = _logged_sha256(info.model_uri, tracker)
        mlflow.set_tags(
            {
                "ferryml.model_sha256": sha,
                "ferryml.model_uri": info.model_uri,
                "ferryml.threshold": repr(chosen.threshold),
            }
        )
        run_id = run.info.run_id
    return ModelResult(
        name=name,
        kind=model_config.kind,
        run_id=run_id,
        model_uri=info.model_uri,
        sha256=sha,
        validation=validation,
        test=test,
        threshold=chosen,
        test_at_threshold=on_test,
        importance=importance,
        images=images,
    )


def _finite(values: dict[str, float]) -> dict[str, float]:
    """MLflow stores no infinity: a threshold that blocks nothing is logged as 1.0 + flagged."""
    return {k: (v if np.isfinite(v) else 1.0) for k, v in values.items()}


def _params(
    prepared: PreparedData, config: TrainingConfig, trained: TrainedModel
) -> dict[str, Any]:
    costs = config.costs
    return {
        **{f"model.{k}": v for k, v in trained.params.items()},
        **{f"split.{k}": v for k, v in prepared.split.describe().items()},
        **{f"data.{k}": v for k, v in prepared.summary().items()},
        "data.features": len(prepared.features),
        "label_maturity_days": config.label_maturity_days,
        "balance_classes": config.balance_classes,
        "seed": config.seed,
        "threads": config.threads,
        "costs.currency": costs.currency,
        "costs.false_positive": costs.false_positive,
        "costs.false_negative": costs.false_negative_column or costs.false_negative,
        "costs.false_negative_factor": costs.false_negative_factor,
        "fixed_fpr": config.fixed_fpr,
    }


def completeness_rows(prepared: PreparedData) -> list[dict[str, Any]]:
    """Label completeness per week, as JSON-able rows."""
    from datetime import UTC, datetime

    return [
        {
            "week_from": datetime.fromtimestamp(p.start_us / 1e6, UTC).date().isoformat(),
            "events": p.events,
            "known_positives": p.known_positives,
            "later_positives": p.later_positives,
            "completeness": p.completeness,
        }
        for p in prepared.completeness
    ]


def pinned(distributions: Sequence[str]) -> list[str]:
    """``name==version`` of each installed distribution: the lock's pins, since the lock is
    what installs (inferring requirements instead costs seconds per model)."""
    return [f"{name}=={installed_version(name)}" for name in distributions]


def _logged_sha256(model_uri: str, tracker: Tracker) -> str:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="ferryml-hash-") as tmp:
        return model_sha256(tracker.download(model_uri, Path(tmp), "the logged model"))


__all__ = ["ModelResult", "TrainingResult", "completeness_rows", "pinned", "train_models"]
