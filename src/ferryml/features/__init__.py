"""Features: definitions, transforms, the offline builder, the online path, the feature store.

Definitions are written in YAML (the ``features:`` section of a project config) or in Python
with the same models; both compile to one checked, ordered :class:`FeatureSet`::

    >>> from ferryml.config.schema import SchemaConfig
    >>> schema = SchemaConfig.model_validate({"columns": {
    ...     "id": {"type": "string", "role": "id"},
    ...     "t": {"type": "timestamp", "role": "event_time"},
    ...     "customer_id": {"type": "string", "role": "entity"},
    ...     "amount": {"type": "float"}}})
    >>> features = FeaturesConfig(
    ...     owner="risk-team",
    ...     entities={"customer": EntityDefinition(key="customer_id")},
    ...     windows={"spend": WindowDefinition(entity="customer", value="amount",
    ...                                         aggregations=["count", "mean"],
    ...                                         windows=["1h", "30d"])},
    ...     derived={"hour": HourFeature(kind="hour", input="t"),
    ...              "vs_usual": RatioFeature(kind="ratio", numerator="amount",
    ...                                       denominator="spend_mean_30d")})
    >>> feature_set = compile_features("demo", features, schema)
    >>> feature_set.output_names
    ('spend_count_1h', 'spend_mean_1h', 'spend_count_30d', 'spend_mean_30d', 'hour', 'vs_usual')
"""

from ferryml.features.definitions import (
    AgeYearsFeature,
    CountryDistanceFeature,
    DaysBetweenFeature,
    EntityDefinition,
    ExchangeFeature,
    FeaturesConfig,
    FeatureStoreSettings,
    FrequencyFeature,
    HolidayFeature,
    HourFeature,
    LabelRateDefinition,
    OneHotFeature,
    OrdinalFeature,
    PassthroughFeature,
    ProductFeature,
    ProfileDefinition,
    RatioFeature,
    WeekdayFeature,
    WeekendFeature,
    WindowDefinition,
)
from ferryml.features.graph import FeatureSet, compile_features

__all__ = [
    "AgeYearsFeature",
    "CountryDistanceFeature",
    "DaysBetweenFeature",
    "EntityDefinition",
    "ExchangeFeature",
    "FeatureSet",
    "FeatureStoreSettings",
    "FeaturesConfig",
    "FrequencyFeature",
    "HolidayFeature",
    "HourFeature",
    "LabelRateDefinition",
    "OneHotFeature",
    "OrdinalFeature",
    "PassthroughFeature",
    "ProductFeature",
    "ProfileDefinition",
    "RatioFeature",
    "WeekdayFeature",
    "WeekendFeature",
    "WindowDefinition",
    "compile_features",
]
