"""Connection URLs as they may be shown: in messages, logs and printed configs.

>>> masked_url("postgresql+psycopg://ferry:s3cret@db:5432/ferryml")
'postgresql+psycopg://ferry:***@db:5432/ferryml'
>>> masked_url("redis://:s3cret@cache:6380/2")
'redis://:***@cache:6380/2'
>>> masked_url("http://mlflow:5000"), masked_url("not a url")
('http://mlflow:5000', 'not a url')
>>> masked_strings({"storage": {"redis_url": "redis://:pw@r:6379/0"}, "n": 3})
{'storage': {'redis_url': 'redis://:***@r:6379/0'}, 'n': 3}
"""

from __future__ import annotations

from typing import Any


def masked_url(url: str) -> str:
    """``url`` with its password, if it has one, replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    authority = rest.split("/", 1)[0]
    credentials, at, _ = authority.rpartition("@")
    if not sep or not at or ":" not in credentials:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{rest[len(credentials) + 1 :]}"


def masked_strings(value: Any) -> Any:
    """``value`` (nested dicts and lists) with every URL's password masked."""
    if isinstance(value, str):
        return masked_url(value) if "://" in value else value
    if isinstance(value, dict):
        return {key: masked_strings(item) for key, item in value.items()}
    if isinstance(value, list):
        return [masked_strings(item) for item in value]
    return value


__all__ = ["masked_strings", "masked_url"]
