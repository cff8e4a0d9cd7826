"""docker-compose.yml describes a real cluster (no Docker engine runs here, so we read it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from casework.search import ALL as SEARCH_ATTRIBUTES, type_name

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _one_shot(service: dict) -> bool:
    """A job that runs once and ends (a schema, a migration): compose must not restart it."""
    return str(service.get("restart", "")) == "no"


def _depends(compose: dict, name: str) -> dict:
    return compose["services"][name].get("depends_on", {})


def _published(service: dict) -> list[tuple[str, str, str]]:
    """(host IP, host port or range, container port) of each published port, short or long form."""
    found = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            found.append((str(port.get("host_ip", "")), str(port.get("published", "")), str(port["target"])))
        else:
            parts = str(port).split(":")
            found.append((parts[0] if len(parts) == 3 else "", parts[-2] if len(parts) > 1 else "", parts[-1]))
    return found


def _required(value: object, variable: str) -> bool:
    """``${VAR:?...}``: compose refuses to start without the variable."""
    return str(value).startswith(f"${{{variable}:?")


def _authenticates(service: dict) -> str | None:
    """How a published service knows who calls it, or None: mutual TLS (Temporal's frontend),
    an OpenID Connect login (the Web UI), people's bearer tokens from the configured issuer
    (the codec server, the API)."""
    env = service.get("environment", {})
    if env.get("TEMPORAL_TLS_REQUIRE_CLIENT_AUTH") == "true":
        return "mutual TLS"
    if env.get("TEMPORAL_AUTH_ENABLED") == "true" and env.get("TEMPORAL_AUTH_TYPE") == "oidc":
        return "OIDC login"
    if env.get("CASEWORK_CODEC_AUTH") == "oidc" and _required(env.get("CASEWORK_OIDC_ISSUER"), "CASEWORK_OIDC_ISSUER"):
        return "bearer tokens"
    if service.get("command") == ["casework-api"] and _required(env.get("CASEWORK_OIDC_ISSUER"), "CASEWORK_OIDC_ISSUER"):
        return "bearer tokens"
    return None


def test_images_pinned_to_versions(compose: dict) -> None:
    for name, service in compose["services"].items():
        image = service.get("image")
        assert image, f"{name} has no image"
        repository, _, tag = image.rpartition(":")
        assert repository and re.match(r"^\d+\.\d+", tag), f"{name}: image {image} is not pinned to a version"
        assert "auto-setup" not in image, "the deprecated auto-setup image is not used"


def test_no_port_is_open_to_anyone_unauthenticated(compose: dict) -> None:
    """Issue 15: every published port is on loopback only, and behind authentication;
    the databases and the workers publish nothing."""
    published = {name for name, service in compose["services"].items() if service.get("ports")}
    assert published, "nothing published? (the CLI, the UI and the API are reached from this host)"
    for name in published:
        service = compose["services"][name]
        for host_ip, _, target in _published(service):
            assert host_ip == "127.0.0.1", f"{name} publishes {target} on every interface"
        assert _authenticates(service), f"{name} publishes a port with no authentication in front of it"
    for name, service in compose["services"].items():
        if str(service.get("image", "")).startswith("postgres:") or service.get("command") == ["casework-worker"]:
            assert name not in published, f"{name} must not be reachable from outside its network"


def test_long_running_services_have_healthchecks_and_are_waited_for_by_them(compose: dict) -> None:
    """A service that runs on has a healthcheck; whoever depends on it waits until it is
    healthy. A one-shot job is waited for until it has completed successfully."""
    services = compose["services"]
    for name, service in services.items():
        if not _one_shot(service):
            assert "healthcheck" in service, f"{name} has no healthcheck"
        for needed, how in _depends(compose, name).items():
            wanted = "service_completed_successfully" if _one_shot(services[needed]) else "service_healthy"
            assert how["condition"] == wanted, f"{name} waits for {needed} with {how['condition']}, not {wanted}"
    assert any(_one_shot(s) for s in services.values()) and any(not _one_shot(s) for s in services.values())


def test_the_programs_wait_for_the_schema_and_the_migrations(compose: dict) -> None:
    """Nothing of ours starts against a CID or a Temporal without its schema: each of our
    long-running programs depends, directly, on every one-shot job that prepares them."""
    services = compose["services"]
    jobs = {name for name, service in services.items() if _one_shot(service) and name != "temporal-schema"}
    for name in ("worker", "api"):
        assert jobs <= set(_depends(compose, name)), (name, jobs - set(_depends(compose, name)))


def test_stateless_programs_run_replicated(compose: dict) -> None:
    """The worker and the API keep no state of their own: more than one replica each, no
    volume of their own, and a published range wide enough for every replica."""
    for name in ("worker", "api"):
        service = compose["services"][name]
        replicas = service.get("deploy", {}).get("replicas", 1)
        assert replicas >= 2, f"{name}: {replicas} replica"
        assert not [v for v in service.get("volumes", []) if ":" in str(v) and not str(v).startswith("./")], name
        for _, host, _ in _published(service):
            low, _, high = host.partition("-")
            assert high and int(high) - int(low) + 1 >= replicas, f"{name}: {replicas} replicas cannot share port {host}"
        assert service["build"] == "." and (ROOT / "Dockerfile").is_file()


def test_the_databases_keep_their_data_in_named_volumes(compose: dict) -> None:
    databases = {name: s for name, s in compose["services"].items() if str(s.get("image", "")).startswith("postgres:")}
    assert len(databases) >= 2, "the CID is its own server, not a database inside Temporal's"
    for name, service in databases.items():
        named = [str(v).split(":")[0] for v in service.get("volumes", [])]
        assert set(named) & set(compose["volumes"]), f"{name} keeps its data in no named volume"


def test_search_attributes_created_by_the_register_job() -> None:
    script = (ROOT / "deploy" / "temporal-register.sh").read_text()
    for key in SEARCH_ATTRIBUTES:
        assert f"{key.name}:{type_name(key)}" in script, key.name


def test_schema_job_uses_the_sql_tool_for_both_databases() -> None:
    script = (ROOT / "deploy" / "temporal-schema.sh").read_text()
    assert "temporal-sql-tool" in script
    assert "temporal/versioned" not in script or "visibility" in script
    assert "update-schema" in script


def test_the_worker_logs_in_as_its_own_role_and_never_holds_the_owners_login(compose: dict) -> None:
    """Migration 0005: the owner migrates (cid-migrate); the worker has only casework_worker."""
    services = compose["services"]
    worker = services["worker"]
    assert "DATABASE_URL" not in worker["environment"] and "CASEWORK_DB_ROLE" not in worker["environment"]
    assert worker["environment"]["CASEWORK_WORKER_DATABASE_URL"].startswith("postgresql://casework_worker@")
    assert "cid_owner_pgpass" not in worker["secrets"] and "cid_worker_pgpass" in worker["secrets"]
    migrate = services["cid-migrate"]
    assert migrate["environment"]["DATABASE_URL"].startswith("postgresql://casework_owner@")
    assert "cid_owner_pgpass" in migrate["secrets"] and "cid_worker_pgpass" not in migrate["secrets"]
    cid = services["cid-postgresql"]
    assert "POSTGRES_PASSWORD" not in cid["environment"]  # from a secret file, not in the compose file
    assert any(v.startswith("./deploy/cid-init.sh:/docker-entrypoint-initdb.d/") for v in cid["volumes"])
    init = (ROOT / "deploy" / "cid-init.sh").read_text()
    for login in ("casework_owner", "casework_worker", "casework_api"):
        assert f"CREATE ROLE {login} LOGIN PASSWORD" in init
    assert "SUPERUSER" not in init and "CREATEROLE" not in init and " IN ROLE" not in init
    for service in services.values():  # no password written into the compose file itself
        assert not re.search(r"postgresql://[^@/]*:[^@/]*@", str(service.get("environment", {})))


def test_temporal_takes_mtls_clients_only(compose: dict) -> None:
    """The frontend requires a client certificate from our CA; every service that talks
    to Temporal presents its own (and checks the server's name against the CA)."""
    env = compose["services"]["temporal"]["environment"]
    assert env["TEMPORAL_TLS_REQUIRE_CLIENT_AUTH"] == "true"
    for key in ("TEMPORAL_TLS_FRONTEND_CERT", "TEMPORAL_TLS_FRONTEND_KEY", "TEMPORAL_TLS_CLIENT1_CA_CERT",
                "TEMPORAL_TLS_SERVER_CERT", "TEMPORAL_TLS_SERVER_KEY", "TEMPORAL_TLS_SERVER_CA_CERT"):
        assert env[key].startswith("/run/secrets/tls_"), key
    assert env["TEMPORAL_TLS_FRONTEND_DISABLE_HOST_VERIFICATION"] == "false"
    health = compose["services"]["temporal"]["healthcheck"]["test"]
    assert "--tls-cert-path" in health and "--tls-ca-path" in health

    secrets = compose["secrets"]
    clients = {"worker": "worker", "api": "api", "cid-migrate": "admin", "temporal-register": "admin"}
    for name, identity in clients.items():
        service = compose["services"][name]
        env = service["environment"]
        assert env["TEMPORAL_ADDRESS"] == "temporal:7233", name
        assert env["TEMPORAL_TLS_CLIENT_CERT_PATH"] == f"/run/secrets/tls_{identity}_cert", name
        assert env["TEMPORAL_TLS_CLIENT_KEY_PATH"] == f"/run/secrets/tls_{identity}_key", name
        assert env["TEMPORAL_TLS_SERVER_CA_CERT_PATH"] == "/run/secrets/tls_ca" and env["TEMPORAL_TLS_SERVER_NAME"] == "temporal"
        assert {"tls_ca", f"tls_{identity}_cert", f"tls_{identity}_key"} <= set(service["secrets"]), name
        assert not {s for s in service["secrets"] if s.startswith("tls_") and s != "tls_ca"} - {f"tls_{identity}_cert", f"tls_{identity}_key"}, \
            f"{name} holds another identity's key"
    ui = compose["services"]["temporal-ui"]["environment"]
    assert (ui["TEMPORAL_TLS_CERT"], ui["TEMPORAL_TLS_KEY"]) == ("/run/secrets/tls_ui_cert", "/run/secrets/tls_ui_key")
    assert ui["TEMPORAL_TLS_ENABLE_HOST_VERIFICATION"] == "true" and ui["TEMPORAL_TLS_SERVER_NAME"] == "temporal"
    for name, secret in secrets.items():
        if name.startswith("tls_"):
            assert secret["file"].startswith("./deploy/secrets/tls/") and not secret["file"].endswith("ca.key"), name
    register = (ROOT / "deploy" / "temporal-register.sh").read_text()
    assert "--tls-cert-path" in register and "--tls-server-name" in register


def test_the_web_ui_logs_people_in_through_a_configurable_oidc_issuer(compose: dict) -> None:
    """No anonymous UI: OIDC on, pointed at CASEWORK_OIDC_ISSUER, which compose requires
    (``${VAR:?...}``: ``docker compose up`` refuses to start without it)."""
    ui = compose["services"]["temporal-ui"]["environment"]
    assert ui["TEMPORAL_AUTH_ENABLED"] == "true" and ui["TEMPORAL_AUTH_TYPE"] == "oidc"
    for key, variable in [("TEMPORAL_AUTH_PROVIDER_URL", "CASEWORK_OIDC_ISSUER"), ("TEMPORAL_AUTH_ISSUER_URL", "CASEWORK_OIDC_ISSUER"),
                          ("TEMPORAL_AUTH_CLIENT_ID", "CASEWORK_UI_OIDC_CLIENT_ID"),
                          ("TEMPORAL_AUTH_CLIENT_SECRET", "CASEWORK_UI_OIDC_CLIENT_SECRET")]:
        assert ui[key].startswith(f"${{{variable}:?"), key
    assert ui["TEMPORAL_AUTH_CALLBACK_URL"].endswith("/auth/sso/callback")
    assert "openid" in ui["TEMPORAL_AUTH_SCOPES"].split(",")


def test_the_codec_server_takes_peoples_tokens_and_no_codec_token_is_in_the_ui(compose: dict) -> None:
    """Issue 15: the UI's public settings (its codec endpoint) hold no token; the UI passes
    each person's own access token, which the codec server checks against the same issuer
    (tests/test_codec_server_oidc.py). No shared codec token is mounted or set anywhere;
    the UI cannot write (people act through the API)."""
    services = compose["services"]
    codec, ui = services["codec-server"], services["temporal-ui"]["environment"]
    assert codec["environment"]["CASEWORK_CODEC_AUTH"] == "oidc"
    assert codec["environment"]["CASEWORK_OIDC_ISSUER"] == ui["TEMPORAL_AUTH_ISSUER_URL"]
    assert ui["TEMPORAL_CODEC_ENDPOINT"] == "http://localhost:8081" and ui["TEMPORAL_CODEC_PASS_ACCESS_TOKEN"] == "true"
    assert ui["TEMPORAL_DISABLE_WRITE_ACTIONS"] == "true"
    text = (ROOT / "docker-compose.yml").read_text()
    assert "CASEWORK_CODEC_TOKEN" not in text and "codec_token" not in text and "/ui/" not in text


def test_the_api_runs_replicated_with_its_own_login_and_a_configured_issuer(compose: dict) -> None:
    """Issue 15: the API scales out (stateless), logs in to the CID as casework_api only,
    checks tokens against the issuer compose is given (``${VAR:?...}``: none, no start), and
    is published on loopback only."""
    api = compose["services"]["api"]
    assert api["command"] == ["casework-api"] and api["build"] == "."
    assert api["deploy"]["replicas"] >= 2
    env = api["environment"]
    assert env["CASEWORK_API_DATABASE_URL"].startswith("postgresql://casework_api@")
    assert "DATABASE_URL" not in env and "cid_api_pgpass" in api["secrets"]
    assert not {"cid_owner_pgpass", "cid_worker_pgpass", "codec_token"} & set(api["secrets"])
    assert env["CASEWORK_OIDC_ISSUER"].startswith("${CASEWORK_OIDC_ISSUER:?")
    assert "CASEWORK_STACK" not in env  # the development issuer never runs here
    host, _, port = env["CASEWORK_API_ADDRESS"].rpartition(":")
    assert [target for _, _, target in _published(api)] == [port]
    assert _depends(compose, "api")["cid-migrate"]["condition"] == "service_completed_successfully"
    assert "/live" in " ".join(api["healthcheck"]["test"])
    assert '"api"' in (ROOT / "deploy" / "make_certs.py").read_text()  # its own client certificate
