"""Each derived transform: its row form (serving) equals its batch form (training), and its
semantics hold on hand-checked values."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferryml.features import definitions as d
from ferryml.features.transforms import make_transform
from ferryml.features.transforms.base import Transform
from ferryml.features.values import to_micros

STRINGS = st.one_of(st.none(), st.sampled_from(["FR", "DE", "US", "BR", "XX", "online", "pos"]))
TIMES = st.one_of(
    st.just(math.nan),
    st.integers(0, 3_000_000_000).map(lambda s: float(s * 1_000_000 + 123)),
)
NUMBERS = st.one_of(st.just(math.nan), st.just(0.0), st.floats(-1e6, 1e6))


def _transform(kind: str, **inputs: Any) -> Transform:
    adapter: Any = d.FeaturesConfig.model_validate({"derived": {"f": {"kind": kind, **inputs}}})
    return make_transform("f", adapter.derived["f"])


CASES: list[tuple[str, dict[str, Any], tuple[st.SearchStrategy[Any], ...]]] = [
    ("hour", {"input": "t"}, (TIMES,)),
    ("weekday", {"input": "t"}, (TIMES,)),
    ("weekend", {"input": "t"}, (TIMES,)),
    ("age_years", {"birth": "b", "at": "t"}, (TIMES, TIMES)),
    ("days_between", {"start": "b", "end": "t"}, (TIMES, TIMES)),
    ("holiday", {"date": "t", "country": "c"}, (TIMES, STRINGS)),
    ("country_distance", {"origin": "a", "destination": "b"}, (STRINGS, STRINGS)),
    (
        "exchange",
        {"amount": "a", "currency": "c", "rates": {"FR": 2.0, "US": 0.5}},
        (NUMBERS, STRINGS),
    ),
    ("one_hot", {"input": "c", "categories": ["online", "pos"]}, (STRINGS,)),
    ("product", {"left": "a", "right": "b"}, (NUMBERS, NUMBERS)),
    ("ratio", {"numerator": "a", "denominator": "b"}, (NUMBERS, NUMBERS)),
    ("passthrough", {"input": "a"}, (NUMBERS,)),
]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def _column(values: list[Any]) -> np.ndarray[Any, Any]:
    if all(v is None or isinstance(v, str) for v in values):
        return np.array(values, dtype=object)
    return np.array(values, dtype=np.float64)


@pytest.mark.parametrize(("kind", "inputs", "strategies"), CASES, ids=[c[0] for c in CASES])
def test_row_form_equals_batch_form(
    kind: str, inputs: dict[str, Any], strategies: tuple[st.SearchStrategy[Any], ...]
) -> None:
    transform = _transform(kind, **inputs)

    @settings(max_examples=25, deadline=None)
    @given(st.lists(st.tuples(*strategies), min_size=1, max_size=30))
    def check(rows: list[tuple[Any, ...]]) -> None:
        columns = [_column([row[i] for row in rows]) for i in range(len(strategies))]
        batch = transform.batch(*columns)
        for index, row in enumerate(rows):
            expected = transform.row(*row)
            got = tuple(column[index].item() for column in batch)
            assert all(map(_same, expected, got)), (row, expected, got)

    check()


def test_fitted_encodings_row_equals_batch_and_handle_unseen() -> None:
    train = np.array(["a", "b", "b", None, "c", "b"], dtype=object)
    serve = np.array(["b", "a", "zzz", None, "c"], dtype=object)
    ordinal, frequency = _transform("ordinal", input="x"), _transform("frequency", input="x")
    for transform in (ordinal, frequency):
        transform.fit(train)
        (batch,) = transform.batch(serve)
        assert [transform.row(v)[0] for v in serve] == batch.tolist()
    assert ordinal.batch(serve)[0].tolist() == [0, 1, -1, -1, 2]
    assert frequency.batch(serve)[0].tolist() == [3 / 6, 1 / 6, 0.0, 0.0, 1 / 6]
    restored = _transform("ordinal", input="x")
    restored.load_state(ordinal.state())
    assert restored.row("b") == (0,)


def test_fitted_encoding_used_before_fit_is_a_clear_error() -> None:
    with pytest.raises(Exception, match="before it was fitted"):
        _transform("frequency", input="x").row("a")


def test_hand_checked_values() -> None:
    christmas = to_micros(datetime(2025, 12, 25, 23, 30, tzinfo=UTC))  # a Thursday
    assert _transform("hour", input="t").row(christmas) == (23.0,)
    assert _transform("weekday", input="t").row(christmas) == (3.0,)
    assert _transform("weekend", input="t").row(christmas + 2 * 86_400e6) == (1.0,)
    holiday = _transform("holiday", date="t", country="c")
    assert holiday.row(christmas, "FR") == (1,)
    assert holiday.row(christmas + 86_400e6, "FR") == (0,)  # 26 Dec: not a holiday in France
    assert holiday.row(christmas + 86_400e6, "DE") == (1,)  # ... but in Germany
    assert holiday.row(christmas, "XX") == (0,)
    age = _transform("age_years", birth="b", at="t")
    assert age.row(to_micros(date(1990, 6, 1)), to_micros(date(2025, 5, 30))) == (34,)
    assert age.row(to_micros(date(1990, 6, 1)), to_micros(date(2025, 6, 2))) == (35,)
    (paris_berlin,) = _transform("country_distance", origin="a", destination="b").row("FR", "DE")
    assert paris_berlin == pytest.approx(878, abs=5)
    exchange = _transform("exchange", amount="a", currency="c", rates={"GBP": 1.17})
    assert exchange.row(10.0, "GBP") == pytest.approx((11.7,))
    assert math.isnan(exchange.row(10.0, "JPY")[0])
    one_hot = _transform("one_hot", input="c", categories=["online", "pos"])
    assert one_hot.row("pos") == (0, 1, 0)
    assert one_hot.row("atm") == (0, 0, 1)
    assert one_hot.row(None) == (0, 0, 1)
    assert math.isnan(_transform("ratio", numerator="a", denominator="b").row(1.0, 0.0)[0])


def test_to_micros_treats_naive_as_utc_and_dates_as_midnight() -> None:
    assert to_micros(datetime(1970, 1, 1, 0, 0, 1)) == 1_000_000.0
    assert to_micros(date(1970, 1, 2)) == 86_400_000_000.0


def test_the_holiday_warm_up_builds_every_known_calendar_before_the_first_event() -> None:
    from ferryml.features.transforms.countries import CAPITALS
    from ferryml.features.transforms.enrichment import _holiday_calendar, is_public_holiday

    _holiday_calendar.cache_clear()
    is_public_holiday.cache_clear()  # earlier lookups would answer without a calendar
    holiday = _transform("holiday", date="t", country="c")
    holiday.warm_up()
    assert _holiday_calendar.cache_info().currsize == len(CAPITALS)
    this_year = date.today().year
    calendars = [_holiday_calendar(country) for country in CAPITALS]
    assert all(this_year in c.years for c in calendars if c is not None)
    assert sum(c is not None for c in calendars) > len(CAPITALS) // 2
