"""What a deployment is configured with matches what the code reads.

docker-compose.yml's ``CASEWORK_*`` and ``TEMPORAL_*`` names are the ones the code
reads; ``deploy/make-secrets.sh`` makes the secret files compose mounts, in the formats
the code loads; ``TemporalSettings`` takes Temporal Cloud's API key or an mTLS client
certificate from the standard ``TEMPORAL_TLS_*`` environment.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from temporalio.service import TLSConfig

from casework import config
from casework.codec import load_key_file
from casework.temporal import ENVCONFIG_VARIABLES, TASK_QUEUE_ENV, TemporalSettings, TlsSettingsError

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ["casework", "codec_server", "worker", "starter", "cid"]
#: Our images: the worker and the codec server run this project's code.
OURS = {"worker", "codec-server"}


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _source_text() -> str:
    return "\n".join(p.read_text() for folder in SOURCES for p in (ROOT / folder).rglob("*.py"))


def test_compose_casework_variables_are_read_by_the_code() -> None:
    source = _source_text()
    compose = _compose()
    for name in OURS:
        service = compose["services"][name]
        command = " ".join(service.get("command", []))
        named = set(service.get("environment", {})) | set(re.findall(r"\b(CASEWORK_[A-Z_]+)=", command))
        for variable in sorted(v for v in named if v.startswith("CASEWORK_")):
            assert variable in {v.name for v in config.variables()}, f"{name}: {variable} is read by no code"
        for variable in sorted(v for v in named if v.startswith("TEMPORAL_")):
            assert variable in ENVCONFIG_VARIABLES | {TASK_QUEUE_ENV}, f"{name}: {variable} is read by no code"


def test_the_codec_servers_environment_makes_an_oidc_codec_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """Compose's codec-server environment, read as the server reads it: people's tokens from
    the issuer, its own audience, no shared token (tests/test_codec_server_oidc.py)."""
    from codec_server.app import CodecServerConfig

    service = _compose()["services"]["codec-server"]
    assert service["command"][:2] == ["casework", "codec-server"]
    environ = {k: re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", v) for k, v in service["environment"].items()}
    environ["CASEWORK_OIDC_ISSUER"] = "https://login.example.gov.uk/realms/casework"
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CASEWORK_CODEC_TOKEN", raising=False)
    config = CodecServerConfig.from_environment()
    assert config.token is None and config.oidc is not None
    assert (config.oidc.issuer, config.oidc.audience) == ("https://login.example.gov.uk/realms/casework", "casework-codec")
    # Issue 25: the codec server decodes the cases' namespace only, the one the workers use.
    assert config.namespaces == frozenset({"default"})
    assert _compose()["services"]["worker"]["environment"]["TEMPORAL_NAMESPACE"] in config.namespaces


def test_the_image_copies_every_package() -> None:
    """Issue 25: the Dockerfile copied neither access/ nor api/, so ``pip install .`` failed
    and the compose cluster could not be built. No Docker engine runs here: every package
    ``pyproject.toml`` names (and its package data) must be copied before the install."""
    import tomllib

    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    copied = {m.group(1) for line in lines if (m := re.match(r"COPY (\S+) \./\1/?$", line.strip()))}
    install = next(i for i, line in enumerate(lines) if re.match(r"RUN pip install .*\s\.$", line.strip()))
    assert {p.split(".")[0] for p in packages} <= copied, sorted({p.split(".")[0] for p in packages} - copied)
    last_copy = max(i for i, line in enumerate(lines) if line.startswith("COPY "))
    assert last_copy < install, "every COPY before the project's install"


def test_make_secrets_makes_files_the_code_loads_and_keeps_them(tmp_path: Path) -> None:
    script = tmp_path / "make-secrets.sh"
    shutil.copy(ROOT / "deploy" / "make-secrets.sh", script)
    shutil.copy(ROOT / "deploy" / "make_certs.py", tmp_path / "make_certs.py")
    env = dict(os.environ, CASEWORK=str(Path(sys.executable).parent / "casework"), PYTHON=sys.executable)
    subprocess.run(["sh", str(script)], env=env, check=True, capture_output=True)
    keys = tmp_path / "secrets" / "codec-keys.json"
    keyring = load_key_file(keys)
    assert keyring.ids == ["k1"]
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600
    assert not (tmp_path / "secrets" / "codec-token").exists()  # the cluster's codec server takes people's tokens
    tls = sorted((tmp_path / "secrets" / "tls").iterdir())
    before = keys.read_text(), [path.read_bytes() for path in tls]
    subprocess.run(["sh", str(script)], env=env, check=True, capture_output=True)
    after = keys.read_text(), [path.read_bytes() for path in tls]
    assert after == before, "a second run must never replace a key"
    # The compose file mounts exactly these files.
    secrets = _compose()["secrets"]
    made = {f"./deploy/secrets/{path.relative_to(tmp_path / 'secrets')}" for path in (tmp_path / "secrets").rglob("*")
            if path.is_file() and path.name != "ca.key"}  # the CA's key stays on the host
    assert {s["file"] for s in secrets.values()} == made
    for login in ("owner", "worker", "api"):
        host, port, db, user, password = (tmp_path / "secrets" / f"cid-{login}.pgpass").read_text().strip().split(":")
        assert (host, port, db, user) == ("cid-postgresql", "5432", "cid", f"casework_{login}") and len(password) >= 32
    for path in (tmp_path / "secrets").rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path


def _settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> TemporalSettings:
    for name in list(os.environ):
        if name.startswith("TEMPORAL_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", "/nonexistent/temporal.toml")  # no profile of this machine's
    return TemporalSettings.from_environment()


def _tls(settings: TemporalSettings) -> object:
    return settings.connect_config().get("tls", False)


def test_temporal_settings_plain_api_key_and_mtls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Local: plain. Temporal Cloud with an API key: TLS with the system roots. mTLS: the
    client certificate and key (and a private CA, and a server name) from TEMPORAL_TLS_*."""
    plain = _settings(monkeypatch)
    assert _tls(plain) is False and (plain.address, plain.namespace, plain.task_queue) == ("localhost:7233", "default", "acro-casework")
    assert isinstance(_tls(_settings(monkeypatch, TEMPORAL_TLS="true")), TLSConfig)  # the system roots
    cloud = _settings(monkeypatch, TEMPORAL_ADDRESS="casework.a1b2c.tmprl.cloud:7233",
                      TEMPORAL_NAMESPACE="casework.a1b2c", TEMPORAL_API_KEY="secret-key")
    assert _tls(cloud) is True and cloud.connect_config()["api_key"] == "secret-key"
    assert (cloud.address, cloud.namespace) == ("casework.a1b2c.tmprl.cloud:7233", "casework.a1b2c")

    cert, key, ca = tmp_path / "client.pem", tmp_path / "client.key", tmp_path / "ca.pem"
    cert.write_bytes(b"-----BEGIN CERTIFICATE-----\nclient\n")
    key.write_bytes(b"-----BEGIN PRIVATE KEY-----\nkey\n")
    ca.write_bytes(b"-----BEGIN CERTIFICATE-----\nca\n")
    mtls = _settings(monkeypatch, TEMPORAL_TLS_CLIENT_CERT_PATH=str(cert), TEMPORAL_TLS_CLIENT_KEY_PATH=str(key),
                     TEMPORAL_TLS_SERVER_CA_CERT_PATH=str(ca), TEMPORAL_TLS_SERVER_NAME="temporal.internal")
    config = _tls(mtls)
    assert isinstance(config, TLSConfig)
    assert config.client_cert == cert.read_bytes() and config.client_private_key == key.read_bytes()
    assert config.server_root_ca_cert == ca.read_bytes() and config.domain == "temporal.internal"

    with pytest.raises(TlsSettingsError, match="set both or neither"):
        _settings(monkeypatch, TEMPORAL_TLS_CLIENT_CERT_PATH=str(cert))
    with pytest.raises(TlsSettingsError, match="missing.pem"):
        _settings(monkeypatch, TEMPORAL_TLS_CLIENT_CERT_PATH=str(tmp_path / "missing.pem"), TEMPORAL_TLS_CLIENT_KEY_PATH=str(key))


