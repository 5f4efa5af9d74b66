"""Soak: ``ferry serve`` under a fixed request rate for 10 minutes, and ``mlflow models serve``
of the same model under the same rate as the anchor.

Claim (issue 13, reliability): at a fixed rate on loopback the scoring service holds its
memory (growth of the server processes' resident memory after warm-up, MB and %), answers
every request (``errors``: non-200 answers, connection errors and timeouts) with a p99 that
does not drift over time, and its prediction log keeps up: at the end the predictions table
holds exactly the acknowledged requests. The anchor, ``mlflow models serve`` (same LightGBM
champion, same worker count, one ready-made feature row per request), runs the same rate for
the same time after it; the ratios are ferryml / anchor (memory growth, overall p99).

Load: an open-loop asyncio driver (aiohttp on uvloop). Request ``i`` leaves at ``start + i / rate``
whether or not earlier ones were answered, and its latency counts from that scheduled time:
a stalled server shows as latency, not as a lower rate (no coordinated omission; ``hey -q``
and ``wrk`` pace per connection and would hide it). ferryml gets real transactions of the
project (its customers, cards and merchants, so that profile rows and window state are real),
each with its own ``transaction_id``. Every ``--sample-seconds``: resident memory of every
process of the server's tree (the parent and its uvicorn workers), p50/p99, requests and
errors of the interval, requests in flight and, for ferryml, the prediction-log backlog
(``ferry_prediction_log_backlog_bytes`` from ``/metrics``).

Run: ``python benchmarks/soak.py [--minutes 10] [--anchor-minutes M] [--rate 25]
[--workers 2]``; ``--anchor-minutes 0`` skips the anchor. Writes ``results/soak.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx2 as httpx
import numpy as np
import orjson
import psutil
import pyarrow.parquet as pq
import uvloop

from _harness import write_result
from _workspace import free_port, quickstart
from serving import wait_ready

SETTINGS = ["training.models.ebm.outer_bags=1"]  # the reference project, one EBM bag
TIMEOUT_S = 10.0
MAX_CONNECTIONS = 64
BACKLOG = re.compile(r"^ferry_prediction_log_backlog_bytes(?:\{[^}]*\})? ([\d.e+]+)$", re.M)
JSON = {"content-type": "application/json"}


@dataclass
class Sample:
    """One interval of a run: what the client saw, and the server's memory at its end."""

    t_s: float
    requests: int
    errors: int
    p50_ms: float | None
    p99_ms: float | None
    in_flight: int
    rss_mb: float
    rss_mb_by_process: dict[str, float]
    backlog_bytes: float | None = None


@dataclass
class Run:
    """A whole run of one server: its samples, every latency and what went wrong."""

    samples: list[Sample] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    acknowledged: set[str] = field(default_factory=set)
    sent: int = 0
    pids_seen: set[int] = field(default_factory=set)
    send_lag_ms: list[float] = field(default_factory=list)
    """How late the driver created each request's task: its own share of the latency."""


def tree_rss(root: int) -> dict[str, float]:
    """Resident memory (MB) of ``root`` and every process below it, by ``role:pid``."""
    found: dict[str, float] = {}
    try:
        parent = psutil.Process(root)
        processes = [(parent, "parent"), *((p, "child") for p in parent.children(recursive=True))]
    except psutil.NoSuchProcess:
        return found
    for process, role in processes:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            found[f"{role}:{process.pid}"] = process.memory_info().rss / 2**20
    return found


