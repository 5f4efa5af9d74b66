"""One model explained end to end on synthetic rows: the rows chosen, every section of the
page, the JSON summary, the seed's reproducibility."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from explain_helpers import FEATURES, explained, model

from ferryml.errors import InvalidInputError
from ferryml.explain.explanation import STAGES, explain_model, local_rows, sample_rows
from ferryml.explain.options import ExplainOptions
from ferryml.explain.report import SECTIONS, write_explain_report
from ferryml.training.config import LogisticModel
from ferryml.training.trainers import TrainingData, make_trainer

OPTIONS = ExplainOptions(rows=300, lime_samples=400, permutation_repeats=2, pdp_rows=200)


def test_local_rows_are_the_asked_the_highest_and_the_closest_to_the_threshold() -> None:
    scores = np.array([0.1, 0.95, 0.49, 0.8, 0.52, 0.3])
    ids = list("abcdef")
    assert local_rows(scores, 0.5, ids, requested=["f"], top=2, near=2) == [5, 1, 3, 2, 4]
    assert local_rows(scores, 0.5, ids, top=0, near=0) == []
    assert local_rows(scores, 0.5, ids, requested=["b"], top=1, near=0) == [1]  # once
    with pytest.raises(InvalidInputError, match="zz"):
        local_rows(scores, 0.5, ids, requested=["zz"])


def test_sample_rows_is_seeded_and_keeps_the_asked_rows() -> None:
    drawn = sample_rows(1000, 100, seed=3, keep=[999, 7])
    assert len(drawn) == 100 and {999, 7} <= set(drawn) and drawn == sorted(drawn)
    assert drawn == sample_rows(1000, 100, seed=3, keep=[999, 7])
    assert drawn != sample_rows(1000, 100, seed=4, keep=[999, 7])
    assert sample_rows(50, 100, seed=3) == list(range(50))


@pytest.mark.parametrize("kind", ["lightgbm", "ebm"])
def test_explained_model_writes_every_section(kind: str, tmp_path: Path) -> None:
    trained = model(kind, missing=True)
    x, y = explained(400, missing=True)
    ids = [f"tx-{i}" for i in range(len(x))]
    threshold = float(np.quantile(trained.predict(x), 0.9))
    stages: list[tuple[str, int]] = []
    explanation = explain_model(
        trained, x, threshold=threshold, ids=ids, y=y, local=[7, 3], seed=5, options=OPTIONS,
        identity={"name": "toy", "version": "2", "kind": kind, "threshold": threshold},
        progress=lambda stage, done, total: stages.append((stage, done)),
    )  # fmt: skip
    assert [s for s, _ in stages] == [*STAGES, "done"]
    assert explanation.local_ids == ["tx-7", "tx-3"]
    assert [w.row_id for w in explanation.waterfalls] == ["tx-7", "tx-3"]
    assert [e.row_id for e in explanation.lime] == ["tx-7", "tx-3"]
    assert explanation.shap.ranked()[0] == "signal"
    assert len(explanation.dependence) == 3 and explanation.dependence_2d is not None
    assert explanation.correlations == []  # the problem's features are independent
    assert explanation.ebm is not None
    assert explanation.ebm.source == ("model" if kind == "ebm" else "comparison")
    html, json_path = write_explain_report(explanation, tmp_path, "toy-v2-now", "proj")
    page = html.read_text()
    for section in SECTIONS:
        assert f'<section id="{section}">' in page
    assert page.count("plotly.js v") == 1  # the library is embedded once, not per figure
    assert f"{100 * explanation.surrogate.fidelity:.1f}%" in page
    assert "log-odds" in page and "tx-7" in page
    facts = json.loads(json_path.read_text())
    assert facts["surrogate"]["fidelity"] == pytest.approx(explanation.surrogate.fidelity)
    assert facts["shap"]["space"] == "log-odds"
    assert set(facts["shap"]["mean_abs"]) == set(FEATURES)
    assert facts["lime"][0]["seed"] == 5
    assert facts["model"]["version"] == "2"
    assert facts["options"]["lime_samples"] == 400  # the settings travel with the numbers
    again = explain_model(
        trained, x, threshold=threshold, ids=ids, y=y, local=[7, 3], seed=5, options=OPTIONS
    )
    assert again.lime == explanation.lime
    assert again.surrogate == explanation.surrogate


def test_correlated_features_bring_the_warning_into_the_report(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)

    def rows(n: int) -> tuple[pd.DataFrame, np.ndarray]:
        signal = rng.normal(size=n)
        x = pd.DataFrame(
            {
                "signal": signal,
                "echo": signal + 0.3 * rng.normal(size=n),
                "hour": rng.normal(size=n),
            }
        )
        return x, (signal + 0.5 * rng.normal(size=n) > 1.5).astype(np.int8)

    (x_train, y_train), (x_valid, y_valid) = rows(1500), rows(500)
    data = TrainingData(x_train, y_train, np.ones(1500), x_valid, y_valid)
    logistic = make_trainer(LogisticModel(), seed=1, threads=1).fit(data)
    x, y = rows(300)
    explanation = explain_model(
        logistic, x, threshold=0.5, ids=[str(i) for i in range(300)], y=y, local=[0],
        seed=0, options=OPTIONS,
    )  # fmt: skip
    pairs = {frozenset((c.a, c.b)) for c in explanation.correlations}
    assert pairs == {frozenset(("signal", "echo"))}
    html, _ = write_explain_report(explanation, tmp_path, "corr", "proj")
    page = html.read_text()
    assert "Partial dependence assumes independent features" in page
    assert "echo" in page.split('<section id="dependence">')[1].split("</section>")[0]


def test_missing_labels_skip_what_needs_them() -> None:
    logistic = model("logistic")
    x, _ = explained(300)
    explanation = explain_model(
        logistic, x, threshold=0.5, ids=[str(i) for i in range(300)], y=None, local=[1],
        seed=0, options=OPTIONS,
    )  # fmt: skip
    assert explanation.permutation is None and explanation.ebm is None
    assert len(explanation.notes) == 2
