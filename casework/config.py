"""Every setting the programs read from the environment, as pydantic-settings models: each
variable's name, type, default, check and meaning in one place. docs/configuration.md is
generated from these models (``scripts/config_table.py``; tests/test_config_home.py checks
that it is current).

Each program reads the models it needs when it needs them, never at import time (a test
or ``casework up`` may set a variable first): ``WorkerSettings.read()``. ``read(environ)``
reads a mapping instead of ``os.environ`` (tests; a child process's environment). An empty
variable is an unset one, except where a field says otherwise. A bad value is refused as
one ``SettingsError`` line naming the variable.

The Temporal connection (``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``, TLS, API key,
profiles) is the SDK's environment configuration (``temporalio.envconfig``, read in
``casework/temporal.py``), as the ``temporal`` CLI reads it; only our own ``TEMPORAL_*``
additions are here.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Self, Union, get_args, get_origin

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

Environ = Mapping[str, str]


class SettingsError(ValueError):
    """A variable with a value its setting refuses; the message is one line naming it."""


def export(name: str, value: str, environ: MutableMapping[str, str] | None = None) -> None:
    """Set a variable for the child processes this one starts (a worker, a CLI command)."""
    if environ is None:
        os.environ[name] = value
    else:
        environ[name] = value


def _comma_list(value: object) -> object:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


#: A comma-separated list in the environment.
CommaList = Annotated[tuple[str, ...], NoDecode]


class Settings(BaseSettings):
    """The base of every model here: frozen, empty is unset, names as pydantic-settings matches them
    (case-insensitively)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True, env_ignore_empty=True, defer_build=True,
                                      populate_by_name=True)

    @classmethod
    def variable(cls, field: str) -> str:
        """The environment variable that sets ``field``."""
        alias = cls.model_fields[field].validation_alias
        if isinstance(alias, str):
            return alias
        if isinstance(alias, AliasChoices):
            return str(alias.choices[0])
        return f"{cls.model_config.get('env_prefix', '')}{field}".upper()

    @classmethod
    def read(cls, environ: Environ | None = None, **overrides: Any) -> Self:
        """The settings from ``environ`` (default: this process's environment), with
        ``overrides`` (by field name) on top."""
        try:
            if environ is None:
                return cls(**overrides)
            ignore_empty = cls.model_config.get("env_ignore_empty", False)
            given = {name: environ[cls.variable(name)] for name in cls.model_fields
                     if cls.variable(name) in environ and (environ[cls.variable(name)] or not ignore_empty)}
            token = _MAPPING_ONLY.set(True)
            try:
                return cls(**(given | overrides))
            finally:
                _MAPPING_ONLY.reset(token)
        except ValidationError as err:
            raise SettingsError(_one_line(cls, err)) from None

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource) -> tuple[PydanticBaseSettingsSource, ...]:
        """The environment, or (``read(environ)``) only the mapping given; never a .env file."""
        return (init_settings,) if _MAPPING_ONLY.get() else (init_settings, env_settings)


#: Set while ``Settings.read(environ)`` builds a model from a mapping instead of os.environ.
_MAPPING_ONLY: ContextVar[bool] = ContextVar("mapping_only", default=False)


def _one_line(model: type[Settings], err: ValidationError) -> str:
    problems = []
    for error in err.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        known = model.model_fields.get(field)
        name = model.variable(field) if known else field or model.__name__
        message = str(error["msg"]).removeprefix("Value error, ")
        given = error.get("input")
        secret = known is not None and known.repr is False  # a key or a token is never echoed
        problems.append(f"{name}: {message}" + (f" (not '{given}')" if isinstance(given, str) and not secret else ""))
    return "; ".join(problems)


# ------------------------------------------------------------------ shared by several programs


class DatabaseSettings(Settings):
    database_url: str | None = Field(None, validation_alias="DATABASE_URL", description=(
        "The CID's PostgreSQL, e.g. `postgresql://user:pw@host:5432/cid` (the owner's login: "
        "migrations, tests; the worker and the API derive their own logins from it). Unset: "
        "`casework up` and the tests use an embedded PostgreSQL"))


