"""A generated suite of creative inputs, derived from the schema and real events.

Each case is a real raw event with one thing pushed to an edge, chosen by what the schema
says about each input column (nothing here knows what the columns mean):

- ``missing``: a nullable column left empty;
- ``extreme``: a numeric column at 0 and at its observed maximum times a factor;
- ``unseen``: a text column holding a category never seen;
- ``new_entity``: an entity key never seen (no profile, no history);
- ``holiday``: the event moved to public holidays (the ``holidays`` package);
- ``dst``: the event moved around daylight-saving transitions of configured time zones.

    >>> from datetime import datetime, UTC
    >>> [t.isoformat() for t in dst_transitions("Europe/Paris", 2025)]
    ['2025-03-30T01:00:00+00:00', '2025-10-26T01:00:00+00:00']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from ferryml.config.schema import SchemaConfig
from ferryml.errors import InvalidInputError
from ferryml.evaluation.config import EdgeCaseGate, Expectation

UNSEEN = "__ferryml_unseen__"
NEW_ENTITY = "__ferryml_new__"
HOLIDAYS_PER_COUNTRY = 3
"""Holidays per country: the ones closest to the first base event."""


@dataclass(frozen=True)
class EdgeCase:
    """One generated input: which base event it mutates, how, and the event itself."""

    name: str
    kind: str
    base: int
    event: dict[str, Any]


def generate_cases(
    bases: Sequence[Mapping[str, Any]],
    schema: SchemaConfig,
    inputs: Sequence[str],
    observed_max: Mapping[str, float],
    config: EdgeCaseGate,
) -> list[EdgeCase]:
    """The suite for ``bases`` (raw events, fields by schema name), mutating the ``inputs``
    the features read."""
    if not bases:
        raise InvalidInputError("edge cases need at least one real event to start from")
    time_column = schema.columns_with_role("event_time")[0]
    skip = {time_column, *schema.columns_with_role("id"), *schema.columns_with_role("label")}
    skip.update(schema.columns_with_role("label_time"))
    entities = set(schema.columns_with_role("entity"))
    cases = []
    for index, base in enumerate(bases):
        for column in inputs:
            if column in skip or column not in schema.columns:
                continue
            spec = schema.columns[column]
            if spec.nullable:
                cases.append(_case(f"{column} missing", "missing", index, base, {column: None}))
            if column in entities:
                key = f"{NEW_ENTITY}{index}"
                cases.append(_case(f"new {column}", "new_entity", index, base, {column: key}))
            elif spec.type in ("float", "int"):
                high = observed_max.get(column, 1.0) * config.extreme_factor
                value: float | int = int(high) if spec.type == "int" else high
                cases.append(_case(f"{column} = 0", "extreme", index, base, {column: 0}))
                cases.append(
                    _case(f"{column} = {value:g}", "extreme", index, base, {column: value})
                )
            elif spec.type == "string":
                cases.append(_case(f"unseen {column}", "unseen", index, base, {column: UNSEEN}))
    first = bases[0]
    when = _as_datetime(first[time_column])
    for moment, label in [*_holiday_times(when, config), *_dst_times(when, config)]:
        kind = "holiday" if label.startswith("holiday") else "dst"
        cases.append(_case(label, kind, 0, first, {time_column: moment}))
    return cases


def expectation_ladder(
    base: Mapping[str, Any], expectation: Expectation, values: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], list[dict[str, Any]]]:
    """The base event at ``expectation.steps`` values of its field, from the 1st to the 99th
    percentile of ``values`` (the field as observed), low to high."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise InvalidInputError(
            f"gates.edge_cases.expectations: no observed value of {expectation.field!r}",
            hint="name a numeric raw field the features read",
        )
    ladder = np.unique(np.percentile(finite, np.linspace(1, 99, expectation.steps)))
    return ladder, [{**base, expectation.field: float(v)} for v in ladder]


def dst_transitions(zone: str, year: int) -> list[datetime]:
    """The UTC instants (to the hour) at which ``zone``'s offset changes during ``year``."""
    tz = ZoneInfo(zone)
    start = datetime(year, 1, 1, tzinfo=UTC)
    out = []
    previous = start.astimezone(tz).utcoffset()
    for hour in range(1, 366 * 24):
        moment = start + timedelta(hours=hour)
        if moment.year != year:
            break
        offset = moment.astimezone(tz).utcoffset()
        if offset != previous:
            out.append(moment)
        previous = offset
    return out


def _holiday_times(when: datetime, config: EdgeCaseGate) -> list[tuple[datetime, str]]:
    import holidays

    out = []
    for country in config.holiday_countries:
        try:
            days = holidays.country_holidays(
                country, years=[when.year - 1, when.year, when.year + 1]
            )
        except NotImplementedError as exc:
            raise InvalidInputError(
                f"gates.edge_cases.holiday_countries: the holidays package does not know "
                f"{country!r}",
                hint="use ISO 3166 alpha-2 codes such as US, FR, DE",
            ) from exc
        closest = sorted(days, key=lambda d: abs((d - when.date()).days))[:HOLIDAYS_PER_COUNTRY]
        for day in sorted(closest):
            out.append((_noon(day), f"holiday {country} {day.isoformat()} ({days[day]})"))
    return out


def _dst_times(when: datetime, config: EdgeCaseGate) -> list[tuple[datetime, str]]:
    out = []
    for zone in config.timezones:
        try:
            transitions = dst_transitions(zone, when.year)
        except Exception as exc:  # zoneinfo raises several types for an unknown key
            raise InvalidInputError(
                f"gates.edge_cases.timezones: unknown time zone {zone!r}",
                hint="use IANA names such as Europe/Paris or America/New_York",
            ) from exc
        for moment in transitions:
            for shift, label in ((-1, "1 s before"), (0, "at"), (1800, "30 min after")):
                stamp = moment + timedelta(seconds=shift)
                out.append((stamp, f"DST {zone} {label} {moment.isoformat()}"))
    return out


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(float(value) / 1e6, UTC)
    return datetime.fromisoformat(str(value)).astimezone(UTC)


def _case(
    name: str, kind: str, base: int, event: Mapping[str, Any], change: Mapping[str, Any]
) -> EdgeCase:
    return EdgeCase(name, kind, base, {**event, **change})


__all__ = ["EdgeCase", "dst_transitions", "expectation_ladder", "generate_cases"]
