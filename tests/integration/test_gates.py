"""Gates on a real project: a workspace trained by `ferry quickstart` (MLflow, Feast online
store, feature build), crafted models that each break one gate, and the CLI end to end.

The crafted models wrap the champion's real LightGBM model and change one thing: scores for
new customers (fairness), a pause per call (latency), noise (the champion comparison).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from typer.testing import CliRunner

from conftest import TRAINABLE_SETTINGS, Quickstarted
from ferryml.cli import app
from ferryml.config.loader import load_config
from ferryml.errors import InvalidInputError
from ferryml.evaluation import GateReport, GatesConfig, evaluate_candidate
from ferryml.evaluation.config import EdgeCaseGate
from ferryml.evaluation.gates.base import Contender
from ferryml.evaluation.gates.edge_cases import edge_case_gate
from ferryml.evaluation.loading import _rescored_features, load_champion, load_model
from ferryml.evaluation.project import gate_runs
from ferryml.evaluation.setup import GateSetup, feature_build, gate_setup
from ferryml.pipeline import ProjectContext
from ferryml.registry import ModelRegistry
from ferryml.training.project import tracker_for
from ferryml.training.trainers import TrainedModel

runner = CliRunner()
SETTINGS = [
    *TRAINABLE_SETTINGS,
    # a wave of new customers, so that the held-out period has a "new" tenure segment
    "data.synth.scenarios.new_customers.enabled=true",
    "data.synth.scenarios.new_customers.start=2025-10-12",
    "data.synth.scenarios.new_customers.share=0.3",
]
SETS = [arg for setting in SETTINGS for arg in ("--set", setting)]


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes else "")


class Wrapped(TrainedModel):
    """A real model with one thing changed by a subclass."""

    kind = "crafted"
    requirements = ()

    def __init__(self, inner: TrainedModel) -> None:
        super().__init__(inner.features, {})
        self.inner = inner

    def predict_array(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return self.inner.predict_array(values)

    def importance(self) -> dict[str, float]:
        return self.inner.importance()

    def log(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def from_logged(cls, path: Path, *, threads: int) -> TrainedModel:
        raise NotImplementedError


class AgainstNewCustomers(Wrapped):
    """Blocks customers of less than 30 days far more often."""

    def predict_array(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        scores = self.inner.predict_array(values)
        tenure = values[:, self.features.index("customer_tenure_days")]
        return np.where(tenure < 30, np.minimum(1.0, scores + 0.6), scores)


class Slow(Wrapped):
    """Pauses 30 ms per single-row call."""

    def predict_array(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        if len(values) == 1:
            time.sleep(0.03)
        return self.inner.predict_array(values)


class Noisy(Wrapped):
    """Half its score is noise: clearly worse at ranking."""

    def predict_array(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        noise = np.random.default_rng(len(values)).random(len(values))
        return 0.3 * self.inner.predict_array(values) + 0.7 * noise


@pytest.fixture(scope="module")
def workspace(quickstarted: Quickstarted, tmp_path_factory: pytest.TempPathFactory) -> Path:
    extra = tuple(SETTINGS[len(TRAINABLE_SETTINGS) :])
    return quickstarted.copy(tmp_path_factory.mktemp("gates") / "ws", extra)


@pytest.fixture(scope="module")
def context(workspace: Path) -> Iterator[ProjectContext]:
    context = ProjectContext.open(
        load_config(workspace / "configs" / "ferry.yaml", overrides=SETTINGS)
    )
    yield context
    context.close()


@pytest.fixture(scope="module")
def champion(context: ProjectContext) -> tuple[Contender, GateSetup]:
    """The champion the quickstart promoted, and the gate setup of its build."""
    tracker = tracker_for(context.loaded, context.workspace.root)
    registry = ModelRegistry(tracker, "fraud")
    version = registry.get("champion")
    run = tracker.client.get_run(version.run_id or "")
    build = feature_build(context.workspace.root, run.data.tags["ferryml.feature_build"])
    kind = version.tags["ferryml.model_kind"]
    model, _ = load_model(tracker, version.source, version.sha256, kind, "champion")
    setup = gate_setup(
        context,
        build,
        model.features,
        cutoff_us=float(run.data.tags["ferryml.label_cutoff_us"]),
        gates=context.loaded.config.gates,
    )
    loaded, not_comparable = load_champion(
        registry, tracker, "champion", build, context, setup.data
    )
    assert loaded is not None and not_comparable is None
    return loaded, setup


def crafted(kind: type[Wrapped], real: Contender, label: str) -> Contender:
    return Contender(label, kind(real.model), real.threshold, size_bytes=50_000)


GATES = GatesConfig.model_validate(
    {
        "quality": {"limits": {"roc_auc": {"min": 0.8}, "pr_auc": {"min": 0.3}}},
        "latency": {
            "p99_ms": 20.0,
            "repetitions": 60,
            "warmup": 5,
            "batch_rows": 500,
            "max_ratio_to_champion": None,
        },
        "fairness": {
            "segments": {
                "tenure": {
                    "column": "customer_tenure_days",
                    "edges": [30],
                    "labels": ["new", "existing"],
                }
            },
            "limits": {"false_positive_rate": {"max_difference": 0.1}},
            "min_segment_size": 50,
        },
        "edge_cases": {"base_events": 2},
        "champion": {"margin": 0.02, "resamples": 300},
    }
)


def judge(candidate: Contender, champion: Contender | None, setup: GateSetup) -> GateReport:
    return evaluate_candidate(candidate, champion, setup.data, GATES, setup.economics, setup.edge)


def statuses(report: GateReport) -> dict[str, str]:
    return {result.gate: result.status for result in report.results}


def test_crafted_models_each_fail_their_gate_and_a_good_one_passes_all(
    champion: tuple[Contender, GateSetup],
) -> None:
    real, setup = champion
    new = setup.data.column("customer_tenure_days") < 30
    assert (new & (setup.data.y == 0)).sum() >= 50  # the scenario made a judged segment

    biased = judge(crafted(AgainstNewCustomers, real, "biased"), None, setup)
    assert statuses(biased)["fairness"] == "failed"
    failure = biased.result("fairness").failures[0]
    assert failure.name == "tenure: false_positive_rate difference" and "'new'" in failure.note

    slow = judge(crafted(Slow, real, "slow"), None, setup)
    assert statuses(slow) == {
        "quality": "passed",
        "latency": "failed",
        "fairness": "passed",
        "edge_cases": "passed",
        "champion": "skipped",
    }
    assert [c.name for c in slow.result("latency").failures] == ["single-row p99"]

    worse = judge(crafted(Noisy, real, "worse"), real, setup)
    assert statuses(worse)["champion"] == "failed"
    assert {c.name for c in worse.result("champion").failures} >= {"pr_auc not worse"}

    good = judge(crafted(Wrapped, real, "good"), crafted(Noisy, real, "weak"), setup)
    assert statuses(good) == dict.fromkeys(statuses(good), "passed"), good.as_dict()
    assert good.passed
    deltas = good.result("champion").details["deltas"]
    assert deltas["pr_auc"]["low"] > 0  # clearly better than the noisy champion


def test_the_champion_rescored_with_its_own_encodings_matches_its_build(
    context: ProjectContext, champion: tuple[Contender, GateSetup]
) -> None:
    """Recomputing features from the raw events with a build's fitted encodings gives that
    build's features exactly (the path used for a champion of an older build)."""
    real, setup = champion
    frame = _rescored_features(
        context, setup.build, setup.build.path, setup.data, real.model.features
    )
    expected = setup.data.x[real.model.features].to_numpy()
    np.testing.assert_array_equal(frame.to_numpy(), expected)


