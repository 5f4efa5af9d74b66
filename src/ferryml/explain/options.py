"""How much an explanation report computes: sample sizes, seeds' uses, thresholds.

Every method of :mod:`ferryml.explain` reads its settings from one :class:`ExplainOptions`;
``ferry explain`` sets the common ones from its flags (``--rows``, ``--seed``) and keeps the
defaults for the rest, which fit a laptop and a few thousand held-out rows::

    >>> options = ExplainOptions(rows=500)
    >>> options.rows, options.correlation_threshold
    (500, 0.5)
    >>> ExplainOptions(rows=5)
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for ExplainOptions
    ...
"""

from __future__ import annotations

from pydantic import Field

from ferryml.config.base import StrictModel


class ExplainOptions(StrictModel):
    """The settings of one explanation report (a typo is an error naming the key)."""

    rows: int = Field(
        default=2000,
        ge=100,
        le=200_000,
        description="Held-out rows explained: a seeded sample when the period has more.",
    )
    top_rows: int = Field(
        default=3, ge=0, le=50, description="Local explanations of the highest-scored rows."
    )
    near_threshold_rows: int = Field(
        default=2,
        ge=0,
        le=50,
        description="Local explanations of the rows scored closest to the decision threshold.",
    )
    shap_background: int = Field(
        default=100,
        ge=10,
        le=5000,
        description="Background rows of the shap package, for a model without exact contributions.",
    )
    shap_fallback_rows: int = Field(
        default=200,
        ge=10,
        le=100_000,
        description="Rows the shap package explains when the model has no exact "
        "contributions (model-agnostic SHAP costs thousands of predictions per row).",
    )
    beeswarm_points: int = Field(default=500, ge=50, le=20_000, description="Dots per feature.")
    top_features: int = Field(
        default=12, ge=1, le=200, description="Features shown in the SHAP and LIME figures."
    )
    lime_samples: int = Field(
        default=2000, ge=100, le=50_000, description="Perturbed samples per LIME explanation."
    )
    lime_features: int = Field(default=8, ge=1, le=100, description="Features per LIME fit.")
    permutation_repeats: int = Field(
        default=5, ge=1, le=100, description="Shuffles per feature in permutation importance."
    )
    pdp_features: int = Field(
        default=3,
        ge=0,
        le=20,
        description="One-feature partial dependence plots (the features with the largest "
        "mean |SHAP|); the two largest also get a two-feature plot.",
    )
    pdp_rows: int = Field(
        default=1000, ge=50, le=100_000, description="Rows averaged in partial dependence."
    )
    grid_resolution: int = Field(default=20, ge=3, le=200, description="Grid points per feature.")
    ice_lines: int = Field(default=50, ge=0, le=2000, description="ICE curves drawn per feature.")
    correlation_threshold: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="|Spearman| at or above which a partial dependence plot warns that its "
        "feature is correlated with another (PDP assumes independent features).",
    )
    surrogate_depth: int = Field(default=3, ge=1, le=8, description="Depth of the surrogate tree.")
    holdout_share: float = Field(
        default=0.3,
        gt=0,
        lt=1,
        description="Share of the rows kept out of the surrogate's and the comparison EBM's "
        "fit, to measure their fidelity and AUC on.",
    )
    ebm_interactions: int = Field(
        default=3, ge=0, le=20, description="Pairwise terms of the comparison EBM."
    )


__all__ = ["ExplainOptions"]
