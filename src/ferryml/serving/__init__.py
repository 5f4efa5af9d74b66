"""Real-time serving: the champion behind FastAPI, with its feature path, reasons, degraded
mode and a prediction log that loses no acknowledged answer.

    service = ScoringService.open(context)           # loads the served alias, verified
    app = create_app(lambda: service)                 # or: ferry serve
    service.score({"transaction_id": "t1", ...}).body["decision"]
"""

from __future__ import annotations

from ferryml._lazy import lazy_exports

# Names load on first use: the config loader imports this package's config module, and a
# command that only reads a config should not pay for the rest of the stage.
_EXPORTS = {
    "Answer": "ferryml.serving.service",
    "Deployment": "ferryml.serving.deployment",
    "PredictionLog": "ferryml.serving.predlog",
    "PredictionLogConfig": "ferryml.serving.config",
    "Reason": "ferryml.serving.deployment",
    "RequestError": "ferryml.serving.request",
    "RequestFields": "ferryml.serving.request",
    "Scored": "ferryml.serving.deployment",
    "ScoringService": "ferryml.serving.service",
    "ServingConfig": "ferryml.serving.config",
    "Shipper": "ferryml.serving.predlog",
    "app_from_environment": "ferryml.serving.app",
    "create_app": "ferryml.serving.app",
    "load_deployment": "ferryml.serving.deployment",
}


__getattr__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "Answer",
    "Deployment",
    "PredictionLog",
    "PredictionLogConfig",
    "Reason",
    "RequestError",
    "RequestFields",
    "Scored",
    "ScoringService",
    "ServingConfig",
    "Shipper",
    "app_from_environment",
    "create_app",
    "load_deployment",
]
