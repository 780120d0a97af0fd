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
        # Over TLS (Kubernetes' own gRPC probe speaks none): onebudget.shared.probe.
        probe = ["python", "-m", "onebudget.shared.probe", name]
        assert container["readinessProbe"]["exec"]["command"] == probe
        assert container["livenessProbe"]["exec"]["command"] == probe
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
        assert config.tls_cert_file.startswith("/run/onebudget/tls/")  # 0.0.0.0 needs TLS


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


from onebudget.shared.bus import publish_subjects  # noqa: E402


def _containers() -> dict[str, dict[str, Any]]:
    return {name: d["spec"]["template"]["spec"] for name, d in _of_kind("Deployment").items()}


def test_certificates_and_credentials_come_from_secrets() -> None:
    """ADR 16: each service's TLS certificate and NATS password are files mounted from its own
    Secrets; the personal-data key only where it is used; database URLs from a Secret."""
    for name, pod in _containers().items():
        volumes = {v["name"]: v["secret"]["secretName"] for v in pod["volumes"]}
        assert volumes["tls"] == f"onebudget-{name}-tls"
        assert volumes["nats"] == f"onebudget-{name}-nats"
        assert ("personal-data" in volumes) == (name in ("entitlement", "reporting"))
        container = pod["containers"][0]
        mounts = {m["name"]: m for m in container["volumeMounts"]}
        assert all(m["readOnly"] for m in mounts.values())
        env = {e["name"]: e for e in container["env"]}
        assert env["ONEBUDGET_NATS_USER"]["value"] == f"onebudget_{name}"
        # ADR 24: the serving container holds its own role's URL only and does not migrate...
        own = {"name": f"onebudget-{name}-database", "key": "runtime-url"}
        assert env["ONEBUDGET_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == own
        assert env["ONEBUDGET_MIGRATE"]["value"] == "false"
        assert "ONEBUDGET_RUNTIME_DATABASE_URL" not in env
        # ...its init container migrates with the migrating role's, from a Secret of its own.
        [init] = pod["initContainers"]
        assert init["args"] == [f"onebudget.{name}", "migrate"]
        init_env = {e["name"]: e for e in init["env"]}
        migrating = {"name": f"onebudget-{name}-migrate", "key": "url"}
        assert init_env["ONEBUDGET_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == migrating
        assert init["securityContext"]["allowPrivilegeEscalation"] is False
        assert pod["securityContext"]["runAsNonRoot"] is True
    config = _of_kind("ConfigMap")["onebudget-config"]["data"]
    assert config["ONEBUDGET_NATS_URL"].startswith("tls://")
    assert config["ONEBUDGET_TLS_CA_FILE"] == "/run/onebudget/tls/ca.crt"


def test_every_service_has_a_network_policy_and_the_rest_is_denied() -> None:
    policies = _of_kind("NetworkPolicy")
    deny = policies["default-deny"]["spec"]
    assert deny["podSelector"] == {}
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny
    assert "egress" not in deny
    for name, port in SERVICES.items():
        spec = policies[name]["spec"]
        assert spec["podSelector"]["matchLabels"] == {"app": name}
        assert set(spec["policyTypes"]) == {"Ingress", "Egress"}
        # In: its own gRPC port only.
        assert [p["port"] for rule in spec["ingress"] for p in rule["ports"]] == [port]
        # Out: PostgreSQL, NATS clients' port and DNS; never another service's gRPC port.
        out = {p["port"] for rule in spec["egress"] for p in rule["ports"]}
        assert out == {5432, 4222, 53}
    assert "nats" in policies


def test_nats_users_may_publish_only_their_own_subjects() -> None:
    conf = (DEPLOY / "nats" / "nats-server.conf").read_text()
    assert "authorization {" in conf
    assert "tls {" in conf
    for name in SERVICES:
        block = conf.split(f"user: onebudget_{name}\n", 1)[1].split("subscribe", 1)[0]
        allowed = re.search(r"allow: \[(.*)\]", block)
        assert allowed is not None
        subjects = [s.strip().strip('"') for s in allowed.group(1).split(",")]
        own = [s for s in subjects if s.startswith("onebudget.")]
        assert own == publish_subjects(name)
        assert f"password: ${name.upper()}_NATS_PASSWORD" in block


# What a secret looks like, assembled here so that this file does not look like one itself.
_PEM_KEY = re.compile("-----BEGIN [A-Z ]*" + "PRIVATE KEY-----")
_URL_PASSWORD = re.compile(r"(postgres(?:ql)?|nats|tls)://[^/\s:@]+:[^@\s/]+@")
_NATS_PASSWORD = re.compile(r"password:\s*(?!\$)\S+")


def test_no_secret_is_in_the_repository() -> None:
    """No private key, no URL with a password, no NATS password in clear in any tracked file
    (the local stack makes its own under the git-ignored .onebudget/)."""
    import subprocess

    root = DEPLOY.parent
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.split()
    assert len(tracked) > 100
    found = []
    for name in tracked:
        path = root / name
        if not path.is_file() or path.suffix in (".png", ".jpg", ".ico"):
            continue
        text = path.read_text(errors="replace")
        if _PEM_KEY.search(text):
            found.append(f"{name}: a private key")
        for match in _URL_PASSWORD.finditer(text):
            if name.startswith("tests/"):
                continue  # tests spell out URLs with made-up passwords to check they are dropped
            found.append(f"{name}: a URL with a password ({match.group(1)})")
        if name.startswith("deploy/") and _NATS_PASSWORD.search(text):
            found.append(f"{name}: a password in clear")
    assert found == []
    assert ".onebudget" in (root / ".gitignore").read_text()
