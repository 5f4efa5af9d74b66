"""Cold start: the time from process start to the first answered scoring request.

Claim (issue 12, serverless): what a scale-to-zero platform (Knative) or a function platform
(AWS Lambda) makes the first request after idle wait, measured locally for

- ``ferry serve`` (uvicorn, one worker): ``Popen`` to the first 200 on ``POST /v1/score`` (the
  client retries every 10 ms while the port refuses);
- the Lambda handler (:mod:`ferryml.serving.lambda_adapter`) in a fresh Python process: its
  import and first invocation with an API Gateway HTTP API event of ``POST /v1/score``, to the
  line the process prints with the answer's statusCode 200; then 50 warm invocations (the
  median is the per-request cost of the function, prediction-log shipping included);
- the anchor, ``mlflow models serve --env-manager local`` (one worker) of the same registered
  model: ``Popen`` to the first 200 on ``POST /invocations`` with one ready-made feature row.

Each is started REPEAT times, interleaved, after one unmeasured start of each (the page cache
then holds the files, as on a node that ran the image before); medians are reported, and the
ratios ferryml / anchor. Where the Lambda cold start goes: the same steps run one by one in a
fresh process under ``python -X importtime`` (interpreter, imports of the web stack and
ferryml, config, project, model and features, the online store's warm-up, the first read of
the online store, the rest of the service's warm-up, first score), each step's time split
into imports (depth-0 imports under it) and the rest, and the imports by top-level package
(self time).

Run: ``python benchmarks/cold_start.py``. Writes ``benchmarks/results/cold_start.json``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pyarrow.parquet as pq

from _harness import write_result
from _workspace import free_port, quickstart
from ferryml.quickstart.server import terminate

SETTINGS = ["training.models.ebm.outer_bags=1"]  # the reference project, one EBM bag
REPEAT = 5
POLL_S = 0.01
WARM_INVOCATIONS = 50

LAMBDA_CHILD = """
import json, sys, time
start = time.perf_counter()
from ferryml.serving.lambda_adapter import handler
imported = time.perf_counter()
event = json.loads(open(sys.argv[1]).read())
answer = handler(event, None)
done = time.perf_counter()
print(json.dumps({"status": answer["statusCode"], "start": start, "imported": imported,
                  "done": done}), flush=True)
warm = []
for _ in range(int(sys.argv[2])):
    begin = time.perf_counter()
    assert handler(event, None)["statusCode"] == 200
    warm.append(time.perf_counter() - begin)
