"""The interface every derived feature implements: one definition, a row form and a batch form.

``row`` takes Python scalars and returns Python scalars: it is the serving path (no pandas, no
numpy per request). ``batch`` takes numpy arrays (object arrays for strings, ``None`` for a
missing string; float64 with NaN for a missing number; timestamps and dates as float64
microseconds since the epoch, UTC — exact up to year 2255) and returns arrays. Where the
computation is a lookup on categories, ``batch`` evaluates ``row`` once per distinct input
(:func:`map_distinct`), so both paths run literally the same code; where it is arithmetic, both
forms are written side by side in one class and a property test holds them equal.

Fitted transforms (frequency, ordinal) learn a state on the training window only; the state is
plain JSON, saved with the training set and versioned with the model that uses it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from ferryml.features.spec import FieldSpec

Array = npt.NDArray[Any]
Scalar = Any
"""str | None for strings, float (NaN when missing) for numbers and times, int for counts."""

MICROS_PER_HOUR = 3_600_000_000.0
MICROS_PER_DAY = 86_400_000_000.0


class Transform(ABC):
    """A derived feature: named inputs, named typed outputs, a row form and a batch form."""

    fitted: bool = False
    """True when :meth:`fit` must run on the training window before use."""

    def __init__(self, name: str, inputs: tuple[str, ...], outputs: tuple[FieldSpec, ...]):
        self.name = name
        self.inputs = inputs
        self.outputs = outputs

    @abstractmethod
    def row(self, *values: Scalar) -> tuple[Scalar, ...]:
        """Outputs for one event (one value per input, in ``inputs`` order)."""

    @abstractmethod
    def batch(self, *columns: Array) -> tuple[Array, ...]:
        """Outputs for many events (one array per input, in ``inputs`` order)."""

    def fit(self, *columns: Array) -> None:  # noqa: B027 - stateless transforms learn nothing
        """Learn the state from the training window's columns (fitted transforms only)."""

    def state(self) -> dict[str, Any]:
        """The learned state as JSON-able data (empty for stateless transforms)."""
        return {}

    def load_state(self, state: Mapping[str, Any]) -> None:  # noqa: B027 - see fit
        """Restore a state made by :meth:`state`."""

    def warm_up(self) -> None:  # noqa: B027 - most transforms have nothing to load
        """Load what the first :meth:`row` would otherwise wait for (a serving worker calls
        it before its first request): lazy imports, tables."""


def map_distinct(
    function: Callable[..., tuple[Scalar, ...]],
    columns: tuple[Array, ...],
    dtypes: tuple[npt.DTypeLike, ...],
) -> tuple[Array, ...]:
    """Apply the scalar ``function`` once per distinct input tuple and spread the results.

    This keeps lookups (holidays, distances, encodings) on the exact code of the row path while
    costing one call per distinct value, not per row.
    """
    size = len(columns[0]) if columns else 0
    codes = np.zeros(size, dtype=np.int64)
    uniques_per_column: list[list[Scalar]] = []
    for column in columns:
        column_codes, uniques = _factorize(column)
        codes = codes * (len(uniques) + 1) + column_codes
        uniques_per_column.append(uniques)
    distinct, first_index, inverse = np.unique(codes, return_index=True, return_inverse=True)
    results = [function(*(_value(col, int(i)) for col in columns)) for i in first_index]
    outputs = []
    for position, dtype in enumerate(dtypes):
        values = np.array([result[position] for result in results], dtype=dtype)
        outputs.append(values[inverse] if len(distinct) else np.empty(0, dtype=dtype))
    return tuple(outputs)


def _factorize(column: Array) -> tuple[npt.NDArray[np.int64], list[Scalar]]:
    import pandas as pd

    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    # missing values (None, NaN) get code 0; the others 1..n
    return codes.astype(np.int64) + 1, list(uniques)


def _value(column: Array, index: int) -> Scalar:
    value = column[index]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value and column.dtype == object:
        return None
    return value


def field(name: str, dtype: str, definition: Any, default_owner: str) -> FieldSpec:
    """The :class:`FieldSpec` of an output, with owner and description from its definition."""
    owner = getattr(definition, "owner", None) or default_owner
    return FieldSpec(name, dtype, getattr(definition, "description", ""), owner)  # type: ignore[arg-type]
