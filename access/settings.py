"""The access package's settings, read from the environment by pydantic-settings:
``CASEWORK_OIDC_*`` (the verifier) and ``CASEWORK_DEV_ISSUER_*`` (the dev issuer). Every
other variable, the dev issuer's ``CASEWORK_STACK`` marker included, is read in
``casework/config.py`` (docs/design.md, "One configuration").

Which issuer and audience tokens must name, how long a cached JWKS lives, and which
claims carry a principal's subject, roles, teams and scopes. Claim names may be dotted
paths into nested claims (Keycloak puts realm roles at ``realm_access.roles``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: The only signature algorithms a token may use: asymmetric, so a resource server holds
#: no secret that could mint tokens. Never ``none``, never HS*.
ALLOWED_ALGORITHMS = ("RS256", "ES256")


class AccessSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CASEWORK_OIDC_", extra="ignore", frozen=True)

    #: The issuer URL, exactly as tokens' ``iss`` and the discovery document name it.
    issuer: str
    #: The audience the API's tokens must carry in ``aud``.
    audience: str = "casework-api"
    #: Where the signing keys are; by default the ``jwks_uri`` of the issuer's discovery document.
    jwks_url: str | None = None
    #: A subset of ALLOWED_ALGORITHMS, comma-separated in the environment.
    algorithms: Annotated[tuple[str, ...], NoDecode] = ALLOWED_ALGORITHMS
    #: Clock skew tolerated on exp/nbf/iat.
    leeway_seconds: int = Field(default=30, ge=0, le=300)
    #: How long a fetched JWKS is used before it is fetched again.
    jwks_lifespan_seconds: float = Field(default=300, gt=0)
    #: Least time between two refetches forced by an unknown ``kid`` (a flood of made-up
    #: kids must not become a flood of requests to the issuer).
    jwks_cooldown_seconds: float = Field(default=30, ge=0)
    http_timeout_seconds: float = Field(default=5, gt=0, le=60)

    subject_claim: str = "sub"
    roles_claim: str = "roles"
    teams_claim: str = "groups"
    scopes_claim: str = "scope"
    #: RFC 9068 section 2.2: a token from a grant with no person in it (client
    #: credentials) has ``sub`` equal to the client's identifier in this claim.
    client_id_claim: str = "client_id"

    @field_validator("algorithms", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            value = tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("algorithms")
    @classmethod
    def _allowed_only(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [alg for alg in value if alg not in ALLOWED_ALGORITHMS]
        if bad or not value:
            raise ValueError(
                f"CASEWORK_OIDC_ALGORITHMS: only {', '.join(ALLOWED_ALGORITHMS)} are accepted (got {', '.join(value) or 'none'})"
            )
        return value

    @field_validator("issuer")
    @classmethod
    def _issuer_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("CASEWORK_OIDC_ISSUER must be an http(s) URL")
        return value


def access_settings(**overrides: object) -> AccessSettings:
    """The settings from the environment, with ``overrides`` (tests, the dev stack) on top."""
    return AccessSettings(**overrides)  # type: ignore[arg-type]


class DevIssuerSettings(BaseSettings):
    """The development issuer's own settings (``CASEWORK_DEV_ISSUER_*``); the command
    line's options override them."""

    model_config = SettingsConfigDict(env_prefix="CASEWORK_DEV_ISSUER_", extra="ignore", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8090, ge=0, le=65535)
    identities: str = "deploy/dev-identities.toml"
    audience: str = "casework-api"
    token_seconds: int = Field(default=600, ge=10, le=3600)


class InboxSettings(BaseSettings):
    """The web inbox's sign-in (``CASEWORK_INBOX_*``; docs/inbox.md): the OpenID Connect
    client it signs people in as, at the issuer of ``CASEWORK_OIDC_ISSUER``, and its
    session's key and timeouts."""

    model_config = SettingsConfigDict(env_prefix="CASEWORK_INBOX_", extra="ignore", frozen=True)

    #: The confidential client registered at the issuer for the inbox (the dev issuer's
    #: ``casework-inbox``); its redirect URI is ``<public URL>/inbox/auth/callback``.
    client_id: str = "casework-inbox"
    client_secret: str = "dev-inbox-secret"
    #: Signs the session cookie (the sign-in's state); a random one per process when
    #: unset, which signs everyone out at a restart. Replicas must share one.
    session_key: str | None = Field(default=None, min_length=32)
    idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    absolute_hours: int = Field(default=8, ge=1, le=24)
    #: Cookies marked Secure: on unless the inbox is served over plain http on loopback
    #: (the local stack and the tests), where a browser would not send them back.
    secure_cookies: bool | None = None
    #: GOV.UK Frontend's compiled files (``dist/govuk`` of the npm package); by default the
    #: checkout's node_modules, which the setup installs. An image sets it to where it put them.
    assets_dir: str | None = None


def inbox_settings(**overrides: object) -> InboxSettings:
    return InboxSettings(**overrides)  # type: ignore[arg-type]
