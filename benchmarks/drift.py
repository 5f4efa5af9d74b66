"""Drift detection: ferryml's eight statistics against Evidently's DataDriftPreset.

Claim (issue: monitoring): on 25 columns (20 numeric: normal, lognormal, exponential and
uniform; 5 categorical with 3 to 200 categories), 1M reference rows and 1M current rows,
ferryml runs all eight of its tests — PSI, KL, Jensen-Shannon, Kolmogorov-Smirnov,
Anderson-Darling, Wasserstein on numbers; chi-squared, PSI, KL, Jensen-Shannon on categories;
Fisher's exact test on each category column's most common value against the rest — cold
(the reference profiled inside the timing) >= 40x faster than Evidently's DataDriftPreset
with its defaults (normalized Wasserstein on numbers, Jensen-Shannon on categories, 0.1), and
flags every mildly shifted column with at most one unchanged column flagged.

Six columns are shifted mildly: a small mean shift (0.1 standard deviation), a scale change
(lognormal sigma x1.1), a heavier tail at equal variance (Student t, 5 degrees of freedom),
more zeros (5 % of values), a mixed-in category distribution (15 % of rows uniform over the
categories) and new categories (2 % of rows); the other 19 are drawn again unchanged.

Each tool runs in its own process, on the same Parquet files; the time excludes reading them,
the peak memory (``ru_maxrss``) includes them. Evidently is installed by this script in its own
virtualenv (it pins plotly below 6 and must stay out of ferryml's lock; 0.7.23 needs pandas
below 3): ``FERRY_BENCH_EVIDENTLY_VENV`` names one to reuse.

Run: ``python benchmarks/drift.py`` (``FERRY_BENCH_DRIFT_ROWS`` for another size).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from _harness import write_result

ROWS = int(os.environ.get("FERRY_BENCH_DRIFT_ROWS", "1000000"))
EVIDENTLY = ["evidently==0.7.23", "pandas<3"]
VENV = Path(
    os.environ.get("FERRY_BENCH_EVIDENTLY_VENV", Path.home() / ".cache/ferryml/evidently-venv")
)
CATEGORY_SIZES = (3, 10, 30, 100, 200)
SHIFTED = {"normal_0", "lognormal_0", "normal_1", "exponential_0", "cat_10", "cat_30"}


def columns(rng: np.random.Generator, n: int, *, current: bool) -> dict[str, np.ndarray]:
    data: dict[str, np.ndarray] = {}
    for i in range(5):
        data[f"normal_{i}"] = rng.normal(50, 10, n)
        data[f"lognormal_{i}"] = rng.lognormal(3, 0.8, n)
        data[f"exponential_{i}"] = rng.exponential(2.0, n)
        data[f"uniform_{i}"] = rng.uniform(0, 100, n)
    for size in CATEGORY_SIZES:
        names = np.array([f"c{j}" for j in range(size)], dtype=object)
        weights = 1.0 / np.arange(1, size + 1)
        data[f"cat_{size}"] = rng.choice(names, size=n, p=weights / weights.sum())
    if current:
        data["normal_0"] = rng.normal(51, 10, n)  # mean + 0.1 sd
        data["lognormal_0"] = rng.lognormal(3, 0.88, n)  # scale x1.1
        df = 5
        data["normal_1"] = 50 + 10 * rng.standard_t(df, n) / np.sqrt(df / (df - 2))
        zeros = rng.random(n) < 0.05
        data["exponential_0"] = np.where(zeros, 0.0, data["exponential_0"])
        names10 = np.array([f"c{j}" for j in range(10)], dtype=object)
        mixed = rng.random(n) < 0.15
        data["cat_10"] = np.where(mixed, rng.choice(names10, n), data["cat_10"])
        new = rng.random(n) < 0.02
        fresh = np.array([f"new{j}" for j in range(5)], dtype=object)
        data["cat_30"] = np.where(new, rng.choice(fresh, n), data["cat_30"])
    return data


def ferryml_worker(directory: Path) -> dict[str, Any]:
    from ferryml.monitoring.config import DriftConfig
    from ferryml.monitoring.drift import Reference, compare
    from ferryml.monitoring.stats import fisher

    def load(name: str) -> dict[str, np.ndarray]:
        table = pq.read_table(directory / f"{name}.parquet")
        out = {}
        for column in table.column_names:
            values = table.column(column)
            if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
                # through pandas: repeated strings share one object, as in Evidently's frames
                out[column] = values.to_pandas().to_numpy(dtype=object)
            else:
                out[column] = values.to_numpy()
        return out

    reference, current = load("reference"), load("current")
    start = time.perf_counter()
    profiled = Reference.of(reference, DriftConfig(anderson_darling=True))
    profile_s = time.perf_counter() - start
    report = compare(profiled, current)
    for size in CATEGORY_SIZES:  # Fisher: the most common category against the rest
        column = f"cat_{size}"
        fisher(reference[column] == "c0", current[column] == "c0")
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "profile_s": profile_s,
        "drifted": list(report.drifted),
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


EVIDENTLY_WORKER = """
import json, resource, sys, time
import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset

