"""The closed loop of ``ferry quickstart``: the reference project scaled to run in minutes,
its data arriving as the story reaches it, a real ``ferry serve``, and the loop after the first
champion (replay, monitor, retrain, shadow, canary, promote) — see docs/quickstart.md.

    with running_server(config_path, log_path, SERVER_SETTINGS) as server:
        result = Loop(context, clock, arrival, feature_set, board, start=..., end=...).run(server)
    result.promoted                                   # the version promoted, if the loop closed
"""

from __future__ import annotations

from ferryml._lazy import lazy_exports

_EXPORTS = {
    "Arrival": "ferryml.quickstart.arrival",
    "Board": "ferryml.quickstart.loop",
    "HISTORY_END": "ferryml.quickstart.settings",
    "Loop": "ferryml.quickstart.loop",
    "LoopResult": "ferryml.quickstart.loop",
    "SERVER_SETTINGS": "ferryml.quickstart.loop",
    "SETTINGS": "ferryml.quickstart.settings",
    "Server": "ferryml.quickstart.server",
    "quickstart_config_text": "ferryml.quickstart.settings",
    "running_server": "ferryml.quickstart.server",
}

__getattr__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "HISTORY_END",
    "SERVER_SETTINGS",
    "SETTINGS",
    "Arrival",
    "Board",
    "Loop",
    "LoopResult",
    "Server",
    "quickstart_config_text",
    "running_server",
]
