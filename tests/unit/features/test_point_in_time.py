"""Point-in-time correctness of the offline join: for random timelines, every event gets the
latest value stamped at or before its own time, never one stamped after it."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ferryml.features.offline import asof_join

KEYS = ["a", "b", "c"]
stamps = st.integers(0, 50).map(float)
timelines = st.lists(st.tuples(st.sampled_from(KEYS), stamps), min_size=0, max_size=25)
events_strategy = st.lists(
    st.tuples(st.sampled_from([*KEYS, "unknown"]), stamps), min_size=1, max_size=25
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=timelines, events=events_strategy)
def test_the_join_never_uses_a_value_stamped_after_the_event(
    rows: list[tuple[str, float]], events: list[tuple[str, float]], tmp_path: Path
) -> None:
    # value = the row's own stamp (+ a per-row offset to tell ties apart): the joined value
    # tells which row was used.
    right = pa.table(
        {
            "k": pa.array([k for k, _ in rows], pa.string()),
            "ts": pa.array([t for _, t in rows], pa.float64()),
            "stamp": pa.array([t for _, t in rows], pa.float64()),
        }
    )
    keys = np.array([k for k, _ in events], dtype=object)
    times = np.array([t for _, t in events], dtype=np.float64)
    joined = asof_join(keys, times, right, "k", "ts", tmp_path)["stamp"]
    for (key, t), got in zip(events, joined, strict=True):
        eligible = [stamp for k, stamp in rows if k == key and stamp <= t]
        if eligible:
            assert got == max(eligible)  # the latest at or before the event ...
            assert got <= t  # ... so never from its future
        else:
            assert math.isnan(got)  # nothing known yet: missing, not a later value
