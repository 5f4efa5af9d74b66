"""Redaction of a subject's values inside text and JSON: reports, validation results.

A value is replaced where it stands as a whole token (not inside a longer id: redacting
``C1`` must leave ``C10`` alone), by :data:`REDACTED`::

    >>> redact_text("blocked C1 twice; C10 once", {"C1"})
    ('blocked [erased] twice; C10 once', 1)
    >>> redact_json({"sample_values": ["C1", "C2"]}, {"C1"})
    ({'sample_values': ['[erased]', 'C2']}, 1)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

REDACTED = "[erased]"
_EDGE = r"A-Za-z0-9_\-"


def token_pattern(tokens: Iterable[str]) -> re.Pattern[str] | None:
    """One regex matching any of ``tokens`` as a whole token (longest first)."""
    ordered = sorted({t for t in tokens if t}, key=len, reverse=True)
    if not ordered:
        return None
    alternatives = "|".join(re.escape(t) for t in ordered)
    return re.compile(rf"(?<![{_EDGE}])(?:{alternatives})(?![{_EDGE}])")


def redact_text(text: str, tokens: Iterable[str] | re.Pattern[str] | None) -> tuple[str, int]:
    """``text`` with every whole-token occurrence of ``tokens`` replaced; and how many."""
    pattern = tokens if isinstance(tokens, re.Pattern) or tokens is None else token_pattern(tokens)
    if pattern is None:
        return text, 0
    return pattern.subn(REDACTED, text)


def redact_json(value: Any, tokens: Iterable[str] | re.Pattern[str] | None) -> tuple[Any, int]:
    """A copy of a JSON value with the tokens redacted in every string (keys included)."""
    pattern = tokens if isinstance(tokens, re.Pattern) or tokens is None else token_pattern(tokens)
    if pattern is None:
        return value, 0
    return _walk(value, pattern)


def _walk(value: Any, pattern: re.Pattern[str]) -> tuple[Any, int]:
    if isinstance(value, str):
        return pattern.subn(REDACTED, value)
    if isinstance(value, list):
        items = [_walk(v, pattern) for v in value]
        return [v for v, _ in items], sum(n for _, n in items)
    if isinstance(value, dict):
        total = 0
        out = {}
        for key, item in value.items():
            new_key, k = pattern.subn(REDACTED, key) if isinstance(key, str) else (key, 0)
            new_item, n = _walk(item, pattern)
            out[new_key] = new_item
            total += k + n
        return out, total
    return value, 0


__all__ = ["REDACTED", "redact_json", "redact_text", "token_pattern"]
