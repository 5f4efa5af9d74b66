"""Who may change what is served: a bearer token, compared in constant time.

The token comes from the environment variable named by ``serving.admin_token_env`` (a secret
store injects it in production) or, failing that, from ``serving.admin_token_file``. With
neither, the admin endpoints answer 403: they are off, not open.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass
from pathlib import Path

from ferryml.serving.config import ServingConfig

MIN_TOKEN_LENGTH = 16


@dataclass(frozen=True)
class Refusal:
    status: int
    message: str


class AdminToken:
    """The admin token of a service, or its absence."""

    def __init__(self, token: str | None) -> None:
        self._token = token.encode() if token else None

    @classmethod
    def from_config(cls, config: ServingConfig, root: Path) -> AdminToken:
        token = os.environ.get(config.admin_token_env, "").strip()
        if not token and config.admin_token_file is not None:
            path = root / config.admin_token_file
            token = path.read_text().strip() if path.is_file() else ""
        if token and len(token) < MIN_TOKEN_LENGTH:
            token = ""  # a guessable token is no token: the endpoints stay off
        return cls(token or None)

    @property
    def enabled(self) -> bool:
        return self._token is not None

    def refusal(self, authorization: str | None) -> Refusal | None:
        """Why a request with this ``Authorization`` header may not act, or None."""
        if self._token is None:
            return Refusal(
                403,
                "the admin endpoints are off: set the admin token "
                f"(at least {MIN_TOKEN_LENGTH} characters) to use them",
            )
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not given:
            return Refusal(401, "an `Authorization: Bearer <token>` header is required")
        if not hmac.compare_digest(given.strip().encode(), self._token):
            return Refusal(401, "the admin token is wrong")
        return None


__all__ = ["MIN_TOKEN_LENGTH", "AdminToken", "Refusal"]
