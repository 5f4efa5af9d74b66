"""The one rule for project names, which namespace every row, key and experiment.

A project name becomes part of DB rows, Redis keys (``ferryml:{project}:…``), MLflow experiment
names and lock keys, so it is kept to characters that are safe in all of them::

    >>> validate_project_name("fraud-eu")
    'fraud-eu'

``validate_project_name("Fraud")`` raises :class:`~ferryml.errors.InvalidInputError`
stating the rule.
"""

from __future__ import annotations

import re

from ferryml.errors import InvalidInputError

PROJECT_NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,62}$"
"""1-63 lowercase letters, digits, '-' or '_', starting with a letter."""

PROJECT_NAME_RULE = "1-63 lowercase letters, digits, '-' or '_', starting with a letter"

_PROJECT_NAME = re.compile(PROJECT_NAME_PATTERN)


def validate_project_name(name: object) -> str:
    """Return ``name`` if it is a valid project name; raise :class:`InvalidInputError` otherwise."""
    # fullmatch, not match: `$` would accept a trailing newline.
    if not isinstance(name, str) or _PROJECT_NAME.fullmatch(name) is None:
        raise InvalidInputError(
            f"invalid project name {name!r}: a project name must be {PROJECT_NAME_RULE}",
            hint="rename the project (project.name in the config), e.g. 'fraud-eu'",
        )
    return name


__all__ = ["PROJECT_NAME_PATTERN", "PROJECT_NAME_RULE", "validate_project_name"]
