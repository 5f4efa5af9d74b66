"""``data.synth``: one generator per project kind, chosen by ``kind`` (``fraud`` when left out).

>>> from pydantic import TypeAdapter
>>> settings = TypeAdapter(SynthSettings)
>>> type(settings.validate_python({"days": 3})).__name__
'SynthConfig'
>>> type(settings.validate_python({"kind": "churn", "days": 14})).__name__
'ChurnSynthConfig'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Discriminator, Tag

from ferryml.data.synth.churn_config import ChurnSynthConfig
from ferryml.data.synth.config import SynthConfig

DEFAULT_KIND = "fraud"


def synth_kind(value: Any) -> str:
    """The generator a ``data.synth`` section selects: its ``kind``, else the fraud one."""
    if isinstance(value, Mapping):
        return str(value.get("kind", DEFAULT_KIND))
    return str(getattr(value, "kind", DEFAULT_KIND))


SynthSettings = Annotated[
    Annotated[SynthConfig, Tag("fraud")] | Annotated[ChurnSynthConfig, Tag("churn")],
    Discriminator(
        synth_kind,
        custom_error_type="synth_kind",
        custom_error_message="kind to be 'fraud' (the default) or 'churn'",
    ),
]
"""The settings of whichever generator ``kind`` names."""
