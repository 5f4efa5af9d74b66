"""deploy/knative, checked without a cluster: `kubectl kustomize deploy/knative` renders the
platform of deploy/k8s with the Knative Service of the scoring API. No schema of the Knative
Service is at hand, so its pod template is validated as what Knative makes of it, a core/v1
PodSpec (Kubernetes 1.32, strict), and held to the subset of fields Knative accepts; every
other object validates as it is; the command, the variables and the objects the Service names
are checked against ferryml and the rendered objects."""

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
KNATIVE = "serving.knative.dev/v1"

# What Knative Serving keeps of a pod template (knative.dev/serving pkg/apis/serving/
# fieldmask.go, 1.9 and later; emptyDir and persistentVolumeClaim behind its feature flags):
# anything else is refused by its webhook. The revision's own fields sit beside them.
REVISION_FIELDS = {
    "containerConcurrency",
    "timeoutSeconds",
    "responseStartTimeoutSeconds",
    "idleTimeoutSeconds",
}
POD_FIELDS = {
    "serviceAccountName",
    "containers",
    "volumes",
    "imagePullSecrets",
    "enableServiceLinks",
    "automountServiceAccountToken",
}
CONTAINER_FIELDS = {
    "name",
    "args",
    "command",
    "env",
    "workingDir",
    "envFrom",
    "image",
    "imagePullPolicy",
    "livenessProbe",
    "ports",
    "readinessProbe",
    "resources",
    "securityContext",
    "terminationMessagePath",
    "terminationMessagePolicy",
    "volumeMounts",
}
SECURITY_FIELDS = {
    "capabilities",
    "readOnlyRootFilesystem",
    "runAsUser",
    "runAsGroup",
    "runAsNonRoot",
    "allowPrivilegeEscalation",
    "seccompProfile",
}
VOLUME_KINDS = {"configMap", "secret", "projected", "emptyDir", "persistentVolumeClaim"}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """deploy/knative rendered (deploy_checks.render_kustomizations)."""
    kubectl = require_tool("kubectl", "install kubectl (it carries kustomize)")
    workdir = tmp_path_factory.mktemp("knative")
    return render_kustomizations(kubectl, workdir, ["knative"])["knative"]


