"""Bad and missing data: defects a validation stage must catch, counted but never flagged.

Inside the ``bad_data`` window each defect hits about ``defect_rate`` of the day's rows, on
disjoint rows, so that the manifest's counts are exact:

* ``negative_amount`` — the amount's sign flipped;
* ``future_event_time`` — ``event_time`` moved past the end of the generated period;
* ``unknown_country`` — ``merchant_country`` set to ``XX`` (no such ISO 3166 code);
* ``duplicate_transaction_id`` — the id of another row of the day, reused;
* ``withdrawal_with_beneficiary`` — a withdrawal carrying a beneficiary (only transfers may).

``amount_as_string`` is a partition-level defect written by the writer: the window's
partitions store ``amount`` as a string, so the dataset's schema no longer unifies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ferryml.data.synth import catalog
from ferryml.data.synth.scenarios import DayPlan
from ferryml.data.synth.transactions import DAY_US, Batch

IntArray = npt.NDArray[np.int64]

ROW_DEFECTS = (
    "negative_amount",
    "future_event_time",
    "unknown_country",
    "duplicate_transaction_id",
    "withdrawal_with_beneficiary",
)


@dataclass(frozen=True)
class Damaged:
    """A day after its defects: rows, transaction sequence numbers and what was done."""

    batch: Batch
    sequence: IntArray
    counts: dict[str, int]


def bad_data(
    rng: np.random.Generator,
    plan: DayPlan,
    batch: Batch,
    sequence: IntArray,
    *,
    period_end_us: int,
    legit_beneficiaries: int,
) -> Damaged:
    """Apply the row defects of ``plan`` to one sorted day."""
    n = len(batch)
    counts = dict.fromkeys(ROW_DEFECTS, 0)
    if plan.defect_rate <= 0 or n < 2:
        return Damaged(batch, sequence, counts)
    order = rng.permutation(n)
    sizes = rng.binomial(n, plan.defect_rate, size=len(ROW_DEFECTS) - 1)
    # Keep a quarter of the rows free of defects: they are the duplicate ids' sources.
    sizes = np.minimum(sizes, (3 * n // 4) // len(ROW_DEFECTS))
    bounds = np.concatenate(([0], np.cumsum(sizes)))
    negative, future, unknown, duplicate = (
        order[bounds[i] : bounds[i + 1]] for i in range(len(sizes))
    )
    untouched = order[bounds[-1] :]

    amount = batch.amount.copy()
    amount[negative] = -np.abs(amount[negative])
    time_us = batch.time_us.copy()
    shift = period_end_us - time_us[future] + rng.integers(1, 366, size=len(future)) * DAY_US
    time_us[future] += shift
    merchant_country = batch.merchant_country.copy()
    merchant_country[unknown] = catalog.UNKNOWN_COUNTRY_INDEX
    sequence = sequence.copy()
    sources = np.setdiff1d(untouched, duplicate)
    sequence[duplicate] = sequence[rng.choice(sources, size=len(duplicate))]

    withdrawals = untouched[batch.transaction_type[untouched] == catalog.WITHDRAWAL]
    wanted = min(int(rng.binomial(n, plan.defect_rate)), len(withdrawals))
    with_beneficiary = rng.choice(withdrawals, size=wanted, replace=False)
    beneficiary = batch.beneficiary.copy()
    beneficiary[with_beneficiary] = rng.integers(0, legit_beneficiaries, size=wanted)

    counts.update(
        negative_amount=len(negative),
        future_event_time=len(future),
        unknown_country=len(unknown),
        duplicate_transaction_id=len(duplicate),
        withdrawal_with_beneficiary=wanted,
    )
    damaged = batch.with_(
        amount=amount, time_us=time_us, merchant_country=merchant_country, beneficiary=beneficiary
    )
    return Damaged(damaged, sequence, counts)


def null_mask(rng: np.random.Generator, plan: DayPlan, n: int) -> npt.NDArray[np.bool_] | None:
    """Rows whose ``missing_data`` column the feed dropped today, or None outside the window."""
    if plan.null_rate <= 0:
        return None
    return rng.random(n) < plan.null_rate
