"""Feature discovery with Featuretools DFS: no look-ahead, and exported windows pass the skew test.

One small synthetic dataset and one discovery run (featuretools makes a pass per sampled event
and window, ~0.1 s each) are shared by the module's tests.
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
import yaml
from numpy.testing import assert_allclose, assert_array_equal

from ferryml.config.loader import load_config
from ferryml.data.synth import generate
from ferryml.errors import InvalidInputError, MissingDependencyError
from ferryml.features.dfs import (
    DfsOptions,
    DiscoveryResult,
    discover,
    merge_discovered,
    synthesize,
    write_discovery,
)
from ferryml.features.graph import compile_features
from ferryml.features.offline import build_training_set
from ferryml.features.values import arrow_to_array
from ferryml.features.windows import WindowAggregation, window_features

FRAUD = DfsOptions(
    relationships=(("customer", "card"), ("card", "transactions"), ("merchant", "transactions")),
    windows=("1h", "24h"),
)
ONE_WINDOW = DfsOptions(relationships=FRAUD.relationships, windows=("24h",))
TOP_K = 6


@dataclass(frozen=True)
class Dataset:
    config: Any
    events: pa.Table
    tables: Mapping[str, pa.Table]  # by entity, for DFS
    profiles: Mapping[str, pa.Table]  # by profile, for build_training_set


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    config = load_config(None).config
    # a fraud rate well above the reference's, so that a small balanced sample has positives
    synth = config.data.synth.model_copy(
        update={
            "days": 10,
            "customers": 300,
            "merchants": 40,
            "transactions_per_day": 300,
            "base_fraud_rate": 0.03,
        }
    )
    out = tmp_path_factory.mktemp("dfs") / "synth"
    generate(synth, out)
    events = ds.dataset(out / "transactions", partitioning="hive").to_table().drop_columns("date")
    # Every 10th event gets a twin stamped at the same microsecond on the same card, customer
    # and merchant (a split payment): ferryml windows leave both out, DFS counts both in.
    twins = events.take(np.arange(0, events.num_rows, 10))
    twin_ids = pa.array([f"{i}-twin" for i in twins.column("transaction_id").to_pylist()])
    twins = twins.set_column(0, "transaction_id", twin_ids)
    twins = twins.set_column(
        twins.schema.get_field_index("amount"), "amount", pc.add(twins.column("amount"), 1.25)
    )
    events = pa.concat_tables([events, twins]).sort_by("event_time")
    tables = {e: pq.read_table(out / f"{e}s.parquet") for e in ("customer", "card", "merchant")}
    profiles = {"customer_profile": tables["customer"], "card_profile": tables["card"]}
    return Dataset(config, events, tables, profiles)


@pytest.fixture(scope="module")
def result(dataset: Dataset) -> DiscoveryResult:
    config = dataset.config
    return discover(
        dataset.events,
        dataset.tables,
        config.features,
        config.schema_,
        FRAUD,
        sample_size=24,
        top_k=TOP_K,
    )


def test_discover_ranks_candidates_and_exports_definitions_that_compile(
    dataset: Dataset, result: DiscoveryResult, tmp_path: Path
) -> None:
    names = [c.name for c in result.candidates]
    scores = [c.score for c in result.candidates]
    assert scores == sorted(scores, reverse=True) and all(s >= 0 for s in scores)
    for expected in (
        "HOUR(event_time)",
        "IS_WEEKEND(event_time)",
        "card.COUNT(transactions) [1h]",
        "merchant.SUM(transactions.amount) [24h]",
        "card.customer.MEAN(transactions.amount) [24h]",  # customer via card: max_depth 3
    ):
        assert expected in names
    maxima = [c for c in result.candidates if ".MAX(" in c.name]
    assert maxima and all(not c.exportable and "cannot be recovered" in c.reason for c in maxima)

    exportable = [c for c in result.candidates if c.exportable]
    exported = [c for c in result.candidates if c.exported_as]
    assert exported == exportable[:TOP_K]  # the best exportable ones, in rank order
    by_name = {c.name: c for c in result.candidates}
    assert by_name["HOUR(event_time)"].definition == {"kind": "hour", "input": "event_time"}
    assert by_name["card.customer.COUNT(transactions) [1h]"].definition == {
        "entity": "customer",
        "value": "amount",
        "aggregation": "count",
        "window": "1h",
    }

    config = dataset.config
    merged = merge_discovered(config.features, result.features)
    feature_set = compile_features("fraud", merged, config.schema_)
    assert {c.exported_as for c in exported} <= set(feature_set.output_names)
    reference = compile_features("fraud", config.features, config.schema_).output_names
    assert len(feature_set.output_names) == len(reference) + TOP_K  # exactly the chosen ones

    target = tmp_path / "discovered.yaml"
    write_discovery(result, target)
    text = target.read_text()
    assert "cannot be recovered" in text  # the ranking, as comments
    assert yaml.safe_load(text) == {k: v for k, v in result.features.items() if v}


def test_dfs_aggregates_do_not_look_ahead(dataset: Dataset) -> None:
    config, events = dataset.config, dataset.events
    n = events.num_rows
    early = [str(i) for i in events.column("transaction_id").take([n // 3, n // 3 + 7]).to_pylist()]
    late = str(events.column("transaction_id")[n - 1])
    pivot = events.column("event_time")[n // 3 + 7]
    ids = [*early, late]  # the late event keeps the altered ones inside the entity set
    before = synthesize(events, dataset.tables, config.features, config.schema_, ids, ONE_WINDOW)

    # Every event after the pivot moves to the first early event's card, customer and
    # merchant, with 7x its amount: any look-ahead would show in the early events' aggregates.
    first = events.filter(pc.equal(events.column("transaction_id"), early[0]))
    later = pc.greater(events.column("event_time"), pivot)
    altered = events
    for name in ("card_id", "customer_id", "merchant_id"):
        moved = pc.if_else(later, first.column(name)[0], events.column(name))
        altered = altered.set_column(altered.schema.get_field_index(name), name, moved)
    amount = pc.if_else(later, pc.multiply(events.column("amount"), 7.0), events.column("amount"))
    altered = altered.set_column(altered.schema.get_field_index("amount"), "amount", amount)
    after = synthesize(altered, dataset.tables, config.features, config.schema_, ids, ONE_WINDOW)

    aggregates = [c.name for c in before.columns if c.window is not None]
    assert aggregates
    old, new = before.table.to_pandas(), after.table.to_pandas()
    assert_array_equal(new[aggregates].iloc[:2].to_numpy(), old[aggregates].iloc[:2].to_numpy())
    assert not np.allclose(new[aggregates].iloc[2], old[aggregates].iloc[2], equal_nan=True)


def test_exported_windows_equal_dfs_after_the_documented_adjustment(
    dataset: Dataset, result: DiscoveryResult
) -> None:
    """ferryml's window over (t - w, t) = DFS's over (t - w, t] minus the entity's events stamped
    exactly t (module docstring of ferryml.features.dfs), on every sampled event."""
    events, sample = dataset.events, result.sample
    times = arrow_to_array(events.column("event_time")).astype(np.int64)
    amounts = arrow_to_array(events.column("amount"))
    row = {tid: i for i, tid in enumerate(events.column("transaction_id").to_pylist())}
    rows = np.array([row[tid] for tid in sample.column("transaction_id").to_pylist()])

    windows = {
        (d["entity"], d["aggregation"], d["window"]): c.name
        for c in result.candidates
        if c.exportable and (d := c.definition or {}) and "window" in d
    }
    assert {aggregation for _, aggregation, _ in windows} == {"count", "sum", "mean"}
    ties = 0
    for (entity, aggregation, window), name in windows.items():
        keys = arrow_to_array(events.column(dataset.config.features.entities[entity].key))
        spec = WindowAggregation.of("w", [window], [aggregation])
        ferryml = window_features(spec, keys, times, amounts)[f"w_{aggregation}_{window}"][rows]
        # brute force: the entity's events stamped exactly t, the event itself among them
        same = [np.flatnonzero((keys == keys[r]) & (times == times[r])) for r in rows]
        n_t = np.array([len(s) for s in same], np.float64)
        ties += int((n_t > 1).sum())
        s_t = np.array([amounts[s].sum() for s in same])
        dfs = sample.column(name).to_numpy()
        if aggregation == "count":
            assert_array_equal(dfs - n_t, ferryml, err_msg=name)
            assert (dfs - ferryml >= 1).all()  # DFS counts the event itself
        elif aggregation == "sum":
            assert_allclose(dfs - s_t, ferryml, rtol=1e-12, atol=1e-9, err_msg=name)
        else:  # from the COUNT and SUM of the same window
            count = sample.column(windows[entity, "count", window]).to_numpy()
            total = sample.column(windows[entity, "sum", window]).to_numpy()
            with np.errstate(invalid="ignore", divide="ignore"):
                adjusted = np.where(count > n_t, (total - s_t) / (count - n_t), np.nan)
            assert_allclose(adjusted, ferryml, rtol=1e-12, atol=1e-9, err_msg=name)

    assert ties  # twins were sampled: the adjustment took out more than the event itself

    # End to end: the exported definitions, built by the offline builder, give those values.
    config = dataset.config
    feature_set = compile_features(
        "fraud", merge_discovered(config.features, result.features), config.schema_
    )
    built = build_training_set(feature_set, events, dataset.profiles).table
    at = {tid: i for i, tid in enumerate(built.column("transaction_id").to_pylist())}
    picked = [at[tid] for tid in sample.column("transaction_id").to_pylist()]
    exported = [c for c in result.candidates if c.exported_as]
    assert any("window" in (c.definition or {}) for c in exported)
    for output in [c.exported_as for c in exported if c.exported_as]:
        offline = arrow_to_array(built.column(output).take(picked))
        assert_allclose(offline, sample.column(output).to_numpy(), rtol=1e-12, atol=1e-9)

    # Every row-level candidate equals the reference set's feature of the same kind.
    same_kind = {"hour": "hour", "weekday": "weekday", "weekend": "is_weekend"}
    for c in result.candidates:
        if c.exportable and c.definition and "kind" in c.definition:
            kind = c.definition["kind"]
            expected = (
                amounts[rows]
                if kind == "passthrough"
                else arrow_to_array(built.column(same_kind[kind]).take(picked))
            )
            assert_array_equal(sample.column(c.name).to_numpy(), expected, err_msg=c.name)


def test_bad_options_are_named_with_a_fix(dataset: Dataset) -> None:
    config = dataset.config
    with pytest.raises(InvalidInputError, match=r"max_depth must be an int >= 1\. Got 0\."):
        DfsOptions(max_depth=0)
    with pytest.raises(InvalidInputError, match="invalid window '1 day'"):
        DfsOptions(windows=("1 day",))
    args = (dataset.events, dataset.tables, config.features, config.schema_, ["tx-0000000000"])
    with pytest.raises(
        InvalidInputError, match=r"unknown entity 'cards' \(did you mean 'card'\?\)"
    ):
        synthesize(*args, DfsOptions(relationships=(("cards", "transactions"),)))
    with pytest.raises(InvalidInputError, match=r"'mena' \(did you mean 'mean'\?\)"):
        synthesize(*args, DfsOptions(agg_primitives=("mena",)))
    with pytest.raises(InvalidInputError, match="sample_size must be an int >= 10"):
        discover(*args[:4], sample_size=3)


def test_merging_refuses_to_replace_a_defined_feature(dataset: Dataset) -> None:
    features = dataset.config.features
    fragment = {"derived": {"hour": {"kind": "hour", "input": "event_time"}}}
    with pytest.raises(InvalidInputError, match=r"reuse defined names: derived\.hour"):
        merge_discovered(features, fragment)


def test_public_names_import() -> None:
    module = importlib.import_module("ferryml.features.dfs")
    assert all(getattr(module, name) is not None for name in module.__all__)


def test_featuretools_is_imported_only_when_discovering(
    dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Importing the module must not cost featuretools' import (seconds): no top-level import.
    module = importlib.import_module("ferryml.features.dfs")
    tree = ast.parse(Path(str(module.__file__)).read_text())
    imported = {
        alias.name.split(".")[0]
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (
            node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")]
        )
    }
    assert not imported & {"featuretools", "woodwork", "sklearn"}

    monkeypatch.setitem(sys.modules, "featuretools", None)  # as if it were not installed
    config = dataset.config
    with pytest.raises(MissingDependencyError, match="feature discovery"):
        synthesize(dataset.events, dataset.tables, config.features, config.schema_, ["x"])
