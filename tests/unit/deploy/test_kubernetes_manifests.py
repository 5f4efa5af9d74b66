"""deploy/k8s, checked without a cluster: every overlay renders with `kubectl kustomize`, every
rendered object validates against the Kubernetes 1.32 JSON schemas (strict: unknown fields are
errors), and the objects agree with each other and with ferryml (commands, variables, probes,
references between objects, the Services' selectors)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from deploy_checks import (
    IMAGE,
    assert_ferry_command,
    assert_variables_accepted,
    dockerfile_targets,
    env_list,
    ferry_invocations,
    ferry_variables,
    render_kustomizations,
)

from conftest import require_tool

KUBERNETES_VERSION = "1.32.0"
OVERLAYS = ["base", "overlays/production", "overlays/canary", "overlays/bluegreen"]
"""Relative to deploy/k8s."""
Rendered = dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    """Each overlay rendered (deploy_checks.render_kustomizations)."""
    kubectl = require_tool("kubectl", "install kubectl (it carries kustomize)")
    workdir = tmp_path_factory.mktemp("k8s")
    out = render_kustomizations(kubectl, workdir, [f"k8s/{o}" for o in OVERLAYS])
    return {overlay: out[f"k8s/{overlay}"] for overlay in OVERLAYS}


def _pod_specs(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(name, pod template metadata, pod spec) of every workload."""
    found = []
    for obj in objects:
        spec = obj.get("spec", {})
        if obj["kind"] == "CronJob":
            spec = spec["jobTemplate"]["spec"]
        if "template" in spec:
            template = spec["template"]
            found.append((obj["metadata"]["name"], template.get("metadata", {}), template["spec"]))
    return found


def _named(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_validates_against_the_kubernetes_schemas(
    rendered: Rendered, overlay: str
) -> None:
    kinds = set()
    for obj in rendered[overlay]:
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{overlay}: {obj['kind']} {obj['metadata']['name']}: {exc.message}")
        kinds.add(obj["kind"])
    assert {
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "CronJob",
        "ConfigMap",
        "Secret",
    } <= kinds


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_containers_run_ferry_commands_with_variables_the_config_accepts(
    rendered: Rendered, overlay: str
) -> None:
    objects = rendered[overlay]
    configmaps = _named(objects, "ConfigMap")
    targets = dockerfile_targets()
    commands = 0
    for name, _, pod in _pod_specs(objects):
        for container in pod["containers"]:
            where = f"{overlay}: {name}/{container['name']}"
            image = IMAGE.match(container["image"])
            if image is None:
                continue  # not ours (the Pushgateway)
            assert image["target"] in targets, where
            for argv in ferry_invocations(container.get("command"), container.get("args")):
                assert_ferry_command(argv, where)
                commands += 1
            variables = env_list(container.get("env"))
            for source in container.get("envFrom", []):
                variables.update(configmaps[source["configMapRef"]["name"]]["data"])
            assert_variables_accepted(ferry_variables(variables), where)
    assert commands >= 3  # serve, monitor, batch


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_references_between_objects_resolve(rendered: Rendered, overlay: str) -> None:
    objects = rendered[overlay]
    configmaps, secrets = _named(objects, "ConfigMap"), _named(objects, "Secret")
    claims, deployments = _named(objects, "PersistentVolumeClaim"), _named(objects, "Deployment")
    for name, _, pod in _pod_specs(objects):
        for volume in pod.get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in configmaps, (overlay, name, volume)
            if "secret" in volume:
                assert volume["secret"]["secretName"] in secrets, (overlay, name, volume)
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] in claims, (overlay, name)
        mounted = {v["name"] for v in pod.get("volumes", [])}
        for container in pod["containers"]:
            for mount in container.get("volumeMounts", []):
                assert mount["name"] in mounted, (overlay, name, mount)
    for hpa in _named(objects, "HorizontalPodAutoscaler").values():
        assert hpa["spec"]["scaleTargetRef"]["name"] in deployments, (overlay, hpa)
    # the files the serving pods read through FERRY_…_FILE variables are keys of the Secret
    (secret,) = secrets.values()
    env = next(iter(c for c in configmaps.values() if "FERRY_PATHS__ROOT" in c["data"]))["data"]
    for variable in ("FERRY_SERVING__ADMIN_TOKEN_FILE", "FERRY_GOVERNANCE__AUDIT__KEY_FILE"):
        assert Path(env[variable]).name in secret["data"], variable


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_and_budget_selects_pods(rendered: Rendered, overlay: str) -> None:
    pods = [meta.get("labels", {}) for _, meta, _ in _pod_specs(rendered[overlay])]
    for service in _named(rendered[overlay], "Service").values():
        assert any(_selects(service["spec"]["selector"], labels) for labels in pods), (
            f"{overlay}: Service {service['metadata']['name']} selects no pod"
        )
    for budget in _named(rendered[overlay], "PodDisruptionBudget").values():
        selector = budget["spec"]["selector"]["matchLabels"]
        assert any(_selects(selector, labels) for labels in pods), (overlay, budget)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_scoring_pods_probe_the_health_endpoints(rendered: Rendered, overlay: str) -> None:
    serving = [
        (name, container)
        for name, _, pod in _pod_specs(rendered[overlay])
        for container in pod["containers"]
        if container.get("args", [])[:1] == ["serve"]
    ]
    assert serving
    for name, container in serving:
        ports = {p["name"] for p in container["ports"]}
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready", name
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live", name
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            assert container[probe]["httpGet"]["port"] in ports, (name, probe)
        assert "memory" in container["resources"]["limits"], name
        assert container["securityContext"]["readOnlyRootFilesystem"] is True, name


def test_canary_runs_the_challenger_beside_the_stable_champion(rendered: Rendered) -> None:
    deployments = _named(rendered["overlays/canary"], "Deployment")
    stable, canary = deployments["ferryml-serve"], deployments["ferryml-serve-canary"]
    labels = {
        name: d["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/track"]
        for name, d in (("stable", stable), ("canary", canary))
    }
    assert labels == {"stable": "stable", "canary": "canary"}
    alias = env_list(canary["spec"]["template"]["spec"]["containers"][0]["env"])
    assert alias["FERRY_SERVING__MODEL_ALIAS"] == "challenger"
    assert canary["spec"]["replicas"] == 1
    (service,) = (
        s
        for s in _named(rendered["overlays/canary"], "Service").values()
        if s["metadata"]["name"] == "ferryml-serve"
    )
    for deployment in (stable, canary):
        assert _selects(
            service["spec"]["selector"], deployment["spec"]["template"]["metadata"]["labels"]
        )


def test_blue_green_has_two_colours_and_the_service_selects_one(rendered: Rendered) -> None:
    objects = rendered["overlays/bluegreen"]
    deployments = _named(objects, "Deployment")
    assert {"ferryml-serve-blue", "ferryml-serve-green"} <= set(deployments)
    service = _named(objects, "Service")["ferryml-serve"]
    chosen = [
        name
        for name in ("ferryml-serve-blue", "ferryml-serve-green")
        if _selects(
            service["spec"]["selector"], deployments[name]["spec"]["template"]["metadata"]["labels"]
        )
    ]
    assert chosen == ["ferryml-serve-blue"]