def test_a_temporal_cli_profile_is_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The TOML profiles the temporal CLI reads (temporalio.envconfig); variables win over them."""
    config = tmp_path / "temporal.toml"
    config.write_text('[profile.cluster]\naddress = "temporal.internal:7233"\nnamespace = "casework"\n')
    for name in list(os.environ):
        if name.startswith("TEMPORAL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(config))
    monkeypatch.setenv("TEMPORAL_PROFILE", "cluster")
    settings = TemporalSettings.from_environment()
    assert (settings.address, settings.namespace) == ("temporal.internal:7233", "casework")
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "other")
    assert TemporalSettings.from_environment().namespace == "other"
    monkeypatch.setenv("TEMPORAL_PROFILE", "absent")
    with pytest.raises(TlsSettingsError, match="absent"):
        TemporalSettings.from_environment()


async def _run_worker(env: dict[str, str]) -> tuple[int | None, str]:
    """Run ``casework-worker`` (expected to stop at once); its status and what it wrote to stderr."""
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "casework-worker"), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), 30)
    return process.returncode, err.decode()


async def test_worker_refuses_a_half_configured_mtls_in_one_line(database_url: str, tmp_path: Path) -> None:
    """A certificate without its key: the worker says so in one line and exits 5, no traceback."""
    cert = tmp_path / "client.pem"
    cert.write_text("x")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}
    env.update(TEMPORAL_TLS_CLIENT_CERT_PATH=str(cert), DATABASE_URL=database_url,
               CASEWORK_METRICS_ADDRESS="", CASEWORK_HEALTH_ADDRESS="")
    returncode, text = await _run_worker(env)
    assert returncode == 5, text
    assert "Traceback" not in text
    assert "TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH go together" in text


@pytest.mark.parametrize("value", ["lots", "-1", "2.5"])
async def test_worker_refuses_a_bad_cache_size_in_one_line(value: str) -> None:
    """CASEWORK_MAX_CACHED_WORKFLOWS must be a whole number: named in one line, exit 2."""
    env = dict(os.environ, DATABASE_URL="postgresql://unused@127.0.0.1:1/none", CASEWORK_MAX_CACHED_WORKFLOWS=value)
    returncode, text = await _run_worker(env)
    assert returncode == 2, text
    assert "Traceback" not in text and text.count("\n") == 1
    assert f"CASEWORK_MAX_CACHED_WORKFLOWS: " in text and f"(not '{value}')" in text


def test_cache_size_default_and_value(monkeypatch: pytest.MonkeyPatch) -> None:
    variable = config.WorkerSettings.variable("max_cached_workflows")

    def size(text: str | None) -> int:
        if text is None:
            monkeypatch.delenv(variable, raising=False)
        else:
            monkeypatch.setenv(variable, text)
        return config.WorkerSettings.read().max_cached_workflows

    assert size(None) == size("") == 1000  # temporalio's default
    assert size("250") == 250 and size("0") == 0


async def test_the_compose_certificates_make_mtls_that_refuses_a_client_without_one(tmp_path: Path) -> None:
    """deploy/make_certs.py: the server certificate (name ``temporal``) under our CA takes a
    client certificate of the CA and refuses a handshake without one - what Temporal's
    TEMPORAL_TLS_REQUIRE_CLIENT_AUTH does with these files. Our client settings
    (TEMPORAL_TLS_*) load the worker's files."""
    import ssl

    sys.path.insert(0, str(ROOT / "deploy"))
    try:
        from make_certs import make_certs
    finally:
        sys.path.pop(0)
    folder = tmp_path / "tls"
    assert "temporal.pem" in make_certs(folder)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(folder / "ca.pem"))
    server_ctx.load_cert_chain(folder / "temporal.pem", folder / "temporal.key")
    server_ctx.verify_mode = ssl.CERT_REQUIRED

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peercert")
        writer.write(dict(x[0] for x in peer["subject"])["commonName"].encode() + b"\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]

    def client(cert: str | None) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(folder / "ca.pem"))
        if cert:
            ctx.load_cert_chain(folder / f"{cert}.pem", folder / f"{cert}.key")
        return ctx

    async def hello(cert: str | None) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client(cert), server_hostname="temporal")
        try:
            return await reader.readline()
        finally:
            writer.close()

    try:
        for name in ("worker", "ui", "admin"):
            assert await hello(name) == f"casework-{name}\n".encode()
        try:  # TLS 1.3: the client may learn of the refusal only as the connection closes
            unanswered = await hello(None)
        except (ssl.SSLError, ConnectionError):
            unanswered = b""
        assert unanswered == b"", "a client without a certificate is never served"
        with pytest.raises(ssl.SSLCertVerificationError):
            await asyncio.open_connection("127.0.0.1", port, ssl=client("worker"), server_hostname="elsewhere")
    finally:
        server.close()
        await server.wait_closed()
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    settings = TemporalSettings.from_environment({
        "TEMPORAL_TLS_CLIENT_CERT_PATH": str(folder / "worker.pem"), "TEMPORAL_TLS_CLIENT_KEY_PATH": str(folder / "worker.key"),
        "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(folder / "ca.pem"), "TEMPORAL_TLS_SERVER_NAME": "temporal",
    })
    tls = settings.connect_config()["tls"]
    assert tls.client_cert == (folder / "worker.pem").read_bytes() and tls.domain == "temporal"
