"""Data sources of ferryml. Today: the synthetic card-transaction generator.

>>> from ferryml.data import synth
>>> synth.SynthConfig().days
90
"""

from __future__ import annotations

from ferryml.data import synth

__all__ = ["synth"]
