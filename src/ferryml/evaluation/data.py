"""The rows a gate judges on: the latest held-out period whose labels have matured.

The label rules are training's (:mod:`ferryml.training.labels`): a positive counts only if its
label was known at the cutoff, and events younger than ``label_maturity_days`` are left out.
The period is the split's test period (:func:`~ferryml.training.splits.plan_split`) at the
cutoff: for a model trained at the same cutoff, exactly the rows it never saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from ferryml.errors import InvalidInputError
from ferryml.training.config import TrainingConfig
from ferryml.training.dataset import (
    Columns,
    false_negative_costs,
    numeric_column,
    read_labeled,
)
from ferryml.training.splits import TimeSplit


@dataclass(frozen=True)
class HeldOut:
    """Features, known labels, false-negative costs and attributes of the gate's rows."""

    x: pd.DataFrame
    y: npt.NDArray[np.int8]
    fn_costs: npt.NDArray[np.float64]
    attributes: pd.DataFrame
    """Raw columns kept beside the features (``features.attributes``), for segments."""
    times_us: npt.NDArray[np.float64]
    split: TimeSplit
    history_labels: npt.NDArray[np.int8]
    """Known labels of every matured event up to the held-out period's end (training,
    validation and held-out): the long-run label rate."""

    @property
    def rows(self) -> int:
        return len(self.y)

    @property
    def positives(self) -> int:
        return int(self.y.sum())

    def column(self, name: str) -> npt.NDArray[Any]:
        """A feature or attribute by name (what a segment is cut from)."""
        if name in self.attributes.columns:
            return self.attributes[name].to_numpy()
        if name in self.x.columns:
            return self.x[name].to_numpy()
        known = sorted([*self.attributes.columns, *self.x.columns])
        raise InvalidInputError(
            f"no feature or attribute named {name!r} in the gate's rows",
            hint=f"segment columns must be one of: {', '.join(known)} (raw columns need "
            "listing in features.attributes and a new feature build)",
        )

    def describe(self) -> dict[str, Any]:
        split = self.split.describe()
        return {
            "from": split["test_from"],
            "until": split["test_until"],
            "label_cutoff": split["label_cutoff"],
            "rows": self.rows,
            "positives": self.positives,
        }


def held_out(
    table: pa.Table,
    columns: Columns,
    config: TrainingConfig,
    *,
    attributes: list[str],
    cutoff_us: float | None = None,
) -> HeldOut:
    """The held-out period of ``table`` (a build's training set) at ``cutoff_us`` (default:
    its latest event)."""
    missing = [name for name in [*columns.features, *attributes] if name not in table.column_names]
    if missing:
        raise InvalidInputError(
            f"the feature build lacks the columns {missing} the gates need",
            hint="rebuild the features with `ferry features build` (attributes are kept since "
            "features.attributes lists them)",
        )
    labeled = read_labeled(table, columns, columns.features, config, cutoff_us)
    data, times, split = labeled.data, labeled.times, labeled.split
    mask = split.masks(times)[2]
    known = labeled.known[mask]
    if not 0 < int(known.sum()) < len(known):
        raise InvalidInputError(
            f"the held-out period {split.describe()['test_from']} .. "
            f"{split.describe()['test_until']} has {len(known)} rows and {int(known.sum())} "
            "known positives: gates need both classes",
            hint="gate later, when more labels have arrived, or lengthen training.split.test_days",
        )
    x = pd.DataFrame({name: numeric_column(data[name][mask], name) for name in columns.features})
    attribute_frame = pd.DataFrame(
        {name: table.column(name).to_numpy(zero_copy_only=False)[mask] for name in attributes}
    )
    return HeldOut(
        x=x,
        y=known,
        fn_costs=false_negative_costs(data, config)[mask],
        attributes=attribute_frame,
        times_us=times[mask],
        split=split,
        history_labels=labeled.known[times < split.mature_end_us],
    )


__all__ = ["HeldOut", "held_out"]
