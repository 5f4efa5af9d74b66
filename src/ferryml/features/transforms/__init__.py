"""Derived-feature transforms by kind: derivative, enrichment, encoding, combination.

:func:`make_transform` turns one definition of the ``features.derived`` section into its
:class:`~ferryml.features.transforms.base.Transform`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ferryml.features import definitions as d
from ferryml.features.spec import FieldSpec
from ferryml.features.transforms.base import Transform, field
from ferryml.features.transforms.combination import Product, Ratio
from ferryml.features.transforms.derivative import (
    AgeYears,
    DaysBetween,
    Hour,
    Passthrough,
    Weekday,
    Weekend,
)
from ferryml.features.transforms.encoding import Frequency, OneHot, Ordinal
from ferryml.features.transforms.enrichment import CountryDistance, Exchange, Holiday

_SIMPLE: dict[type[Any], tuple[Callable[..., Transform], str, tuple[str, ...]]] = {
    d.HourFeature: (Hour, "float", ("input",)),
    d.WeekdayFeature: (Weekday, "float", ("input",)),
    d.WeekendFeature: (Weekend, "float", ("input",)),
    d.AgeYearsFeature: (AgeYears, "float", ("birth", "at")),
    d.DaysBetweenFeature: (DaysBetween, "float", ("start", "end")),
    d.HolidayFeature: (Holiday, "int", ("date", "country")),
    d.CountryDistanceFeature: (CountryDistance, "float", ("origin", "destination")),
    d.OrdinalFeature: (Ordinal, "int", ("input",)),
    d.FrequencyFeature: (Frequency, "float", ("input",)),
    d.ProductFeature: (Product, "float", ("left", "right")),
    d.RatioFeature: (Ratio, "float", ("numerator", "denominator")),
    d.PassthroughFeature: (Passthrough, "float", ("input",)),
}


def make_transform(name: str, definition: Any, default_owner: str = "") -> Transform:
    """The transform a ``features.derived`` definition describes, with its output fields."""
    if isinstance(definition, d.ExchangeFeature):
        inputs = (definition.amount, definition.currency)
        return Exchange(
            name, inputs, (field(name, "float", definition, default_owner),), definition.rates
        )
    if isinstance(definition, d.OneHotFeature):
        outputs = tuple(
            field(f"{name}__{category}", "int", definition, default_owner)
            for category in [*definition.categories, "other"]
        )
        return OneHot(name, (definition.input,), outputs, definition.categories)
    cls, dtype, input_fields = _SIMPLE[type(definition)]
    inputs = tuple(getattr(definition, attr) for attr in input_fields)
    return cls(name, inputs, (field(name, dtype, definition, default_owner),))


__all__ = ["FieldSpec", "Transform", "make_transform"]