def test_ferry_gate_reports_tags_and_exit_codes(workspace: Path, context: ProjectContext) -> None:
    config = str(workspace / "configs" / "ferry.yaml")
    tracker = tracker_for(context.loaded, context.workspace.root)
    champion_run = ModelRegistry(tracker, "fraud").get("champion").run_id or ""
    # What is checked here is the command (reports, tags, exit codes), not this machine's
    # speed: on a loaded machine the real champion's single-row p99 can pass the default
    # 20 ms (this test failed once in a CI run that shared the machine, and passed alone).
    # The latency gate itself is tested with a crafted slow model above.
    roomy = [
        "--set",
        "gates.latency.p99_ms=2000",
        "--set",
        "gates.latency.max_ratio_to_champion=100",
    ]
    code, output = invoke("gate", champion_run, "--json", "-c", config, *SETS, *roomy)
    assert code == 0, output
    summary = json.loads(output)
    (candidate,) = summary["candidates"]
    assert candidate["passed"] and summary["best"] == champion_run
    assert candidate["gates"]["champion"] == "skipped"  # it is the champion
    html = Path(candidate["report"]).read_text()
    assert "PASSED" in html and "data:image/png;base64," in html
    assert not re.search(r"""(src|href)=["']https?://""", html)  # standalone: nothing fetched
    data = json.loads(Path(candidate["report"]).with_suffix(".json").read_text())
    assert data["held_out"]["rows"] > 0 and {g["gate"] for g in data["gates"]} == {
        "quality",
        "latency",
        "fairness",
        "edge_cases",
        "champion",
    }
    tags = tracker.client.get_run(champion_run).data.tags
    assert tags["ferryml.gates"] == "passed" and tags["ferryml.gate.fairness"] == "passed"
    artifacts = {a.path for a in tracker.client.list_artifacts(champion_run, "gates")}
    assert any(path.endswith(".html") for path in artifacts)

    code, output = invoke("gate", "not-a-run", "-c", config, *SETS)
    assert code == 1 and "is not an MLflow run id" in output
    code, output = invoke("gate", "0" * 32, "-c", config, *SETS)
    assert code == 1 and "no MLflow run" in output


