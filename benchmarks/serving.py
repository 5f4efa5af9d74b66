"""Serving: ferryml's full scoring path against `mlflow models serve` of the same model.

Claim (issue: serving): ``POST /v1/score`` — request parsing, online features (Feast's SQLite
online store and the window state), the model, the threshold, the prediction log — answers at
>= 20x the requests per second of ``mlflow models serve`` (the anchor: MLflow's own server of
the same LightGBM model, which receives the features ready-made) at concurrency 8, with a p99
<= 2 ms at concurrency 1. One worker each, on the same machine, in one run.

Load: ``wrk`` (Debian package) closed-loop for 10 s per point, with a Lua script that sends
real transactions of the project (its customers, cards and merchants, so that profile rows
and window state are real) to ferryml, and one feature row in MLflow's ``dataframe_split``
shape to MLflow. Then a paced run (wrk's ``delay()``: each connection waits between requests,
so the offered rate is fixed near half of ferryml's measured capacity) for the tail latency,
repeated with a shadow challenger (the same model, scoring every request again in its shadow
process; claim: < 5 % added to p99) and with a hung one (its shadow process stopped with
SIGSTOP, again each time the worker restarts it). The paced run without shadow runs before and
after them; the overhead is against their mean.

Run: ``python benchmarks/serving.py`` (needs ``wrk``: ``apt-get install wrk``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pyarrow.parquet as pq

from _harness import write_result
from _workspace import free_port, quickstart

ROOT = Path(__file__).resolve().parent
SETTINGS = ["training.models.ebm.outer_bags=1"]  # the reference project, one EBM bag
DURATION_S = 10
TOKEN = "benchmark-admin-token"
SHADOW_SAMPLE = re.compile(r"^(ferry_shadow_\w+(?:\{[^}]*\})?) ([\d.e+]+)$", re.M)


def wait_ready(url: str, process: subprocess.Popen[bytes], seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url} not ready after {seconds} s")


def wrk(url: str, script: Path, connections: int, threads: int = 1) -> dict[str, float]:
    """Requests/s and latency percentiles (ms) of one wrk run."""
    threads = min(threads, connections)  # wrk needs a connection per thread
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{DURATION_S}s", "--latency",
        "-s", str(script), url,
    ]  # fmt: skip
    text = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    out = {"requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))}  # type: ignore[union-attr]
    for percent in ("50", "90", "99"):
        value, unit = re.search(rf"\s{percent}%\s+([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
        out[f"p{percent}_ms"] = round(float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit], 3)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    out["non_2xx"] = float(errors.group(1)) if errors else 0.0
    return out


def lua_bodies(bodies: list[str], path: str, delay_ms: float | None = None) -> str:
    """A wrk script cycling through ``bodies`` (JSON strings) on POST ``path``."""
    items = ",\n".join(json.dumps(b) for b in bodies)
    pacing = f"function delay() return {delay_ms} end\n" if delay_ms else ""
    return (
        f"local bodies = {{\n{items}\n}}\nlocal i = 0\n"
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        "function request()\n  i = i % #bodies + 1\n"
        f'  return wrk.format(nil, "{path}", nil, bodies[i])\nend\n{pacing}'
    )


class Hanger:
    """Keeps the server's shadow process stopped (SIGSTOP), and each one the worker starts
    after killing it, until the block ends."""

    def __init__(self, url: str) -> None:
        import threading

        self.url = url
        self.stopped: set[int] = set()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> Hanger:
        self._stop_shadow()
        self._thread.start()
        return self

    def _stop_shadow(self) -> None:
        shadow = httpx.get(self.url + "/v1/models", timeout=5).json().get("shadow") or {}
        pid = shadow.get("pid")
        if pid and pid not in self.stopped:
            os.kill(pid, signal.SIGSTOP)
            self.stopped.add(pid)

    def _loop(self) -> None:
        while not self._done.wait(0.2):
            self._stop_shadow()

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()
        for pid in self.stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


def admin(url: str, path: str, body: dict[str, Any]) -> None:
    headers = {"authorization": f"Bearer {TOKEN}"}
    response = httpx.post(url + path, json=body, headers=headers, timeout=30)
    if response.status_code != 202:
        raise SystemExit(f"{path}: {response.status_code} {response.text}")


def wait_shadow_ready(url: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        shadow = httpx.get(url + "/v1/models", timeout=5).json().get("shadow")
        if shadow and shadow["ready"]:
            return
        time.sleep(0.5)
    raise SystemExit(f"the shadow was not ready after {seconds} s")


def main() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    work, root = quickstart("ferryml-bench-serving-", SETTINGS)
    sets = [a for s in SETTINGS for a in ("--set", s)]
    config = root / "configs" / "ferry.yaml"

    from ferryml.config.loader import load_config
    from ferryml.features.build import read_events
    from ferryml.pipeline import ProjectContext, resolve_version
    from ferryml.registered import feature_set_of
    from ferryml.registry import ModelRegistry
    from ferryml.training.project import tracker_for

    loaded = load_config(config, overrides=SETTINGS)
    context = ProjectContext.open(loaded, create=False)
    registry = ModelRegistry(tracker_for(loaded, root), "fraud")
    champion = registry.get("champion")
    run = registry.tracker.get_run(champion.run_id or "")
    if run.data.tags.get("ferryml.model_kind") != "lightgbm":
        raise SystemExit("the champion is not LightGBM; the comparison is about LightGBM")
    feature_set, _ = feature_set_of(loaded, root, registry, champion.run_id)
    events = read_events(feature_set, resolve_version(context, "transactions").path)
    events = events.slice(max(0, events.num_rows - 2000))
    names = [n for n in feature_set.event_columns if n not in ("is_fraud", "label_time")]
    raw = []
    for i, row in enumerate(
        events.select([n for n in names if n in events.column_names]).to_pylist()
    ):
        body = {k: v for k, v in row.items() if v is not None and k != "event_time"}
        body["transaction_id"] = f"bench-{i}"
        raw.append(json.dumps(body, default=str))
    build = root / run.data.tags["ferryml.feature_build"]
    from ferryml.training.trainers import load_trained

    model = load_trained("lightgbm", registry.download("champion"))
    table = pq.read_table(build / "training.parquet", columns=model.features).slice(0, 200)
    feature_rows = [
        json.dumps({"dataframe_split": {"columns": model.features, "data": [list(r.values())]}})
        for r in table.to_pylist()
    ]

    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
        # mlflow models serve starts `uvicorn` by name: the venv's bin must be on PATH
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    ferry_port, mlflow_port = free_port(), free_port()
    ferry = subprocess.Popen(
        [sys.executable, "-m", "ferryml", "serve", "-c", str(config), "--port", str(ferry_port),
         "--workers", "1", *sets],
        stdout=(work / "ferry.log").open("wb"), stderr=subprocess.STDOUT,
        env={**os.environ, "FERRY_ADMIN_TOKEN": TOKEN},
    )  # fmt: skip
    mlflow = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "models", "serve", "-m", champion.source, "-p",
         str(mlflow_port), "--env-manager", "local", "-w", "1"],
        stdout=(work / "mlflow.log").open("wb"), stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    try:
        wait_ready(f"http://127.0.0.1:{ferry_port}/health/ready", ferry)
        wait_ready(f"http://127.0.0.1:{mlflow_port}/ping", mlflow)
        ferry_script = work / "ferry.lua"
        ferry_script.write_text(lua_bodies(raw, "/v1/score"))
        mlflow_script = work / "mlflow.lua"
        mlflow_script.write_text(lua_bodies(feature_rows, "/invocations"))
        ferry_url = f"http://127.0.0.1:{ferry_port}"
        mlflow_url = f"http://127.0.0.1:{mlflow_port}"
        wrk(ferry_url, ferry_script, 1)  # warm-up of both
        wrk(mlflow_url, mlflow_script, 1)
        figures: dict[str, Any] = {}
        for connections in (1, 8):
            figures[f"ferryml_c{connections}"] = wrk(ferry_url, ferry_script, connections, 2)
            figures[f"mlflow_c{connections}"] = wrk(mlflow_url, mlflow_script, connections, 2)
        capacity = figures["ferryml_c8"]["requests_per_s"]
        connections = 8
        delay = 1000 * connections / (capacity / 2)  # each connection waits: about half capacity
        paced_script = work / "paced.lua"
        paced_script.write_text(lua_bodies(raw, "/v1/score", delay_ms=round(delay, 3)))
        figures["ferryml_paced_half_capacity"] = wrk(ferry_url, paced_script, connections, 2)
        shadow = {"strategy": "shadow", "challenger": champion.version}
        admin(ferry_url, "/admin/routing", shadow)
        wait_shadow_ready(ferry_url)
        wrk(ferry_url, paced_script, connections, 2)  # the shadow's first requests: warm-up
        figures["ferryml_paced_shadow"] = wrk(ferry_url, paced_script, connections, 2)
        with Hanger(ferry_url) as hanger:
            time.sleep(1)
            figures["ferryml_paced_shadow_hung"] = wrk(ferry_url, paced_script, connections, 2)
        figures["ferryml_paced_shadow_hung"]["shadow_processes_stopped"] = len(hanger.stopped)
        scrape = httpx.get(ferry_url + "/metrics", timeout=10).text
        figures["ferryml_shadow_counts"] = {
            name: float(value)
            for name, value in SHADOW_SAMPLE.findall(scrape)
            if "bucket" not in name
        }
        admin(ferry_url, "/admin/routing", {"strategy": "single"})
        time.sleep(2)
        figures["ferryml_paced_half_capacity_after"] = wrk(ferry_url, paced_script, connections, 2)
    finally:
        for process in (ferry, mlflow):
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    shutil.rmtree(work, ignore_errors=True)  # kept when something failed, with both logs
    ratio = figures["ferryml_c8"]["requests_per_s"] / figures["mlflow_c8"]["requests_per_s"]
    base_p99 = (
        figures["ferryml_paced_half_capacity"]["p99_ms"]
        + figures["ferryml_paced_half_capacity_after"]["p99_ms"]
    ) / 2
    shadow_overhead = 100 * (figures["ferryml_paced_shadow"]["p99_ms"] / base_p99 - 1)
    hung_overhead = 100 * (figures["ferryml_paced_shadow_hung"]["p99_ms"] / base_p99 - 1)
    write_result(
        "serving",
        figure={
            "ratio_vs_mlflow_c8": round(ratio, 2),
            "p99_ms_c1": figures["ferryml_c1"]["p99_ms"],
            "shadow_p99_overhead_pct": round(shadow_overhead, 1),
            "hung_shadow_p99_overhead_pct": round(hung_overhead, 1),
            **{
                f"{k}_{m}": v
                for k, f in figures.items()
                if k.startswith("ferry")
                for m, v in f.items()
            },
        },
        anchor={
            f"{k}_{m}": v
            for k, f in figures.items()
            if k.startswith("mlflow")
            for m, v in f.items()
        },
        ratio=1 / ratio,
        anchor_description="mlflow models serve of the same LightGBM model (one uvicorn worker, "
        "local env), receiving one ready-made feature row per request in dataframe_split",
        notes="wrk closed loop, 10 s per point, 2 threads; ferryml's full path (parse, online "
        "features from Feast's SQLite store and the window state, model, threshold, prediction "
        "log); paced: wrk delay() per connection at about half of ferryml's c8 capacity, "
        "without shadow (before and after: the overheads are against their mean), with a shadow "
        "of the same model, and with its shadow process stopped (SIGSTOP) as a hung challenger",
    )


if __name__ == "__main__":
    main()