#: The local stack's folder under the user's state folder (XDG Base Directory), when
#: ``CASEWORK_DATA_DIR`` is not set: the same from any working folder (issue 24 item 2).
DATA_DIR_NAME = "casework"
#: On the local stack the people directory is the development issuer's people.
DEV_DIRECTORY = Path(__file__).resolve().parent.parent / "deploy" / "dev-identities.toml"


class LocalStackSettings(Settings):
    """Where the local stack keeps its files, and whether this is the local stack."""

    data_dir_setting: Path | None = Field(None, validation_alias="CASEWORK_DATA_DIR", description=(
        "The local stack's folder: `temporal.db`, `pgdata/`, `stack.json`, `codec-keys.json`, "
        "`codec-token`, `temporal.log` (the CLI finds `stack.json` here, from any working folder; "
        "default `$XDG_STATE_HOME/casework`; docs/local-stack.md)"))
    xdg_state_home: str | None = Field(None, validation_alias="XDG_STATE_HOME", description=(
        "The user's state folder: the local stack's data folder is `casework` under it (default `~/.local/state`)"))
    stack: str | None = Field(None, validation_alias="CASEWORK_STACK", description=(
        "`local` marks the local stack (`casework up` sets it): only there does the development "
        "issuer run, and the people directory default to its people"))
    kubernetes_service_host: str | None = Field(None, validation_alias="KUBERNETES_SERVICE_HOST", description=(
        "Set by Kubernetes in every pod: the development issuer refuses to run where it is set"))

    @property
    def data_dir(self) -> Path:
        """``CASEWORK_DATA_DIR``, else ``$XDG_STATE_HOME/casework`` (a relative value is ignored)."""
        if self.data_dir_setting is not None:
            return self.data_dir_setting.expanduser()
        state = self.xdg_state_home
        home = Path(state) if state and Path(state).is_absolute() else Path.home() / ".local" / "state"
        return home / DATA_DIR_NAME

    @property
    def is_local(self) -> bool:
        return self.stack == "local"

    @property
    def in_kubernetes(self) -> bool:
        return self.kubernetes_service_host is not None


class ProcessFileSettings(Settings):
    process_config: Path | None = Field(None, validation_alias="CASEWORK_PROCESS_CONFIG", description=(
        "A JSON file overriding the process settings: deadlines per task kind, reminders, "
        "\"most serious\" offence categories (R12), the EEA list (`casework/settings.py`)"))


class LogSettings(Settings):
    log_level: str | None = Field(None, validation_alias="LOG_LEVEL", description=(
        "Log level of `casework up` (default `WARNING`), the worker and the API (default `INFO`)"))

    def level(self, default: str) -> str:
        return self.log_level or default


class TemporalExtraSettings(Settings):
    """Our own ``TEMPORAL_*`` variables beside the SDK's connection settings."""

    task_queue: str | None = Field(None, validation_alias="TEMPORAL_TASK_QUEUE", description=(
        "The task queue the case workers poll (default `acro-casework`; the CLI's operator "
        "commands on the local stack: `task_queue` in `stack.json`)"))
    address: str | None = Field(None, validation_alias="TEMPORAL_ADDRESS", description=(
        "Read here only so that `casework up` can warn that other commands will use it "
        "(the connection itself is the SDK's)"))
    cli_path: str | None = Field(None, validation_alias="TEMPORAL_CLI_PATH", description=(
        "An explicit `temporal` binary. Nothing is ever downloaded (default: the venv's `bin/`)"))
    test_server_path: str | None = Field(None, validation_alias="TEMPORAL_TEST_SERVER_PATH", description=(
        "An explicit `temporal-test-server` binary (default: the venv's `bin/`)"))


#: The SDK's own name for the namespace: set for child processes, read by the SDK only.
TEMPORAL_NAMESPACE_ENV = "TEMPORAL_NAMESPACE"


# ------------------------------------------------------------------ payload encryption (casework.codec)


