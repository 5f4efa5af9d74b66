"""What ``ferry quickstart`` changes in the reference project so that the whole loop runs in
about three minutes on two cores, and the story it replays.

The quickstart's workspace holds the reference config with these values written in (its
comments kept), so every later command on the workspace (``ferry serve``, ``ferry simulate
--scenario …``, ``ferry monitor report``) sees the data it was made with. The sizes keep the
volume of the replayed period equal to the volume of the training period: a sample of the
traffic would move the per-merchant windows and show drift that is not in the data.

The story, in event time (no wall-clock waiting; a served replay moves the server's clock):

- 2025-09-01 to 2025-11-03: the history the first champion is trained on. Its last week
  already holds a new fraud pattern — fraud in taxis (category 4121), which had none — whose
  chargebacks have not arrived by the cutoff, so the champion never learns it;
- 2025-11-03 to 2025-12-29: replayed through the API, a week at a time, the monitor judging
  the last two weekly windows against the champion's baseline; labels arrive 1 to 7 days late;
- once they show the champion missing the new fraud, the performance alerts ask for
  retraining; the policy's cooldown (four weeks since the last training) holds it until the
  history has two weeks of the new fraud to learn from — a model retrained at the first alert
  could not have seen any: its validation and test weeks are the latest matured ones;
- the challenger is gated against the champion, shadowed, ramped as a canary, then promoted —
  or rolled back by the canary's guardrails;
- from 2025-12-01: the holiday season (volume, travel spending): data drift the monitor
  reports, which asks for no retraining.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

HISTORY_END = datetime(2025, 11, 3, tzinfo=UTC)
"""The first training's cutoff and the replay's start (a Monday: whole weekly windows)."""

SETTINGS: Mapping[str, Any] = {
    "data.synth.start": date(2025, 9, 1),
    "data.synth.days": 119,  # to 2025-12-28
    "data.synth.customers": 1500,
    "data.synth.merchants": 200,
    "data.synth.transactions_per_day": 250,
    "data.synth.base_fraud_rate": 0.02,
    "data.synth.label_delay_days.max": 7,
    "data.synth.scenarios.holiday_season.start": date(2025, 12, 1),
    "data.synth.scenarios.holiday_season.end": None,  # the last day
    "data.synth.scenarios.new_fraud_pattern.start": date(2025, 10, 27),
    "data.synth.scenarios.new_fraud_pattern.fraud_rate": 0.3,
    "data.synth.scenarios.bad_data.start": date(2025, 9, 15),
    "data.synth.scenarios.bad_data.end": date(2025, 9, 17),
    "features.label_rates.merchant_risk.window": "28d",
    "training.label_maturity_days": 7,
    "training.split.validation_days": 7,
    "training.split.test_days": 7,
    "training.models.lightgbm.n_estimators": 200,
    "training.models.ebm.interactions": 2,
    "training.models.ebm.outer_bags": 1,
    # fraud about six times as common as in the reference: the cost-minimizing threshold is
    # lower, and error-rate gaps between segments of a few hundred rows grow with it
    "gates.fairness.limits.false_positive_rate.max_difference": 0.2,
    "gates.fairness.limits.recall.max_difference": 0.5,
    # a held-out week holds ~55 frauds whose amounts make the cost's interval ±20 % wide:
    # the challenger must not rank worse (ROC-AUC, PR-AUC); its cost is reported
    "gates.champion.non_inferior": ["roc_auc", "pr_auc"],
    # the first champion, trained on two months, stops after a few trees; a retrained one is
    # larger: the absolute limits (p99, rows/s) still hold it
    "gates.latency.max_ratio_to_champion": 100.0,
    "serving.canary.steps": [0.1, 0.5, 1.0],
    "serving.canary.dwell_seconds": 86_400.0,  # a day of event time per step
    "serving.canary.min_requests": 100,
    # the retrained model's scores are calibrated otherwise (another model kind may win), a
    # shift PSI reads as large (seen: 1.27) even when its decisions are sound: the
    # approval-rate guardrail (5 points) judges what customers see
    "serving.canary.max_psi": 5.0,
    "monitoring.retraining.enabled": True,
    "monitoring.retraining.cooldown_days": 28.0,
}
"""Key path → value, written into the workspace's copy of the reference config."""

HEADER = """\
# ferry quickstart: the reference project (configs/fraud.yaml), scaled by ferry quickstart so
# that the whole loop runs in a few minutes; the values it changed are marked `# quickstart`.
"""


def quickstart_config_text(starter: str, settings: Mapping[str, Any] = SETTINGS) -> str:
    """``starter`` (the reference config's text) with ``settings`` written in, comments kept."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

    yaml = YAML()  # round trip: comments, order and flow style survive
    yaml.width = 4096  # no folding: lines stay as the reference wrote them
    document = yaml.load(starter)
    for key, value in settings.items():
        *parents, leaf = key.split(".")
        node = document
        for part in parents:
            if part not in node or node[part] is None:
                node[part] = CommentedMap()
            node = node[part]
        node[leaf] = value
        if isinstance(node, CommentedMap) and node.fa.flow_style() is False:
            node.yaml_add_eol_comment("quickstart", leaf)
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    return HEADER + buffer.getvalue()


__all__ = ["HISTORY_END", "SETTINGS", "quickstart_config_text"]