def test_promotion_needs_passed_gates_or_a_written_reason(
    workspace: Path, context: ProjectContext
) -> None:
    config = str(workspace / "configs" / "ferry.yaml")
    # what is checked here is the gates' verdict and its override; the governance policy's
    # approvals, which a high-risk project adds, have their own tests (test_governance.py)
    sets = [*SETS, "--set", "governance.policy.use_case.risk_tier=minimal"]
    tracker = tracker_for(context.loaded, context.workspace.root)
    registry = ModelRegistry(tracker, "fraud")
    before = registry.get("champion").version
    runs = tracker.client.search_runs([tracker.experiment_id()])
    run_id = next(r.info.run_id for r in runs if r.info.run_id != registry.get(before).run_id)
    strict = GatesConfig.model_validate({"quality": {"limits": {"roc_auc": {"min": 0.9999}}}})
    session = gate_runs(context, [run_id], gates=strict)
    assert session.best is None and session.reports[0].failed_gates[0] == "quality"

    code, output = invoke("promote", run_id, "-c", config, *sets)
    assert code == 1 and "may not be promoted: its gates failed" in " ".join(output.split())
    code, output = invoke("promote", run_id, "--override-reason", "ok", "-c", config, *sets)
    assert code == 1 and "at least 10 characters" in output
    assert registry.get("champion").version == before

    reason = "fraud team accepts the channel gap until the atm feed is fixed (ticket 42)"
    code, output = invoke("promote", run_id, "--override-reason", reason, "-c", config, *sets)
    assert code == 0, output
    promoted = registry.get("champion")
    assert promoted.version != before and promoted.run_id == run_id
    assert promoted.tags["ferryml.promotion_override"] == reason
    entries = [e for e in context.audit.entries() if e.action == "model.promote"]
    assert entries[-1].details["override_reason"] == reason

    # the earlier champion was gated against no champion: that verdict is stale now
    old_run = registry.get(before).run_id or ""
    code, output = invoke("promote", old_run, "-c", config, *sets)
    assert code == 1 and "gate it again" in " ".join(output.split())
    with pytest.raises(InvalidInputError):
        registry.get("challenger")


class RisesWithAmount(Wrapped):
    def predict_array(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        # an unseen currency has no rate: amount_eur is missing (the gate flags NaN scores)
        amount = np.nan_to_num(values[:, self.features.index("amount_eur")])
        return amount / (amount + 100.0)


class FallsWithAmount(RisesWithAmount):
    def predict_array(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return 1.0 - super().predict_array(values)


def test_declared_business_expectations_hold_or_fail(
    champion: tuple[Contender, GateSetup],
) -> None:
    real, setup = champion
    assert setup.edge is not None
    config = EdgeCaseGate(  # the base events come from the setup (the project's base_events)
        expectations=[{"field": "amount", "direction": "increasing", "steps": 8}],
    )
    edge = setup.edge

    def run(kind: type[Wrapped]) -> Any:
        return edge_case_gate(
            crafted(kind, real, kind.__name__), edge.path, edge.bases, edge.observed, config
        )

    rises, falls = run(RisesWithAmount), run(FallsWithAmount)
    assert rises.status == "passed", rises.as_dict()["checks"]
    assert falls.status == "failed"
    (failure,) = falls.failures
    assert failure.name == "score increasing in amount" and (failure.value or 0) > 0
    ladder = rises.details["expectations"]["amount"]
    assert len(ladder) == len(edge.bases)
    assert all(np.all(np.diff(row["scores"]) >= 0) for row in ladder)
    unknown = EdgeCaseGate(expectations=[{"field": "colour", "direction": "increasing"}])
    result = edge_case_gate(
        crafted(RisesWithAmount, real, "r"), edge.path, edge.bases, edge.observed, unknown
    )
    assert result.status == "failed" and "not a numeric raw field" in result.failures[0].note
