"""Every environment variable the programs read, in one place (README, "Configuration"):
its name and the one function that reads it. What a value means is decided beside its
use: payload keys are parsed by ``casework.codec`` (secrets, with their own loading
rules), the process's deadlines and lists are ``casework.settings``.

Two other homes, each for a reason (tests/test_config_home.py holds the list):
``casework.temporal`` hands the environment to the SDK's environment configuration
(``temporalio.envconfig`` reads the ``TEMPORAL_*`` connection variables, as the
``temporal`` CLI does), and ``access/settings.py`` declares the ``CASEWORK_OIDC_*`` and
``CASEWORK_DEV_ISSUER_*`` settings that pydantic-settings reads (docs/design.md).

Functions, not import-time constants: a test or ``casework up`` may set a variable
before the value is needed. A function that takes ``environ`` reads that mapping instead
of ``os.environ`` (tests; a child process's environment).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from datetime import timedelta
from pathlib import Path

Environ = Mapping[str, str]

DATABASE_URL_ENV = "DATABASE_URL"
DATA_DIR_ENV = "CASEWORK_DATA_DIR"
ACTOR_ENV = "CASEWORK_ACTOR"
DB_ROLE_ENV = "CASEWORK_DB_ROLE"
SHUTDOWN_GRACE_ENV = "CASEWORK_SHUTDOWN_GRACE_SECONDS"
METRICS_ADDRESS_ENV = "CASEWORK_METRICS_ADDRESS"
HEALTH_ADDRESS_ENV = "CASEWORK_HEALTH_ADDRESS"
MAX_CACHED_WORKFLOWS_ENV = "CASEWORK_MAX_CACHED_WORKFLOWS"
PROCESS_CONFIG_ENV = "CASEWORK_PROCESS_CONFIG"
LOG_LEVEL_ENV = "LOG_LEVEL"

DEFAULT_DATA_DIR = ".casework"
DEFAULT_MAX_CACHED_WORKFLOWS = 1000  # temporalio's default
#: R60: the longest purpose a read of personal data may state (the CLI and the CID agree).
MAX_PURPOSE_CHARS = 500


def _get(name: str, environ: Environ | None = None) -> str | None:
    """The variable's value; an empty variable is an unset one."""
    return (os.environ if environ is None else environ).get(name) or None


def export(name: str, value: str, environ: MutableMapping[str, str] | None = None) -> None:
    """Set a variable for the child processes this one starts (a worker, a CLI command)."""
    if environ is None:
        os.environ[name] = value
    else:
        environ[name] = value


def database_url(environ: Environ | None = None) -> str | None:
    return _get(DATABASE_URL_ENV, environ)


def data_dir(environ: Environ | None = None) -> Path:
    """The local stack's folder (``casework up``, and where the CLI finds stack.json)."""
    return Path(_get(DATA_DIR_ENV, environ) or DEFAULT_DATA_DIR)


def actor() -> str | None:
    return _get(ACTOR_ENV)


def db_role() -> str | None:
    """No longer used (migration 0003's ``SET ROLE``): read only so that the worker can
    warn that it is set; the worker logs in as its own role (``worker_database_url``)."""
    return _get(DB_ROLE_ENV)


def shutdown_grace() -> timedelta:
    text = _get(SHUTDOWN_GRACE_ENV) or "20"
    try:
        seconds = int(text)
    except ValueError:
        raise ValueError(f"{SHUTDOWN_GRACE_ENV} must be a whole number of seconds, not '{text}'") from None
    return timedelta(seconds=seconds)


def metrics_address() -> str | None:
    """host:port of the worker's Prometheus endpoint; set to empty for none."""
    return os.environ.get(METRICS_ADDRESS_ENV, "0.0.0.0:9464") or None


def health_address() -> str | None:
    """host:port of the worker's /live and /ready; set to empty for none."""
    return os.environ.get(HEALTH_ADDRESS_ENV, "0.0.0.0:8000") or None


def max_cached_workflows() -> int:
    """``CASEWORK_MAX_CACHED_WORKFLOWS``: a whole number, 0 or more (unset or empty: the default)."""
    text = _get(MAX_CACHED_WORKFLOWS_ENV)
    if not text:
        return DEFAULT_MAX_CACHED_WORKFLOWS
    try:
        size = int(text)
        if size >= 0:
            return size
    except ValueError:
        pass
    raise ValueError(f"{MAX_CACHED_WORKFLOWS_ENV} must be a whole number of workflows, 0 or more, not '{text}'")


