"""Customers, cards, merchants, devices and beneficiaries: drawn once, before any traffic.

Entities live as numpy index arrays (for vectorized sampling) plus pyarrow string vocabularies
(``take`` turns a day's index columns into strings without a Python loop).

    >>> import numpy as np
    >>> luhn_valid(np.array([4539578763621486, 4539578763621487])).tolist()
    [True, False]
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from ferryml.data.synth import catalog
from ferryml.data.synth._arrow import pa, pc
from ferryml.data.synth.config import SynthConfig

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

_EPOCH = date(1970, 1, 1)
_BINS = np.array([453201, 491761, 401288, 516732, 542418, 552742], dtype=np.int64)
_FIRST = (
    "alex",
    "sam",
    "lea",
    "hugo",
    "emma",
    "noah",
    "lina",
    "tom",
    "jade",
    "luca",
    "mia",
    "paul",
)
_LAST = ("martin", "muller", "garcia", "rossi", "dubois", "smith", "silva", "janssen", "weber")
_MAIL_DOMAINS = ("example.com", "example.org", "example.net")
ATTACKER_BENEFICIARIES = 30
_PRIME = 1_000_000_007


@dataclass(frozen=True)
class Entities:
    """Every entity of one generated dataset, in index space and as vocabularies."""

    period_start_day: int
    """The period's first day as days since 1970-01-01."""
    base_customers: int
    """Customers ``[0, base_customers)`` exist before the period; the rest are the new wave."""
    customer_home: IntArray
    customer_signup: IntArray
    """Signup day relative to the period start (negative: before it)."""
    base_activity_cdf: FloatArray
    card_offset: IntArray
    card_count: IntArray
    card_customer: IntArray
    base_cards: int
    device_offset: IntArray
    device_count: IntArray
    attacker_device_start: int
    attacker_devices: int
    legit_beneficiaries: int
    merchant_category: IntArray
    merchant_channel: IntArray
    merchant_country: IntArray
    merchant_popularity: FloatArray
    merchant_onboarded: IntArray
    """Onboarding day relative to the period start."""
    customer_ids: pa.StringArray
    card_ids: pa.StringArray
    card_numbers: pa.StringArray
    merchant_ids: pa.StringArray
    device_ids: pa.StringArray
    beneficiary_ids: pa.StringArray
    category_codes: tuple[str, ...]
    """Baseline categories, then the new-category scenario's code (last index)."""
    amount_mu: FloatArray
    """Lognormal ``mu`` of amounts per category (index as ``category_codes``)."""
    amount_sigma: FloatArray
    birth_days: IntArray
    segments: IntArray
    card_issued: IntArray
    email_parts: tuple[IntArray, IntArray, IntArray]

    def tables(self) -> dict[str, pa.Table]:
        """The entity tables as written: customers, cards, merchants."""
        base = self.period_start_day
        customers = pa.table(
            {
                "customer_id": self.customer_ids,
                "email": self._emails(),
                "birth_date": _dates(self.birth_days + base),
                "signup_date": _dates(self.customer_signup + base),
                "home_country": _vocab(catalog.COUNTRIES).take(pa.array(self.customer_home)),
                "segment": _vocab(catalog.SEGMENTS).take(pa.array(self.segments)),
            }
        )
        cards = pa.table(
            {
                "card_id": self.card_ids,
                "customer_id": self.customer_ids.take(pa.array(self.card_customer)),
                "card_number": self.card_numbers,
                "issued_date": _dates(self.card_issued + base),
            }
        )
        merchants = pa.table(
            {
                "merchant_id": self.merchant_ids,
                "merchant_category": _vocab(self.category_codes).take(
                    pa.array(self.merchant_category)
                ),
                "merchant_country": _vocab(catalog.COUNTRIES).take(pa.array(self.merchant_country)),
                "channel": _vocab(catalog.CHANNELS).take(pa.array(self.merchant_channel)),
                "onboarded_date": _dates(self.merchant_onboarded + base),
            }
        )
        return {"customers": customers, "cards": cards, "merchants": merchants}

    def _emails(self) -> pa.StringArray:
        first, last, domain = self.email_parts
        number = pc.cast(pa.array(np.arange(len(first))), pa.string())
        return pc.binary_join_element_wise(
            _vocab(_FIRST).take(pa.array(first)),
            ".",
            _vocab(_LAST).take(pa.array(last)),
            number,
            "@",
            _vocab(_MAIL_DOMAINS).take(pa.array(domain)),
            "",
        )


