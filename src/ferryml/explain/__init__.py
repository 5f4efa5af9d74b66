"""Explanations of a model's decisions: reason codes per decision, and the explanation report.

The config loader imports this package (``governance.reasons`` holds :class:`ReasonText`), so
names load on first use: a command that only reads a config does not import SHAP or LIME.
"""

from __future__ import annotations

from ferryml._lazy import lazy_exports

_EXPORTS = {
    "Counterfactual": "ferryml.explain.reasons",
    "Reason": "ferryml.explain.reasons",
    "ReasonCatalogue": "ferryml.explain.reasons",
    "ReasonText": "ferryml.explain.reasons",
    "top_reasons": "ferryml.explain.reasons",
    "what_would_change": "ferryml.explain.reasons",
    # the explanation report (`ferry explain`): one method per module
    "EbmExplanation": "ferryml.explain.ebm",
    "ExplainOptions": "ferryml.explain.options",
    "ExplainRun": "ferryml.explain.project",
    "Explanation": "ferryml.explain.explanation",
    "LimeExplainer": "ferryml.explain.lime_local",
    "LimeExplanation": "ferryml.explain.lime_local",
    "PartialDependence": "ferryml.explain.dependence",
    "PartialDependence2D": "ferryml.explain.dependence",
    "PermutationImportance": "ferryml.explain.permutation",
    "ShapValues": "ferryml.explain.shapley",
    "Surrogate": "ferryml.explain.surrogate",
    "correlated_pairs": "ferryml.explain.dependence",
    "ebm_explanation": "ferryml.explain.ebm",
    "explain_model": "ferryml.explain.explanation",
    "explain_project": "ferryml.explain.project",
    "fit_surrogate": "ferryml.explain.surrogate",
    "partial_dependence": "ferryml.explain.dependence",
    "partial_dependence_2d": "ferryml.explain.dependence",
    "permutation_importances": "ferryml.explain.permutation",
    "shap_values": "ferryml.explain.shapley",
    "write_explain_report": "ferryml.explain.report",
}

__getattr__ = lazy_exports(__name__, _EXPORTS)

__all__ = sorted(_EXPORTS)