class CodecSettings(Settings):
    """Payload encryption and the codec server (docs/privacy.md, "Keys"); the keys' text is
    parsed and checked by ``casework.codec``."""

    model_config = SettingsConfigDict(env_prefix="CASEWORK_CODEC_")

    keys: str | None = Field(None, repr=False, description=(
        "Payload encryption keys, `ID:BASE64,...`, the first encrypting (`casework up` makes its "
        "own in the data folder)"))
    key_file: Path | None = Field(None, description="A JSON key file instead of `CASEWORK_CODEC_KEYS`")
    test_key: bool = Field(False, description=(
        "`1`: a throwaway payload key for this process tree (tests only: `pyproject.toml` sets it for pytest)"))
    token: str | None = Field(None, repr=False, description=(
        "The codec server's shared bearer token (`token` mode; `casework up` makes one in the data folder)"))
    accept_plaintext: bool = Field(False, description=(
        "`1`: read unencrypted payloads as they are (only for histories recorded before encryption "
        "was switched on); otherwise a client without the key cannot start, signal or update a case"))
    cors_origins: CommaList = Field((), description=(
        "Browser origins the codec server answers, comma-separated (default: the dev server's Web UI)"))
    namespaces: CommaList = Field((), description="Namespaces the codec server serves, comma-separated (default: every one)")
    auth: Literal["token", "oidc"] = Field("token", description=(
        "How the codec server knows its callers: `token`, the shared `CASEWORK_CODEC_TOKEN` (the local "
        "stack); `oidc`, each operator's bearer token from `CASEWORK_OIDC_ISSUER` (decode only; the cluster)"))
    oidc_audience: str | None = Field(None, description=(
        "With `oidc`: the audience people's tokens carry for the codec server (default: `CASEWORK_OIDC_AUDIENCE`)"))

    @field_validator("cors_origins", "namespaces", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return _comma_list(value)

    @field_validator("token")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return value.strip() or None if value else None

    @field_validator("auth", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


# ------------------------------------------------------------------ the worker (casework-worker)


class WorkerSettings(Settings):
    worker_database_url: str | None = Field(None, validation_alias="CASEWORK_WORKER_DATABASE_URL", description=(
        "The worker's own database login, `casework_worker` (migration 0005): member of no role, may only "
        "append to the audit log (default: `DATABASE_URL` with user `casework_worker`, no password)"))
    db_role: str | None = Field(None, validation_alias="CASEWORK_DB_ROLE", description=(
        "No longer used (migration 0003's `SET ROLE`): the worker warns when it is set, and logs in "
        "as `casework_worker`"))
    shutdown_grace_seconds: int = Field(20, ge=0, validation_alias="CASEWORK_SHUTDOWN_GRACE_SECONDS", description=(
        "How long in-flight activities get to finish on shutdown"))
    max_cached_workflows: int = Field(1000, ge=0, validation_alias="CASEWORK_MAX_CACHED_WORKFLOWS", description=(
        "Cases a worker keeps in memory between tasks: ~95 MB plus ~135 KB per cached case; an evicted "
        "case is replayed when it next wakes (docs/performance.md); the default is temporalio's"))

    @property
    def shutdown_grace(self) -> timedelta:
        return timedelta(seconds=self.shutdown_grace_seconds)


class WorkerEndpointSettings(Settings):
    """The worker's HTTP endpoints; here an empty variable means "none", not the default."""

    model_config = SettingsConfigDict(env_ignore_empty=False)

    metrics_address: str = Field("0.0.0.0:9464", validation_alias="CASEWORK_METRICS_ADDRESS", description=(
        "host:port of the worker's Prometheus endpoint (empty: none)"))
    health_address: str = Field("0.0.0.0:8000", validation_alias="CASEWORK_HEALTH_ADDRESS", description=(
        "host:port of the worker's `/live` and `/ready` (empty: none)"))

    @property
    def metrics(self) -> str | None:
        return self.metrics_address or None

    @property
    def health(self) -> str | None:
        return self.health_address or None


class RetentionSettings(Settings):
    retention_days: int = Field(2190, ge=1, validation_alias="CASEWORK_RETENTION_DAYS", description=(
        "How long a closed case keeps its personal data before `casework retention purge` removes it "
        "(six years; docs/privacy.md)"))

    @property
    def period(self) -> timedelta:
        return timedelta(days=self.retention_days)


# ------------------------------------------------------------------ the HTTP API (casework-api)

DEFAULT_API_PORT = 8080  # `casework up`'s API (its --api-port)


class ApiSettings(LocalStackSettings):
    api_address: str = Field(f"127.0.0.1:{DEFAULT_API_PORT}", validation_alias="CASEWORK_API_ADDRESS",
                             description="host:port the HTTP API listens on")
    api_database_url: str | None = Field(None, validation_alias="CASEWORK_API_DATABASE_URL", description=(
        "The API's own database login, `casework_api` (migration 0005) (default: `DATABASE_URL` with user "
        "`casework_api`, no password)"))
    directory: Path | None = Field(None, validation_alias="CASEWORK_DIRECTORY", description=(
        "The people a task may be assigned to (TOML, the `[users]` format of `deploy/dev-identities.toml`; "
        "docs/api.md). Default: on the local stack that file; otherwise none, so every assignment is refused"))

    # Issue 25 item 4: limits per minute, per API process (api/security_events.py).
    personal_data_reads_per_minute: int = Field(30, ge=1, validation_alias="CASEWORK_API_PERSONAL_DATA_READS_PER_MINUTE",
                                                description="Reads of personal data one subject may make in a minute "
                                                            "(R60); beyond, 429 with Retry-After")
    token_failures_per_minute: int = Field(60, ge=1, validation_alias="CASEWORK_API_TOKEN_FAILURES_PER_MINUTE",
                                           description="Refused tokens from one client address in a minute; beyond, "
                                                       "every request from it is 429 until the minute has passed")
    # Issue 25 item 9: admission control, so no burst freezes a case (api/routes/events.py).
    messages_per_case_per_minute: int = Field(600, ge=1, validation_alias="CASEWORK_API_MESSAGES_PER_CASE_PER_MINUTE",
                                              description="Messages (events) the API takes for one case in a minute, "
                                                          "from all senders; beyond, 429 with Retry-After, nothing sent")
    messages_per_sender_per_minute: int = Field(6000, ge=1, validation_alias="CASEWORK_API_MESSAGES_PER_SENDER_PER_MINUTE",
                                                description="Messages (events) one sender may send in a minute, to all "
                                                            "cases; beyond, 429 with Retry-After, nothing sent")
    refusals_alert_per_minute: int = Field(20, ge=1, validation_alias="CASEWORK_API_REFUSALS_ALERT_PER_MINUTE",
                                           description="Refusals of one subject (or address) in a minute past which "
                                                       "each counts in `casework_api_repeated_refusals_total` (alert on it)")

    @field_validator("api_address")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError("must be host:port")
        return value

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = self.api_address.rpartition(":")
        return host.strip("[]"), int(port)

    @property
    def directory_path(self) -> Path | None:
        """The people directory: explicit, else on the local stack the dev issuer's people."""
        return self.directory or (DEV_DIRECTORY if self.is_local else None)


# ------------------------------------------------------------------ the CLI as a client of the API (casework)


class CliSettings(Settings):
    api_url: str | None = Field(None, validation_alias="CASEWORK_API_URL", description=(
        "Where people's commands (`submit`, `event`, `cases`, `show`, `tasks`, `complete`, `claim`, "
        "`unclaim`, `assign`) find the API (`casework up`: `api_url` in `stack.json`)"))
    token: str | None = Field(None, repr=False, validation_alias="CASEWORK_TOKEN", description=(
        "A bearer token those commands send, instead of the one `casework login` kept in "
        "`$XDG_CONFIG_HOME/casework/token.json` (0600)"))
    oidc_issuer: str | None = Field(None, validation_alias="CASEWORK_OIDC_ISSUER", description=(
        "The issuer `casework login` signs people in through, the one the API trusts "
        "(`casework up`: its development issuer, from `stack.json`)"))
    api_timeout_seconds: float = Field(60.0, gt=0, validation_alias="CASEWORK_API_TIMEOUT_SECONDS", description=(
        "How long the CLI waits for one API answer (a completion waits on the case's update)"))
    actor: str | None = Field(None, validation_alias="CASEWORK_ACTOR", description=(
        "Who is acting, for the operator command `retention purge` (or `--actor`); people's commands "
        "act as who is signed in"))
    xdg_config_home: str | None = Field(None, validation_alias="XDG_CONFIG_HOME", description=(
        "Where `casework login` keeps its token (`casework/token.json` under it; default `~/.config`)"))

    @property
    def config_home(self) -> Path:
        """The user's configuration folder (XDG Base Directory: a relative value is ignored)."""
        explicit = self.xdg_config_home
        return Path(explicit) if explicit and Path(explicit).is_absolute() else Path.home() / ".config"


# ------------------------------------------------------------------ bearer tokens (access/)

#: The only signature algorithms a token may use: asymmetric, so a resource server holds
#: no secret that could mint tokens. Never ``none``, never HS*.
ALLOWED_ALGORITHMS = ("RS256", "ES256")


class AccessSettings(Settings):
    """Which issuer and audience the API's (and the codec server's) tokens must name, how long
    a cached JWKS lives, and which claims carry a principal's subject, roles, teams and
    scopes. Claim names may be dotted paths into nested claims (Keycloak puts realm roles
    at ``realm_access.roles``); docs/access.md."""

    model_config = SettingsConfigDict(env_prefix="CASEWORK_OIDC_")

    issuer: str = Field(description="The OpenID Connect issuer URL whose tokens are accepted, exactly as `iss` names it")
    audience: str = Field("casework-api", description="The audience the API's tokens must carry in `aud`")
    jwks_url: str | None = Field(None, description="Where the signing keys are (default: the discovery document's `jwks_uri`)")
    algorithms: CommaList = Field(ALLOWED_ALGORITHMS, description="Accepted signature algorithms, a subset of RS256,ES256")
    leeway_seconds: int = Field(30, ge=0, le=300, description="Clock skew tolerated on exp/nbf/iat")
    jwks_lifespan_seconds: float = Field(60, gt=0, le=300, description=(
        "How long a fetched JWKS is used before it is fetched again: how long a key the issuer withdrew is still "
        "trusted, unless a new `kid` forces a refetch first (issue 25: was 300)"))
    jwks_cooldown_seconds: float = Field(30, ge=0, description=(
        "Least time between two refetches forced by an unknown `kid` (made-up kids must not flood the issuer)"))
    http_timeout_seconds: float = Field(5, gt=0, le=60, description="Deadline of a request to the issuer")
    subject_claim: str = Field("sub", description="The claim naming the principal")
    roles_claim: str = Field("roles", description="The claim carrying roles (dotted: nested)")
    teams_claim: str = Field("groups", description="The claim carrying teams")
    scopes_claim: str = Field("scope", description="The claim carrying scopes")
    client_id_claim: str = Field("client_id", description=(
        "RFC 9068: a token with no person in it (client credentials) has `sub` equal to this claim"))

    @field_validator("algorithms", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return _comma_list(value)

    @field_validator("algorithms")
    @classmethod
    def _allowed_only(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [alg for alg in value if alg not in ALLOWED_ALGORITHMS]
        if bad or not value:
            raise ValueError(f"only {', '.join(ALLOWED_ALGORITHMS)} are accepted (got {', '.join(value) or 'none'})")
        return value

    @field_validator("issuer")
    @classmethod
    def _issuer_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value


DEFAULT_DEV_ISSUER_PORT = 8090  # `casework up`'s development issuer (its --issuer-port)


class DevIssuerSettings(Settings):
    """The development issuer (``casework-dev-issuer``, the local stack only); its command
    line's options override these."""

    model_config = SettingsConfigDict(env_prefix="CASEWORK_DEV_ISSUER_")

    host: str = Field("127.0.0.1", description="A loopback address to listen on")
    port: int = Field(DEFAULT_DEV_ISSUER_PORT, ge=0, le=65535, description="Its port")
    identities: str = Field("deploy/dev-identities.toml", description="People, teams and clients it signs in")
    audience: str = Field("casework-api", description="The API's audience, put in the tokens it issues")
    token_seconds: int = Field(600, ge=10, le=3600, description="How long its tokens live")
    refresh_seconds: int = Field(10 * 3600, ge=60, le=7 * 24 * 3600, description=(
        "How long a person's sign-in lasts: its refresh token's absolute lifetime (a working day)"))


# ------------------------------------------------------------------ the web inbox (api/inbox/, docs/inbox.md)


class InboxSettings(Settings):
    """The web inbox's sign-in and session: the OpenID Connect client it signs people in as,
    at the issuer of ``CASEWORK_OIDC_ISSUER``, and its session's key and timeouts."""

    model_config = SettingsConfigDict(env_prefix="CASEWORK_INBOX_")

    client_id: str = Field("casework-inbox", description=(
        "The inbox's confidential client at the issuer; its redirect URI is `<the API's URL>/inbox/auth/callback`"))
    client_secret: str = Field("dev-inbox-secret", repr=False, description=(
        "That client's secret (the default is the development issuer's, `deploy/dev-identities.toml`)"))
    session_key: str | None = Field(None, min_length=32, repr=False, description=(
        "Signs the session cookie (the sign-in's state); replicas share one. Unset: a random key per "
        "process, so a restart signs everyone out"))
    idle_minutes: int = Field(30, ge=1, le=24 * 60, description="A session unused this long is over")
    absolute_hours: int = Field(8, ge=1, le=24, description="A session is over this long after sign-in, however used")
    secure_cookies: bool | None = Field(None, description=(
        "Mark the cookie Secure (sent over TLS only). Unset: on, except on the local stack (`CASEWORK_STACK=local`, "
        "plain http on loopback)"))
    assets_dir: str | None = Field(None, description=(
        "GOV.UK Frontend's compiled files (`dist/govuk` of the npm package). Unset: the checkout's "
        "`node_modules`, which the setup installs (`npm ci`)"))


# ------------------------------------------------------------------ the list (docs/configuration.md)

#: Every model, by the programs that read it, in the order docs/configuration.md lists them.
MODELS: dict[type[Settings], str] = {
    DatabaseSettings: "the worker, the API, `casework up`, the tests",
    LocalStackSettings: "`casework up`, the CLI, the development issuer, the API",
    ProcessFileSettings: "the worker",
    LogSettings: "`casework up`, the worker, the API",
    TemporalExtraSettings: "the worker, the CLI, `casework up`, the tests",
    CodecSettings: "every Temporal client and worker; the codec server",
    WorkerSettings: "the worker",
    WorkerEndpointSettings: "the worker",
    RetentionSettings: "`casework retention purge`",
    ApiSettings: "the API",
    CliSettings: "the CLI",
    AccessSettings: "the API, the codec server (`oidc`)",
    DevIssuerSettings: "the development issuer",
    InboxSettings: "the API (its web inbox)",
}


@dataclass(frozen=True)
class Variable:
    name: str
    model: type[Settings]
    field: str
    type: str
    default: str
    description: str


def _type_name(annotation: Any) -> str:
    """How docs/configuration.md names a field's type."""
    if get_origin(annotation) in (Union, UnionType):  # X | None: an optional X
        annotation = next(arg for arg in get_args(annotation) if arg is not type(None))
    if get_origin(annotation) is Literal:
        return " or ".join(f"`{choice}`" for choice in get_args(annotation))
    if get_origin(annotation) is tuple:
        return "comma-separated list"
    return {str: "text", int: "whole number", float: "number", bool: "`1` or `0`", Path: "path"}.get(annotation, str(annotation))


def variables() -> Iterator[Variable]:
    """Every variable each model reads; a field a model inherits is listed under its parent.
    One variable may appear under two models when two programs read it (the issuer: the
    API's verifier and the CLI's sign-in)."""
    for model in MODELS:
        inherited = {field for parent in model.__mro__[1:] if parent in MODELS for field in parent.model_fields}
        for field, info in model.model_fields.items():
            if field in inherited:
                continue
            default = "required" if info.is_required() else info.get_default(call_default_factory=True)
            if isinstance(default, tuple):
                default = ",".join(default)
            elif isinstance(default, bool):
                default = int(default)
            yield Variable(model.variable(field), model, field, _type_name(info.annotation),
                           "" if default is None else str(default), info.description or "")


# ------------------------------------------------------------------ names other code writes or quotes
# Taken from the models (a child process's environment, a message naming the variable).

DATABASE_URL_ENV = DatabaseSettings.variable("database_url")
DATA_DIR_ENV = LocalStackSettings.variable("data_dir_setting")
STACK_ENV = LocalStackSettings.variable("stack")
LOG_LEVEL_ENV = LogSettings.variable("log_level")
TASK_QUEUE_ENV = TemporalExtraSettings.variable("task_queue")
TEMPORAL_ADDRESS_ENV = TemporalExtraSettings.variable("address")
API_ADDRESS_ENV = ApiSettings.variable("api_address")
API_DATABASE_URL_ENV = ApiSettings.variable("api_database_url")
DIRECTORY_ENV = ApiSettings.variable("directory")
OIDC_ISSUER_ENV = CliSettings.variable("oidc_issuer")
TOKEN_ENV = CliSettings.variable("token")
API_URL_ENV = CliSettings.variable("api_url")
