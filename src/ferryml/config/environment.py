"""The environment variables ferryml reads that are not config keys.

A variable ``FERRY_SECTION__KEY`` (two underscores between levels) sets the config key
``section.key`` (:mod:`ferryml.config.loader`); the names below, without a double underscore,
are switches read where they are used. Deployment files (compose, Kubernetes, Knative) may set
only these and config keys; a test checks every one they name.

    >>> is_config_variable("FERRY_STORAGE__DATABASE_URL"), is_config_variable("FERRY_ACTOR")
    (True, False)
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

PREFIX = "FERRY_"
NESTING = "__"

SWITCHES: Mapping[str, str] = MappingProxyType(
    {
        "FERRY_CONFIG": "The project config file when --config is not given (else the embedded "
        "reference project).",
        "FERRY_ACTOR": "Who acts, for the audit trail and approvals (default: the OS user).",
        "FERRY_ADMIN_TOKEN": "The scoring API's admin bearer token (the default name of "
        "serving.admin_token_env).",
        "FERRY_AUDIT_KEY": "The audit trail's HMAC key (the default name of "
        "governance.audit.key_env).",
        "FERRY_PII_KEY": "The key that pseudonymizes personal data at ingestion (the default "
        "name of data.ingest.pii_key_env).",
        "FERRY_GIT_SHA": "The commit recorded with a trained model when ferryml runs outside a "
        "git checkout (the images set it from their build argument GIT_SHA).",
        "FERRY_LOCK_FILE": "The dependency lock whose hash is recorded with a trained model "
        "when ferryml runs outside its checkout (the images' runtime lock).",
        "FERRY_SERVE_SET": "--set overrides, one per line, for the scoring app's processes: "
        "`ferry serve` hands its own to its workers; the Lambda adapter reads them too.",
    }
)
"""Every switch variable, with what it does."""


def is_config_variable(name: str) -> bool:
    """Whether ``name`` sets a config key (``FERRY_SECTION__KEY``) rather than a switch."""
    return name.startswith(PREFIX) and NESTING in name


__all__ = ["NESTING", "PREFIX", "SWITCHES", "is_config_variable"]
