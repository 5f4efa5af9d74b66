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

_SIMPLE: dict[type[Any], tuple[Callable[..., Transform], str]] = {
    d.HourFeature: (Hour, "float"),
    d.WeekdayFeature: (Weekday, "float"),
    d.WeekendFeature: (Weekend, "float"),
    d.AgeYearsFeature: (AgeYears, "float"),
    d.DaysBetweenFeature: (DaysBetween, "float"),
    d.HolidayFeature: (Holiday, "int"),
    d.CountryDistanceFeature: (CountryDistance, "float"),
    d.OrdinalFeature: (Ordinal, "int"),
    d.FrequencyFeature: (Frequency, "float"),
    d.ProductFeature: (Product, "float"),
    d.RatioFeature: (Ratio, "float"),
    d.PassthroughFeature: (Passthrough, "float"),
}


def make_transform(name: str, definition: Any, default_owner: str = "") -> Transform:
    """The transform a ``features.derived`` definition describes, with its output fields."""
    inputs = tuple(getattr(definition, attr) for attr in definition.inputs)
    if isinstance(definition, d.ExchangeFeature):
        return Exchange(
            name, inputs, (field(name, "float", definition, default_owner),), definition.rates
        )
    if isinstance(definition, d.OneHotFeature):
        outputs = tuple(
            field(f"{name}__{category}", "int", definition, default_owner)
            for category in [*definition.categories, "other"]
        )
        return OneHot(name, inputs, outputs, definition.categories)
    cls, dtype = _SIMPLE[type(definition)]
    return cls(name, inputs, (field(name, dtype, definition, default_owner),))


__all__ = ["FieldSpec", "Transform", "make_transform"]