async def drive(
    url: str,
    path: str,
    body: Callable[[int], bytes],
    *,
    rate: float,
    seconds: float,
    sample_s: float,
    server_pid: int,
    scrape_backlog: bool,
) -> Run:
    """Send ``rate`` requests per second for ``seconds`` (open loop), sampling as it goes."""
    run = Run()
    window: list[float] = []
    window_errors = 0
    in_flight = 0
    connector = aiohttp.TCPConnector(limit=MAX_CONNECTIONS)
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    async with aiohttp.ClientSession(url, connector=connector, timeout=timeout) as client:

        async def one(i: int, due: float) -> None:
            nonlocal window_errors, in_flight
            in_flight += 1
            try:
                async with client.post(path, data=body(i), headers=JSON) as response:
                    answer = await response.read()
                if response.status == 200:
                    if scrape_backlog:
                        run.acknowledged.add(orjson.loads(answer)["request_id"])
                else:
                    run.errors[f"status {response.status}"] += 1
                    window_errors += 1
            except (aiohttp.ClientError, TimeoutError) as exc:
                run.errors[type(exc).__name__] += 1
                window_errors += 1
            finally:
                in_flight -= 1
            latency = (time.perf_counter() - due) * 1000
            window.append(latency)
            run.latencies_ms.append(latency)

        async def take_sample(started: float) -> None:
            nonlocal window, window_errors
            done, errors = window, window_errors
            window, window_errors = [], 0
            rss = tree_rss(server_pid)
            run.pids_seen.update(int(k.split(":")[1]) for k in rss)
            backlog = None
            if scrape_backlog:
                with contextlib.suppress(aiohttp.ClientError, TimeoutError, ValueError):
                    async with client.get("/metrics") as response:
                        found = BACKLOG.findall(await response.text())
                    backlog = max(float(v) for v in found) if found else 0.0
            run.samples.append(
                Sample(
                    t_s=round(time.perf_counter() - started, 1),
                    requests=len(done),
                    errors=errors,
                    p50_ms=_percentile(done, 50),
                    p99_ms=_percentile(done, 99),
                    in_flight=in_flight,
                    rss_mb=round(sum(rss.values()), 1),
                    rss_mb_by_process={k: round(v, 1) for k, v in rss.items()},
                    backlog_bytes=backlog,
                )
            )

        async def sample(started: float) -> None:
            while True:
                due = started + sample_s * (len(run.samples) + 1)
                await asyncio.sleep(due - time.perf_counter())
                await take_sample(started)

        started = time.perf_counter()
        sampler = asyncio.create_task(sample(started))
        tasks: set[asyncio.Task[None]] = set()
        total = int(rate * seconds)
        for i in range(total):
            due = started + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(one(i, due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            run.send_lag_ms.append((time.perf_counter() - due) * 1000)
        run.sent = total
        if tasks:
            await asyncio.gather(*tasks)
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        await take_sample(started)  # the last, shorter interval
    return run


def _percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 2) if values else None


def start_server(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, stdout=log.open("ab"), stderr=subprocess.STDOUT, env=env)


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server and wait; then kill whatever of its own tree is left."""
    with contextlib.suppress(psutil.NoSuchProcess):
        children = psutil.Process(process.pid).children(recursive=True)
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()


def logged_requests(engine: Any, acknowledged: set[str], backlog_url: str) -> dict[str, Any]:
    """Wait until the prediction log has shipped, then compare the predictions table with the
    acknowledged requests (this run's transaction ids start with ``soak-``)."""
    from sqlalchemy import select

    from ferryml.storage.tables import predictions

    query = select(predictions.c.request_id, predictions.c.status).where(
        predictions.c.event_id.like("soak-%")
    )
    deadline, previous, rows = time.monotonic() + 120, -1, []
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            rows = conn.execute(query).all()
        if len(rows) == previous:
            break
        previous = len(rows)
        time.sleep(3)  # several ship intervals
    backlog = None
    with contextlib.suppress(httpx.HTTPError, ValueError):
        found = BACKLOG.findall(httpx.get(backlog_url, timeout=10).text)
        backlog = max(float(v) for v in found) if found else 0.0
    ok_ids = {r.request_id for r in rows if r.status == 200}
    return {
        "predictions_rows": len(rows),
        "predictions_rows_200": len(ok_ids),
        "acknowledged": len(acknowledged),
        "acknowledged_missing_from_table": len(acknowledged - ok_ids),
        "table_200_not_acknowledged": len(ok_ids - acknowledged),
        "backlog_bytes_at_end": backlog,
        "table_matches_acknowledged": acknowledged == ok_ids,
    }


def summarize(run: Run, warmup_s: float) -> dict[str, Any]:
    """Memory growth after warm-up (first vs last sample, and the fitted slope), errors and
    latency over the whole run."""
    steady = [s for s in run.samples if s.t_s >= warmup_s] or run.samples
    first, last = steady[0], steady[-1]
    growth = last.rss_mb - first.rss_mb
    slope = None
    if len(steady) >= 3:
        minutes = np.array([s.t_s for s in steady]) / 60
        slope = round(float(np.polyfit(minutes, [s.rss_mb for s in steady], 1)[0]), 3)
    p99s = [s.p99_ms for s in run.samples if s.p99_ms is not None]
    return {
        "requests": run.sent,
        "answered": len(run.latencies_ms),
        "errors": sum(run.errors.values()),
        "errors_by_kind": dict(run.errors),
        "p50_ms": _percentile(run.latencies_ms, 50),
        "p99_ms": _percentile(run.latencies_ms, 99),
        "p999_ms": _percentile(run.latencies_ms, 99.9),
        "max_ms": round(max(run.latencies_ms), 2) if run.latencies_ms else None,
        "p99_ms_worst_interval": max(p99s) if p99s else None,
        "driver_send_lag_p99_ms": _percentile(run.send_lag_ms, 99),
        "rss_mb_after_warmup": first.rss_mb,
        "rss_mb_at_end": last.rss_mb,
        "memory_growth_mb": round(growth, 1),
        "memory_growth_pct": round(100 * growth / first.rss_mb, 2) if first.rss_mb else None,
        "memory_slope_mb_per_min": slope,
        "processes_seen": len(run.pids_seen),
        "samples": [asdict(s) for s in run.samples],
    }


def print_table(name: str, run: Run) -> None:
    print(f"\n{name}")
    print(f"{'t (s)':>7} {'req':>6} {'err':>4} {'p50 ms':>8} {'p99 ms':>8} {'flight':>6} "
          f"{'RSS MB':>8}  {'backlog':>8}  per process (MB)")  # fmt: skip
    for s in run.samples:
        per = " ".join(f"{v:.0f}" for v in s.rss_mb_by_process.values())
        backlog = "" if s.backlog_bytes is None else f"{s.backlog_bytes:.0f}"
        print(
            f"{s.t_s:>7.0f} {s.requests:>6} {s.errors:>4} {s.p50_ms or 0:>8.2f} "
            f"{s.p99_ms or 0:>8.2f} {s.in_flight:>6} {s.rss_mb:>8.1f}  {backlog:>8}  {per}"
        )


def transactions(loaded: Any, root: Path, champion_run: str | None) -> list[str]:
    """Bodies of real transactions of the project, without their id and event time (scored
    now), as JSON objects missing the opening brace (the id goes in front)."""
    from ferryml.features.build import read_events
    from ferryml.pipeline import ProjectContext, resolve_version
    from ferryml.registered import feature_set_of
    from ferryml.registry import ModelRegistry
    from ferryml.training.project import tracker_for

    context = ProjectContext.open(loaded, create=False)
    registry = ModelRegistry(tracker_for(loaded, root), "fraud")
    feature_set, _ = feature_set_of(loaded, root, registry, champion_run)
    events = read_events(feature_set, resolve_version(context, "transactions").path)
    context.close()
    events = events.slice(max(0, events.num_rows - 2000))
    names = [n for n in feature_set.event_columns if n not in ("is_fraud", "label_time")]
    rows = events.select([n for n in names if n in events.column_names]).to_pylist()
    skip = ("event_time", "transaction_id")
    return [
        json.dumps({k: v for k, v in r.items() if v is not None and k not in skip}, default=str)[1:]
        for r in rows
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--anchor-minutes", type=float, default=None, help="default: --minutes")
    parser.add_argument("--rate", type=float, default=25.0, help="requests per second")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers of each server")
    parser.add_argument("--sample-seconds", type=float, default=15.0)
    parser.add_argument(
        "--warmup-seconds", type=float, default=None, help="default: 10 %% of the run, <= 60"
    )
    args = parser.parse_args()
    anchor_minutes = args.minutes if args.anchor_minutes is None else args.anchor_minutes
    seconds = args.minutes * 60
    warmup_s = min(60.0, seconds / 10) if args.warmup_seconds is None else args.warmup_seconds

    work, root = quickstart("ferryml-bench-soak-", SETTINGS)
    config = root / "configs" / "ferry.yaml"
    from ferryml.config.loader import load_config
    from ferryml.pipeline import ProjectContext
    from ferryml.registry import ModelRegistry
    from ferryml.training.project import tracker_for
    from ferryml.training.trainers import load_trained

    loaded = load_config(config, overrides=SETTINGS)
    registry = ModelRegistry(tracker_for(loaded, root), "fraud")
    champion = registry.get("champion")
    run_info = registry.tracker.get_run(champion.run_id or "")
    kind = run_info.data.tags["ferryml.model_kind"]
    bodies = transactions(loaded, root, champion.run_id)
    build = root / run_info.data.tags["ferryml.feature_build"]
    model = load_trained(kind, registry.download("champion", work / "model"))
    table = pq.read_table(build / "training.parquet", columns=model.features).slice(0, 200)
    feature_rows = [
        json.dumps({"dataframe_split": {"columns": model.features, "data": [list(r.values())]}})
        for r in table.to_pylist()
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMETHEUS_MULTIPROC")}
    env.update(
        MLFLOW_TRACKING_URI=f"sqlite:///{root / 'mlflow.db'}",
        # mlflow models serve starts `uvicorn` by name: the venv's bin must be on PATH
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    log = work / "servers.log"
    sets = [a for s in SETTINGS for a in ("--set", s)]

    def ferry_body(i: int) -> bytes:
        return f'{{"transaction_id":"soak-{i}",{bodies[i % len(bodies)]}'.encode()

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    ferry = start_server(
        [sys.executable, "-m", "ferryml", "serve", "-c", str(config), "--port", str(port),
         "--workers", str(args.workers), *sets],
        env, log,
    )  # fmt: skip
    try:
        wait_ready(url + "/health/ready", ferry)
        print(f"ferryml: {args.rate:g} req/s for {args.minutes:g} min, {args.workers} worker(s)")
        ours = uvloop.run(
            drive(url, "/v1/score", ferry_body, rate=args.rate, seconds=seconds,
                  sample_s=args.sample_seconds, server_pid=ferry.pid, scrape_backlog=True)
        )  # fmt: skip
        context = ProjectContext.open(loaded, create=False)
        check = logged_requests(context.engine, ours.acknowledged, url + "/metrics")
        context.close()
    finally:
        stop_server(ferry)
    print_table("ferryml", ours)

    theirs = None
    if anchor_minutes > 0:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        mlflow = start_server(
            [sys.executable, "-m", "mlflow", "models", "serve", "-m", champion.source, "-p",
             str(port), "--env-manager", "local", "-w", str(args.workers)],
            env, log,
        )  # fmt: skip
        try:
            wait_ready(url + "/ping", mlflow)
            print(f"mlflow: {args.rate:g} req/s for {anchor_minutes:g} min")
            theirs = uvloop.run(
                drive(url, "/invocations", lambda i: feature_rows[i % len(feature_rows)].encode(),
                      rate=args.rate, seconds=anchor_minutes * 60, sample_s=args.sample_seconds,
                      server_pid=mlflow.pid, scrape_backlog=False)
            )  # fmt: skip
        finally:
            stop_server(mlflow)
        print_table("mlflow models serve", theirs)

    figure = {**summarize(ours, warmup_s), **check}
    anchor = summarize(theirs, min(warmup_s, anchor_minutes * 6)) if theirs else {}
    ratios = {}
    if anchor:
        if anchor["p99_ms"]:
            ratios["p99_ratio_vs_mlflow"] = round(figure["p99_ms"] / anchor["p99_ms"], 3)
        # A ratio of two changes within the noise of resident memory (~1 MB) means nothing.
        if abs(anchor["memory_growth_mb"]) >= 1:
            ratios["memory_growth_ratio_vs_mlflow"] = round(
                figure["memory_growth_mb"] / anchor["memory_growth_mb"], 3
            )
        else:
            ratios["memory_growth_ratio_vs_mlflow"] = None
    figure.update(ratios, rate_per_s=args.rate, minutes=args.minutes, workers=args.workers)
    print(
        f"\nferryml: {figure['requests']} requests, {figure['errors']} errors, p99 "
        f"{figure['p99_ms']} ms, memory {figure['memory_growth_mb']:+} MB "
        f"({figure['memory_growth_pct']:+} %) after warm-up; table matches acknowledged: "
        f"{check['table_matches_acknowledged']}"
    )
    if anchor:
        print(
            f"mlflow:  {anchor['requests']} requests, {anchor['errors']} errors, p99 "
            f"{anchor['p99_ms']} ms, memory {anchor['memory_growth_mb']:+} MB "
            f"({anchor['memory_growth_pct']:+} %); ratios {ratios}"
        )
    shutil.rmtree(work, ignore_errors=True)  # kept when something failed, with the servers' log
    write_result(
        "soak",
        figure=figure,
        anchor=anchor,
        ratio=ratios.get("p99_ratio_vs_mlflow", float("nan")),
        anchor_description="mlflow models serve of the same LightGBM champion (--env-manager "
        "local, same worker count), one ready-made feature row per request on /invocations, "
        "same rate, run after ferryml",
        notes=f"open-loop asyncio driver (aiohttp, uvloop) on loopback, {args.rate:g} req/s, "
        "latency from each request's scheduled send time, 10 s timeout; memory = resident set "
        "of the server's process tree (psutil), growth from the first sample after "
        f"{warmup_s:g} s of warm-up to the last; driver and servers share the machine's cores",
    )


if __name__ == "__main__":
    main()
