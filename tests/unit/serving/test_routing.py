"""Sticky assignment: the same key, the same arm, in every process; the split holds."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from ferryml.serving.routing import CHALLENGER, CHAMPION, Routing, bucket

IDS = [f"customer-{i}" for i in range(10_000)]


@pytest.mark.parametrize("weight", [0.05, 0.25, 0.5])
def test_the_split_holds_over_ten_thousand_keys(weight: float) -> None:
    routing = Routing(strategy="ab", challenger="2", weight=weight, key="customer_id")
    share = sum(routing.arm({"customer_id": i}) == CHALLENGER for i in IDS) / len(IDS)
    sd = (weight * (1 - weight) / len(IDS)) ** 0.5
    assert abs(share - weight) < 4 * sd  # a binomial draw of 10k keys


def test_a_key_keeps_its_arm_and_a_larger_weight_only_adds_keys() -> None:
    small = Routing(strategy="canary", challenger="2", weight=0.1, key="customer_id")
    large = small.model_copy(update={"weight": 0.3})
    for key in IDS[:2000]:
        event = {"customer_id": key}
        assert small.arm(event) == small.arm(dict(event))
        if small.arm(event) == CHALLENGER:
            assert large.arm(event) == CHALLENGER  # a ramp never moves a key back


def test_the_bucket_is_sha256_and_the_same_in_other_processes() -> None:
    digest = hashlib.sha256(b"s:customer-7").digest()
    assert bucket("customer-7", "s") == int.from_bytes(digest[:8], "big") / 2**64
    code = (
        "from ferryml.serving.routing import bucket;"
        "print(','.join(repr(bucket(f'customer-{i}', '')) for i in range(200)))"
    )
    mine = ",".join(repr(bucket(f"customer-{i}", "")) for i in range(200))
    for seed in ("1", "2"):  # Python's hash() would differ with the hash seed
        env = {**os.environ, "PYTHONHASHSEED": seed}
        other = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
        ).stdout.strip()
        assert other == mine


def test_no_key_or_no_weight_means_the_champion() -> None:
    routing = Routing(strategy="ab", challenger="2", weight=1.0, key="customer_id")
    assert routing.arm({}) == CHAMPION
    assert routing.arm({"customer_id": "x"}) == CHALLENGER
    assert Routing().arm({"customer_id": "x"}) == CHAMPION
    with pytest.raises(ValidationError, match="needs a `challenger` and a `key`"):
        Routing(strategy="ab", weight=0.5)
    with pytest.raises(ValidationError):
        Routing(strategy="shadow")


@pytest.mark.parametrize("strategy", ["shadow", "blue_green"])
def test_shadow_and_blue_green_answer_with_the_champion_and_need_no_key(strategy: str) -> None:
    routing = Routing(strategy=strategy, challenger="challenger", weight=1.0)  # type: ignore[arg-type]
    assert {routing.arm({"customer_id": key}) for key in IDS[:1000]} == {CHAMPION}
    with pytest.raises(ValidationError, match="needs a `challenger`"):
        Routing(strategy=strategy)  # type: ignore[arg-type]
