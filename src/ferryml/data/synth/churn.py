"""The churn generator: subscribers, their weekly usage summaries and their cancellations.

The story, all of it synthetic (no real customer is behind any row):

* customers subscribe to a plan (basic, standard, premium) on a monthly or annual contract;
  some sign up during the period, through the web, a store, a partner or a referral;
* every active customer sends one usage summary a week, on its own weekday: sessions,
  minutes, support tickets, payment failures, and the plan's current price;
* each week a customer cancels with a probability (its hazard) that rises when its usage
  falls below its own habit (a quarter of customers slowly disengage), with every support
  ticket and payment failure, and with the drift scenarios (a price increase, a competitor's
  launch); an annual contract and a referral lower it;
* a summary is labelled ``churned = 1`` when its customer cancels within ``horizon_days``
  after it; the label becomes known (``label_time``) on the day of the cancellation, and the
  largest push on the hazard is kept as ``churn_reason`` (ground truth, never an input).

The period is simulated ``horizon_days`` further than it is written, so the last weeks' labels
are the ones the future would bring. Output: ``customers.parquet``,
``usage/date=YYYY-MM-DD/part-0.parquet`` and ``manifest.json``, as the fraud generator writes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ferryml.clock import Clock
from ferryml.data.synth._arrow import pa, pc
from ferryml.data.synth.churn_config import (
    ACQUISITION_CHANNELS,
    CHURN_REASONS,
    CONTRACTS,
    PLANS,
    ChurnSynthConfig,
)
from ferryml.data.synth.config import Scenario
from ferryml.data.synth.manifest import SynthManifest, run_fields
from ferryml.data.synth.writer import TIMESTAMP, write_parquet

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Progress = Callable[[int, int], None]

EVENTS = "usage"
GENERATOR_VERSION = "churn-1.0"
"""Bumped whenever the same config and seed would produce different data."""
DAY_US = 86_400_000_000
_EPOCH = date(1970, 1, 1)
_PRICES = np.array([9.99, 15.99, 24.99])
_PLAN_WEIGHTS = np.array([0.5, 0.35, 0.15])
_PLAN_USAGE = np.array([0.8, 1.0, 1.3])
_CHANNEL_WEIGHTS = np.array([0.5, 0.2, 0.15, 0.15])
_CHANNEL_HAZARD = np.array([1.0, 0.9, 1.3, 0.7])
_ANNUAL_SHARE, _ANNUAL_HAZARD = 0.3, 0.4
_DISENGAGING_SHARE = 0.25


@dataclass(frozen=True)
class _Customers:
    """Every customer's fixed traits, in index space (days relative to the period start)."""

    signup: IntArray
    birth: IntArray
    country: IntArray
    channel: IntArray
    plan: IntArray
    annual: npt.NDArray[np.bool_]
    engagement: FloatArray
    slope: FloatArray
    """Weekly log-change of usage once it starts to change: negative for those who disengage."""
    drift_start: IntArray
    """The day a customer's usage starts to change (some were already drifting on day 0)."""
    payment_risk: FloatArray
    weekday: IntArray
    hour: IntArray

    def __len__(self) -> int:
        return len(self.signup)


@dataclass
class _Events:
    """The simulated usage summaries (past the written period too) and the cancellations."""

    customer: list[IntArray]
    time_us: list[IntArray]
    columns: dict[str, list[npt.NDArray[Any]]]
    churn_us: IntArray
    """When each customer cancelled (``-1``: never, within the simulation)."""
    reason: IntArray