def process_config_path() -> str | None:
    return _get(PROCESS_CONFIG_ENV)


def log_level(default: str) -> str:
    return _get(LOG_LEVEL_ENV) or default


# ------------------------------------------------------------------ Temporal, beside the SDK
# The connection (address, namespace, TLS, API key, profiles) is the SDK's environment
# configuration (casework/temporal.py); these are the reads our own code makes.

TEMPORAL_ADDRESS_ENV = "TEMPORAL_ADDRESS"
TEMPORAL_NAMESPACE_ENV = "TEMPORAL_NAMESPACE"  # read by the SDK only; named here for child environments
#: Our own variable beside the SDK's: the task queue the case workers poll.
TASK_QUEUE_ENV = "TEMPORAL_TASK_QUEUE"
TEMPORAL_CLI_PATH_ENV = "TEMPORAL_CLI_PATH"
TEMPORAL_TEST_SERVER_PATH_ENV = "TEMPORAL_TEST_SERVER_PATH"


def temporal_address(environ: Environ | None = None) -> str | None:
    """``TEMPORAL_ADDRESS`` as set (``casework up`` warns that other commands will use it)."""
    return _get(TEMPORAL_ADDRESS_ENV, environ)


def task_queue(environ: Environ | None = None) -> str | None:
    return _get(TASK_QUEUE_ENV, environ)


def task_queue_is_set(environ: Environ | None = None) -> bool:
    """Whether ``TEMPORAL_TASK_QUEUE`` is set at all (even empty): then the CLI does not
    take the local stack's queue from stack.json."""
    return TASK_QUEUE_ENV in (os.environ if environ is None else environ)


def temporal_cli_path() -> str | None:
    """An explicit ``temporal`` binary (casework/binaries.py: nothing is downloaded)."""
    return _get(TEMPORAL_CLI_PATH_ENV)


def temporal_test_server_path() -> str | None:
    """An explicit ``temporal-test-server`` binary."""
    return _get(TEMPORAL_TEST_SERVER_PATH_ENV)


# ------------------------------------------------------------------ payload encryption (casework.codec)
# Read here, parsed and checked by casework.codec (docs/privacy.md, "Keys").

CODEC_KEYS_ENV = "CASEWORK_CODEC_KEYS"
CODEC_KEY_FILE_ENV = "CASEWORK_CODEC_KEY_FILE"
CODEC_TEST_KEY_ENV = "CASEWORK_CODEC_TEST_KEY"
CODEC_TOKEN_ENV = "CASEWORK_CODEC_TOKEN"
#: Read unencrypted payloads as they are (histories recorded before encryption was on).
CODEC_ACCEPT_PLAINTEXT_ENV = "CASEWORK_CODEC_ACCEPT_PLAINTEXT"
CODEC_CORS_ORIGINS_ENV = "CASEWORK_CODEC_CORS_ORIGINS"
CODEC_NAMESPACES_ENV = "CASEWORK_CODEC_NAMESPACES"


def codec_keys(environ: Environ | None = None) -> str | None:
    """``ID:BASE64,...``, the first encrypting (casework.codec.parse_keys)."""
    return _get(CODEC_KEYS_ENV, environ)


def codec_key_file(environ: Environ | None = None) -> str | None:
    return _get(CODEC_KEY_FILE_ENV, environ)


def codec_test_key(environ: Environ | None = None) -> bool:
    """``CASEWORK_CODEC_TEST_KEY``: 1/true/yes asks for a throwaway key (tests)."""
    return (_get(CODEC_TEST_KEY_ENV, environ) or "").lower() in ("1", "true", "yes")


def codec_token(environ: Environ | None = None) -> str:
    """The codec server's bearer token (empty: none set)."""
    return (_get(CODEC_TOKEN_ENV, environ) or "").strip()


def codec_accept_plaintext(environ: Environ | None = None) -> str:
    """The raw switch, lower case (casework.codec decides what it means)."""
    return (_get(CODEC_ACCEPT_PLAINTEXT_ENV, environ) or "").strip().lower()


def _listed(name: str, environ: Environ | None) -> list[str]:
    return [part.strip() for part in (_get(name, environ) or "").split(",") if part.strip()]


