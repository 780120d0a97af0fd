"""deploy/ agrees with the code: services, ports, probes, environment, NATS cluster."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from onebudget.shared.config import ServiceConfig
from onebudget.shared.stack import SERVICES

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
GOOD_URLS = {
    "ONEBUDGET_DATABASE_URL": "postgresql://u@db:5432/onebudget",
    "ONEBUDGET_NATS_URL": "nats://nats:4222",
}


def _manifests() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((DEPLOY / "k8s" / "onebudget.yaml").read_text()) if d]


def _of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in _manifests() if d["kind"] == kind}


def test_every_service_has_a_deployment_service_and_budget() -> None:
    for kind in ("Deployment", "Service", "PodDisruptionBudget"):
        assert set(_of_kind(kind)) == set(SERVICES), kind


def test_deployments_run_the_service_with_grpc_probes_on_its_port() -> None:
    for name, deployment in _of_kind("Deployment").items():
        assert deployment["spec"]["replicas"] >= 2
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["args"] == [f"onebudget.{name}"]
        port = container["ports"][0]["containerPort"]
        assert port == SERVICES[name]
        assert container["readinessProbe"]["grpc"]["port"] == port
        assert container["livenessProbe"]["grpc"]["port"] == port
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env[f"ONEBUDGET_{name.upper()}_PORT"] == str(port)
        grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        config = _of_kind("ConfigMap")["onebudget-config"]["data"]
        assert grace > int(config["ONEBUDGET_SHUTDOWN_GRACE_S"])


def test_configmap_values_are_accepted_by_the_services_config() -> None:
    data = {k: str(v) for k, v in _of_kind("ConfigMap")["onebudget-config"]["data"].items()}
    for name, port in SERVICES.items():
        config = ServiceConfig.from_env(name, port, {**data, **GOOD_URLS})
        assert config.stream_replicas == 3
        assert config.grpc_host == "0.0.0.0"


def test_every_variable_set_in_deploy_is_read_by_the_code() -> None:
    code = "\n".join(
        p.read_text() for p in (DEPLOY.parent / "services" / "onebudget").rglob("*.py")
    )
    manifest = (DEPLOY / "k8s" / "onebudget.yaml").read_text()
    # Port variables are built per service in config.py (f"ONEBUDGET_{service}_PORT").
    per_service_port = re.compile(r"ONEBUDGET_(ENTITLEMENT|ALLOCATION|PAYMENT|REPORTING)_PORT")
    for variable in set(re.findall(r"ONEBUDGET_[A-Z_]+", manifest)):
        known = variable in code or per_service_port.fullmatch(variable)
        assert known, f"{variable} is read by nothing"


def test_nats_cluster_has_three_routes_and_jetstream() -> None:
    conf = (DEPLOY / "nats" / "nats-server.conf").read_text()
    assert "jetstream {" in conf
    assert len(re.findall(r"nats://nats-\d\.nats:6222", conf)) == 3
