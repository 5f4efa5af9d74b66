"""Traffic replay: stored transactions sent through the scoring API in event-time order.

Later stages need real logged traffic: ``ferry simulate`` reads a dataset version's events,
sends each to ``POST /v1/score`` with its own event time (so windows and time features see
the time it happened, not the time of the replay), and posts each delayed label to
``POST /v1/labels`` once the replay has passed the moment the label arrived — a chargeback
never reaches the platform before its time. ``speed`` replays faster than real time
(3600: an hour per second); none sends as fast as the server answers.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


class Poster(Protocol):
    """What sends requests: an httpx client (or Starlette's TestClient, which is one)."""

    def post(self, url: str, *, content: bytes, headers: Mapping[str, str]) -> Any: ...


@dataclass
class ReplayStats:
    """What a replay sent and what came back."""

    sent: int = 0
    answered: int = 0
    refused: int = 0
    failed: int = 0
    blocked: int = 0
    degraded: int = 0
    labels_sent: int = 0
    labels_new: int = 0
    labels_pending: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def replay(
    client: Poster,
    events: Iterable[Mapping[str, Any]],
    *,
    fields: Sequence[str],
    time_field: str,
    id_field: str,
    label_field: str | None = None,
    label_time_field: str | None = None,
    speed: float | None = None,
    progress: Callable[[int], None] | None = None,
    label_batch: int = 100,
) -> ReplayStats:
    """Send ``events`` (sorted by ``time_field``) to the API; labels follow in time."""
    import orjson

    stats = ReplayStats()
    pending: list[tuple[float, int, dict[str, Any]]] = []  # (label time, order, label)
    headers = {"content-type": "application/json"}
    first_event: float | None = None
    started = time.monotonic()
    for count, event in enumerate(events, start=1):
        at = _seconds(event[time_field])
        if speed and first_event is not None:
            wait = (at - first_event) / speed - (time.monotonic() - started)
            if wait > 0:
                time.sleep(wait)
        first_event = at if first_event is None else first_event
        _send_due_labels(client, pending, at, stats, headers, label_batch)
        body = {name: _plain(event[name]) for name in fields if event.get(name) is not None}
        response = client.post("/v1/score", content=orjson.dumps(body), headers=headers)
        stats.sent += 1
        stats.statuses[response.status_code] = stats.statuses.get(response.status_code, 0) + 1
        if response.status_code == 200:
            answer = response.json()
            stats.answered += 1
            stats.blocked += answer["decision"] == "block"
            stats.degraded += bool(answer["degraded"])
        elif response.status_code == 422:
            stats.refused += 1
        else:
            stats.failed += 1
        if label_field and label_time_field and event.get(label_time_field) is not None:
            label = {
                "event_id": str(event[id_field]),
                "label": int(event[label_field]),
                "label_time": _plain(event[label_time_field]),
            }
            heapq.heappush(pending, (_seconds(event[label_time_field]), count, label))
        if progress:
            progress(count)
    stats.labels_pending = len(pending)  # they arrive after the replay's last event
    return stats


def _send_due_labels(
    client: Poster,
    pending: list[tuple[float, int, dict[str, Any]]],
    now: float,
    stats: ReplayStats,
    headers: Mapping[str, str],
    batch: int,
) -> None:
    import orjson

    due = []
    while pending and pending[0][0] <= now:
        due.append(heapq.heappop(pending)[2])
    for start in range(0, len(due), batch):
        chunk = due[start : start + batch]
        response = client.post(
            "/v1/labels", content=orjson.dumps({"labels": chunk}), headers=headers
        )
        stats.labels_sent += len(chunk)
        if response.status_code == 200:
            stats.labels_new += int(response.json()["new"])


def _seconds(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return datetime.fromisoformat(str(value)).timestamp()


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


__all__ = ["Poster", "ReplayStats", "replay"]
