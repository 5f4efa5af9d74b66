"""The ``features`` section: entities, profiles, label rates, windows and derived features.

Definitions are data; :mod:`ferryml.features.graph` checks them against the schema and orders
them, :mod:`ferryml.features.transforms` computes them. The four strategies of feature
engineering map onto the derived kinds:

- derivatives: ``hour``, ``weekday``, ``weekend``, ``age_years``, ``days_between``;
- enrichment: ``holiday`` (the ``holidays`` package), ``country_distance``, ``exchange``;
- encodings: ``one_hot`` (declared categories + ``other``), ``ordinal`` and ``frequency``
  (fitted on the training window; unseen categories get -1 and 0.0);
- combinations: ``product``, ``ratio``;

plus ``windows`` (per-entity count/sum/mean/max over time windows: velocity) and
``label_rates`` (an entity's smoothed label rate, e.g. merchant risk, from labels known before
each daily snapshot). A feature set's version is a hash of these definitions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from ferryml.config.base import StrictModel
from ferryml.features.store.config import (
    OfflineStoreConfig,
    OnlineStoreConfig,
    SqliteOnlineStoreConfig,
)

NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
NAME_RULE = "lowercase letters, digits and underscores, starting with a letter, at most 63"
Name = Annotated[str, Field(pattern=NAME_PATTERN)]


class EntityDefinition(StrictModel):
    """A business object features are keyed by."""

    key: str = Field(min_length=1, description="Its key column in the event table.")
    description: str = ""


class ProfileDefinition(StrictModel):
    """Attributes of an entity from a table of its own (customer birth date, home country).

    The table is read from ``path`` (Parquet, relative to paths.root); a row counts from its
    ``timestamp`` on (e.g. a customer's signup date): events before it do not see it.
    """

    entity: str
    path: Path
    timestamp: str = Field(description="Column saying since when the row is true.")
    columns: dict[Name, Literal["string", "float", "int", "date", "timestamp"]] = Field(
        min_length=1, description="Columns to read and their types; they feed derived features."
    )
    description: str = ""
    owner: str | None = None


class LabelRateDefinition(StrictModel):
    """An entity's smoothed label rate (e.g. merchant risk), as of daily snapshots.

    At snapshot time s the rate counts the entity's events in [s - window, s) and, among them,
    those whose label is positive *and known before s* (label time < s):
    ``(positives + prior_weight * overall_rate) / (events + prior_weight)``. An event sees the
    latest snapshot at or before its own time, so no label from its future reaches it.
    """

    entity: str
    window: str = Field(default="90d", description="Look-back of each snapshot, e.g. 90d.")
    prior_weight: float = Field(
        default=20.0, ge=0, description="Pseudo-events at the overall rate (smoothing)."
    )
    description: str = ""
    owner: str | None = None


class WindowDefinition(StrictModel):
    """Per-entity aggregates of ``value`` over time windows, excluding the current event."""

    entity: str
    value: str = Field(description="Column or derived feature aggregated (e.g. amount_eur).")
    time: str | None = Field(
        default=None, description="Timestamp column; default: the schema's event_time column."
    )
    aggregations: list[Literal["count", "sum", "mean", "max"]] = Field(min_length=1)
    windows: list[str] = Field(min_length=1, description="e.g. [1h, 24h, 7d, 30d]")
    description: str = ""
    owner: str | None = None

    @field_validator("aggregations", "windows")
    @classmethod
    def _unique(cls, values: list[str]) -> list[str]:
        if len(set(values)) != len(values):
            raise ValueError(f"values must be unique, got {values}")
        return values


TIME = frozenset({"timestamp", "date"})
NUMBER = frozenset({"float", "int"})
STRING = frozenset({"string"})
InputTypes = dict[str, frozenset[str]]


class _Derived(StrictModel):
    inputs: ClassVar[InputTypes]
    """The fields naming an input, in the transform's order, with the value types each accepts."""

    description: str = ""
    owner: str | None = None


class HourFeature(_Derived):
    """Hour of the day (0-23, UTC) of a timestamp."""

    kind: Literal["hour"]
    inputs: ClassVar[InputTypes] = {"input": TIME}
    input: str


class WeekdayFeature(_Derived):
    """Day of the week (Monday 0 … Sunday 6, UTC) of a timestamp."""

    kind: Literal["weekday"]
    inputs: ClassVar[InputTypes] = {"input": TIME}
    input: str


class WeekendFeature(_Derived):
    """1 on Saturday and Sunday (UTC), else 0."""

    kind: Literal["weekend"]
    inputs: ClassVar[InputTypes] = {"input": TIME}
    input: str


class AgeYearsFeature(_Derived):
    """Whole years from ``birth`` (a date) to ``at`` (a timestamp); NaN when unknown."""

    kind: Literal["age_years"]
    inputs: ClassVar[InputTypes] = {"birth": TIME, "at": TIME}
    birth: str
    at: str


class DaysBetweenFeature(_Derived):
    """Days (fractional) from ``start`` to ``end``, e.g. tenure since signup; NaN when unknown."""

    kind: Literal["days_between"]
    inputs: ClassVar[InputTypes] = {"start": TIME, "end": TIME}
    start: str
    end: str


class HolidayFeature(_Derived):
    """1 when the (UTC) date of ``date`` is a public holiday in ``country`` (ISO 3166 alpha-2)."""

    kind: Literal["holiday"]
    inputs: ClassVar[InputTypes] = {"date": TIME, "country": STRING}
    date: str
    country: str


class CountryDistanceFeature(_Derived):
    """Great-circle distance in km between two countries' capitals; NaN for unknown codes."""

    kind: Literal["country_distance"]
    inputs: ClassVar[InputTypes] = {"origin": STRING, "destination": STRING}
    origin: str
    destination: str


class ExchangeFeature(_Derived):
    """``amount`` converted with ``rates`` (units of the base currency per unit of ``currency``).

    An unknown currency gives NaN: a wrong conversion would be worse than a missing value.
    """

    kind: Literal["exchange"]
    inputs: ClassVar[InputTypes] = {"amount": NUMBER, "currency": STRING}
    amount: str
    currency: str
    rates: dict[str, float] = Field(min_length=1)

    @field_validator("rates")
    @classmethod
    def _positive(cls, rates: dict[str, float]) -> dict[str, float]:
        bad = {code: rate for code, rate in rates.items() if not rate > 0}
        if bad:
            raise ValueError(f"rates must be > 0, got {bad}")
        return rates


class OneHotFeature(_Derived):
    """One column per declared category (``<name>__<category>``) plus ``<name>__other``,
    which is 1 for any value not declared (unseen or missing)."""

    kind: Literal["one_hot"]
    inputs: ClassVar[InputTypes] = {"input": STRING}
    input: str
    categories: list[str] = Field(min_length=1)


class OrdinalFeature(_Derived):
    """Category → rank by training-window frequency (0 = most frequent); unseen/missing → -1."""

    kind: Literal["ordinal"]
    inputs: ClassVar[InputTypes] = {"input": STRING}
    input: str


class FrequencyFeature(_Derived):
    """Category → its share of the training window's rows; unseen/missing → 0.0."""

    kind: Literal["frequency"]
    inputs: ClassVar[InputTypes] = {"input": STRING}
    input: str


class ProductFeature(_Derived):
    """``left x right`` (e.g. amount x merchant risk); NaN if either is NaN."""

    kind: Literal["product"]
    inputs: ClassVar[InputTypes] = {"left": NUMBER, "right": NUMBER}
    left: str
    right: str


class RatioFeature(_Derived):
    """``numerator / denominator`` (e.g. amount over the customer's 30-day mean);
    NaN when the denominator is 0 or NaN."""

    kind: Literal["ratio"]
    inputs: ClassVar[InputTypes] = {"numerator": NUMBER, "denominator": NUMBER}
    numerator: str
    denominator: str


class PassthroughFeature(_Derived):
    """A numeric column used as it is (e.g. amount)."""

    kind: Literal["passthrough"]
    inputs: ClassVar[InputTypes] = {"input": NUMBER}
    input: str


DerivedDefinition = Annotated[
    HourFeature
    | WeekdayFeature
    | WeekendFeature
    | AgeYearsFeature
    | DaysBetweenFeature
    | HolidayFeature
    | CountryDistanceFeature
    | ExchangeFeature
    | OneHotFeature
    | OrdinalFeature
    | FrequencyFeature
    | ProductFeature
    | RatioFeature
    | PassthroughFeature,
    Field(discriminator="kind"),
]


class FeatureStoreSettings(StrictModel):
    """Where the feature store keeps things (paths relative to paths.root).

    The window state (per-entity recent events for velocity features) lives beside the online
    store: in Redis when the online store is Redis, else in the SQLite file ``window_state``.
    """

    repo: Path = Field(default=Path("features/repo"), description="The Feast repository.")
    offline: Path = Field(
        default=Path("features/offline"), description="Training sets and batch views (Parquet)."
    )
    online_store: OnlineStoreConfig = Field(default_factory=SqliteOnlineStoreConfig)
    offline_store: OfflineStoreConfig = Field(default_factory=OfflineStoreConfig)
    window_state: Path = Field(
        default=Path("features/window_state.db"),
        description="SQLite file of the window state when the online store is SQLite.",
    )
    fit_fraction: float = Field(
        default=0.7,
        gt=0,
        le=1,
        description="Encodings learn on this first share of the dataset's time span unless "
        "a build is given its training window.",
    )


class FeaturesConfig(StrictModel):
    """The ``features`` section of a project config."""

    owner: str = Field(default="", description="Default owner of every feature.")
    store: FeatureStoreSettings = Field(default_factory=FeatureStoreSettings)
    entities: dict[Name, EntityDefinition] = Field(default_factory=dict)
    profiles: dict[Name, ProfileDefinition] = Field(default_factory=dict)
    label_rates: dict[Name, LabelRateDefinition] = Field(default_factory=dict)
    windows: dict[Name, WindowDefinition] = Field(default_factory=dict)
    derived: dict[Name, DerivedDefinition] = Field(default_factory=dict)
    attributes: list[str] = Field(
        default_factory=list,
        description="Event or profile columns kept beside the features in every build, not fed "
        "to models: what gates and monitoring split results by (e.g. channel, home_country).",
    )

    @model_validator(mode="after")
    def _entities_exist(self) -> FeaturesConfig:
        problems = [
            f"{section}.{name}: unknown entity {item.entity!r} (declared: "
            f"{', '.join(sorted(self.entities)) or 'none'})"
            for section, items in (
                ("profiles", self.profiles),
                ("label_rates", self.label_rates),
                ("windows", self.windows),
            )
            for name, item in items.items()
            if item.entity not in self.entities
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def is_empty(self) -> bool:
        """True when the project declares no features (the stage is skipped)."""
        return not (self.derived or self.windows or self.label_rates)
