"""``ferry features …``: build, materialize, list and show the project's features.

Registered on the main app by :mod:`ferryml.cli`; the commands stay thin, the work is in
:mod:`ferryml.features` and :mod:`ferryml.pipeline`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table

from ferryml.cli_common import (
    ConfigOption,
    SetOption,
    friendly_errors,
    load,
    open_project,
    out,
)
from ferryml.errors import InvalidInputError

features_app = typer.Typer(
    help="Build the training set and the feature store, list and show features.",
    no_args_is_help=True,
)

DateOption = Annotated[
    datetime | None,
    typer.Option(
        formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"],
        help="UTC date (or date and time).",
        show_default=False,
    ),
]


@features_app.command("build")
@friendly_errors
def build(
    dataset: Annotated[
        str | None,
        typer.Argument(help="DATASET or DATASET@VERSION (default: latest of the only source)."),
    ] = None,
    fit_until: DateOption = None,
    config: ConfigOption = None,
    set_: SetOption = None,
) -> None:
    """Build the point-in-time training set and load the feature store.

    Computes every feature as of each event, writes the training set and the batch views,
    registers them in the Feast repository and loads the online store and window state.

    Encodings (ordinal, frequency) learn on the events before --fit-until (default: the first
    features.store.fit_fraction of the time span).

    Example: [bold]ferry features build transactions --fit-until 2025-12-01[/bold]
    """
    from ferryml.pipeline import build_feature_store

    context = open_project(load(config, {}, set_))
    with out.status("building features (point-in-time joins, windows, encodings)…"):
        result = build_feature_store(context, dataset, fit_until=_utc(fit_until))
    print_build(result)


@features_app.command("materialize")
@friendly_errors
def materialize(
    as_of: DateOption = None, config: ConfigOption = None, set_: SetOption = None
) -> None:
    """Reload the online store and the window state from the latest build.

    Loads the latest row per entity at or before --as-of into the online store, and rebuilds
    the window state from the build's events.

    Run it after a Redis restart (the local Redis keeps nothing on disk) or nightly.
    """
    from ferryml.pipeline import materialize_features

    context = open_project(load(config, {}, set_), create=False)
    with out.status("loading the online store…"):
        materialized = materialize_features(context, as_of=_utc(as_of))
    _print_materialized(materialized)


@features_app.command("discover")
@friendly_errors
def discover(
    dataset: Annotated[
        str | None,
        typer.Argument(help="DATASET or DATASET@VERSION (default: latest of the only source)."),
    ] = None,
    sample_size: Annotated[
        int, typer.Option(min=10, help="Labelled events sampled (class-balanced).")
    ] = 300,
    top_k: Annotated[int, typer.Option(min=1, help="How many candidates to export.")] = 10,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 0,
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="YAML to write (default: reports/features/discovered-*.yaml)."),
    ] = None,
    config: ConfigOption = None,
    set_: SetOption = None,
) -> None:
    """Search for new features with Featuretools Deep Feature Synthesis.

    Each sampled event is cut off at its own time (no look-ahead), candidates are ranked by
    mutual information with the label, and the best that ferryml can compute identically
    online are written as feature definitions to paste under features:.

    DFS makes one pass per sampled event and window: 300 events take minutes.

    Example: [bold]ferry features discover --sample-size 100 --top-k 5[/bold]
    """
    from ferryml.pipeline import discover_features

    context = open_project(load(config, {}, set_), create=False)
    with out.status(f"running DFS on {sample_size} sampled events…"):
        result, path = discover_features(
            context, dataset, sample_size=sample_size, top_k=top_k, seed=seed, out=out_file
        )
    table = Table("rank", "candidate", "score", "exported as / why not", title="DFS candidates")
    for rank, candidate in enumerate(result.candidates[:30], 1):
        table.add_row(
            str(rank),
            candidate.name,
            f"{candidate.score:.4f}",
            candidate.exported_as or candidate.reason or f"not in the top {top_k}",
        )
    out.print(table)
    out.print(f"[green]✓[/green] definitions written to {path}", soft_wrap=True)


@features_app.command("list")
@friendly_errors
def list_features(config: ConfigOption = None, set_: SetOption = None) -> None:
    """List every feature: name, type, where it comes from, owner and description."""
    from ferryml.features.project_store import ProjectFeatureStore

    store = ProjectFeatureStore.from_config(load(config, {}, set_))
    feature_set = store.feature_set
    table = Table(title=f"feature set {feature_set.version} ({len(feature_set.outputs)} features)")
    table.add_column("feature", no_wrap=True)
    table.add_column("type")
    table.add_column("from", no_wrap=True)
    table.add_column("owner")
    table.add_column("description")
    for spec, origin in _origins(feature_set):
        table.add_row(spec.name, spec.dtype, origin, spec.owner, spec.description)
    out.print(table)


@features_app.command("show")
@friendly_errors
def show(
    name: Annotated[str, typer.Argument(help="A feature name (see `ferry features list`).")],
    config: ConfigOption = None,
    set_: SetOption = None,
) -> None:
    """Show one feature: definition, owner, version and the builds it was computed on."""
    from ferryml.features.project_store import ProjectFeatureStore

    store = ProjectFeatureStore.from_config(load(config, {}, set_))
    feature_set = store.feature_set
    found = [(spec, origin) for spec, origin in _origins(feature_set) if spec.name == name]
    if not found:
        import difflib

        close = difflib.get_close_matches(name, feature_set.output_names, n=1)
        raise InvalidInputError(
            f"no feature named {name!r} in feature set {feature_set.version}",
            hint=f"did you mean {close[0]!r}?" if close else "see `ferry features list`",
        )
    spec, origin = found[0]
    section, _, definition_name = origin.partition(":")
    definition = getattr(feature_set.config, section)[definition_name]
    out.print(f"[bold]{spec.name}[/bold] ({spec.dtype}) — {spec.description or 'no description'}")
    out.print(f"owner: {spec.owner or '-'}\nfeature set version: {feature_set.version}")
    out.print(f"defined in features.{section}.{definition_name}:")
    out.print(yaml.safe_dump(definition.model_dump(mode="json"), sort_keys=False), markup=False)
    builds = [b for b in store.builds() if b.feature_set_version == feature_set.version]
    table = Table("dataset version", "rows", "fit until", "path", title="builds (lineage)")
    for b in builds:
        table.add_row(b.dataset_ref, f"{b.rows:,}", str(b.fit_until.date()), str(b.path))
    out.print(table if builds else "builds: none yet (ferry features build)")


def _origins(feature_set: Any) -> list[tuple[Any, str]]:
    rows = [(rate.output, f"label_rates:{rate.name}") for rate in feature_set.label_rates]
    rows += [(spec, f"windows:{w.name}") for w in feature_set.windows for spec in w.outputs]
    rows += [(spec, f"derived:{t.name}") for t in feature_set.transforms for spec in t.outputs]
    return rows


def print_build(result: Any) -> None:
    """What a feature build made and loaded online (also used by ``ferry quickstart``)."""
    b = result.build
    out.print(
        f"[green]✓[/green] feature set {b.feature_set_version} on {b.dataset_ref}: "
        f"{b.rows:,} rows, encodings fitted before {b.fit_until.date()}"
    )
    out.print(f"training set: {b.training_path}", soft_wrap=True)
    _print_materialized(result.materialized)


def _print_materialized(materialized: Any) -> None:
    table = Table("loaded online", "rows", title=f"online as of {materialized.as_of.isoformat()}")
    for view, rows in materialized.views.items():
        table.add_row(f"view {view}", f"{rows:,}")
    for window, events in materialized.windows.items():
        table.add_row(f"window state {window}", f"{events:,} events")
    out.print(table)


def _utc(value: datetime | None) -> datetime | None:
    from datetime import UTC

    return None if value is None else value.replace(tzinfo=UTC)


__all__ = ["features_app", "print_build"]
