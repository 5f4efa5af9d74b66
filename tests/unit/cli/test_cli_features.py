"""`ferry features …` through CliRunner: list, show, located definition errors, build."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from ferryml.cli import app

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, " ".join(result.output.split())


def test_list_shows_every_feature_with_owner_and_version() -> None:
    code, output = invoke("features", "list")
    assert code == 0, output
    assert "feature set" in output
    for name in ("merchant_risk", "customer_amount_mean_30d", "is_holiday", "channel__other"):
        assert name in output


def test_show_prints_the_definition_and_unknown_names_get_a_suggestion() -> None:
    code, output = invoke("features", "show", "home_distance_km")
    assert code == 0, output
    assert "kind: country_distance" in output and "origin: home_country" in output
    assert "owner: fraud-ml-team" in output
    code, output = invoke("features", "show", "home_distanse_km")
    assert code == 1
    assert "did you mean 'home_distance_km'?" in output


def test_a_bad_definition_is_located_and_named(tmp_path: Path) -> None:
    from ferryml.config.loader import embedded_config_text

    text = embedded_config_text().replace(
        "ip_distance_km: {kind: country_distance, origin: home_country, destination: ip_country}",
        "ip_distance_km: {kind: country_distance, origin: home_country, destination: ip_contry}",
    )
    config = tmp_path / "ferry.yaml"
    config.write_text(text)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "ip_contry" in row)
    code, output = invoke("features", "list", "--config", str(config))
    assert code == 1
    assert f"{config}:{line}" in output
    assert "features.derived.ip_distance_km.destination" in output
    assert "did you mean 'ip_country'?" in output


def test_a_window_over_a_non_timestamp_fails_at_load() -> None:
    code, output = invoke(
        "features", "list", "--set", "features.windows.card_amount.time=merchant_country"
    )
    assert code == 1
    assert "features.windows.card_amount.time" in output and "timestamp" in output


def test_build_without_data_says_what_to_run(tmp_path: Path) -> None:
    code, _ = invoke("init", str(tmp_path / "ws"), "--project", "demo")
    assert code == 0
    code, output = invoke("features", "build", "--config", str(tmp_path / "ws/configs/ferry.yaml"))
    assert code == 1
    assert "no published version of dataset 'transactions'" in output
    assert "ferry ingest" in output


def test_discover_writes_definitions_that_load(tmp_path: Path) -> None:
    import yaml

    config = str(tmp_path / "ws/configs/ferry.yaml")
    small = (
        "--set",
        "data.synth.days=6",
        "--set",
        "data.synth.customers=150",
        "--set",
        "data.synth.merchants=30",
        "--set",
        "data.synth.transactions_per_day=150",
        "--set",
        "data.synth.base_fraud_rate=0.05",
    )
    assert invoke("init", str(tmp_path / "ws"), "--project", "demo")[0] == 0
    assert invoke("generate", "--config", config, *small)[0] == 0
    assert invoke("ingest", "--config", config, *small)[0] == 0
    out_file = tmp_path / "found.yaml"
    code, output = invoke(
        "features",
        "discover",
        "--config",
        config,
        "--sample-size",
        "20",
        "--top-k",
        "3",
        "--out",
        str(out_file),
        *small,
    )
    assert code == 0, output
    assert "DFS candidates" in output and str(out_file) in output
    fragment = yaml.safe_load(out_file.read_text())
    exported = {**fragment.get("windows", {}), **fragment.get("derived", {})}
    assert 1 <= len(exported) <= 3
