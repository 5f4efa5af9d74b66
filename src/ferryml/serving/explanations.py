"""The right to explanation: a past decision, explained from the prediction log in plain words.

``GET /v1/explanations/{request_id}`` reads the decision's record (the features exactly as the
model saw them, the model version, score, threshold), reloads that model version (verified
against its registration hash), recomputes the per-feature contributions and answers:

- which model version decided, when, and the decision with its score and threshold;
- the reasons that pushed towards the decision, and those that pushed against it, in the
  words of the reason catalogue (:mod:`ferryml.explain.reasons`);
- what would have changed it: the fewest features which, had they been typical, flip it.

The recomputed score must equal the logged one: if it does not, the answer says so instead of
explaining a decision the model would not make today.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Engine, select

from ferryml.errors import InvalidInputError, NotFoundError
from ferryml.explain.reasons import Counterfactual, shown, top_reasons, what_would_change
from ferryml.registered import BLOCK
from ferryml.serving.deployment import Deployment
from ferryml.storage.db import transaction
from ferryml.storage.tables import predictions

REQUEST_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
SCORE_TOLERANCE = 1e-6


def explain_decision(
    engine: Engine,
    project: str,
    request_id: str,
    deployment_of: Callable[[str], Deployment],
    *,
    limit: int = 3,
    ship_interval_ms: int | None = None,
) -> dict[str, Any]:
    """The explanation of the decision answered to ``request_id``.

    ``deployment_of(version)``: the loaded deployment of a registered version. Raises
    :class:`~ferryml.errors.NotFoundError` for an unknown request id (or one the prediction
    log has not shipped yet) and :class:`~ferryml.errors.InvalidInputError` for a malformed
    id or a request that was refused rather than decided.
    """
    if not REQUEST_ID.match(request_id):
        raise InvalidInputError(
            f"request id {request_id[:80]!r} is malformed",
            hint="use the `request_id` of a scoring answer: up to 64 letters, digits, _ or -",
        )
    with transaction(engine, purpose="reading a decision from the prediction log") as conn:
        row = conn.execute(
            select(predictions).where(
                predictions.c.project == project, predictions.c.request_id == request_id
            )
        ).first()
    if row is None:
        wait = f" (every {ship_interval_ms} ms)" if ship_interval_ms else ""
        raise NotFoundError(
            f"no decision with request id {request_id!r} in the prediction log of {project!r}",
            hint="check the id; a request answered moments ago reaches the log when the "
            f"prediction log ships{wait}: retry shortly",
        )
    if row.status != 200 or row.model_version is None or row.score is None:
        raise InvalidInputError(
            f"request {request_id!r} was refused (HTTP {row.status}), not decided: "
            "there is no decision to explain",
            hint="the refusal's reason was in its answer and is in the prediction log",
        )
    record = json.loads(row.record)
    deployment = deployment_of(str(row.model_version))
    model = deployment.model
    logged = record.get("features") or {}
    values = np.array(
        [[math.nan if logged.get(name) is None else float(logged[name]) for name in model.features]]
    )
    score = float(model.predict_array(values)[0])
    contributions = model.contributions(values)
    answer: dict[str, Any] = {
        "request_id": request_id,
        "answered_at": _iso(row.ts),
        "event_id": row.event_id,
        "model": {"name": row.model_name, "version": str(row.model_version), "kind": model.kind},
        "decision": row.decision,
        "score": row.score,
        "threshold": row.threshold,
        "degraded": bool(row.degraded),
    }
    if abs(score - float(row.score)) > SCORE_TOLERANCE or contributions is None:
        answer["explanation"] = (
            f"Version {row.model_version} of {row.model_name} no longer gives this decision's "
            f"score from its logged features ({score:.6f} instead of {row.score:.6f}), so it "
            "cannot be explained faithfully. Contact the model's owner."
        )
        answer.update(reasons=[], counter_reasons=[], what_would_change=None)
        return answer
    catalogue = deployment.catalogue
    if catalogue is None:  # pragma: no cover - deployments are loaded with their catalogue
        raise InvalidInputError(f"version {row.model_version} has no reason catalogue")
    blocked = row.decision == BLOCK
    pushes, base = contributions[0, :-1], float(contributions[0, -1])
    towards = top_reasons(catalogue, pushes, values[0], up=blocked, limit=limit)
    against = top_reasons(catalogue, pushes, values[0], up=not blocked, limit=limit)
    change = what_would_change(model.features, pushes, base, float(row.threshold), blocked=blocked)
    answer.update(
        reasons=[reason.as_dict() for reason in towards],
        counter_reasons=[reason.as_dict() for reason in against],
        what_would_change=_change(change, blocked),
        explanation=_plain(answer, [r.text for r in towards], change, blocked),
    )
    return answer


def _change(change: Counterfactual, blocked: bool) -> dict[str, Any] | None:
    if change.score is None:
        return None
    other = "approve" if blocked else "block"
    return {"features": list(change.features), "score": change.score, "decision": other}


def _plain(
    answer: dict[str, Any], reasons: list[str], change: Counterfactual, blocked: bool
) -> str:
    model = answer["model"]
    verb = "blocked" if blocked else "approved"
    side = "at or above" if blocked else "below"
    text = (
        f"The transaction was {verb} by version {model['version']} of model {model['name']} "
        f"on {answer['answered_at']}: its risk score {shown(answer['score'])} is {side} the "
        f"threshold {shown(answer['threshold'])}."
    )
    if reasons:
        text += " Main reasons: " + "; ".join(reasons) + "."
    if change.score is not None:
        named = ", ".join(name.replace("_", " ") for name in change.features)
        other = "approved" if blocked else "blocked"
        text += (
            f" It would have been {other} had these been typical: {named} "
            f"(score {shown(change.score)})."
        )
    else:
        text += " No set of typical values alone would have changed the decision."
    return text


def _iso(value: datetime) -> str:
    # SQLite hands back naive datetimes (stored in UTC); PostgreSQL aware ones
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return aware.isoformat()


__all__ = ["explain_decision"]