def build_entities(config: SynthConfig, rng: np.random.Generator) -> Entities:
    """Draw every entity of the dataset from ``rng``."""
    scenarios = config.scenarios
    wave = scenarios.new_customers
    wave_size = wave.customers if wave.in_effect(config.start, config.days) else 0
    base = config.customers
    total = base + wave_size

    home = _choice(rng, len(catalog.HOME_COUNTRIES), catalog.HOME_WEIGHTS, total)
    segments = _choice(rng, len(catalog.SEGMENTS), catalog.SEGMENT_WEIGHTS, total)
    signup = -rng.integers(1, 8 * 365, size=total)
    if wave_size:
        first, last = (_offset(config, d) for d in wave.window(config.start, config.days))
        wave_days = np.sort(rng.integers(first, last + 1, size=wave_size))
        wave_days[0] = first
        signup[base:] = wave_days
    birth = signup - rng.integers(18 * 365, 80 * 365, size=total)
    activity = (
        rng.gamma(0.8, 1.0, size=base) * np.asarray(catalog.SEGMENT_ACTIVITY)[segments[:base]]
    )
    cdf = np.cumsum(activity)
    cdf /= cdf[-1]

    card_count = 1 + rng.binomial(2, 0.25, size=total)
    card_offset = np.concatenate(([0], np.cumsum(card_count)[:-1])).astype(np.int64)
    card_customer = np.repeat(np.arange(total, dtype=np.int64), card_count)
    n_cards = int(card_count.sum())
    card_signup = signup[card_customer]
    issued = card_signup + (rng.random(n_cards) * np.maximum(-card_signup, 0)).astype(np.int64)

    device_count = 1 + rng.binomial(1, 0.35, size=total)
    device_offset = np.concatenate(([0], np.cumsum(device_count)[:-1])).astype(np.int64)
    n_devices = int(device_count.sum())
    attackers = config.fraud_patterns.account_takeover.attacker_devices

    merchants = _merchants(config, rng)
    category_codes = (*catalog.CATEGORY_CODES, scenarios.new_merchant_category.merchant_category)
    legit_beneficiaries = 2 * total

    return Entities(
        period_start_day=(config.start - _EPOCH).days,
        base_customers=base,
        customer_home=home,
        customer_signup=signup,
        base_activity_cdf=cdf,
        card_offset=card_offset,
        card_count=card_count.astype(np.int64),
        card_customer=card_customer,
        base_cards=int(card_count[:base].sum()),
        device_offset=device_offset,
        device_count=device_count.astype(np.int64),
        attacker_device_start=n_devices,
        attacker_devices=attackers,
        legit_beneficiaries=legit_beneficiaries,
        merchant_category=merchants[0],
        merchant_channel=merchants[1],
        merchant_country=merchants[2],
        merchant_popularity=merchants[3].astype(np.float64),
        merchant_onboarded=merchants[4],
        customer_ids=_ids("C", np.arange(total), 8),
        card_ids=_ids("K", np.arange(n_cards), 9),
        card_numbers=_card_numbers(rng, n_cards),
        merchant_ids=_ids("M", np.arange(len(merchants[0])), 6),
        device_ids=_ids(
            "dev-", _scramble(np.arange(n_devices + attackers), 2654435761, _PRIME), 10
        ),
        beneficiary_ids=_ids(
            "BE",
            _scramble(np.arange(legit_beneficiaries + ATTACKER_BENEFICIARIES), 40503, _PRIME),
            10,
        ),
        category_codes=category_codes,
        amount_mu=np.array(
            [c.amount_mu for c in catalog.CATEGORIES]
            + [np.log(scenarios.new_merchant_category.amount_median)]
        ),
        amount_sigma=np.array([c.amount_sigma for c in catalog.CATEGORIES] + [0.9]),
        birth_days=birth,
        segments=segments,
        card_issued=issued,
        email_parts=(
            rng.integers(0, len(_FIRST), size=total),
            rng.integers(0, len(_LAST), size=total),
            rng.integers(0, len(_MAIL_DOMAINS), size=total),
        ),
    )