def _named(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {
        o["metadata"]["name"]: o for o in objects if o["kind"] == kind and o["apiVersion"] == "v1"
    }


@pytest.fixture(scope="module")
def service(rendered: list[dict[str, Any]]) -> dict[str, Any]:
    (knative,) = [o for o in rendered if o["apiVersion"] == KNATIVE]
    assert knative["kind"] == "Service" and knative["metadata"]["namespace"] == "ferryml"
    return knative


@pytest.fixture(scope="module")
def container(service: dict[str, Any]) -> dict[str, Any]:
    (only,) = service["spec"]["template"]["spec"]["containers"]
    return dict(only)


def test_every_object_validates_and_the_pod_template_is_one_knative_accepts(
    rendered: list[dict[str, Any]], service: dict[str, Any]
) -> None:
    for obj in rendered:
        if obj["apiVersion"] == KNATIVE:
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{obj['kind']} {obj['metadata']['name']}: {exc.message}")
    template = service["spec"]["template"]
    spec = dict(template["spec"])
    assert set(spec) <= POD_FIELDS | REVISION_FIELDS, set(spec) - POD_FIELDS - REVISION_FIELDS
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": service["metadata"]["name"], **template.get("metadata", {})},
        "spec": {k: v for k, v in spec.items() if k not in REVISION_FIELDS},
    }
    try:
        kubernetes_validate.validate(pod, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        pytest.fail(f"the Knative Service's pod template is not a valid PodSpec: {exc.message}")
    for container in spec["containers"]:
        assert set(container) <= CONTAINER_FIELDS, set(container) - CONTAINER_FIELDS
        assert set(container.get("securityContext", {})) <= SECURITY_FIELDS
    for volume in spec["volumes"]:
        assert set(volume) - {"name"} <= VOLUME_KINDS, volume


def test_it_scales_to_zero_on_requests_in_flight(service: dict[str, Any]) -> None:
    annotations = service["spec"]["template"]["metadata"]["annotations"]
    knative = {
        k.removeprefix("autoscaling.knative.dev/"): v
        for k, v in annotations.items()
        if k.startswith("autoscaling.knative.dev/")
    }
    assert knative["class"] == "kpa.autoscaling.knative.dev"  # the class that reaches zero
    assert knative["metric"] == "concurrency"
    assert knative["min-scale"] == "0" and int(knative["max-scale"]) >= 1
    limit = service["spec"]["template"]["spec"]["containerConcurrency"]
    assert 0 < float(knative["target"]) <= limit  # the soft target below the hard limit


def test_the_container_serves_with_a_ferry_command_and_variables_ferryml_reads(
    rendered: list[dict[str, Any]], container: dict[str, Any]
) -> None:
    image = IMAGE.match(container["image"])
    assert image is not None and image["target"] == "serve" in dockerfile_targets()
    (argv,) = ferry_invocations(container.get("command"), container.get("args"))
    assert argv[0] == "serve"
    assert_ferry_command(argv, "deploy/knative")
    (port,) = container["ports"]
    assert port["name"] in {"http1", "h2c"}  # Knative's names for the port it routes to
    assert argv[argv.index("--port") + 1] == str(port["containerPort"])
    assert argv[argv.index("--host") + 1] == "0.0.0.0"
    for probe, path in (("readinessProbe", "/health/ready"), ("livenessProbe", "/health/live")):
        assert container[probe]["httpGet"] == {"path": path, "port": port["containerPort"]}

    config_maps = _named(rendered, "ConfigMap")
    variables: dict[str, str] = {}
    for source in container["envFrom"]:  # ferryml-env: the services' addresses
        variables.update(config_maps[source["configMapRef"]["name"]]["data"])
    variables.update(env_list(container["env"]))
    variables.update({e["name"]: "<secret>" for e in container["env"] if "valueFrom" in e})
    assert_variables_accepted(ferry_variables(variables), "deploy/knative")


def test_the_objects_it_names_exist_and_files_are_where_the_variables_say(
    rendered: list[dict[str, Any]], service: dict[str, Any], container: dict[str, Any]
) -> None:
    config_maps, secrets = _named(rendered, "ConfigMap"), _named(rendered, "Secret")
    claims = _named(rendered, "PersistentVolumeClaim")
    spec = service["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert set(mounts) == set(volumes)
    env = {item["name"]: item for item in container["env"]}
    (env_map,) = [config_maps[s["configMapRef"]["name"]]["data"] for s in container["envFrom"]]

    def mounted(path: str, kind: str) -> tuple[dict[str, Any], Path]:
        """The volume of ``kind`` holding ``path``, and the path inside it."""
        for name, mount in mounts.items():
            if kind in volumes[name] and Path(path).is_relative_to(mount["mountPath"]):
                return volumes[name][kind], Path(path).relative_to(mount["mountPath"])
        raise AssertionError(f"{path} is on no {kind} volume")

    config, key = mounted(env["FERRY_CONFIG"]["value"], "configMap")
    assert str(key) in config_maps[config["name"]]["data"]  # ferry.yaml of ferryml-config
    token = env["FERRY_ADMIN_TOKEN"]["valueFrom"]["secretKeyRef"]
    assert token["name"].startswith("ferryml-secrets") and token["key"] == "admin-token"
    assert token["key"] in secrets[token["name"]]["data"]
    audit, key = mounted(env_map["FERRY_GOVERNANCE__AUDIT__KEY_FILE"], "secret")
    assert str(key) in secrets[audit["secretName"]]["data"]
    workspace, _ = mounted(env_map["FERRY_PATHS__ROOT"], "persistentVolumeClaim")
    assert workspace["claimName"] in claims
    # per-pod state on the pod's own disk, never on the shared workspace
    for variable in (
        "FERRY_SERVING__PREDICTION_LOG__DIRECTORY",
        "FERRY_SERVING__METRICS_DIRECTORY",
    ):
        mounted(env[variable]["value"], "emptyDir")
    # Knative makes the Kubernetes Service of the Knative Service's name: none may be there
    assert service["metadata"]["name"] not in _named(rendered, "Service")
