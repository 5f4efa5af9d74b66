"""How the feature store fails: what Feast or an online store raises becomes a ferryml error
(Kedro's ``DatasetError`` pattern), and unknown names get a "did you mean" hint."""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Iterator, Sequence

from ferryml.errors import (
    DataError,
    FerryError,
    InvalidInputError,
    ServiceUnavailableError,
    StorageError,
)


@contextlib.contextmanager
def calling_feast(action: str, error: type[InvalidInputError] | type[DataError]) -> Iterator[None]:
    """ferryml's own errors pass through; everything Feast or a store raises is wrapped."""
    try:
        yield
    except FerryError:
        raise
    except Exception as exc:
        raise wrapped(action, exc, error) from exc


def wrapped(
    action: str, exc: Exception, error: type[InvalidInputError] | type[DataError]
) -> FerryError:
    """The ferryml error for ``exc``, raised trying to ``action``: Redis down is
    :class:`ServiceUnavailableError`, a store refusing is :class:`StorageError`, anything else
    from Feast is ``error``."""
    import sqlite3

    import redis

    if isinstance(exc, FerryError):
        return exc
    if isinstance(exc, redis.ConnectionError | redis.TimeoutError):
        return ServiceUnavailableError(
            f"Redis does not answer (trying to {action}): {exc}",
            hint="is Redis running? check features.online_store.url and storage.redis_url",
        )
    if isinstance(exc, redis.RedisError | sqlite3.Error):
        return StorageError(f"the online store refused to {action}: {exc}")
    return error(f"Feast could not {action}: {type(exc).__name__}: {exc}")


def did_you_mean(name: str, candidates: Sequence[str]) -> str:
    """A hint naming the closest candidate, or ``""``.

    >>> did_you_mean("customer_profil", ["customer_profile", "merchant_risk"])
    " (did you mean 'customer_profile'?)"
    """
    close = difflib.get_close_matches(name, candidates, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