warm.sort()
print(json.dumps({"warm_p50_s": warm[len(warm) // 2], "warm_max_s": warm[-1]}), flush=True)
"""

PHASES_CHILD = """
import os, sys, time
def mark(name):
    os.write(2, f"PHASE {name} {time.perf_counter()!r}\\n".encode())
mark("interpreter")
import mangum, fastapi, ferryml.serving.app, ferryml.serving.service, ferryml.pipeline
mark("import_web_stack_and_ferryml")
from pathlib import Path
from ferryml.config.loader import load_config
from ferryml.pipeline import ProjectContext
from ferryml.serving.service import ScoringService
loaded = load_config(Path(os.environ["FERRY_CONFIG"]),
                     overrides=os.environ.get("FERRY_SERVE_SET", "").splitlines())
serving = loaded.config.serving
serving = serving.model_copy(update={"prediction_log": serving.prediction_log.model_copy(
    update={"directory": Path(sys.argv[2])})})
mark("config")
context = ProjectContext.open(loaded, create=False)
mark("project")
service = ScoringService.open(context, serving)
mark("model_and_features")
deployment = service.deployment
deployment.online.warm_up()
mark("online_store_warm_up")
lookups = [(node.name, "__ferryml_warm_up__") for node in deployment.feature_set.joined_views]
deployment.online.reader.read_online_rows(lookups)
mark("first_online_read")
service.start()
mark("rest_of_warm_up")
import json
answer = service.score(json.loads(open(sys.argv[1]).read()))
assert answer.status == 200, answer.body
mark("first_score")
service.stop()
context.close()
"""

IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)$")


def child_env(root: Path, config: Path) -> dict[str, str]:
    """The environment of every measured process: the project's config and settings, and no
    multiprocess-metrics directory that this process (or a library in it) may have set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMETHEUS_MULTIPROC")}
    env.update(
        FERRY_CONFIG=str(config),
        FERRY_SERVE_SET="\n".join(SETTINGS),
        MLFLOW_TRACKING_URI=f"sqlite:///{root / 'mlflow.db'}",
        # mlflow models serve starts `uvicorn` by name: the venv's bin must be on PATH
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    return env


def until_answered(
    process: subprocess.Popen[bytes], url: str, body: str, start: float, limit_s: float = 300
) -> float:
    """Seconds from ``start`` to the first 200 of POST ``url``, retried every POLL_S."""
    with httpx.Client(timeout=30) as client:
        while time.perf_counter() - start < limit_s:
            if process.poll() is not None:
                raise SystemExit(f"{url}: the server exited with {process.returncode}")
            try:
                response = client.post(
                    url, content=body, headers={"content-type": "application/json"}
                )
                if response.status_code == 200:
                    return time.perf_counter() - start
                raise SystemExit(f"{url}: {response.status_code} {response.text[:300]}")
            except httpx.TransportError:
                time.sleep(POLL_S)
    raise SystemExit(f"{url} did not answer within {limit_s} s")


def ferry_serve(config: Path, env: dict[str, str], body: str, log: Path) -> float:
    port = free_port()
    sets = [a for s in SETTINGS for a in ("--set", s)]
    command = [
        sys.executable, "-m", "ferryml", "serve", "-c", str(config), "--port", str(port),
        "--workers", "1", *sets,
    ]  # fmt: skip
    with log.open("ab") as out:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            return until_answered(process, f"http://127.0.0.1:{port}/v1/score", body, start)
        finally:
            terminate(process)


def mlflow_serve(model_uri: str, env: dict[str, str], body: str, log: Path) -> float:
    port = free_port()
    command = [
        sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri, "-p", str(port),
        "--env-manager", "local", "-w", "1",
    ]  # fmt: skip
    with log.open("ab") as out:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            return until_answered(process, f"http://127.0.0.1:{port}/invocations", body, start)
        finally:
            terminate(process)


def lambda_function(event: Path, env: dict[str, str]) -> dict[str, float]:
    """The cold start (and its parts) of the Lambda handler in a fresh process."""
    command = [sys.executable, "-c", LAMBDA_CHILD, str(event), str(WARM_INVOCATIONS)]
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert process.stdout is not None
    first = process.stdout.readline()
    answered = time.perf_counter()
    warm = process.stdout.readline()
    _, errors = process.communicate(timeout=300)
    if process.returncode != 0 or not first:
        raise SystemExit(f"the Lambda child failed: {errors.decode()[-2000:]}")
    marks, warm_marks = json.loads(first), json.loads(warm)
    if marks["status"] != 200:
        raise SystemExit(f"the Lambda handler answered {marks['status']}")
    return {
        "total_s": answered - start,
        "interpreter_s": marks["start"] - start,  # CLOCK_MONOTONIC in both processes
        "import_adapter_s": marks["imported"] - marks["start"],
        "first_invocation_s": marks["done"] - marks["imported"],
        "warm_invocation_p50_s": warm_marks["warm_p50_s"],
        "warm_invocation_max_s": warm_marks["warm_max_s"],
    }


def phases(body: Path, env: dict[str, str], spool: Path) -> tuple[dict[str, float], ...]:
    """The Lambda cold start's steps under -X importtime: each step's seconds, the seconds of
    the imports it triggered, and the import self-seconds by top-level package."""
    command = [sys.executable, "-X", "importtime", "-c", PHASES_CHILD, str(body), str(spool)]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        raise SystemExit(f"the phases child failed: {result.stderr[-3000:]}")
    totals: dict[str, float] = {}
    imports: dict[str, float] = defaultdict(float)
    packages: dict[str, float] = defaultdict(float)
    pending = 0.0
    previous = start
    for line in result.stderr.splitlines():
        if line.startswith("PHASE "):
            _, name, at = line.split()
            totals[name] = float(at) - previous
            imports[name] = pending
            previous, pending = float(at), 0.0
            continue
        match = IMPORT_LINE.match(line)
        if match is None:
            continue
        self_us, cumulative_us, indent, module = match.groups()
        packages[module.split(".")[0]] += int(self_us) / 1e6
        if len(indent) == 1:  # depth 0: imported by code, not by another import
            pending += int(cumulative_us) / 1e6
    return totals, dict(imports), dict(packages)


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    keys = {k for run in runs for k in run}
    return {k: statistics.median(run.get(k, 0.0) for run in runs) for k in sorted(keys)}


def main() -> None:
    work, root = quickstart("ferryml-bench-cold-start-", SETTINGS)
    config = root / "configs" / "ferry.yaml"

    from ferryml.config.loader import load_config
    from ferryml.features.build import read_events
    from ferryml.pipeline import ProjectContext, resolve_version
    from ferryml.registered import feature_set_of
    from ferryml.registry import ModelRegistry
    from ferryml.training.project import tracker_for
    from ferryml.training.trainers import load_trained

    loaded = load_config(config, overrides=SETTINGS)
    context = ProjectContext.open(loaded, create=False)
    registry = ModelRegistry(tracker_for(loaded, root), "fraud")
    champion = registry.get("champion")
    run = registry.tracker.get_run(champion.run_id or "")
    kind = run.data.tags["ferryml.model_kind"]
    feature_set, build = feature_set_of(loaded, root, registry, champion.run_id)
    events = read_events(feature_set, resolve_version(context, "transactions").path)
    names = [n for n in feature_set.event_columns if n not in ("is_fraud", "label_time")]
    row = events.select([n for n in names if n in events.column_names]).slice(events.num_rows - 1)
    transaction = {k: v for k, v in row.to_pylist()[0].items() if v is not None}
    transaction.pop("event_time", None)  # scored now, as a live request
    transaction["transaction_id"] = "cold-start"
    body = json.dumps(transaction, default=str)
    (work / "model").mkdir()
    model = load_trained(kind, registry.download("champion", work / "model"))
    features = pq.read_table(build / "training.parquet", columns=model.features).slice(0, 1)
    feature_row = json.dumps(
        {
            "dataframe_split": {
                "columns": model.features,
                "data": [list(features.to_pylist()[0].values())],
            }
        }
    )
    context.close()

    event = work / "event.json"
    event.write_text(
        json.dumps(
            {
                "version": "2.0",
                "routeKey": "$default",
                "rawPath": "/v1/score",
                "rawQueryString": "",
                "headers": {"content-type": "application/json", "host": "lambda.local"},
                "requestContext": {
                    "http": {"method": "POST", "path": "/v1/score", "sourceIp": "127.0.0.1"},
                    "stage": "$default",
                },
                "body": body,
                "isBase64Encoded": False,
            }
        )
    )
    (work / "body.json").write_text(body)
    env = child_env(root, config)
    log = work / "servers.log"

    def one_round() -> tuple[float, dict[str, float], float]:
        return (
            ferry_serve(config, env, body, log),
            lambda_function(event, env),
            mlflow_serve(champion.source, env, feature_row, log),
        )

    one_round()  # warm-up: the page cache, compiled bytecode, MLflow's first database use
    rounds = [one_round() for _ in range(REPEAT)]
    serve_s = statistics.median(r[0] for r in rounds)
    lambda_parts = median_of([r[1] for r in rounds])
    mlflow_s = statistics.median(r[2] for r in rounds)
    instrumented = [phases(work / "body.json", env, work / "spool") for _ in range(3)]
    steps = median_of([p[0] for p in instrumented])
    step_imports = median_of([p[1] for p in instrumented])
    packages = median_of([p[2] for p in instrumented])
    top = sorted(packages.items(), key=lambda item: -item[1])[:12]
    shutil.rmtree(work, ignore_errors=True)  # kept when something failed, with the servers' log

    figure: dict[str, Any] = {
        "ferry_serve_cold_start_s": round(serve_s, 3),
        "lambda_cold_start_s": round(lambda_parts["total_s"], 3),
        "ratio_ferry_serve_vs_mlflow": round(serve_s / mlflow_s, 3),
        "ratio_lambda_vs_mlflow": round(lambda_parts["total_s"] / mlflow_s, 3),
        **{f"lambda_{k}": round(v, 4) for k, v in lambda_parts.items() if k != "total_s"},
        "ferry_serve_runs_s": [round(r[0], 3) for r in rounds],
        "lambda_runs_s": [round(r[1]["total_s"], 3) for r in rounds],
        **{f"step_{k}_s": round(v, 3) for k, v in steps.items()},
        **{f"step_{k}_imports_s": round(v, 3) for k, v in step_imports.items()},
        "imports_total_s": round(sum(packages.values()), 3),
        **{f"imports_self_s_{name}": round(seconds, 3) for name, seconds in top},
    }
    write_result(
        "cold_start",
        figure=figure,
        anchor={
            "mlflow_models_serve_cold_start_s": round(mlflow_s, 3),
            "mlflow_runs_s": [round(r[2], 3) for r in rounds],
        },
        ratio=serve_s / mlflow_s,
        anchor_description=f"mlflow models serve --env-manager local -w 1 of the same registered "
        f"model ({kind}, {champion.source}), first 200 on POST /invocations with one ready-made "
        "feature row (dataframe_split)",
        notes=f"medians of {REPEAT} starts each, interleaved, after one unmeasured start of "
        "each (warm page cache); ferry serve: first 200 on POST /v1/score, polled every 10 ms; "
        "lambda: a fresh python importing ferryml.serving.lambda_adapter and answering one "
        "API Gateway v2 event, timed to the line it prints (then 50 warm invocations, "
        "prediction-log shipping included); step_*: the same cold start step by step under "
        "python -X importtime (which inflates imports), median of 3, *_imports_s the imports "
        "each step triggered; imports_self_s_*: import self time by top-level package",
    )


if __name__ == "__main__":
    main()
