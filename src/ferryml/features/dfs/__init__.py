"""Discover features with Featuretools' Deep Feature Synthesis; export the ones ferryml computes.

``ferry features discover`` runs DFS on a sample of labelled events, ranks every candidate by
mutual information with the label and writes the best candidates that have an exact ferryml
equivalent as a fragment of the ``features`` section::

    options = DfsOptions(relationships=(("customer", "card"), ("card", "transactions"),
                                        ("merchant", "transactions")))
    tables = {"customer": customers, "card": cards, "merchant": merchants}
    result = discover(events, tables, config.features, config.schema_, options)
    write_discovery(result, Path("discovered.yaml"))

**The entity set.** The event table (index: the schema's ``id`` column, time index: its
``event_time`` column, plus the numeric ``feature`` columns) and one dataframe per entity of the
relationships holding its key and its links to parent entities only: no attributes and no time
index, so a parent contributes a static link (card → customer) and nothing that could leak.
Labels, label times and metadata never enter; aggregations read the event table only.

**Cutoff times.** Each sampled event is computed as of its own time ``t`` (``cutoff_time``), once
per window ``w`` (``training_window``). Featuretools then aggregates an entity's events with
``t - w < time <= t`` (``EntitySet._handle_time``: ``time <= cutoff`` and ``time > cutoff -
window``): nothing after ``t`` is read. Row-level features (the event's own columns and their
transforms) do not depend on the cutoff and are computed in one pass.

**The exact relation to ferryml windows.** ferryml windows cover ``t - w < time < t``: the event
itself and every event of the entity stamped exactly ``t`` are left out
(:mod:`ferryml.features.windows`). With ``T`` the entity's events stamped ``t`` (the current one
among them), ``n_T`` their number and ``s_T`` the sum of their non-missing values, exactly:

- ``COUNT_dfs = count + n_T``, so ``count = COUNT_dfs - n_T``;
- ``SUM_dfs = sum + s_T``, so ``sum = SUM_dfs - s_T``;
- ``MEAN_dfs = (sum + s_T) / (present + present_T)``, so ``mean = (SUM_dfs - s_T) / (COUNT_dfs -
  n_T)`` when the value is never missing (else the present counts are unknown);
- ``MAX_dfs = max(max, max_T)``: the window max is lost whenever an event stamped ``t`` holds the
  largest value, so MAX is never exported.

An exported window is the ferryml window (event excluded), and its candidate is ranked on the
values ferryml will compute: the DFS values with ``T`` taken out as above. A window reached
through a chain of links (customer via card) is exported only if every event's own key column
(``customer_id``) equals the key the chain gives. HOUR, WEEKDAY and IS_WEEKEND of a timestamp
column are ferryml's ``hour``, ``weekday`` and ``weekend`` (both in UTC); a numeric column is
``passthrough``. Every other candidate is listed as not exportable, with the reason.

**Modules.** :mod:`~ferryml.features.dfs.options` (what DFS explores, input checks),
:mod:`~ferryml.features.dfs.entityset` (the entity set, synthesis),
:mod:`~ferryml.features.dfs.export` (ferryml equivalents, window values, the fragment),
:mod:`~ferryml.features.dfs.ranking` (sampling, mutual information) and
:mod:`~ferryml.features.dfs.discovery` (all of it end to end). featuretools and scikit-learn are
imported only when called.
"""

from ferryml.features.dfs.discovery import (
    Candidate,
    DiscoveryResult,
    discover,
    merge_discovered,
    write_discovery,
)
from ferryml.features.dfs.entityset import DfsColumn, Synthesis, synthesize
from ferryml.features.dfs.options import DfsOptions

__all__ = [
    "Candidate",
    "DfsColumn",
    "DfsOptions",
    "DiscoveryResult",
    "Synthesis",
    "discover",
    "merge_discovered",
    "synthesize",
    "write_discovery",
]