def _merchants(
    config: SynthConfig, rng: np.random.Generator
) -> tuple[IntArray, IntArray, IntArray, FloatArray, IntArray]:
    """Category, channel, country, popularity and onboarding day of every merchant."""
    n_categories = len(catalog.CATEGORIES)
    # One merchant per category first, so that every category can be sampled.
    extra = _choice(rng, n_categories, catalog.category_shares(), config.merchants - n_categories)
    category = np.concatenate((np.arange(n_categories), extra))
    online_share = np.array([c.online for c in catalog.CATEGORIES])[category]
    channel = np.where(rng.random(len(category)) < online_share, catalog.ONLINE, catalog.POS)
    channel[category == catalog.CATEGORY_CODES.index(catalog.ATM_CODE)] = catalog.ATM
    onboarded = -rng.integers(1, 10 * 365, size=len(category))

    new = config.scenarios.new_merchant_category
    if new.in_effect(config.start, config.days):
        first = _offset(config, new.window(config.start, config.days)[0])
        category = np.concatenate((category, np.full(new.merchants, n_categories)))
        channel = np.concatenate((channel, np.full(new.merchants, catalog.ONLINE)))
        onboarded = np.concatenate((onboarded, np.full(new.merchants, first)))
    n = len(category)
    country = _choice(rng, len(catalog.HOME_COUNTRIES), catalog.HOME_WEIGHTS, n)
    popularity = rng.lognormal(0.0, 1.0, size=n)
    return (
        category.astype(np.int64),
        channel.astype(np.int64),
        country,
        popularity,
        onboarded.astype(np.int64),
    )


def luhn_valid(numbers: IntArray) -> npt.NDArray[np.bool_]:
    """Whether each card number passes the Luhn checksum."""
    return np.asarray(luhn_check_digit(numbers // 10) == numbers % 10)


def luhn_check_digit(payload: IntArray) -> IntArray:
    """The Luhn check digit to append to each number in ``payload``."""
    total = np.zeros(len(payload), dtype=np.int64)
    rest = payload.astype(np.int64).copy()
    double = True  # the payload's last digit sits next to the check digit: it is doubled
    while rest.any():
        digit = rest % 10
        if double:
            digit = digit * 2
            digit = np.where(digit > 9, digit - 9, digit)
        total += digit
        rest //= 10
        double = not double
    return np.asarray((10 - total % 10) % 10, dtype=np.int64)


def _card_numbers(rng: np.random.Generator, n: int) -> pa.StringArray:
    """16-digit PANs: an issuer BIN, a unique 9-digit account number, a Luhn check digit."""
    bins = _BINS[rng.integers(0, len(_BINS), size=n)]
    account = _scramble(np.arange(n), 387420489, 1_000_000_000)
    payload = bins * 1_000_000_000 + account
    numbers = payload * 10 + luhn_check_digit(payload)
    return pc.cast(pa.array(numbers), pa.string())


def _scramble(index: IntArray, multiplier: int, modulus: int) -> IntArray:
    """A bijection of ``[0, modulus)`` (``multiplier`` coprime to it): unique, unordered ids."""
    return np.asarray((index.astype(np.int64) * multiplier + 7919) % modulus, dtype=np.int64)


def _ids(prefix: str, numbers: IntArray, width: int) -> pa.StringArray:
    padded = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, padded, "")


def _vocab(values: tuple[str, ...]) -> pa.StringArray:
    return pa.array(values, type=pa.string())


def _dates(days_since_epoch: IntArray) -> pa.Array:
    return pa.array(days_since_epoch.astype(np.int32)).cast(pa.date32())


def _choice(
    rng: np.random.Generator, n: int, weights: tuple[float, ...] | FloatArray, size: int
) -> IntArray:
    p = np.asarray(weights, dtype=np.float64)
    return rng.choice(n, size=size, p=p / p.sum()).astype(np.int64)


def _offset(config: SynthConfig, day: date) -> int:
    return (day - config.start).days


def vocab(values: tuple[str, ...]) -> pa.StringArray:
    """A string vocabulary to ``take`` from."""
    return _vocab(values)
