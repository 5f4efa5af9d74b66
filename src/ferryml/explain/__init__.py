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
}

__getattr__ = lazy_exports(__name__, _EXPORTS)

__all__ = sorted(_EXPORTS)
