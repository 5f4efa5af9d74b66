"""Data minimization and purpose limitation, as checks that refuse.

- **Minimization**: with ``governance.gdpr.allowed_features`` set, a model may use only the
  features it lists (names or ``fnmatch`` globs): a feature set declaring others is refused,
  naming each one.
- **Purpose limitation**: with ``governance.gdpr.training_purpose`` set, a model trains only on
  datasets whose ``governance.gdpr.purposes`` include it.

Both raise :class:`~ferryml.errors.PolicyViolationError` (exit 1, HTTP 409) listing every
problem at once::

    >>> from ferryml.governance.config import GdprConfig
    >>> rules = GdprConfig(allowed_features=["amount_eur", "customer_amount_*"])
    >>> check_minimization(["amount_eur", "customer_amount_sum_1h"], rules)
    >>> features_outside(["amount_eur", "customer_age"], rules)
    ['customer_age']
    >>> check_minimization(["customer_age"], rules)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ferryml.errors.PolicyViolationError: data minimization: feature(s) customer_age are not ...
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase

from ferryml.errors import PolicyViolationError
from ferryml.governance.config import GdprConfig


def features_outside(features: Iterable[str], rules: GdprConfig) -> list[str]:
    """The features the allow-list does not cover (none when there is no allow-list)."""
    allowed = rules.allowed_features
    if allowed is None:
        return []
    return [f for f in features if not any(fnmatchcase(f, pattern) for pattern in allowed)]


def check_minimization(features: Iterable[str], rules: GdprConfig) -> None:
    """Refuse features outside ``governance.gdpr.allowed_features``."""
    outside = features_outside(features, rules)
    if outside:
        raise PolicyViolationError(
            f"data minimization: feature(s) {', '.join(outside)} are not in "
            "governance.gdpr.allowed_features",
            hint="remove them from the feature definitions, or add them to the allow-list "
            "after a review of why they are needed",
        )


def check_purpose(datasets: Iterable[str], rules: GdprConfig) -> None:
    """Refuse training on datasets not collected for ``governance.gdpr.training_purpose``.

    ``datasets`` are names or ``dataset@version`` refs."""
    purpose = rules.training_purpose
    if purpose is None:
        return
    names = list(dict.fromkeys(ref.split("@", 1)[0] for ref in datasets))
    lacking = [name for name in names if purpose not in rules.purposes.get(name, [])]
    if lacking:
        declared = "; ".join(
            f"{name}: {', '.join(rules.purposes.get(name, [])) or 'none declared'}"
            for name in lacking
        )
        raise PolicyViolationError(
            f"purpose limitation: training for {purpose!r} on dataset(s) "
            f"{', '.join(lacking)}, whose data was not collected for it ({declared})",
            hint="train on data collected for this purpose, or (after a legal review) add "
            f"{purpose!r} to governance.gdpr.purposes of the dataset",
        )


def check_training(dataset_refs: Iterable[str], features: Iterable[str], rules: GdprConfig) -> None:
    """Both checks, as training runs them: the datasets' purposes, then the features."""
    check_purpose(dataset_refs, rules)
    check_minimization(features, rules)


__all__ = ["check_minimization", "check_purpose", "check_training", "features_outside"]