def generate_churn(
    config: ChurnSynthConfig, root: Path, progress: Progress | None, clock: Clock
) -> SynthManifest:
    """Write the dataset ``config`` describes into ``root`` (an empty directory)."""
    rngs = [
        np.random.Generator(np.random.PCG64(s))
        for s in np.random.SeedSequence(config.seed).spawn(3)
    ]
    customers = _draw_customers(config, rngs[0])
    simulated = _simulate(config, customers, rngs[1])
    table = _event_table(config, customers, simulated, rngs[2])
    start_us = (config.start - _EPOCH).days * DAY_US
    day = (
        pc.divide(pc.subtract(table["event_time"].cast(pa.int64()), start_us), DAY_US)
    ).to_numpy()
    files = [write_parquet(_customer_table(config, customers), root, "customers.parquet")]
    for index in range(config.days):
        partition = (
            f"{EVENTS}/date={(config.start + timedelta(days=index)).isoformat()}/part-0.parquet"
        )
        rows = table.filter(pa.array(day == index))
        if rows.num_rows:
            files.append(write_parquet(rows, root, partition))
        if progress is not None:
            progress(index + 1, config.days)
    churned = table["churned"].to_numpy()
    reasons = table["churn_reason"].drop_null().to_numpy(zero_copy_only=False)
    by_reason = {name: int(np.count_nonzero(reasons == name)) for name in CHURN_REASONS}
    return SynthManifest(
        **run_fields(config, clock),
        generator_version=GENERATOR_VERSION,
        rows={"customers": len(customers), EVENTS: table.num_rows},
        outcome="churn",
        positive_count=int(churned.sum()),
        positive_rate=float(churned.mean()) if len(churned) else 0.0,
        positives_by_pattern=by_reason,
        active_scenarios=[name for name, s in config.scenarios.items() if _active(config, s)],
        scenarios=_describe(config),
        bad_data={},
        string_amount_partitions=[],
        nulls_injected={},
        files=files,
    )


def _draw_customers(config: ChurnSynthConfig, rng: np.random.Generator) -> _Customers:
    base = config.customers
    daily = rng.poisson(config.signups_per_day, size=config.days)
    joined = np.repeat(np.arange(config.days, dtype=np.int64), daily)
    signup = np.concatenate((-rng.integers(7, 5 * 365, size=base), joined)).astype(np.int64)
    n = len(signup)
    country_weights = 1.0 / (np.arange(len(config.countries), dtype=np.float64) + 1.5)
    disengaging = rng.random(n) < _DISENGAGING_SHARE
    return _Customers(
        signup=signup,
        birth=signup - rng.integers(18 * 365, 75 * 365, size=n),
        country=_choice(rng, country_weights, n),
        channel=_choice(rng, _CHANNEL_WEIGHTS, n),
        plan=_choice(rng, _PLAN_WEIGHTS, n),
        annual=rng.random(n) < _ANNUAL_SHARE,
        engagement=rng.gamma(4.0, 0.5, size=n),
        slope=np.where(disengaging, -rng.uniform(0.03, 0.15, size=n), rng.normal(0, 0.005, n)),
        drift_start=np.maximum(signup, -180) + rng.integers(0, 360, size=n),
        payment_risk=rng.beta(0.6, 25.0, size=n),
        weekday=rng.integers(0, 7, size=n),
        hour=rng.integers(6, 24, size=n),
    )


