"""The model card's personal-data column: which schema columns flagged ``pii`` each feature
derives from, directly, as the key it is computed per, or through its inputs."""

from __future__ import annotations

from pathlib import Path

from ferryml.config.loader import load_config
from ferryml.features.graph import compile_features
from ferryml.governance.card import pii_sources


def test_features_inherit_the_personal_data_of_their_keys_and_inputs() -> None:
    loaded = load_config(
        None,
        overrides=["schema.columns.customer_id.pii=true", "schema.columns.ip_country.pii=true"],
        environ={},
        cwd=Path.cwd(),
    )
    config = loaded.config
    feature_set = compile_features("fraud", config.features, config.schema_)
    sources = pii_sources(feature_set)
    # windows per customer are about that customer
    assert sources["customer_amount_sum_24h"] == {"customer_id"}
    # a derived feature reading a personal column and the customer's home country (a
    # profile column, keyed by the customer)
    assert sources["ip_distance_km"] == {"ip_country", "customer_id"}
    # the customer's profile columns are keyed by the customer
    assert "customer_id" in sources["customer_age"]
    # nothing personal behind the hour of the day or the merchant's risk
    assert sources["hour"] == set() and sources["merchant_risk"] == set()
    untouched = compile_features(
        "fraud", config.features, load_config(None, environ={}).config.schema_
    )
    assert all(not found for found in pii_sources(untouched).values())
