"""The base every config model derives from: unknown keys are errors, values are immutable."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A config section: a typo in YAML is an error naming the key, never a silent default."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