def _simulate(config: ChurnSynthConfig, c: _Customers, rng: np.random.Generator) -> _Events:
    """Week by week: who is active, what their summary says, who cancels after it."""
    weeks = -(-(config.days + config.horizon_days) // 7) + 1
    weekly = config.weekly_churn()
    start_us = (config.start - _EPOCH).days * DAY_US
    churn_us = np.full(len(c), -1, dtype=np.int64)
    reason = np.full(len(c), -1, dtype=np.int64)
    events = _Events([], [], {name: [] for name in _COLUMNS}, churn_us, reason)
    price_up, competitor = config.scenarios.price_increase, config.scenarios.competitor_launch
    up_plans = np.isin(np.arange(len(PLANS)), [PLANS.index(p) for p in price_up.plans])
    rival = np.isin(np.arange(len(config.countries)), _country_index(config, competitor.countries))
    for week in range(weeks):
        day = 7 * week + c.weekday
        active = np.flatnonzero((c.signup <= day) & (churn_us < 0))
        d = day[active]
        plan = c.plan[active]
        hit_price = up_plans[plan] & _inside(config, price_up, d)
        hit_rival = rival[c.country[active]] & _inside(config, competitor, d)
        age_weeks = np.maximum(d - c.drift_start[active], 0) / 7.0
        habit = c.engagement[active] * _PLAN_USAGE[plan]
        usage = np.exp(c.slope[active] * age_weeks)
        usage *= np.where(hit_rival, 1.0 - competitor.strength * (1 - competitor.usage_factor), 1)
        sessions = rng.poisson(3.0 * habit * usage * rng.lognormal(0.0, 0.2, len(active)))
        tickets = rng.poisson(0.05 + 0.6 * np.clip(1.0 - usage, 0.0, 1.0))
        failures = rng.binomial(2, c.payment_risk[active])
        price = _PRICES[plan] * (
            1.0 + np.where(hit_price, price_up.increase * price_up.strength, 0)
        )
        push = np.stack(
            [
                3.0 * np.clip(1.0 - usage, 0.0, 1.0) + 0.5 * (sessions == 0),  # disengaged
                0.6 * tickets,  # support
                1.3 * failures,  # payment
                np.where(hit_price, np.log(_lerp(price_up.strength, price_up.churn_factor)), 0),
                np.where(hit_rival, np.log(_lerp(competitor.strength, competitor.churn_factor)), 0),
            ]
        )
        scale = _CHANNEL_HAZARD[c.channel[active]] * np.where(c.annual[active], _ANNUAL_HAZARD, 1)
        hazard = np.minimum(weekly * 0.5 * scale * np.exp(push.sum(axis=0)), 0.9)
        time_us = start_us + d * DAY_US + c.hour[active] * 3_600_000_000
        time_us += rng.integers(0, 3_600_000_000, size=len(active))
        leaves = rng.random(len(active)) < hazard
        gone = active[leaves]
        churn_us[gone] = time_us[leaves] + rng.integers(DAY_US // 2, 7 * DAY_US, size=len(gone))
        reason[gone] = np.argmax(push[:, leaves], axis=0)
        events.customer.append(active)
        events.time_us.append(time_us)
        for name, values in zip(_COLUMNS, (plan, price, sessions, tickets, failures), strict=True):
            events.columns[name].append(values)
    return events


_COLUMNS = ("plan", "monthly_price", "sessions", "support_tickets", "payment_failures")


def _event_table(
    config: ChurnSynthConfig, c: _Customers, sim: _Events, rng: np.random.Generator
) -> pa.Table:
    """The written events (inside the period), sorted by time, labelled from the future."""
    customer = np.concatenate(sim.customer)
    time_us = np.concatenate(sim.time_us)
    columns = {name: np.concatenate(parts) for name, parts in sim.columns.items()}
    end_us = ((config.end - _EPOCH).days + 1) * DAY_US
    keep = np.flatnonzero(time_us < end_us)
    keep = keep[np.argsort(time_us[keep], kind="stable")]
    customer, time_us = customer[keep], time_us[keep]
    churn = sim.churn_us[customer]
    positive = (churn >= 0) & (churn - time_us <= config.horizon_days * DAY_US)
    sessions = columns["sessions"][keep]
    minutes = np.round(sessions * rng.gamma(2.0, 12.5, size=len(keep)), 1)
    ids = _customer_ids(len(c))
    sequence = pc.cast(pa.array(np.arange(len(keep))), pa.string())
    return pa.table(
        {
            "event_id": pc.binary_join_element_wise("ev-", pc.utf8_lpad(sequence, 10, "0"), ""),
            "event_time": pa.array(time_us).cast(TIMESTAMP),
            "customer_id": ids.take(pa.array(customer)),
            "email": _emails(ids).take(pa.array(customer)),
            "country": _vocab(config.countries).take(pa.array(c.country[customer])),
            "plan": _vocab(PLANS).take(pa.array(columns["plan"][keep])),
            "contract": _vocab(CONTRACTS).take(pa.array(c.annual[customer].astype(np.int64))),
            "monthly_price": pa.array(np.round(columns["monthly_price"][keep], 2)),
            "currency": pa.array(np.full(len(keep), "EUR")),
            "sessions": pa.array(sessions.astype(np.int64)),
            "minutes": pa.array(minutes),
            "support_tickets": pa.array(columns["support_tickets"][keep].astype(np.int64)),
            "payment_failures": pa.array(columns["payment_failures"][keep].astype(np.int64)),
            "churned": pa.array(positive.astype(np.int8)),
            "label_time": pa.array(churn, mask=~positive).cast(TIMESTAMP),
            "churn_reason": _vocab(CHURN_REASONS).take(
                pa.array(sim.reason[customer], mask=~positive)
            ),
        }
    )


def _customer_table(config: ChurnSynthConfig, c: _Customers) -> pa.Table:
    base = (config.start - _EPOCH).days
    ids = _customer_ids(len(c))
    return pa.table(
        {
            "customer_id": ids,
            "email": _emails(ids),
            "birth_date": _dates(c.birth + base),
            "signup_date": _dates(c.signup + base),
            "country": _vocab(config.countries).take(pa.array(c.country)),
            "acquisition_channel": _vocab(ACQUISITION_CHANNELS).take(pa.array(c.channel)),
        }
    )


def _describe(config: ChurnSynthConfig) -> dict[str, dict[str, Any]]:
    """The active scenarios with their resolved windows and settings."""
    out: dict[str, dict[str, Any]] = {}
    for name, scenario in config.scenarios.items():
        if _active(config, scenario):
            start, end = scenario.window(config.start, config.days)
            settings = scenario.model_dump(mode="json", exclude={"enabled", "start", "end"})
            out[name] = {"start": start.isoformat(), "end": end.isoformat(), **settings}
    return out


def _active(config: ChurnSynthConfig, scenario: Scenario) -> bool:
    return scenario.in_effect(config.start, config.days)


def _inside(config: ChurnSynthConfig, scenario: Scenario, day: IntArray) -> npt.NDArray[np.bool_]:
    """Which days (relative to the period start) fall in the scenario's window; a window
    left open at the end (``end: null``) stays open after the written period too."""
    if not _active(config, scenario):
        return np.zeros(len(day), dtype=np.bool_)
    start, end = scenario.window(config.start, config.days)
    last = (end - config.start).days if scenario.end else np.iinfo(np.int64).max
    return (day >= (start - config.start).days) & (day <= last)


def _lerp(strength: float, factor: float) -> float:
    return 1.0 + strength * (factor - 1.0)


def _country_index(config: ChurnSynthConfig, countries: list[str]) -> list[int]:
    return [config.countries.index(country) for country in countries]


def _choice(rng: np.random.Generator, weights: FloatArray, size: int) -> IntArray:
    return rng.choice(len(weights), size=size, p=weights / weights.sum()).astype(np.int64)


def _customer_ids(n: int) -> pa.StringArray:
    padded = pc.utf8_lpad(pc.cast(pa.array(np.arange(n)), pa.string()), 8, "0")
    return pc.binary_join_element_wise("S", padded, "")


def _emails(ids: pa.StringArray) -> pa.StringArray:
    return pc.binary_join_element_wise(pc.utf8_lower(ids), "@example.com", "")


def _vocab(values: tuple[str, ...] | list[str]) -> pa.StringArray:
    return pa.array(list(values), type=pa.string())


def _dates(days_since_epoch: IntArray) -> pa.Array:
    return pa.array(days_since_epoch.astype(np.int32)).cast(pa.date32())
