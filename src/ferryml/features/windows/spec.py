"""What a time-window aggregation declares: a column prefix, aggregations and windows.

Nothing here computes; :mod:`.batch` and :mod:`.online` do, from the same spec::

    >>> spec = WindowAggregation.of("customer_amount", ["1h", "30d"], ["mean", "count"])
    >>> spec.output_names()
    ('customer_amount_count_1h', 'customer_amount_mean_1h', 'customer_amount_count_30d', \
'customer_amount_mean_30d')
    >>> spec.horizon_us == 30 * 86_400_000_000
    True
    >>> parse_window("90s")
    ('90s', 90000000)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Literal, get_args

from ferryml.errors import InvalidInputError

Aggregation = Literal["count", "sum", "mean", "max"]

AGGREGATIONS: tuple[Aggregation, ...] = get_args(Aggregation)
"""Every aggregation, in the fixed order a spec keeps and its output columns follow."""

DEFAULT_WINDOWS = ("1h", "24h", "7d", "30d")

MAX_WINDOW_DAYS = 36_500
MAX_WINDOW_US = MAX_WINDOW_DAYS * 86_400_000_000
"""A hundred years: longer windows are typos, and bounding them keeps ``t - window`` in int64."""

_UNIT_MICROS = {"s": 1_000_000, "m": 60_000_000, "h": 3_600_000_000, "d": 86_400_000_000}
_WINDOW_TEXT = re.compile(r"([1-9][0-9]{0,8})([smhd])")
_PREFIX = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_WINDOW_RULE = (
    "a positive whole number without leading zeros followed by one unit of "
    "s (seconds), m (minutes), h (hours) or d (days), e.g. '90s', '15m', '24h', '7d'"
)


@dataclass(frozen=True)
class Window:
    """One window: its text as written (the column label) and its length in microseconds."""

    label: str
    micros: int


def parse_window(text: object) -> tuple[str, int]:
    """``(label, micros)`` of a window written like ``"15m"``; :class:`InvalidInputError` if not.

    The label is the text itself, so ``"60m"`` and ``"1h"`` name different columns.
    """
    if isinstance(text, str) and (match := _WINDOW_TEXT.fullmatch(text)) is not None:
        micros = int(match.group(1)) * _UNIT_MICROS[match.group(2)]
        if micros <= MAX_WINDOW_US:
            return text, micros
    raise InvalidInputError(
        f"invalid window {text!r}: a window must be {_WINDOW_RULE}, at most {MAX_WINDOW_DAYS}d",
        hint="write windows like '1h', '24h', '7d', '30d' (units s, m, h, d only)",
    )


@dataclass(frozen=True)
class WindowAggregation:
    """Aggregations of one value per entity over trailing time windows.

    ``aggregations`` follow the order of :data:`AGGREGATIONS` and ``windows`` go from the
    shortest to the longest; :meth:`of` builds a spec from text in any order. Output columns are
    ``f"{prefix}_{aggregation}_{window label}"``, window by window.
    """

    prefix: str
    windows: tuple[Window, ...]
    aggregations: tuple[Aggregation, ...] = AGGREGATIONS

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not isinstance(self.prefix, str) or _PREFIX.fullmatch(self.prefix) is None:
            problems.append(
                f"prefix {self.prefix!r} must be 1-128 letters, digits or '_', "
                "not starting with a digit"
            )
        unknown = [a for a in self.aggregations if a not in AGGREGATIONS]
        if unknown:
            problems.append(f"unknown aggregations {unknown!r}; known: {list(AGGREGATIONS)}")
        elif not self.aggregations or tuple(
            a for a in AGGREGATIONS if a in self.aggregations
        ) != tuple(self.aggregations):
            problems.append(
                f"aggregations {list(self.aggregations)!r} must be a non-empty subset of "
                f"{list(AGGREGATIONS)} in that order, each once"
            )
        if not self.windows:
            problems.append("at least one window is needed")
        for window in self.windows:
            try:
                matches = parse_window(window.label) == (window.label, window.micros)
            except InvalidInputError as exc:
                problems.append(exc.message)
            else:
                if not matches:
                    problems.append(f"window {window!r} does not match its label")
        micros = [w.micros for w in self.windows]
        if micros != sorted(set(micros)):
            problems.append(
                f"windows {[w.label for w in self.windows]!r} must go from shortest to longest, "
                "with no length twice"
            )
        if problems:
            raise InvalidInputError(
                f"invalid window aggregation {self.prefix!r}: " + "; ".join(problems),
                hint="build specs with WindowAggregation.of(prefix, windows, aggregations)",
            )

    @classmethod
    def of(
        cls,
        prefix: str,
        windows: Iterable[str] = DEFAULT_WINDOWS,
        aggregations: Iterable[str] = AGGREGATIONS,
    ) -> WindowAggregation:
        """A spec from window texts and aggregation names in any order.

        Duplicates are errors (two names for one window would be two equal columns).
        """
        parsed = [Window(*parse_window(text)) for text in windows]
        wanted = list(aggregations)
        problems: list[str] = []
        lengths = [w.micros for w in parsed]
        twice = sorted({w.label for w in parsed if lengths.count(w.micros) > 1})
        if twice:
            problems.append(f"windows of one length given twice: {twice}")
        twice = sorted({a for a in wanted if wanted.count(a) > 1})
        if twice:
            problems.append(f"aggregations given twice: {twice}")
        unknown = [a for a in wanted if a not in AGGREGATIONS]
        if unknown:
            problems.append(f"unknown aggregations {unknown!r}; known: {list(AGGREGATIONS)}")
        if problems:
            raise InvalidInputError(
                f"invalid window aggregation {prefix!r}: " + "; ".join(problems),
                hint=f"list each window once and aggregations among {list(AGGREGATIONS)}",
            )
        return cls(
            prefix=prefix,
            windows=tuple(sorted(parsed, key=lambda w: w.micros)),
            aggregations=tuple(a for a in AGGREGATIONS if a in wanted),
        )

    @property
    def horizon_us(self) -> int:
        """The longest window: how far back the online state must remember events."""
        return self.windows[-1].micros

    @cached_property
    def columns_by_window(self) -> tuple[tuple[Window, tuple[tuple[Aggregation, str], ...]], ...]:
        """Each window with its ``(aggregation, column name)`` pairs; computed once per spec."""
        return tuple(
            (window, tuple((a, f"{self.prefix}_{a}_{window.label}") for a in self.aggregations))
            for window in self.windows
        )

    def output_names(self) -> tuple[str, ...]:
        """Output column names, window by window, aggregations in their fixed order."""
        return tuple(name for _, pairs in self.columns_by_window for _, name in pairs)


__all__ = [
    "AGGREGATIONS",
    "DEFAULT_WINDOWS",
    "Aggregation",
    "Window",
    "WindowAggregation",
    "parse_window",
]
