"""Traffic replay: stored transactions sent through the scoring API in event-time order.

Later stages need real logged traffic: ``ferry simulate`` reads a dataset version's events,
sends each to ``POST /v1/score`` with its own event time (so windows and time features see
the time it happened, not the time of the replay), and posts each delayed label to
``POST /v1/labels`` once the replay has passed the moment the label arrived — a chargeback
never reaches the platform before its time. ``speed`` replays faster than real time
(3600: an hour per second); none sends as fast as the server answers. ``batch`` sends that
many events per ``POST /v1/score/batch`` call (each is still routed, scored, logged and
shadowed on its own); labels due before a batch's first event go before it.

Which events: :func:`select_period` cuts a time range out of a dataset version, and
:func:`scenario_period` names the range of one of the generator's drift scenarios, so that
``ferry simulate --scenario holiday_season --days 7`` replays the season's first week.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pyarrow as pa

    from ferryml.data.synth.churn_config import ChurnSynthConfig
    from ferryml.data.synth.config import SynthConfig


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


@dataclass
class Labels:
    """The delayed labels of replayed events, posted once the replay passes their arrival."""

    label_field: str
    label_time_field: str
    id_field: str
    batch: int = 100
    pending: list[tuple[float, int, dict[str, Any]]] = field(default_factory=list)
    """(label time, order, label), a heap."""
    _order: Iterator[int] = field(default_factory=itertools.count, repr=False)

    def hold(self, event: Mapping[str, Any]) -> None:
        """Keep ``event``'s label, if it has one, until its time comes."""
        arrives = event.get(self.label_time_field)
        if arrives is None:
            return
        label = {
            "event_id": str(event[self.id_field]),
            "label": int(event[self.label_field]),
            "label_time": _plain(arrives),
        }
        heapq.heappush(self.pending, (_seconds(arrives), next(self._order), label))

    def send_due(self, client: Poster, now: float, stats: ReplayStats) -> None:
        """Post, in batches, every label that arrived by ``now`` (epoch seconds)."""
        import orjson

        due = []
        while self.pending and self.pending[0][0] <= now:
            due.append(heapq.heappop(self.pending)[2])
        for start in range(0, len(due), self.batch):
            chunk = due[start : start + self.batch]
            response = client.post(
                "/v1/labels", content=orjson.dumps({"labels": chunk}), headers=_JSON
            )
            stats.labels_sent += len(chunk)
            if response.status_code == 200:
                stats.labels_new += int(response.json()["new"])


_JSON = {"content-type": "application/json"}


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
    batch: int = 1,
    labels: Labels | None = None,
) -> ReplayStats:
    """Send ``events`` (sorted by ``time_field``) to the API; labels follow in time.

    ``labels`` carries the labels still pending from an earlier replay of the same traffic
    (a replay in several legs); else one is made from the label fields, when given."""
    if labels is None and label_field and label_time_field:
        labels = Labels(label_field, label_time_field, id_field, batch=label_batch)
    stats = ReplayStats()
    first_event: float | None = None
    started = time.monotonic()
    chunk: list[Mapping[str, Any]] = []
    sent = 0

    def flush() -> None:
        nonlocal sent
        if not chunk:
            return
        if labels is not None:
            labels.send_due(client, _seconds(chunk[0][time_field]), stats)
        _score(client, chunk, fields, stats)
        if labels is not None:
            for event in chunk:
                labels.hold(event)
        sent += len(chunk)
        chunk.clear()
        if progress:
            progress(sent)

    for event in events:
        at = _seconds(event[time_field])
        if speed and first_event is not None:
            wait = (at - first_event) / speed - (time.monotonic() - started)
            if wait > 0:
                flush()  # what is due goes now, not after the wait
                time.sleep(wait)
        first_event = at if first_event is None else first_event
        chunk.append(event)
        if len(chunk) >= batch:
            flush()
    flush()
    stats.labels_pending = len(labels.pending) if labels is not None else 0
    return stats


def _score(
    client: Poster, events: Sequence[Mapping[str, Any]], fields: Sequence[str], stats: ReplayStats
) -> None:
    """One call: ``/v1/score`` for one event, ``/v1/score/batch`` for several."""
    import orjson

    bodies = [{name: _plain(e[name]) for name in fields if e.get(name) is not None} for e in events]
    if len(bodies) == 1:
        response = client.post("/v1/score", content=orjson.dumps(bodies[0]), headers=_JSON)
    else:
        payload = orjson.dumps({"transactions": bodies})
        response = client.post("/v1/score/batch", content=payload, headers=_JSON)
    status = response.status_code
    stats.sent += len(bodies)
    stats.statuses[status] = stats.statuses.get(status, 0) + len(bodies)
    if status != 200:
        if status == 422:
            stats.refused += len(bodies)
        else:
            stats.failed += len(bodies)
        return
    body = response.json()
    for answer in body["results"] if len(bodies) > 1 else [body]:
        stats.answered += 1
        stats.blocked += answer["decision"] == "block"
        stats.degraded += bool(answer["degraded"])


def _seconds(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return datetime.fromisoformat(str(value)).timestamp()


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def select_period(
    table: pa.Table,
    time_field: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int | None = None,
) -> pa.Table:
    """The events of ``[start, end)`` (either side open when None), sorted by event time,
    at most ``limit`` of them."""
    import pyarrow.compute as pc

    table = table.sort_by(time_field)
    column = table.column(time_field)
    if start is not None:
        table = table.filter(pc.greater_equal(column, start))
        column = table.column(time_field)
    if end is not None:
        table = table.filter(pc.less(column, end))
    return table.slice(0, limit) if limit is not None else table


def scenario_period(synth: SynthConfig | ChurnSynthConfig, name: str) -> tuple[datetime, datetime]:
    """The time range ``[first day, day after the last)`` of the generator's scenario
    ``name``, as the generator resolved it for the configured period."""
    from ferryml.errors import InvalidInputError

    active = {
        scenario_name: scenario
        for scenario_name, scenario in synth.scenarios.items()
        if scenario.in_effect(synth.start, synth.days)
    }
    if name not in active:
        known = ", ".join(active) or "none"
        raise InvalidInputError(
            f"scenario {name!r} is not in effect in the generated period "
            f"({synth.start}, {synth.days} days); scenarios in effect: {known}",
            hint="choose one of those, or enable it: --set "
            f"data.synth.scenarios.{name}.enabled=true (then generate and ingest again)",
        )
    first, last = active[name].window(synth.start, synth.days)
    return _midnight(first), _midnight(last + timedelta(days=1))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, dt_time(), tzinfo=UTC)


__all__ = ["Labels", "Poster", "ReplayStats", "replay", "scenario_period", "select_period"]
