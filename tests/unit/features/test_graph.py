"""Compiling feature definitions: the reference set compiles; every mistake is named."""

from __future__ import annotations

from typing import Any

import pytest

from ferryml.config.loader import load_config
from ferryml.config.schema import SchemaConfig
from ferryml.errors import ConfigError
from ferryml.features.definitions import FeaturesConfig
from ferryml.features.graph import WindowNode, compile_features

SCHEMA = SchemaConfig.model_validate(
    {
        "columns": {
            "id": {"type": "string", "role": "id"},
            "t": {"type": "timestamp", "role": "event_time"},
            "customer_id": {"type": "string", "role": "entity"},
            "amount": {"type": "float"},
            "currency": {"type": "string"},
            "country": {"type": "string"},
        }
    }
)
ENTITIES = {"customer": {"key": "customer_id"}}


def _compile(**sections: Any) -> Any:
    config = FeaturesConfig.model_validate({"entities": ENTITIES, **sections})
    return compile_features("p", config, SCHEMA)


def test_the_reference_feature_set_compiles_in_dependency_order() -> None:
    config = load_config(None).config
    feature_set = compile_features("fraud", config.features, config.schema_)
    position = {getattr(node, "name", None): i for i, node in enumerate(feature_set.order)}
    assert position["amount_eur"] < position["customer_amount"]  # windows read amount_eur
    assert position["customer_amount"] < position["amount_vs_customer_30d_mean"]
    names = feature_set.output_names
    assert "customer_amount_mean_30d" in names and "merchant_risk" in names
    assert "channel__other" in names and len(names) == len(set(names))
    assert all(spec.owner == "fraud-ml-team" for spec in feature_set.outputs)
    assert len(feature_set.version) == 12


def test_the_version_is_a_hash_of_the_definitions() -> None:
    derived = {"h": {"kind": "hour", "input": "t"}}
    first = _compile(derived=derived).version
    assert _compile(derived=derived).version == first
    assert _compile(derived={"h": {"kind": "weekday", "input": "t"}}).version != first


def test_a_missing_column_is_named_with_a_suggestion() -> None:
    with pytest.raises(ConfigError) as caught:
        _compile(
            derived={
                "eur": {
                    "kind": "exchange",
                    "amount": "amount",
                    "currency": "curency",
                    "rates": {"EUR": 1.0},
                }
            }
        )
    (issue,) = caught.value.issues
    assert issue.key_path == "features.derived.eur.currency"
    assert "did you mean 'currency'" in issue.expected and "'curency'" in issue.found


def test_a_window_over_a_non_timestamp_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        _compile(
            windows={
                "w": {
                    "entity": "customer",
                    "value": "amount",
                    "time": "country",
                    "aggregations": ["count"],
                    "windows": ["1h"],
                }
            }
        )
    (issue,) = caught.value.issues
    assert issue.key_path == "features.windows.w.time"
    assert "timestamp" in issue.expected and "'country' of type 'string'" in issue.found


def test_a_wrongly_typed_input_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        _compile(derived={"h": {"kind": "hour", "input": "amount"}})
    assert caught.value.issues[0].key_path == "features.derived.h.input"


def test_a_cycle_is_named() -> None:
    with pytest.raises(ConfigError, match=r"cycle: a -> b -> a|cycle: b -> a -> b"):
        _compile(
            derived={
                "a": {"kind": "product", "left": "b", "right": "amount"},
                "b": {"kind": "product", "left": "a", "right": "amount"},
            }
        )


def test_a_window_of_a_window_is_refused() -> None:
    windows = {
        "w1": {"entity": "customer", "value": "amount", "aggregations": ["sum"], "windows": ["1h"]},
        "w2": {"entity": "customer", "value": "x", "aggregations": ["sum"], "windows": ["1h"]},
    }
    derived = {"x": {"kind": "passthrough", "input": "w1_sum_1h"}}
    with pytest.raises(ConfigError, match="computed from window 'w1'"):
        _compile(windows=windows, derived=derived)


def test_names_must_be_unique_across_columns_and_features() -> None:
    with pytest.raises(ConfigError, match="already defined by schema"):
        _compile(derived={"amount": {"kind": "passthrough", "input": "amount"}})


def test_an_unknown_entity_and_a_bad_window_are_config_errors() -> None:
    with pytest.raises(ValueError, match="unknown entity 'card'"):
        FeaturesConfig.model_validate(
            {
                "entities": ENTITIES,
                "windows": {
                    "w": {
                        "entity": "card",
                        "value": "amount",
                        "aggregations": ["sum"],
                        "windows": ["1h"],
                    }
                },
            }
        )
    with pytest.raises(ConfigError) as caught:
        _compile(
            windows={
                "w": {
                    "entity": "customer",
                    "value": "amount",
                    "aggregations": ["sum"],
                    "windows": ["1 hour"],
                }
            }
        )
    assert caught.value.issues[0].key_path == "features.windows.w.windows"


def test_window_nodes_know_their_key_column() -> None:
    feature_set = _compile(
        windows={
            "w": {
                "entity": "customer",
                "value": "amount",
                "aggregations": ["count"],
                "windows": ["1h"],
            }
        }
    )
    (node,) = feature_set.windows
    assert isinstance(node, WindowNode) and node.key_column == "customer_id"
    assert node.time_column == "t" and feature_set.outputs[0].dtype == "int"


def test_attributes_are_raw_columns_named_once_and_never_personal_data() -> None:
    schema = SchemaConfig.model_validate(
        {"columns": {**SCHEMA.model_dump()["columns"], "email": {"type": "string", "pii": True}}}
    )
    config = FeaturesConfig.model_validate(
        {"entities": ENTITIES, "attributes": ["country", "currency"]}
    )
    feature_set = compile_features("p", config, schema)
    assert feature_set.attributes == ("country", "currency")
    assert {"country", "currency"} <= set(feature_set.event_columns)
    assert feature_set.kept_columns[-2:] == ("country", "currency")
    bad = FeaturesConfig.model_validate(
        {"entities": ENTITIES, "attributes": ["countyr", "email", "country", "country"]}
    )
    with pytest.raises(ConfigError) as caught:
        compile_features("p", bad, schema)
    issues = {issue.key_path: issue for issue in caught.value.issues}
    assert "did you mean 'country'" in issues["features.attributes[0]"].expected
    assert "(pii)" in issues["features.attributes[1]"].found
    assert "again" in issues["features.attributes[3]"].found


def test_the_reference_build_keeps_its_attributes() -> None:
    config = load_config(None).config
    feature_set = compile_features("fraud", config.features, config.schema_)
    assert set(feature_set.attributes) == {
        "channel",
        "merchant_category",
        "home_country",
        "segment",
    }
    assert not set(feature_set.attributes) & set(feature_set.output_names)  # never model inputs