def codec_cors_origins(environ: Environ | None = None) -> tuple[str, ...]:
    """Browser origins the codec server answers (comma-separated; none: the server's default)."""
    return tuple(origin.rstrip("/") for origin in _listed(CODEC_CORS_ORIGINS_ENV, environ))


def codec_namespaces(environ: Environ | None = None) -> frozenset[str]:
    """Namespaces the codec server serves (comma-separated; none: every one)."""
    return frozenset(_listed(CODEC_NAMESPACES_ENV, environ))


# ------------------------------------------------------------------ the CID and the worker's login

WORKER_DATABASE_URL_ENV = "CASEWORK_WORKER_DATABASE_URL"
RETENTION_ENV = "CASEWORK_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 2190  # six years after closure


def worker_database_url(environ: Environ | None = None) -> str | None:
    """The worker's own database login (migration 0005); unset: derived from DATABASE_URL
    (worker/database.py)."""
    return _get(WORKER_DATABASE_URL_ENV, environ)


def retention_period(environ: Environ | None = None) -> timedelta:
    """``CASEWORK_RETENTION_DAYS``: how long a closed case keeps its personal data (cid/retention.py)."""
    text = (_get(RETENTION_ENV, environ) or "").strip()
    if not text:
        return timedelta(days=DEFAULT_RETENTION_DAYS)
    try:
        days = int(text)
    except ValueError:
        raise ValueError(f"{RETENTION_ENV} must be a whole number of days, not '{text}'") from None
    if days < 1:
        raise ValueError(f"{RETENTION_ENV} must be at least 1 day, not {days}")
    return timedelta(days=days)


# ------------------------------------------------------------------ where a program runs (access/dev_issuer.py)

#: The local-stack marker the development issuer insists on: ``CASEWORK_STACK=local``.
STACK_ENV = "CASEWORK_STACK"
#: Set by Kubernetes in every pod: the development issuer refuses to run there.
KUBERNETES_ENV = "KUBERNETES_SERVICE_HOST"


def stack_marker(environ: Environ | None = None) -> str | None:
    return _get(STACK_ENV, environ)


def in_kubernetes(environ: Environ | None = None) -> bool:
    return KUBERNETES_ENV in (os.environ if environ is None else environ)


# ------------------------------------------------------------------ the HTTP API (api/)

API_ADDRESS_ENV = "CASEWORK_API_ADDRESS"
API_DATABASE_URL_ENV = "CASEWORK_API_DATABASE_URL"
API_URL_ENV = "CASEWORK_API_URL"
TOKEN_ENV = "CASEWORK_TOKEN"
DEFAULT_API_ADDRESS = "127.0.0.1:8080"
DEFAULT_API_PORT = 8080  # `casework up`'s API (its --api-port)
DEFAULT_DEV_ISSUER_PORT = 8090  # `casework up`'s development issuer (access/settings.py DevIssuerSettings)


def api_address() -> tuple[str, int]:
    """host:port the API listens on (``CASEWORK_API_ADDRESS``)."""
    text = _get(API_ADDRESS_ENV) or DEFAULT_API_ADDRESS
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{API_ADDRESS_ENV} must be host:port, not '{text}'")
    return host.strip("[]"), int(port)


#: The API's limits on refused and costly attempts (issue 25, item 4), per process, per minute.
API_LIMITS_ENV = "CASEWORK_API_LIMITS"
DEFAULT_API_LIMITS = {"personal_data_reads": 30, "token_failures": 60, "refusals_alert": 20}


def api_limits(environ: Environ | None = None) -> dict[str, int]:
    """``CASEWORK_API_LIMITS``: ``name=count,...`` per minute - ``personal_data_reads`` a
    subject may make (R60), ``token_failures`` one client address may make before it is
    answered 429, ``refusals_alert`` refusals of one subject that count as repeated (the
    alert's metric). Names not given keep their defaults."""
    limits = dict(DEFAULT_API_LIMITS)
    text = _get(API_LIMITS_ENV, environ)
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, _, value = part.partition("=")
        if name.strip() not in limits or not value.strip().isdigit() or int(value) < 1:
            raise ValueError(f"{API_LIMITS_ENV}: '{part.strip()}' is not one of "
                             f"{', '.join(f'{n}=N' for n in DEFAULT_API_LIMITS)} (N >= 1)")
        limits[name.strip()] = int(value)
    return limits


