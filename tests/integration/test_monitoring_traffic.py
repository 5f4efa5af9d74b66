"""Monitoring reads the prediction log as it is written (prediction log segments shipped to the
platform DB, labels through the serving path's insert), on SQLite and on PostgreSQL: only the
answers clients received, each event once, its period only, labels counted by the cutoff and
the maturity rule, columns from the logged features or else the request."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from conftest import RUN_ID, fresh_database
from ferryml.monitoring.traffic import read_traffic
from ferryml.serving.predlog import PredictionLog, Shipper
from ferryml.serving.service import insert_labels
from ferryml.storage import make_engine, upgrade

PROJECT = "monitored"
DAY = datetime(2026, 3, 2, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        made = make_engine(f"sqlite:///{tmp_path / 'ferryml.db'}")
        upgrade(made)
        yield made
        made.dispose()
        return
    with fresh_database(f"ferryml_monitor_{RUN_ID}") as url:
        made = make_engine(url)
        upgrade(made)
        yield made
        made.dispose()


def answer(
    n: int, *, arm: str = "champion", status: int = 200, day: int = 0, **extra: Any
) -> dict[str, Any]:
    at = DAY + timedelta(days=day, minutes=n)
    return {
        "request_id": f"r-{n}-{arm}-{status}",
        "ts": (at + timedelta(seconds=1)).isoformat(),
        "event_id": f"e-{n}",
        "event_time": at.isoformat(),
        "status": status,
        "model": {"name": "fraud", "version": "3" if arm == "champion" else "4", "alias": arm},
        "arm": arm,
        "score": n / 100,
        "decision": "block" if n % 2 else "approve",
        "threshold": 0.5,
        "degraded": n == 4,
        "latency_ms": 2.0,
        "request": {"amount": 10.0 * n, "merchant_category": f"c{n % 3}"},
        "features": {"amount_eur": 9.0 * n, "hour": None if n == 5 else 10.0},
        **extra,
    }


def test_monitoring_reads_what_clients_were_answered_with_labels_known_at_the_cutoff(
    engine: Engine, tmp_path: Path
) -> None:
    log = PredictionLog(tmp_path / "predlog", fsync_interval=0)
    records = [
        answer(1),
        answer(2, arm="challenger"),
        answer(3),
        answer(4),
        answer(5),
        answer(2, arm="shadow"),  # the challenger again, off the request path: not production
        answer(6, status=503),  # refused: no score reached the client
        answer(7, day=9),  # after the period
        answer(8, day=-1),  # before it
        answer(1, arm="challenger", ts=(DAY + timedelta(hours=3)).isoformat()),  # a retry
        answer(9, day=6),  # young: not matured at the cutoff
    ]
    for record in records:
        log.append(record)
    log.close()
    assert Shipper(tmp_path / "predlog", engine, PROJECT).ship_once() == len(records)
    cutoff = DAY + timedelta(days=10)

    def label(n: int, value: int, days_after: float) -> dict[str, Any]:
        when = DAY + timedelta(days=days_after)
        return {"project": PROJECT, "event_id": f"e-{n}", "label": value, "label_time": when,
                "received_at": when, "source": "test"}  # fmt: skip

    insert_labels(
        engine,
        [label(1, 1, 2), label(3, 1, 11), label(4, 0, 3), label(9, 1, 7), label(2, 1, 1)],
    )
    traffic = read_traffic(
        engine,
        PROJECT,
        start=DAY,
        end=DAY + timedelta(days=7),
        cutoff=cutoff,
        maturity_days=5,  # events before day 5 have matured
        columns=["amount_eur", "hour", "merchant_category", "missing"],
    )
    # 1 (its first answer), 2 (challenger), 3, 4, 5, 9: shadow, refused, outside and retry left out
    assert len(traffic) == 6
    assert traffic.version.tolist() == ["3", "4", "3", "3", "3", "3"]
    assert traffic.score.tolist() == [0.01, 0.02, 0.03, 0.04, 0.05, 0.09]
    assert traffic.blocked.tolist() == [True, False, True, False, True, True]
    assert traffic.degraded.tolist() == [False, False, False, True, False, False]
    # 1 and 2 positive; 3's chargeback came after the cutoff, 4 and 5 legitimate; 9 too young
    labels = traffic.label.tolist()
    assert labels[:5] == [1.0, 1.0, 0.0, 0.0, 0.0] and math.isnan(labels[5])
    assert traffic.columns["amount_eur"].tolist() == [9.0, 18.0, 27.0, 36.0, 45.0, 81.0]
    hour = traffic.columns["hour"]
    assert hour.dtype.kind == "f" and math.isnan(hour[4]) and hour[0] == 10.0
    assert traffic.columns["merchant_category"].tolist() == ["c1", "c2", "c0", "c1", "c2", "c0"]
    assert all(math.isnan(v) for v in traffic.columns["missing"])  # never logged: all null


def test_an_empty_period_is_empty_traffic_with_every_column(engine: Engine) -> None:
    traffic = read_traffic(
        engine,
        PROJECT,
        start=DAY,
        end=DAY + timedelta(days=1),
        cutoff=DAY,
        maturity_days=3,
        columns=["amount_eur"],
    )
    assert len(traffic) == 0 and list(traffic.columns) == ["amount_eur"]
