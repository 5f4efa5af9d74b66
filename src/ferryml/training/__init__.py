"""Training: time splits with delayed labels, three model kinds, business-cost thresholds,
MLflow tracking with lineage.

    prepared = prepare(build_table, columns, config.training)      # periods, labels, checks
    result = train_models(prepared, config.training, tracker, lineage=..., artifacts=...)
    result.best.run_id, result.best.threshold.expected_cost
"""

from ferryml.training.config import (
    CostConfig,
    EBMModel,
    LightGBMModel,
    LogisticModel,
    SplitConfig,
    TrackingConfig,
    TrainingConfig,
)
from ferryml.training.dataset import Columns, PreparedData, prepare
from ferryml.training.labels import label_completeness, labels_known_at
from ferryml.training.metrics import RankingMetrics, ranking_metrics, recall_at_fpr
from ferryml.training.run import ModelResult, TrainingResult, train_models
from ferryml.training.splits import TimeSplit, plan_split
from ferryml.training.threshold import CostThreshold, best_threshold, expected_cost
from ferryml.training.tracking import Tracker, default_tracking_uri, model_sha256

__all__ = [
    "Columns",
    "CostConfig",
    "CostThreshold",
    "EBMModel",
    "LightGBMModel",
    "LogisticModel",
    "ModelResult",
    "PreparedData",
    "RankingMetrics",
    "SplitConfig",
    "TimeSplit",
    "Tracker",
    "TrackingConfig",
    "TrainingConfig",
    "TrainingResult",
    "best_threshold",
    "default_tracking_uri",
    "expected_cost",
    "label_completeness",
    "labels_known_at",
    "model_sha256",
    "plan_split",
    "prepare",
    "ranking_metrics",
    "recall_at_fpr",
    "train_models",
]