def api_database_url() -> str | None:
    """The API's own database login (migration 0005's casework_api); unset: DATABASE_URL's
    server and database as that login, without a password (the local stack, the tests)."""
    return _get(API_DATABASE_URL_ENV)


def api_url() -> str | None:
    """Where the CLI finds the API (``CASEWORK_API_URL``)."""
    return _get(API_URL_ENV)


def token() -> str | None:
    """A bearer token given to the CLI directly (``CASEWORK_TOKEN``), instead of ``casework login``'s."""
    return _get(TOKEN_ENV)


# ------------------------------------------------------------------ the CLI as a client of the API (starter/)

OIDC_ISSUER_ENV = "CASEWORK_OIDC_ISSUER"  # the same issuer the API's verifier trusts (access/settings.py)
CONFIG_HOME_ENV = "XDG_CONFIG_HOME"
API_TIMEOUT_ENV = "CASEWORK_API_TIMEOUT_SECONDS"
DEFAULT_API_TIMEOUT_SECONDS = 60.0  # a completion waits on the case's update (the API's own deadline is shorter)


def oidc_issuer() -> str | None:
    """The issuer ``casework login`` signs people in through (else the local stack's)."""
    return _get(OIDC_ISSUER_ENV)


def config_home() -> Path:
    """The user's configuration folder (XDG Base Directory): ``casework login`` keeps its token here."""
    explicit = _get(CONFIG_HOME_ENV)
    return Path(explicit) if explicit and Path(explicit).is_absolute() else Path.home() / ".config"


def api_timeout() -> float:
    """Seconds the CLI waits for one API answer (``CASEWORK_API_TIMEOUT_SECONDS``)."""
    text = _get(API_TIMEOUT_ENV)
    if not text:
        return DEFAULT_API_TIMEOUT_SECONDS
    try:
        seconds = float(text)
        if seconds > 0:
            return seconds
    except ValueError:
        pass
    raise ValueError(f"{API_TIMEOUT_ENV} must be a number of seconds above 0, not '{text}'")


# ------------------------------------------------------------------ the people directory (access/directory.py)

DIRECTORY_ENV = "CASEWORK_DIRECTORY"
#: On the local stack the directory is the development issuer's people.
DEV_DIRECTORY = Path(__file__).resolve().parent.parent / "deploy" / "dev-identities.toml"


def directory_path() -> Path | None:
    """The TOML file of people a task may be assigned to (``CASEWORK_DIRECTORY``, the
    ``[users]`` format of deploy/dev-identities.toml); on the local stack
    (``CASEWORK_STACK=local``) the development issuer's file; otherwise none."""
    explicit = _get(DIRECTORY_ENV)
    if explicit:
        return Path(explicit)
    return DEV_DIRECTORY if _get(STACK_ENV) == "local" else None


# ------------------------------------------------------------------ the codec server's callers (issue 15)

CODEC_AUTH_ENV = "CASEWORK_CODEC_AUTH"
CODEC_OIDC_AUDIENCE_ENV = "CASEWORK_CODEC_OIDC_AUDIENCE"
CODEC_AUTH_MODES = ("token", "oidc")


def codec_auth(environ: Mapping[str, str] | None = None) -> str:
    """How the codec server knows who calls (``CASEWORK_CODEC_AUTH``): ``token``, the shared
    ``CASEWORK_CODEC_TOKEN`` (the local stack, the default); ``oidc``, each person's bearer
    token from the ``CASEWORK_OIDC_ISSUER`` (the cluster, behind the Web UI's login)."""
    value = ((environ if environ is not None else os.environ).get(CODEC_AUTH_ENV) or "token").strip().lower()
    if value not in CODEC_AUTH_MODES:
        raise ValueError(f"{CODEC_AUTH_ENV} must be one of {', '.join(CODEC_AUTH_MODES)}, not '{value}'")
    return value


def codec_oidc_audience(environ: Mapping[str, str] | None = None) -> str | None:
    """The audience people's tokens carry for the codec server (``CASEWORK_CODEC_OIDC_AUDIENCE``);
    unset: the API's (``CASEWORK_OIDC_AUDIENCE``)."""
    return (environ if environ is not None else os.environ).get(CODEC_OIDC_AUDIENCE_ENV) or None
