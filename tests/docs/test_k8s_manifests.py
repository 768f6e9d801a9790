"""docs/k8s/*.yaml: valid Kubernetes objects (checked offline against the schemas kubernetes-validate
bundles), shown on docs/deployment.md as they are, and with their drain timing in step."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = sorted((ROOT / "docs" / "k8s").glob("*.yaml"))
KILL_MARGIN = 3  # seconds the grace period keeps beyond the drain and the graceful shutdown


@pytest.fixture
def offline(monkeypatch):
    """No network: a connection attempt fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("kubernetes-validate tried to reach the network")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_there_are_manifests():
    assert [path.name for path in MANIFESTS] == ["deployment.yaml", "service.yaml"]


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda path: path.name)
def test_each_manifest_is_valid_against_the_kubernetes_schemas(path, offline):
    for document in yaml.safe_load_all(path.read_text()):
        kubernetes_validate.validate(document, kubernetes_validate.latest_version(), strict=True)


def test_an_invalid_manifest_is_refused(offline):
    deployment = yaml.safe_load((ROOT / "docs" / "k8s" / "deployment.yaml").read_text())
    deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = "thirty"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, kubernetes_validate.latest_version(), strict=True)


def test_the_page_shows_the_files_as_they_are():
    page = (ROOT / "docs" / "deployment.md").read_text()
    shown = re.findall(r"```yaml\n# docs/k8s/(\S+)\n(.*?)```", page, flags=re.S)
    assert sorted(name for name, _ in shown) == [path.name for path in MANIFESTS]
    for name, text in shown:
        assert text == (ROOT / "docs" / "k8s" / name).read_text(), name


def test_the_grace_period_covers_the_drain_and_the_probes_use_the_app_paths():
    deployment = yaml.safe_load((ROOT / "docs" / "k8s" / "deployment.yaml").read_text())
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {item["name"]: item["value"] for item in container["env"]}
    drain = float(env["NECKTIE_DRAIN_DELAY"])
    graceful = float(env["NECKTIE_GRACEFUL_SHUTDOWN_TIMEOUT"])
    pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    assert pod["terminationGracePeriodSeconds"] >= pre_stop + drain + graceful + KILL_MARGIN
    # A readiness probe sees the drain's 503 before the drain delay ends.
    probe = container["readinessProbe"]
    assert probe["periodSeconds"] * probe["failureThreshold"] < drain
    assert container["livenessProbe"]["httpGet"]["path"] == env["NECKTIE_LIVENESS_PATH"]
    assert container["startupProbe"]["httpGet"]["path"] == env["NECKTIE_LIVENESS_PATH"]
    assert probe["httpGet"]["path"] == env["NECKTIE_READINESS_PATH"]
    port = container["ports"][0]["containerPort"]
    command = container["command"]
    assert command[command.index("--port") + 1] == str(port)
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(port)
    assert annotations["prometheus.io/path"] == env["NECKTIE_METRICS_PATH"]
    assert "requests" in container["resources"]