directory = sys.argv[1]
reference = pd.read_parquet(f"{directory}/reference.parquet")
current = pd.read_parquet(f"{directory}/current.parquet")
categorical = [c for c in reference.columns if c.startswith("cat_")]
numerical = [c for c in reference.columns if c not in categorical]
definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
start = time.perf_counter()
snapshot = Report([DataDriftPreset()]).run(
    Dataset.from_pandas(current, data_definition=definition),
    Dataset.from_pandas(reference, data_definition=definition),
)
seconds = time.perf_counter() - start
drifted, methods = [], set()
for metric in snapshot.dict()["metrics"]:
    config = metric["config"]
    if config.get("type", "").endswith("ValueDrift"):
        methods.add(config["method"])
        if metric["value"] >= config["threshold"]:
            drifted.append(config["column"])
print(json.dumps({
    "seconds": seconds,
    "drifted": drifted,
    "methods": sorted(methods),
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def evidently_python() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *EVIDENTLY], check=True)
    return python


def run_worker(command: list[str]) -> dict[str, Any]:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def quality(drifted: list[str]) -> dict[str, int]:
    flagged = set(drifted)
    return {
        "shifted_found": len(flagged & SHIFTED),
        "shifted_total": len(SHIFTED),
        "false_alarms": len(flagged - SHIFTED),
    }


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--ferryml-worker":
        print(json.dumps(ferryml_worker(Path(sys.argv[2]))))
        return
    rng = np.random.default_rng(20261127)
    with tempfile.TemporaryDirectory(prefix="ferry-bench-drift-") as tmp:
        directory = Path(tmp)
        for name, current in (("reference", False), ("current", True)):
            pq.write_table(
                pa.table(columns(rng, ROWS, current=current)), directory / f"{name}.parquet"
            )
        worker = Path(tmp) / "evidently_worker.py"
        worker.write_text(EVIDENTLY_WORKER)
        ours = run_worker([sys.executable, __file__, "--ferryml-worker", str(directory)])
        theirs = run_worker([str(evidently_python()), str(worker), str(directory)])
    scale = 1_000_000 / ROWS
    figure = {
        "rows": ROWS,
        "seconds_1m": ours["seconds"] * scale,
        "seconds": ours["seconds"],
        "profile_reference_s": ours["profile_s"],
        "peak_mb": ours["peak_mb"],
        "ratio_vs_evidently": theirs["seconds"] / ours["seconds"],
        **quality(ours["drifted"]),
    }
    evidently_quality = quality(theirs["drifted"])
    anchor = {
        "seconds": theirs["seconds"],
        "peak_mb": theirs["peak_mb"],
        **{f"evidently_{key}": value for key, value in evidently_quality.items()},
    }
    write_result(
        "drift",
        figure={k: round(v, 3) if isinstance(v, float) else v for k, v in figure.items()},
        anchor={k: round(v, 3) if isinstance(v, float) else v for k, v in anchor.items()},
        ratio=ours["seconds"] / theirs["seconds"],
        anchor_description="Evidently 0.7.23 Report([DataDriftPreset()]) with its defaults "
        f"({', '.join(theirs['methods'])}, threshold 0.1), own virtualenv, same Parquet files",
        notes="ratio_vs_evidently = Evidently seconds / ferryml seconds (how many times "
        f"faster); ferryml flagged {sorted(ours['drifted'])}, Evidently "
        f"{sorted(theirs['drifted'])}; shifted: {sorted(SHIFTED)}; ferryml with the default "
        "monitoring.drift config plus Anderson-Darling; reading the files excluded from the "
        "time, included in peak memory",
    )


if __name__ == "__main__":
    main()
