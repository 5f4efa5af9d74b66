"""The model card: what a reviewer, an approver or an auditor needs to know about one registered
model version, in Markdown and HTML, stored with the model (its run's ``model_card/``
artifacts) and in ``reports/cards/``.

Written at registration and again whenever something on it changes (gates, an approval, a
promotion), always from the records themselves: the project's policy (intended use, risk
tier, ethics, roles, limitations), the run's lineage tags and split (data versions and
periods), its metrics, the gate report of its run (overall and per subpopulation), the
features of its build with the personal data each derives from, the model's importance and
the reason-code catalogue, and the approvals recorded on the version.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, select_autoescape

from ferryml.storage.atomic import atomic_write_text

if TYPE_CHECKING:
    from mlflow.entities import Run

    from ferryml.features.graph import FeatureSet
    from ferryml.pipeline import ProjectContext
    from ferryml.registry import ModelRegistry, RegisteredVersion

CARD_ARTIFACTS = "model_card"
"""The run's artifact directory holding ``model_card.md`` and ``model_card.html``."""
_METRICS = ("pr_auc", "roc_auc", "precision", "recall", "recall_at_fpr", "expected_cost", "rows")
EXPLAIN_ARTIFACTS = "explain"
"""Where ``ferry explain`` stores its report on the run."""


@dataclass(frozen=True)
class CardFiles:
    markdown: Path
    html: Path


def write_card(context: ProjectContext, registry: ModelRegistry, version: str) -> CardFiles:
    """(Re)write the card of ``version``: ``reports/cards/`` and the run's artifacts."""
    from ferryml.training.tracking import mlflow_errors

    registered = registry.get(version)
    facts = card_facts(context, registry, registered)
    markdown, html = render_card(facts)
    directory = context.workspace.reports / "cards"
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"{registry.name}-v{registered.version}"
    files = CardFiles(directory / f"{stem}.md", directory / f"{stem}.html")
    atomic_write_text(files.markdown, markdown)
    atomic_write_text(files.html, html)
    if registered.run_id is not None:
        with (
            tempfile.TemporaryDirectory(prefix="ferryml-card-") as tmp,
            mlflow_errors(registry.tracker.uri, "store the model card with the model"),
        ):
            staged = Path(tmp) / CARD_ARTIFACTS
            staged.mkdir()
            (staged / "model_card.md").write_text(markdown)
            (staged / "model_card.html").write_text(html)
            registry.tracker.client.log_artifacts(registered.run_id, str(staged), CARD_ARTIFACTS)
    return files


def render_card(facts: dict[str, Any]) -> tuple[str, str]:
    """The card as Markdown, and as HTML rendered from that Markdown (one source: the two
    cannot disagree; raw HTML in config texts is escaped, never rendered)."""
    from markdown_it import MarkdownIt
    from markupsafe import Markup

    environment = Environment(
        loader=PackageLoader("ferryml", "resources/templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["fmt"] = _fmt
    markdown = environment.get_template("model_card.md.j2").render(**facts)
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)
    page = environment.get_template("model_card.html.j2").render(
        model=facts["model"], body=Markup(body)
    )
    return markdown, page


def _fmt(value: Any) -> str:
    """Numbers to four significant digits; missing values as a dash."""
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|")


def card_facts(
    context: ProjectContext, registry: ModelRegistry, registered: RegisteredVersion
) -> dict[str, Any]:
    """Everything the card shows, from the records (the templates only lay it out)."""
    from ferryml.governance.policy import approvals_of, owner_of

    config = context.loaded.config
    policy = config.governance.policy
    run = registry.tracker.get_run(registered.run_id) if registered.run_id else None
    tags = run.data.tags if run else {}
    params = run.data.params if run else {}
    metrics = run.data.metrics if run else {}
    features, catalogue = _features(context, registry, registered, run)
    return {
        "project": config.project.name,
        "description": config.project.description,
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": {
            "name": registry.name,
            "version": registered.version,
            "aliases": list(registered.aliases),
            "kind": registered.tags.get("ferryml.model_kind", "unknown"),
            "sha256": registered.sha256,
            "threshold": registered.tags.get("ferryml.threshold"),
            "run_id": registered.run_id,
        },
        "use_case": policy.use_case.model_dump(),
        "ethics": list(policy.ethics),
        "roles": {
            "owner": owner_of(context, registry, registered),
            "reviewers": list(policy.roles.reviewers),
            "approvers": list(policy.roles.approvers),
            "project_owners": list(config.project.owners),
        },
        "required": policy.required().model_dump(),
        "data": {
            "dataset": tags.get("ferryml.dataset"),
            "dataset_hash": tags.get("ferryml.dataset_hash"),
            "feature_set_version": tags.get("ferryml.feature_set_version"),
            "fit_until": tags.get("ferryml.fit_until"),
            "label_cutoff": tags.get("ferryml.label_cutoff"),
            "periods": {
                key.removeprefix("split."): value
                for key, value in sorted(params.items())
                if key.startswith("split.")
            },
            "rows": {
                key.removeprefix("data."): value
                for key, value in sorted(params.items())
                if key.startswith("data.") and key.endswith(("_rows", "_positives"))
            },
            "code": {
                "git_sha": tags.get("ferryml.git_sha"),
                "lock_sha256": tags.get("ferryml.lock_sha256"),
                "config_sha256": tags.get("ferryml.config_sha256"),
                "seed": tags.get("ferryml.seed"),
            },
        },
        "metrics": {
            split: {name: metrics.get(f"{split}_{name}") for name in _METRICS}
            for split in ("validation", "test")
        },
        "gates": _gates(registry, run),
        "features": features,
        "pii_columns": config.schema_.pii_columns,
        "reasons": catalogue,
        "explanation_reports": _explanation_reports(registry, run),
        "approvals": [approval.as_dict() for approval in approvals_of(registered)],
    }


