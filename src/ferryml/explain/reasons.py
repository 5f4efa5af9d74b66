"""Reason codes: the features that pushed one decision, in plain words from a catalogue.

A model's per-feature contributions (exact and additive for every kind, see
:meth:`~ferryml.training.trainers.base.TrainedModel.contributions`) say how far each feature
moved this row's log-odds from the model's base value. The catalogue turns a feature and the
direction of its push into a sentence a customer can read. Its texts come from the project's
``governance.reasons`` (reviewed with the model: the model card prints the whole catalogue)
and, for features without one, from the feature's description::

    >>> catalogue = ReasonCatalogue.build(
    ...     ["amount_eur", "hour"],
    ...     descriptions={"hour": "Hour of the day"},
    ...     texts={"amount_eur": ReasonText(raises="The amount ({value} EUR) is unusually high")},
    ... )
    >>> catalogue.text("amount_eur", 2500.0, up=True)
    'The amount (2,500 EUR) is unusually high'
    >>> catalogue.text("hour", 3.0, up=False)
    'Hour of the day: 3 lowers the risk'

:func:`top_reasons` picks the largest pushes in one direction; :func:`what_would_change` finds
the fewest features whose push, taken away, flips the decision. Both are plain numpy on one
row: serving calls them per request.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import Field

from ferryml.config.base import StrictModel
from ferryml.errors import ConfigError

RAISES = "raises the risk"
LOWERS = "lowers the risk"


class ReasonText(StrictModel):
    """The sentences of one feature; ``{value}`` is replaced by the row's value."""

    raises: str | None = Field(
        default=None,
        min_length=1,
        description="Said when the feature pushed the score up, e.g. "
        "'The amount ({value} EUR) is unusually high for this card'.",
    )
    lowers: str | None = Field(
        default=None, min_length=1, description="Said when the feature pushed the score down."
    )


@dataclass(frozen=True)
class Reason:
    """One feature's push on the score, in words and numbers."""

    feature: str
    value: float | None
    contribution: float
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "value": self.value,
            "contribution": self.contribution,
            "text": self.text,
        }


@dataclass(frozen=True)
class CatalogueEntry:
    """How one feature is explained: the two sentences and where each came from."""

    feature: str
    raises: str
    lowers: str
    curated: bool
    """True when the texts come from ``governance.reasons``, False when derived."""


@dataclass(frozen=True)
class ReasonCatalogue:
    """Every model feature's sentences, in the model's feature order."""

    entries: tuple[CatalogueEntry, ...]

    @classmethod
    def build(
        cls,
        features: Sequence[str],
        *,
        descriptions: Mapping[str, str] | None = None,
        texts: Mapping[str, ReasonText] | None = None,
        strict: bool = False,
    ) -> ReasonCatalogue:
        """A catalogue of ``features``: curated ``texts`` first, else derived from the
        feature's description (or its name). ``strict``: a text for a feature the model does
        not have is a :class:`~ferryml.errors.ConfigError` (a typo would otherwise be
        silently ignored)."""
        descriptions, texts = descriptions or {}, texts or {}
        unknown = sorted(set(texts) - set(features))
        if strict and unknown:
            raise ConfigError(
                "governance.reasons names features the model does not have: "
                + ", ".join(_with_suggestion(name, features) for name in unknown),
                hint="use the model's feature names (`ferry features list`), or remove them",
            )
        entries = []
        for name in features:
            label = (descriptions.get(name) or name.replace("_", " ")).rstrip(".")
            curated = texts.get(name)
            entries.append(
                CatalogueEntry(
                    feature=name,
                    raises=(curated and curated.raises) or f"{label}: {{value}} {RAISES}",
                    lowers=(curated and curated.lowers) or f"{label}: {{value}} {LOWERS}",
                    curated=curated is not None,
                )
            )
        return cls(tuple(entries))

    def entry(self, feature: str) -> CatalogueEntry:
        for entry in self.entries:
            if entry.feature == feature:
                return entry
        raise KeyError(feature)

    def text(self, feature: str, value: float | None, *, up: bool) -> str:
        entry = self.entry(feature)
        return (entry.raises if up else entry.lowers).replace("{value}", shown(value))

    def as_rows(self) -> list[dict[str, Any]]:
        """The catalogue as the model card prints it."""
        return [
            {"feature": e.feature, "raises": e.raises, "lowers": e.lowers, "curated": e.curated}
            for e in self.entries
        ]


def _with_suggestion(name: str, features: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, features, n=1)
    return f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name)


def shown(value: float | None) -> str:
    """A value as a reason says it: ``missing``, or four significant digits."""
    if value is None or math.isnan(value):
        return "missing"
    return f"{value:,.4g}"


def top_reasons(
    catalogue: ReasonCatalogue,
    contributions: npt.NDArray[np.float64],
    values: npt.NDArray[np.float64],
    *,
    up: bool,
    limit: int,
) -> list[Reason]:
    """The ``limit`` largest pushes up (``up``) or down of one row, largest first.

    ``contributions``: the row's per-feature contributions (base value excluded);
    ``values``: the row's feature values, in the catalogue's order.
    """
    pushes = contributions if up else -contributions
    order = np.argsort(-pushes, kind="stable")[:limit]
    out = []
    for index in order:
        if pushes[index] <= 0:
            break
        entry = catalogue.entries[index]
        value = float(values[index])
        kept = None if math.isnan(value) else value
        out.append(
            Reason(
                feature=entry.feature,
                value=kept,
                contribution=float(contributions[index]),
                text=catalogue.text(entry.feature, kept, up=up),
            )
        )
    return out


@dataclass(frozen=True)
class Counterfactual:
    """The fewest features whose push, taken away, changes the decision."""

    features: tuple[str, ...]
    score: float | None
    """The score with their contributions removed (None: no such set exists)."""


def what_would_change(
    features: Sequence[str],
    contributions: npt.NDArray[np.float64],
    base: float,
    threshold: float,
    *,
    blocked: bool,
) -> Counterfactual:
    """Remove the pushes towards the decision, largest first, until the score crosses the
    threshold. A removed push is that feature at its average effect (a contribution of 0),
    so the answer reads "had these been typical"; exact for an additive model's own scores.
    """
    log_odds = base + float(contributions.sum())
    boundary = _logit(threshold)
    towards = contributions if blocked else -contributions
    order = np.argsort(-towards, kind="stable")
    removed: list[str] = []
    for index in order:
        if towards[index] <= 0:
            break
        log_odds -= float(contributions[index])
        removed.append(features[index])
        crossed = log_odds < boundary if blocked else log_odds >= boundary
        if crossed:
            return Counterfactual(tuple(removed), _sigmoid(log_odds))
    return Counterfactual((), None)


def _logit(p: float) -> float:
    p = min(max(p, 1e-12), 1 - 1e-12)
    return math.log(p / (1 - p))


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


__all__ = [
    "LOWERS",
    "RAISES",
    "CatalogueEntry",
    "Counterfactual",
    "Reason",
    "ReasonCatalogue",
    "ReasonText",
    "shown",
    "top_reasons",
    "what_would_change",
]
