"""The periodic governance review (step 8 of the framework, "monitor and refine"): one report
on whether what is in production still meets the policy.

For each aliased model version (champion, challenger): its approvals and how long ago the
last one was (due for review past ``governance.policy.review_every_days``), what the policy
requires today that it lacks (policies change after promotion), its gate verdict. For the
project: the audit trail's verification and what happened on it during the period, by action.
Written as Markdown and HTML to ``reports/governance/``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ferryml.errors import AuditChainBrokenError
from ferryml.storage.atomic import atomic_write_text

if TYPE_CHECKING:
    from ferryml.pipeline import ProjectContext


@dataclass(frozen=True)
class ModelReview:
    version: str
    aliases: list[str]
    approvals: list[dict[str, Any]]
    last_approved: str | None
    due: bool
    missing: list[str]
    gates: str


@dataclass(frozen=True)
class Review:
    project: str
    at: datetime
    days: int
    risk_tier: str
    models: list[ModelReview]
    audit: str
    actions: dict[str, int] = field(default_factory=dict)

    @property
    def findings(self) -> list[str]:
        """What needs someone's attention; empty when all is in order."""
        found = []
        for model in self.models:
            if model.due:
                found.append(f"v{model.version} ({', '.join(model.aliases)}) is due for review")
            found.extend(f"v{model.version} lacks {item}" for item in model.missing)
        if not self.audit.startswith("intact"):
            found.append(f"audit trail: {self.audit}")
        return found


def review(context: ProjectContext) -> Review:
    """Review the project's aliased model versions and audit trail against the policy."""
    from ferryml.governance.policy import approvals_of, missing_for_promotion
    from ferryml.registry import ALIASES, ModelRegistry
    from ferryml.training.project import tracker_for

    policy = context.loaded.config.governance.policy
    now = context.clock.now()
    registry = ModelRegistry(
        tracker_for(context.loaded, context.workspace.root), context.workspace.project
    )
    models = []
    seen = set()
    for alias in ALIASES:
        version = registry.alias_version(alias)
        if version is None or version in seen:
            continue
        seen.add(version)
        registered = registry.get(version)
        approvals = approvals_of(registered)
        last = max((a.at for a in approvals), default=None)
        due = last is None or datetime.fromisoformat(last) < now - timedelta(
            days=policy.review_every_days
        )
        run = registry.tracker.get_run(registered.run_id) if registered.run_id else None
        models.append(
            ModelReview(
                version=version,
                aliases=list(registered.aliases),
                approvals=[a.as_dict() for a in approvals],
                last_approved=last,
                due=due and policy.required().approvals > 0,
                missing=missing_for_promotion(context, registry, registered),
                gates=run.data.tags.get("ferryml.gates", "not run") if run else "no run",
            )
        )
    try:
        audit = f"intact ({context.audit.verify()} entries)"
    except AuditChainBrokenError as exc:
        audit = f"BROKEN: {exc.message}"
    since = now - timedelta(days=policy.review_every_days)
    actions = Counter(e.action for e in context.audit.entries() if e.ts >= since)
    return Review(
        project=context.workspace.project,
        at=now,
        days=policy.review_every_days,
        risk_tier=policy.use_case.risk_tier,
        models=models,
        audit=audit,
        actions=dict(sorted(actions.items())),
    )


def write_review(context: ProjectContext, found: Review) -> tuple[Path, Path]:
    """The review as Markdown and HTML in ``reports/governance/``."""
    from markdown_it import MarkdownIt

    lines = [
        f"# Governance review: {found.project}",
        "",
        f"{found.at.isoformat(timespec='seconds')}; risk tier **{found.risk_tier}**; "
        f"period: the last {found.days} days.",
        "",
        "## Findings",
        "",
        *([f"- {item}" for item in found.findings] or ["- None: everything meets the policy."]),
        "",
        "## Models in production",
        "",
        "| version | aliases | gates | approvals | last approved | due | lacks (for champion) |",
        "|---|---|---|---|---|---|---|",
    ]
    for model in found.models:
        approvers = ", ".join(a["approver"] for a in model.approvals) or "none"
        lines.append(
            f"| {model.version} | {', '.join(model.aliases)} | {model.gates} | {approvers} | "
            f"{model.last_approved or 'never'} | {'yes' if model.due else 'no'} | "
            f"{'; '.join(model.missing) or 'nothing'} |"
        )
    lines += ["", "## Audit trail", "", f"Verification: {found.audit}.", ""]
    lines += ["| action | entries in the period |", "|---|---|"]
    lines += [f"| {action} | {count} |" for action, count in found.actions.items()]
    markdown = "\n".join(lines) + "\n"
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)
    html = (
        '<!doctype html><html lang="en"><meta charset="utf-8">'
        f"<title>Governance review: {found.project}</title><body>{body}</body></html>\n"
    )
    directory = context.workspace.reports / "governance"
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"review-{found.at.strftime('%Y%m%dT%H%M%S')}"
    paths = (directory / f"{stem}.md", directory / f"{stem}.html")
    atomic_write_text(paths[0], markdown)
    atomic_write_text(paths[1], html)
    return paths


__all__ = ["ModelReview", "Review", "review", "write_review"]
