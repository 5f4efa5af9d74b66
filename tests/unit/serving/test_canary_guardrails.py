"""Each canary guardrail trips on its own breach and not on a challenger that behaves."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from ferryml.serving.canary import ArmStats, breaches
from ferryml.serving.config import CanaryConfig

CONFIG = CanaryConfig(max_error_rate=0.02, max_p99_ratio=2.0, max_psi=0.2, max_approval_delta=0.05)


def arm(seed: int, *, shift: float = 0.0, slow: float = 1.0, errors: int = 0) -> ArmStats:
    rng = np.random.default_rng(seed)
    scores = np.clip(rng.beta(1, 20, 2000) + shift, 0, 1)
    return ArmStats(
        requests=2000,
        errors=errors,
        latencies_ms=list(rng.gamma(2.0, 0.3, 2000) * slow),
        scores=list(scores),
        approvals=int((scores < 0.5).sum()),
    )


def test_a_challenger_like_the_champion_passes() -> None:
    assert breaches(arm(0), arm(1), CONFIG) == []


@pytest.mark.parametrize(
    ("challenger", "words"),
    [
        (arm(1, errors=100), "error rate"),
        (arm(1, slow=3.0), "p99"),
        (arm(1, shift=0.2), "score PSI"),
        (arm(1, shift=0.6), "approval rate"),
    ],
)
def test_each_breach_is_named(challenger: ArmStats, words: str) -> None:
    assert any(words in reason for reason in breaches(arm(0), challenger, CONFIG))


def test_steps_must_rise_within_zero_and_one() -> None:
    with pytest.raises(ValidationError, match="rise strictly"):
        CanaryConfig(steps=[0.5, 0.25])
    with pytest.raises(ValidationError, match="rise strictly"):
        CanaryConfig(steps=[0.5, 1.5])
