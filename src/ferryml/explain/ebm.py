"""The Explainable Boosting Machine: a glass box, as the model or beside it.

An EBM is a sum of one learned curve per feature (and a few per pair of features): its global
explanation is each term's mean |score| (InterpretML's ``term_importances``) and its local one
is the row's score from each term, in log-odds, exact. When the model *is* an EBM, these are
the model's own. When it is not, a small EBM (few pairs, one outer bag) is fitted on most of
the explained rows' labels and its AUC is measured beside the model's on the rest: how much
accuracy the black box buys over a model a reviewer can read in full.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ferryml._optional import require

if TYPE_CHECKING:
    import pandas as pd

    from ferryml.training.trainers.base import TrainedModel


@dataclass(frozen=True)
class EbmLocal:
    """One row's score, term by term (log-odds)."""

    row_id: str
    intercept: float
    terms: list[tuple[str, float]]
    """(term, contribution), the largest |contribution| first."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "row_id": self.row_id,
            "intercept": self.intercept,
            "terms": [{"term": t, "contribution": c} for t, c in self.terms],
        }


@dataclass(frozen=True)
class EbmExplanation:
    """An EBM's term importances and local explanations, and, for a comparison EBM, its AUC
    beside the model's on the same rows."""

    source: str
    """``model`` (the model is an EBM) or ``comparison`` (an EBM fitted beside it)."""
    importances: list[tuple[str, float]]
    local: list[EbmLocal]
    comparison: dict[str, float | int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "importances": [{"term": t, "importance": v} for t, v in self.importances],
            "local": [row.as_dict() for row in self.local],
            "comparison": self.comparison,
        }


def is_ebm(model: TrainedModel) -> bool:
    """Whether ``model`` is itself an InterpretML EBM."""
    glassbox = require("interpret.glassbox", extra="core", purpose="EBM explanations")
    return isinstance(getattr(model, "estimator", None), glassbox.ExplainableBoostingClassifier)


def ebm_explanation(
    model: TrainedModel,
    x: pd.DataFrame,
    y: npt.NDArray[np.int8] | None,
    ids: Sequence[str],
    local_rows: Sequence[int],
    *,
    seed: int,
    interactions: int = 3,
    holdout: float = 0.3,
    top: int = 15,
) -> EbmExplanation | None:
    """The model's own EBM explanations, or a comparison EBM's (None: the model is no EBM
    and ``y`` lacks a class to fit one on)."""
    features = list(model.features)
    frame = x[features]
    if is_ebm(model):
        estimator: Any = getattr(model, "estimator")  # noqa: B009 (checked by is_ebm)
        return _explained(estimator, frame, ids, local_rows, "model", {}, top)
    if y is None or np.bincount(y.astype(np.int64), minlength=2).min() < 2:
        return None
    from sklearn.metrics import average_precision_score, roc_auc_score
    from sklearn.model_selection import train_test_split

    glassbox = require("interpret.glassbox", extra="core", purpose="EBM explanations")
    train, test = train_test_split(
        np.arange(len(frame)), test_size=holdout, random_state=seed, stratify=y
    )
    estimator = glassbox.ExplainableBoostingClassifier(
        interactions=interactions, outer_bags=1, random_state=seed, n_jobs=1
    )
    with _quiet():
        estimator.fit(frame.iloc[train], y[train])
        ebm_scores = estimator.predict_proba(frame.iloc[test])[:, 1]
    model_scores = model.predict(frame.iloc[test])
    truth = y[test]
    comparison: dict[str, float | int] = {
        "ebm_roc_auc": float(roc_auc_score(truth, ebm_scores)),
        "model_roc_auc": float(roc_auc_score(truth, model_scores)),
        "ebm_pr_auc": float(average_precision_score(truth, ebm_scores)),
        "model_pr_auc": float(average_precision_score(truth, model_scores)),
        "train_rows": len(train),
        "test_rows": len(test),
        "test_positives": int(truth.sum()),
        "interactions": interactions,
    }
    return _explained(estimator, frame, ids, local_rows, "comparison", comparison, top)


def _explained(
    estimator: Any,
    frame: pd.DataFrame,
    ids: Sequence[str],
    local_rows: Sequence[int],
    source: str,
    comparison: dict[str, float | int],
    top: int,
) -> EbmExplanation:
    names = [str(name) for name in estimator.term_names_]
    importances = sorted(
        zip(names, map(float, estimator.term_importances()), strict=True),
        key=lambda item: -item[1],
    )
    intercept = float(np.asarray(estimator.intercept_).ravel()[0])
    local = []
    if local_rows:
        with _quiet():
            terms = np.asarray(estimator.eval_terms(frame.iloc[list(local_rows)]), np.float64)
        for row, scores in zip(local_rows, terms, strict=True):
            order = np.argsort(-np.abs(scores), kind="stable")[:top]
            local.append(
                EbmLocal(ids[row], intercept, [(names[i], float(scores[i])) for i in order])
            )
    return EbmExplanation(source, importances[:top], local, comparison)


@contextmanager
def _quiet() -> Iterator[None]:
    """Missing values get their own learned score in an EBM; InterpretML warns that its own
    plots do not draw it, which ferryml's report does not use (as in the EBM trainer)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Missing values detected", category=UserWarning)
        yield


__all__ = ["EbmExplanation", "EbmLocal", "ebm_explanation", "is_ebm"]
