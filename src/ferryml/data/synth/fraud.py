"""Fraud patterns: rows added to a day's legitimate traffic, plus the concept-drift pattern.

* card testing — bursts of tiny online payments on one card, minutes apart, from bot devices;
* account takeover — a stolen account paying at night, from an attacker's device abroad,
  several times the usual amount, in electronics, jewelry and money transfers;
* merchant compromise — cards used at a breached POS merchant during its breach are cloned
  and defrauded ``lag_min_days``..``lag_max_days`` later (fraud that only history explains);
* new fraud pattern (scenario) — rows of a category that never had fraud turn fraudulent.

``base_fraud_rate`` is the expected share of fraud rows; the weights split it. A merchant
compromise day with too few leaked cards hands its shortfall to account takeover, so the
overall rate holds. The new-fraud-pattern category is kept free of every baseline pattern.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ferryml.data.synth import catalog
from ferryml.data.synth.config import SynthConfig
from ferryml.data.synth.entities import ATTACKER_BENEFICIARIES, Entities
from ferryml.data.synth.scenarios import DayPlan
from ferryml.data.synth.transactions import DAY_US, HOUR_US, Batch, amounts, rows, times

IntArray = npt.NDArray[np.int64]
_EMPTY = np.empty(0, dtype=np.int64)


class FraudState:
    """What fraud remembers from day to day: breached merchants and the cards they leaked."""

    def __init__(self, config: SynthConfig, entities: Entities, rng: np.random.Generator) -> None:
        self.config = config
        self.entities = entities
        safe = catalog.CATEGORY_CODES.index(config.scenarios.new_fraud_pattern.merchant_category)
        usable = (entities.merchant_category != safe) & (entities.merchant_onboarded < 0)
        online = entities.merchant_channel == catalog.ONLINE
        category = entities.merchant_category
        codes = _codes
        self.testing_pool = _pool(
            usable & online & codes(category, catalog.CARD_TESTING_CODES), usable
        )
        self.takeover_pool = _pool(
            usable & online & codes(category, catalog.TAKEOVER_CODES), usable
        )
        self.cloned_pool = _pool(
            usable & ~online & codes(category, catalog.CLONED_CARD_CODES), usable
        )

        mc = config.fraud_patterns.merchant_compromise
        pos = _pool(usable & (entities.merchant_channel == catalog.POS), usable)
        # Breaches that matter hit busy merchants: weight by expected traffic, squared.
        weight = _traffic(entities)[pos] ** 2
        weight /= weight.sum()
        count = min(mc.merchants, len(pos))
        self.breached: IntArray = rng.choice(pos, size=count, replace=False, p=weight)
        self.breach_start = rng.integers(0, max(config.days // 2, 1), size=count)
        self.breach_end = self.breach_start + mc.breach_days
        self.leaked = np.zeros(len(entities.card_customer), dtype=np.bool_)
        self.ready_card: IntArray = _EMPTY
        self.ready_day: IntArray = _EMPTY

    def day(self, rng: np.random.Generator, plan: DayPlan, legit: Batch) -> Batch:
        """The fraud rows of one day, given its legitimate rows (which it may leak)."""
        self._leak(rng, plan, legit)
        rate = self.config.base_fraud_rate
        expected = len(legit) * rate / (1.0 - rate) if rate < 1 else 0.0
        w_testing, w_takeover, w_compromise = self.config.fraud_patterns.weights()
        wanted = int(rng.poisson(expected * w_compromise))
        compromised = self._compromise(rng, plan, wanted)
        shortfall = wanted - len(compromised)
        return Batch.concat(
            [
                self._card_testing(rng, plan, expected * w_testing),
                self._takeover(rng, plan, int(rng.poisson(expected * w_takeover)) + shortfall),
                compromised,
            ]
        )

    def _day_start(self, plan: DayPlan) -> int:
        return (self.entities.period_start_day + plan.index) * DAY_US

    def _card_testing(self, rng: np.random.Generator, plan: DayPlan, expected: float) -> Batch:
        ct = self.config.fraud_patterns.card_testing
        mean_burst = (ct.burst_min + ct.burst_max) / 2
        bursts = int(rng.poisson(expected / mean_burst))
        size = rng.integers(ct.burst_min, ct.burst_max + 1, size=bursts)
        burst = np.repeat(np.arange(bursts), size)
        span = int(ct.burst_minutes * 60_000_000)
        start = self._day_start(plan) + rng.integers(0, DAY_US - span, size=bursts)
        offset = rng.integers(0, span, size=len(burst))  # rows are sorted by time later
        card = rng.integers(0, self.entities.base_cards, size=bursts)[burst]
        e = self.entities
        return rows(
            e,
            time_us=start[burst] + offset,
            card=card,
            merchant=self.testing_pool[rng.integers(0, len(self.testing_pool), size=bursts)][burst],
            device=self._attacker_device(rng, bursts)[burst],
            ip_country=rng.integers(0, catalog.UNKNOWN_COUNTRY_INDEX, size=bursts)[burst],
            amount=np.round(rng.uniform(0.5, ct.max_amount, size=len(burst)), 2),
            beneficiary=np.full(len(burst), -1),
            pattern=catalog.CARD_TESTING,
        )

    def _takeover(self, rng: np.random.Generator, plan: DayPlan, n: int) -> Batch:
        e = self.entities
        customer = rng.integers(0, e.base_customers, size=n)
        card = e.card_offset[customer] + (rng.random(n) * e.card_count[customer]).astype(np.int64)
        merchant = self.takeover_pool[rng.integers(0, len(self.takeover_pool), size=n)]
        night = rng.integers(*catalog.NIGHT_HOURS, size=n) * HOUR_US
        factor = self.config.fraud_patterns.account_takeover.amount_factor
        foreign = len(catalog.HOME_COUNTRIES) + rng.integers(
            0, len(catalog.FOREIGN_COUNTRIES), size=n
        )
        return rows(
            e,
            time_us=self._day_start(plan) + night + rng.integers(0, HOUR_US, size=n),
            card=card,
            merchant=merchant,
            device=self._attacker_device(rng, n),
            ip_country=foreign,
            amount=amounts(rng, e, e.merchant_category[merchant], factor),
            beneficiary=e.legit_beneficiaries + rng.integers(0, ATTACKER_BENEFICIARIES, size=n),
            pattern=catalog.ACCOUNT_TAKEOVER,
        )

    def _leak(self, rng: np.random.Generator, plan: DayPlan, legit: Batch) -> None:
        """Cards paying at a merchant under breach today leak, to be used after a lag."""
        open_breach = (self.breach_start <= plan.index) & (plan.index < self.breach_end)
        if not open_breach.any():
            return
        at_breached = np.isin(legit.merchant, self.breached[open_breach])
        card = np.unique(legit.card[at_breached])
        card = card[~self.leaked[card]]
        self.leaked[card] = True
        mc = self.config.fraud_patterns.merchant_compromise
        lag = rng.integers(mc.lag_min_days, mc.lag_max_days + 1, size=len(card))
        self.ready_card = np.concatenate((self.ready_card, card))
        self.ready_day = np.concatenate((self.ready_day, plan.index + lag))

    def _compromise(self, rng: np.random.Generator, plan: DayPlan, n: int) -> Batch:
        ready = np.flatnonzero(self.ready_day <= plan.index)
        take = rng.choice(ready, size=min(n, len(ready)), replace=False) if n else _EMPTY
        card = self.ready_card[take]
        keep = np.ones(len(self.ready_card), dtype=np.bool_)
        keep[take] = False
        self.ready_card, self.ready_day = self.ready_card[keep], self.ready_day[keep]
        e = self.entities
        k = len(card)
        merchant = self.cloned_pool[rng.integers(0, len(self.cloned_pool), size=k)]
        channel = e.merchant_channel[merchant]
        foreign = rng.integers(0, catalog.UNKNOWN_COUNTRY_INDEX, size=k)
        return rows(
            e,
            time_us=times(rng, self._day_start(plan), k),
            card=card,
            merchant=merchant,
            device=self._attacker_device(rng, k),
            ip_country=np.where(channel == catalog.ONLINE, foreign, -1),
            amount=amounts(rng, e, e.merchant_category[merchant], 2.0),
            beneficiary=np.full(k, -1),
            pattern=catalog.MERCHANT_COMPROMISE,
        )

    def _attacker_device(self, rng: np.random.Generator, n: int) -> IntArray:
        e = self.entities
        return e.attacker_device_start + rng.integers(0, e.attacker_devices, size=n)


def new_pattern(rng: np.random.Generator, plan: DayPlan, batch: Batch, category: int) -> Batch:
    """Concept drift: legitimate rows of ``category`` become fraud at ``plan.new_fraud_rate``."""
    if plan.new_fraud_rate <= 0:
        return batch
    hit = (batch.category == category) & (batch.pattern == catalog.LEGIT)
    hit &= rng.random(len(batch)) < plan.new_fraud_rate
    return batch.with_(pattern=np.where(hit, catalog.NEW_PATTERN, batch.pattern).astype(np.int8))


def _codes(category: IntArray, codes: tuple[str, ...]) -> npt.NDArray[np.bool_]:
    return np.isin(category, [catalog.CATEGORY_CODES.index(c) for c in codes])


def _pool(mask: npt.NDArray[np.bool_], fallback: npt.NDArray[np.bool_]) -> IntArray:
    """Merchants in ``mask``; those in ``fallback`` when none qualifies (few merchants)."""
    pool = np.flatnonzero(mask)
    return pool if len(pool) else np.flatnonzero(fallback)


def _traffic(entities: Entities) -> npt.NDArray[np.float64]:
    """Each baseline merchant's expected share of legitimate traffic."""
    category = entities.merchant_category
    popularity = entities.merchant_popularity
    shares = np.append(catalog.category_shares(), 0.0)
    per_category = np.bincount(category, weights=popularity, minlength=len(shares))
    return np.asarray(shares[category] * popularity / per_category[category], dtype=np.float64)
