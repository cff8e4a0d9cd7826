"""Every setting the programs read from the environment, in one place (README,
"Configuration"). Temporal's connection is ``casework.temporal.TemporalSettings`` (the
SDK's environment configuration); payload keys are ``casework.codec`` (secrets, with their
own loading rules); the process's deadlines and lists are ``casework.settings``.

Functions, not import-time constants: a test or ``casework up`` may set a variable
before the value is needed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

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


def _get(name: str) -> str | None:
    return os.environ.get(name) or None  # an empty variable is an unset one


def database_url() -> str | None:
    return _get(DATABASE_URL_ENV)


def data_dir() -> Path:
    """The local stack's folder (``casework up``, and where the CLI finds stack.json)."""
    return Path(_get(DATA_DIR_ENV) or DEFAULT_DATA_DIR)


def actor() -> str | None:
    return _get(ACTOR_ENV)


def db_role() -> str | None:
    """A role the worker's connections take (``SET ROLE``), e.g. ``casework_worker``."""
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
#: The local-stack marker (access/settings.py LOCAL_STACK_MARKER reads the same variable).
_STACK_ENV = "CASEWORK_STACK"
#: On the local stack the directory is the development issuer's people.
DEV_DIRECTORY = Path(__file__).resolve().parent.parent / "deploy" / "dev-identities.toml"


def directory_path() -> Path | None:
    """The TOML file of people a task may be assigned to (``CASEWORK_DIRECTORY``, the
    ``[users]`` format of deploy/dev-identities.toml); on the local stack
    (``CASEWORK_STACK=local``) the development issuer's file; otherwise none."""
    explicit = _get(DIRECTORY_ENV)
    if explicit:
        return Path(explicit)
    return DEV_DIRECTORY if _get(_STACK_ENV) == "local" else None


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