def _explanation_reports(registry: ModelRegistry, run: Run | None) -> list[str]:
    """The run's explanation reports (artifact paths), newest name last."""
    if run is None:
        return []
    client = registry.tracker.client
    found: list[str] = []
    for entry in client.list_artifacts(run.info.run_id):
        if not entry.path.startswith(EXPLAIN_ARTIFACTS):
            continue
        if entry.is_dir:
            inside = client.list_artifacts(run.info.run_id, entry.path)
            found.extend(item.path for item in inside if not item.is_dir)
        else:
            found.append(entry.path)
    return sorted(found)


def _features(
    context: ProjectContext,
    registry: ModelRegistry,
    registered: RegisteredVersion,
    run: Run | None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The model's features (description, PII sources, importance) and reason catalogue."""
    from ferryml.explain.reasons import ReasonCatalogue
    from ferryml.registered import feature_set_of

    if run is None:
        return [], []
    feature_set, _ = feature_set_of(
        context.loaded, context.workspace.root, registry, run.info.run_id
    )
    importance = _importance(registry, run.info.run_id)
    pii = pii_sources(feature_set)
    names = list(importance) or list(feature_set.output_names)
    descriptions = {spec.name: spec.description for spec in feature_set.outputs}
    owners = {spec.name: spec.owner for spec in feature_set.outputs}
    rows: list[dict[str, Any]] = [
        {
            "name": name,
            "description": descriptions.get(name, ""),
            "owner": owners.get(name, ""),
            "importance": importance.get(name),
            "pii_sources": sorted(pii.get(name, ())),
        }
        for name in names
    ]
    rows.sort(key=lambda row: -float(row["importance"] or 0.0))
    catalogue = ReasonCatalogue.build(
        names,
        descriptions=descriptions,
        texts=context.loaded.config.governance.reasons,
        strict=True,
    )
    return rows, catalogue.as_rows()


def pii_sources(feature_set: FeatureSet) -> dict[str, set[str]]:
    """Each feature's personal-data columns: read directly, used as the key it is computed
    per (a card's 24-hour count is about that card's holder), or inherited from its inputs."""
    from ferryml.features.graph import WindowNode

    pii = set(feature_set.schema.pii_columns)
    sources: dict[str, set[str]] = {}

    def of(name: str) -> set[str]:
        return sources.get(name, {name} & pii)

    for profile in feature_set.profiles:
        for column in profile.definition.columns:
            sources[column] = {profile.key_column} & pii
    for rate in feature_set.label_rates:
        sources[rate.output.name] = {rate.key_column} & pii
    for node in feature_set.order:
        if isinstance(node, WindowNode):
            found = of(node.key_column) | of(node.value)
            for spec in node.outputs:
                sources[spec.name] = found
        else:
            found = set().union(*(of(name) for name in node.inputs)) if node.inputs else set()
            for spec in node.outputs:
                sources[spec.name] = found
    return sources


def _importance(registry: ModelRegistry, run_id: str) -> dict[str, float]:
    from ferryml.training.tracking import is_missing

    try:
        with tempfile.TemporaryDirectory(prefix="ferryml-card-") as tmp:
            path = registry.tracker.client.download_artifacts(run_id, "model_importance.json", tmp)
            raw = json.loads(Path(path).read_text())
    except Exception as exc:
        if is_missing(exc):
            return {}
        raise
    return dict(sorted(((str(k), float(v)) for k, v in raw.items()), key=lambda kv: -kv[1]))


def _gates(registry: ModelRegistry, run: Run | None) -> dict[str, Any]:
    """The verdict and checks of the run's gate report, the subpopulations apart."""
    if run is None or "ferryml.gates" not in run.data.tags:
        return {"verdict": "not run", "results": [], "subpopulations": []}
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="ferryml-card-") as tmp:
        for entry in registry.tracker.client.list_artifacts(run.info.run_id, "gates"):
            if entry.path.endswith(".json"):
                local = registry.tracker.client.download_artifacts(run.info.run_id, entry.path, tmp)
                report = json.loads(Path(local).read_text())
    results = [
        {"gate": g["gate"], "status": g["status"], "summary": g.get("summary", "")}
        for g in report.get("gates", [])
    ]
    subpopulations = [
        check
        for g in report.get("gates", [])
        if g["gate"] == "fairness"
        for check in g.get("checks", [])
    ]
    return {
        "verdict": run.data.tags["ferryml.gates"],
        "against": run.data.tags.get("ferryml.gates.against"),
        "results": results,
        "subpopulations": subpopulations,
    }


__all__ = [
    "CARD_ARTIFACTS",
    "EXPLAIN_ARTIFACTS",
    "CardFiles",
    "card_facts",
    "pii_sources",
    "write_card",
]
