"""The fixed vocabularies of the generator: merchant categories, countries, segments.

Each category carries its share of legitimate traffic, the lognormal parameters of its amounts
and the channels its merchants use. Shares are normalized where they are used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Category:
    """One ISO 18245 merchant category code and how its traffic looks."""

    code: str
    name: str
    share: float
    amount_mu: float
    amount_sigma: float
    online: float
    """Share of the category's merchants that sell online; the rest are POS (ATM for 6011)."""
    travel: bool = False


CATEGORIES: tuple[Category, ...] = (
    Category("5411", "grocery stores", 0.20, 3.5, 0.7, 0.15),
    Category("5812", "restaurants", 0.13, 3.2, 0.6, 0.10),
    Category("5541", "fuel stations", 0.07, 3.9, 0.4, 0.0),
    Category("5999", "miscellaneous retail", 0.09, 3.4, 0.9, 0.50),
    Category("5311", "department stores", 0.06, 4.0, 0.8, 0.30),
    Category("5912", "pharmacies", 0.05, 3.1, 0.6, 0.10),
    Category("5942", "book stores", 0.03, 3.0, 0.5, 0.50),
    Category("5732", "electronics", 0.04, 5.0, 0.9, 0.60),
    Category("5944", "jewelry", 0.01, 5.6, 1.0, 0.20),
    Category("5815", "digital media", 0.05, 2.4, 0.5, 1.0),
    Category("4121", "taxis and ride sharing", 0.05, 3.0, 0.5, 0.80),
    Category("4511", "airlines", 0.015, 5.8, 0.6, 0.90, travel=True),
    Category("7011", "hotels", 0.015, 5.2, 0.7, 0.70, travel=True),
    Category("4722", "travel agencies", 0.01, 6.0, 0.7, 0.80, travel=True),
    Category("6011", "ATM cash", 0.08, 4.6, 0.6, 0.0),
    Category("4829", "money transfer", 0.03, 5.3, 1.0, 1.0),
)
CATEGORY_CODES: tuple[str, ...] = tuple(c.code for c in CATEGORIES)
ATM_CODE = "6011"
TRANSFER_CODE = "4829"
# The categories account takeovers and cloned cards cash out through.
TAKEOVER_CODES = ("5732", "5944", "4829")
CLONED_CARD_CODES = ("5732", "5944", "5311", "5999", "6011")
# Card testers probe with tiny online payments.
CARD_TESTING_CODES = ("5815", "5999", "5942")

CHANNELS: tuple[str, ...] = ("online", "pos", "atm")
ONLINE, POS, ATM = 0, 1, 2
TRANSACTION_TYPES: tuple[str, ...] = ("purchase", "withdrawal", "transfer")
PURCHASE, WITHDRAWAL, TRANSFER = 0, 1, 2

# Home countries of customers and merchants, skewed towards one market.
HOME_COUNTRIES: tuple[str, ...] = ("FR", "DE", "ES", "IT", "BE", "NL", "GB", "PT", "CH", "US")
HOME_WEIGHTS: tuple[float, ...] = (0.45, 0.12, 0.10, 0.08, 0.05, 0.05, 0.05, 0.03, 0.03, 0.04)
# Where fraudsters' IP addresses come from, beside the home countries.
FOREIGN_COUNTRIES: tuple[str, ...] = ("NG", "RU", "BR", "CN", "RO", "UA", "VN", "IN")
UNKNOWN_COUNTRY = "XX"
"""Not an ISO 3166 code: the bad-data scenario writes it, a validation stage must reject it."""
COUNTRIES: tuple[str, ...] = (*HOME_COUNTRIES, *FOREIGN_COUNTRIES, UNKNOWN_COUNTRY)
UNKNOWN_COUNTRY_INDEX = len(COUNTRIES) - 1
CURRENCIES: tuple[str, ...] = ("EUR", "GBP", "CHF", "USD")
_CURRENCY_OF = {"GB": "GBP", "CH": "CHF", "US": "USD"}
COUNTRY_CURRENCY: npt.NDArray[np.int64] = np.array(
    [CURRENCIES.index(_CURRENCY_OF.get(c, "EUR")) for c in COUNTRIES], dtype=np.int64
)

SEGMENTS: tuple[str, ...] = ("retail", "premium", "business", "student")
SEGMENT_WEIGHTS: tuple[float, ...] = (0.70, 0.12, 0.08, 0.10)
SEGMENT_ACTIVITY: tuple[float, ...] = (1.0, 1.6, 2.2, 0.7)

FRAUD_PATTERNS: tuple[str, ...] = (
    "card_testing",
    "account_takeover",
    "merchant_compromise",
    "new_fraud_pattern",
)
LEGIT, CARD_TESTING, ACCOUNT_TAKEOVER, MERCHANT_COMPROMISE, NEW_PATTERN = 0, 1, 2, 3, 4

# Relative traffic per weekday (Monday first) and per UTC hour: quiet nights, busy Saturdays.
WEEKDAY_FACTORS: npt.NDArray[np.float64] = np.array([0.93, 0.95, 0.98, 1.0, 1.12, 1.22, 0.80])
WEEKDAY_FACTORS /= WEEKDAY_FACTORS.mean()
HOUR_WEIGHTS: npt.NDArray[np.float64] = np.array(
    [
        *(0.6, 0.35, 0.25, 0.2, 0.25, 0.5, 1.2, 2.5, 3.8, 4.5, 5.0, 5.5),
        *(6.5, 6.0, 5.5, 5.3, 5.6, 6.2, 6.8, 6.5, 5.5, 4.2, 2.8, 1.5),
    ]
)
HOUR_WEIGHTS /= HOUR_WEIGHTS.sum()
NIGHT_HOURS = (0, 5)
"""Account takeovers happen between these UTC hours (start inclusive, end exclusive)."""


def category_shares() -> npt.NDArray[np.float64]:
    """Baseline share of legitimate traffic per category, summing to 1."""
    shares = np.array([c.share for c in CATEGORIES], dtype=np.float64)
    return np.asarray(shares / shares.sum(), dtype=np.float64)


def travel_mask() -> npt.NDArray[np.bool_]:
    """Which categories are travel (airlines, hotels, travel agencies)."""
    return np.array([c.travel for c in CATEGORIES], dtype=np.bool_)
