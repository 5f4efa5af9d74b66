"""The config loader: located errors for every kind of bad input, and its order of precedence."""

from __future__ import annotations

from pathlib import Path

import pytest

from ferryml.config import ProjectConfig, load_config
from ferryml.config.loader import embedded_config_text
from ferryml.errors import ConfigError

REPO = Path(__file__).resolve().parents[3]
MINIMAL = "project:\n  name: demo\n"


def write(tmp_path: Path, text: str, name: str = "ferry.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_embedded_reference_config_validates() -> None:
    loaded = load_config(environ={})
    assert loaded.config.project.name == "fraud"
    assert loaded.source == "<embedded fraud.yaml>"
    assert loaded.config.schema_.columns_with_role("event_time") == ["event_time"]


def test_repository_config_is_the_embedded_one_and_validates() -> None:
    repo_config = REPO / "configs" / "fraud.yaml"
    assert repo_config.read_text() == embedded_config_text()
    loaded = load_config(repo_config, environ={})
    assert loaded.config == load_config(environ={}).config


def test_unknown_key_names_file_line_key_and_suggests(tmp_path: Path) -> None:
    path = write(tmp_path, "project:\n  name: demo\nlogging:\n  levle: INFO\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    [issue] = info.value.issues
    assert (issue.source, issue.key_path, issue.line, issue.column) == (
        str(path),
        "logging.levle",
        4,
        3,
    )
    assert "did you mean 'level'" in issue.expected
    assert f"{path}:4:3: logging.levle" in str(info.value)


def test_wrong_type_names_expected_and_found(tmp_path: Path) -> None:
    path = write(tmp_path, "project:\n  name: demo\nlogging:\n  format: xml\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    [issue] = info.value.issues
    assert issue.key_path == "logging.format"
    assert issue.line == 4
    assert "'text' or 'json'" in issue.expected
    assert issue.found == "'xml' (str)"


def test_every_issue_is_reported_not_only_the_first(tmp_path: Path) -> None:
    path = write(tmp_path, "project:\n  name: Bad Name\n  colour: red\nlogging:\n  level: LOUD\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert sorted(i.key_path for i in info.value.issues) == [
        "logging.level",
        "project.colour",
        "project.name",
    ]
    assert "3 issues" in str(info.value)


def test_missing_required_key_points_at_the_document(tmp_path: Path) -> None:
    path = write(tmp_path, "logging:\n  level: INFO\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    [issue] = info.value.issues
    assert issue.key_path == "project"
    assert issue.found == "nothing"


def test_missing_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found") as info:
        load_config(tmp_path / "absent.yaml", environ={})
    assert info.value.hint is not None
    assert "ferry init" in info.value.hint


def test_malformed_yaml_is_located(tmp_path: Path) -> None:
    path = write(tmp_path, "project:\n  name: demo\nlogging: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML") as info:
        load_config(path, environ={})
    [issue] = info.value.issues
    assert issue.source == str(path)
    assert issue.line is not None
    assert issue.line >= 3


def test_duplicate_keys_are_errors_not_last_wins(tmp_path: Path) -> None:
    path = write(tmp_path, "project:\n  name: demo\n  name: other\n")
    with pytest.raises(ConfigError, match="repeats a key") as info:
        load_config(path, environ={})
    assert info.value.issues[0].line == 3


def test_a_list_document_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_config(write(tmp_path, "- a\n- b\n"), environ={})


def test_an_unknown_key_is_answered_with_the_keys_that_exist(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "governance:\n  polcy: {}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    expected = info.value.issues[0].expected
    assert expected.startswith("one of audit, gdpr, policy") and "did you mean 'policy'" in expected


def test_a_gates_typo_is_located(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "gates:\n  quality:\n    limits: {roc_auc: {mn: 0.9}}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    issue = info.value.issues[0]
    assert issue.key_path == "gates.quality.limits.roc_auc.mn" and issue.line == 5
    path = write(tmp_path, MINIMAL + "gates:\n  quality:\n    limits: {rocauc: {min: 0.9}}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert "roc_auc" in str(info.value)


def test_a_training_typo_is_named_with_a_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "training:\n  model: lightgbm\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    issue = info.value.issues[0]
    assert issue.key_path == "training.model" and "did you mean 'models'?" in issue.expected
    path = write(
        tmp_path, MINIMAL + "training:\n  models:\n    m: {kind: logistic, num_leaves: 3}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert info.value.issues[0].key_path.startswith("training.models.m")


# --- precedence: one test per adjacent pair of sources --------------------------------------


def test_yaml_beats_defaults(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, MINIMAL), environ={}).config.logging.level == "INFO"
    path = write(tmp_path, MINIMAL + "logging:\n  level: DEBUG\n")
    assert load_config(path, environ={}).config.logging.level == "DEBUG"


def test_environment_beats_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "logging:\n  level: DEBUG\n")
    loaded = load_config(path, environ={"FERRY_LOGGING__LEVEL": "ERROR"})
    assert loaded.config.logging.level == "ERROR"


def test_cli_beats_environment(tmp_path: Path) -> None:
    loaded = load_config(
        write(tmp_path, MINIMAL),
        environ={"FERRY_LOGGING__LEVEL": "ERROR"},
        overrides=["logging.level=WARNING"],
    )
    assert loaded.config.logging.level == "WARNING"


def test_environment_values_are_typed_and_keep_siblings(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "logging:\n  level: DEBUG\n  format: json\n")
    loaded = load_config(path, environ={"FERRY_PROJECT__OWNERS": "[a, b]"})
    assert loaded.config.project.owners == ["a", "b"]
    assert loaded.config.logging.format == "json"  # an env var on one key keeps the others


def test_config_path_from_environment(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    assert load_config(environ={"FERRY_CONFIG": str(path)}).config.project.name == "demo"


def test_bad_environment_value_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, MINIMAL), environ={"FERRY_LOGGING__LEVLE": "INFO"})
    [issue] = info.value.issues
    assert issue.source == "environment variable FERRY_LOGGING__LEVLE"
    assert issue.line is None


def test_bad_cli_override_names_the_flag(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, MINIMAL), environ={}, overrides=["logging.format=xml"])
    assert info.value.issues[0].source == "--set logging.format"


def test_malformed_override_says_the_expected_form(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"KEY\.PATH=VALUE"):
        load_config(write(tmp_path, MINIMAL), environ={}, overrides=["logging.level"])


def test_relative_paths_resolve_against_the_config_directory(tmp_path: Path) -> None:
    loaded = load_config(write(tmp_path, MINIMAL), environ={})
    assert loaded.base_dir == tmp_path


def test_models_are_frozen_and_strict() -> None:
    config = ProjectConfig.model_validate({"project": {"name": "demo"}})
    with pytest.raises(Exception, match="frozen"):
        config.project.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("variable", "value", "attribute", "expected"),
    [
        ("FERRY_PROJECT__DESCRIPTION", "yes", "description", "yes"),  # not True
        ("FERRY_PROJECT__DESCRIPTION", "cards # v2", "description", "cards # v2"),  # not cut
        ("FERRY_PROJECT__DESCRIPTION", "Fraud: cards", "description", "Fraud: cards"),
        ("FERRY_PROJECT__NAME", "p0123", "name", "p0123"),
        ("FERRY_PROJECT__OWNERS", "[ann, bob]", "owners", ["ann", "bob"]),
    ],
)
def test_environment_strings_stay_strings(
    tmp_path: Path, variable: str, value: str, attribute: str, expected: object
) -> None:
    loaded = load_config(write(tmp_path, MINIMAL), environ={variable: value})
    assert getattr(loaded.config.project, attribute) == expected


def test_numbers_from_flags_are_decimal_and_null_is_none(tmp_path: Path) -> None:
    loaded = load_config(
        write(tmp_path, MINIMAL),
        environ={},
        overrides=["data.synth.seed=010", "storage.database_url=null"],
    )
    assert loaded.config.data.synth.seed == 10  # YAML 1.1 would read 010 as octal 8
    assert loaded.config.storage.database_url is None


def test_setting_inside_a_list_is_refused_with_the_way_to_do_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"inside project\.owners, which is a list") as info:
        load_config(
            write(tmp_path, MINIMAL + "  owners: [ann]\n"),
            environ={},
            overrides=["project.owners.0=bob"],
        )
    assert info.value.hint is not None
    assert "project.owners=[a, b]" in info.value.hint


def test_yaml_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    text = MINIMAL + "x-paths: &paths {raw: r1, reports: out}\npaths:\n  <<: *paths\n  raw: r2\n"
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:  # x-paths is unknown: the merge itself is fine
        load_config(path, environ={})
    assert [i.key_path for i in info.value.issues] == ["x-paths"]
    text = MINIMAL + "paths:\n  <<: {raw: r1, reports: out}\n  raw: r2\n"
    paths = load_config(write(tmp_path, text), environ={}).config.paths
    assert (str(paths.raw), str(paths.reports)) == ("r2", "out")


def test_a_rule_across_keys_blames_the_override_that_broke_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(
            environ={},
            overrides=[
                "data.synth.scenarios.missing_data.enabled=true",
                "data.synth.scenarios.missing_data.start=2025-12-20",
                "data.synth.scenarios.missing_data.end=2025-12-10",
            ],
        )
    [issue] = info.value.issues
    assert issue.key_path == "data.synth"
    assert issue.source.startswith("--set data.synth.scenarios.missing_data")
    assert "must be on or after its start" in issue.found
