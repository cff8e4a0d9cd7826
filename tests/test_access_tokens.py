"""Bearer tokens (access/tokens.py) against the real development issuer over real HTTP.

Every refused token names its reason (the API answers 401 with it). The valid tokens
come from the issuer's real client-credentials and authorization-code + PKCE flows; the
forged ones are signed by the issuer's own key (so only the claim under test is wrong),
by no key, or by a key the issuer never published. Nothing turns a check off.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from access.dev_tokens import Tokens
from access.dev_issuer import DevIssuerRefused, Running, check_local_stack, load_identities, main, running
from access.login import LoginFailed, login
from access.pkce import s256
from access.principal import Kind
from casework.config import AccessSettings
from access.tokens import TokenRefused, TokenVerifier
from tests.token_forgery import b64, claims, hs256_with_public_key, tampered_signature

ROOT = Path(__file__).resolve().parent.parent
IDENTITIES = ROOT / "deploy" / "dev-identities.toml"
LOCAL = {"CASEWORK_STACK": "local"}


@pytest.fixture(scope="module")
def issuer() -> Iterator[Running]:
    with running(load_identities(IDENTITIES), environ=LOCAL) as served:
        yield served


def settings_for(served: Running, **overrides: object) -> AccessSettings:
    return AccessSettings(issuer=served.url, audience="casework-api", **overrides)


@pytest.fixture
def verifier(issuer: Running) -> TokenVerifier:
    return TokenVerifier(settings_for(issuer))


def client_token(served: Running, client: str, secret: str, scope: str | None = None) -> str:
    data = {"grant_type": "client_credentials"} | ({"scope": scope} if scope else {})
    response = httpx.post(f"{served.url}/token", data=data, auth=(client, secret))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    return response.json()["access_token"]


def refused(verifier: TokenVerifier, token: str | None, *, header: bool = False) -> TokenRefused:
    with pytest.raises(TokenRefused) as caught:
        verifier.verify_header(token) if header else verifier.verify(token or "")
    return caught.value


# ------------------------------------------------------------------ refused, each with its reason


@pytest.mark.parametrize("header", [None, "", "Bearer ", "Basic YWNybzpzZWNyZXQ=", "token-without-scheme"])
def test_missing_token_refused(verifier: TokenVerifier, header: str | None) -> None:
    err = refused(verifier, header, header=True)
    assert err.code == "missing" and "Bearer" in err.reason
    assert err.www_authenticate == 'Bearer realm="casework"'  # RFC 6750 3.1: no error code


def test_expired_token_refused(issuer: Running, verifier: TokenVerifier) -> None:
    now = int(time.time())
    err = refused(verifier, issuer.issuer.sign(claims(issuer, iat=now - 900, nbf=now - 900, exp=now - 120)))
    assert err.code == "expired" and "exp" in err.reason
    assert 'error="invalid_token"' in err.www_authenticate


def test_expiry_within_the_leeway_is_accepted(issuer: Running, verifier: TokenVerifier) -> None:
    now = int(time.time())
    assert verifier.verify(issuer.issuer.sign(claims(issuer, exp=now - 5))).subject == "cw.ben"


@pytest.mark.parametrize("claim", ["nbf", "iat"])
def test_not_yet_valid_token_refused(issuer: Running, verifier: TokenVerifier, claim: str) -> None:
    later = int(time.time()) + 3600
    err = refused(verifier, issuer.issuer.sign(claims(issuer, **{claim: later}, exp=later + 300)))
    assert err.code == "not_yet_valid"


def test_wrong_issuer_refused(issuer: Running, verifier: TokenVerifier) -> None:
    err = refused(verifier, issuer.issuer.sign(claims(issuer, iss="https://login.example.test/other")))
    assert err.code == "issuer" and issuer.url in err.reason


@pytest.mark.parametrize("aud", ["another-api", ["another-api", "a-third"]])
def test_wrong_audience_refused(issuer: Running, verifier: TokenVerifier, aud: object) -> None:
    err = refused(verifier, issuer.issuer.sign(claims(issuer, aud=aud)))
    assert err.code == "audience" and "casework-api" in err.reason


def test_id_token_is_not_an_access_token(issuer: Running, verifier: TokenVerifier) -> None:
    """An ID token's audience is the client, not the API."""
    err = refused(verifier, issuer.issuer.sign(claims(issuer, aud="casework-web"), typ="JWT"))
    assert err.code == "audience"


@pytest.mark.parametrize("missing", ["exp", "iat", "aud", "iss"])
def test_token_without_a_required_claim_refused(issuer: Running, verifier: TokenVerifier, missing: str) -> None:
    err = refused(verifier, issuer.issuer.sign(claims(issuer, **{missing: None})))
    assert err.code in {"bad_claims", "issuer", "audience"} and missing in err.reason


def test_alg_none_refused(issuer: Running, verifier: TokenVerifier) -> None:
    token = jwt.encode(claims(issuer), None, algorithm="none", headers={"kid": issuer.issuer.kid})
    err = refused(verifier, token)
    assert err.code == "algorithm" and "'none'" in err.reason


def test_hs256_signed_with_the_public_key_refused(issuer: Running, verifier: TokenVerifier) -> None:
    """The classic key-confusion attack: the issuer's public key (as published) used as an HMAC secret."""
    err = refused(verifier, hs256_with_public_key(issuer))
    assert err.code == "algorithm" and "HS256" in err.reason


def test_key_of_another_type_than_the_alg_refused(issuer: Running, verifier: TokenVerifier) -> None:
    """An ES256 header naming the issuer's RSA key: refused before any signature check."""
    good = issuer.issuer.sign(claims(issuer))
    head, body, sig = good.split(".")
    forged = b64(json.dumps({"alg": "ES256", "typ": "at+jwt", "kid": issuer.issuer.kid}).encode())
    err = refused(verifier, f"{forged}.{body}.{sig}")
    assert err.code == "algorithm"


def test_unknown_kid_refused_and_no_refetch_within_the_cooldown(issuer: Running) -> None:
    verifier = TokenVerifier(settings_for(issuer, jwks_cooldown_seconds=60))
    verifier.verify(issuer.issuer.sign(claims(issuer)))  # the first fetch
    before = issuer.issuer.jwks_requests
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for kid in ("not-published-1", "not-published-2", "not-published-3"):
        token = jwt.encode(claims(issuer), stranger, algorithm="RS256", headers={"kid": kid})
        err = refused(verifier, token)
        assert err.code == "unknown_key" and kid in err.reason
    # Unknown kids refetch the JWKS, but not more than once per cooldown: no fetch here, as
    # the first fetch began the cooldown; a flood of made-up kids costs the issuer nothing.
    assert issuer.issuer.jwks_requests == before


def test_unknown_kid_refetches_once_after_the_cooldown(issuer: Running) -> None:
    verifier = TokenVerifier(settings_for(issuer, jwks_cooldown_seconds=0.3))
    verifier.verify(issuer.issuer.sign(claims(issuer)))
    time.sleep(0.4)
    before = issuer.issuer.jwks_requests
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for kid in ("made-up-a", "made-up-b"):
        refused(verifier, jwt.encode(claims(issuer), stranger, algorithm="RS256", headers={"kid": kid}))
    assert issuer.issuer.jwks_requests == before + 1


def test_token_without_kid_refused(issuer: Running, verifier: TokenVerifier) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    err = refused(verifier, jwt.encode(claims(issuer), stranger, algorithm="RS256"))
    assert err.code == "unknown_key"


def test_tampered_signature_refused(issuer: Running, verifier: TokenVerifier) -> None:
    err = refused(verifier, tampered_signature(client_token(issuer, "acro", "dev-acro-secret")))
    assert err.code == "signature"


def test_tampered_claims_refused(issuer: Running, verifier: TokenVerifier) -> None:
    """Raising one's own roles in the payload breaks the signature."""
    head, body, sig = client_token(issuer, "pnc-bureau", "dev-pnc-secret").split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["roles"] = ["director"]
    err = refused(verifier, f"{head}.{b64(json.dumps(payload).encode())}.{sig}")
    assert err.code == "signature"


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c", "....", "eyJhbGciOiJSUzI1NiJ9"])
def test_malformed_token_refused(verifier: TokenVerifier, token: str) -> None:
    assert refused(verifier, token).code in {"malformed", "unknown_key"}


@pytest.mark.parametrize("subject", ["x", "a b", "robert'); DROP TABLE audit_log;--", "a" * 65])
def test_subject_that_cannot_be_recorded_as_actor_refused(issuer: Running, verifier: TokenVerifier, subject: str) -> None:
    err = refused(verifier, issuer.issuer.sign(claims(issuer, sub=subject)))
    assert err.code == "bad_claims" and "actor" in err.reason


def test_no_token_reason_repeats_the_token(issuer: Running, verifier: TokenVerifier) -> None:
    token = issuer.issuer.sign(claims(issuer, aud="another-api"))
    err = refused(verifier, token)
    assert token not in err.reason and token not in err.www_authenticate


# ------------------------------------------------------------------ valid tokens from the real flows


def test_client_credentials_token_is_a_system_principal(issuer: Running, verifier: TokenVerifier) -> None:
    principal = verifier.verify_header("Bearer " + client_token(issuer, "acro", "dev-acro-secret"))
    assert principal.subject == "acro" and principal.kind is Kind.SYSTEM and principal.is_system
    assert principal.roles == {"acro"}
    assert principal.scopes == {"referrals:submit", "events:certificate", "cases:read", "feed:read"}
    assert principal.issuer == issuer.url and principal.client_id == "acro"
    assert principal.claims["sub"] == "acro" and "exp" in principal.claims


def test_client_credentials_with_fewer_scopes(issuer: Running, verifier: TokenVerifier) -> None:
    principal = verifier.verify(client_token(issuer, "ice-system", "dev-ice-secret", scope="events:located"))
    assert principal.scopes == {"events:located"} and principal.teams == {"ICE Tasking and Detention Gatekeeper"}


def test_client_credentials_refusals(issuer: Running) -> None:
    url = f"{issuer.url}/token"
    cc = {"grant_type": "client_credentials"}
    assert httpx.post(url, data=cc, auth=("acro", "wrong")).json()["error"] == "invalid_client"
    assert httpx.post(url, data=cc | {"client_id": "acro", "client_secret": "dev-acro-secret"}).status_code == 200
    bad_scope = httpx.post(url, data=cc | {"scope": "events:located"}, auth=("acro", "dev-acro-secret"))
    assert bad_scope.status_code == 400 and bad_scope.json()["error"] == "invalid_scope"
    assert httpx.post(url, data=cc | {"client_id": "casework-cli"}).json()["error"] == "unauthorized_client"
    assert httpx.post(url, data={"grant_type": "password"}, auth=("acro", "dev-acro-secret")).json()["error"] == "unsupported_grant_type"


class Person:
    """Plays a person's browser on the sign-in page: picks ``user``, follows the redirect."""

    def __init__(self, user: str):
        self.user = user
        self.redirects: list[str] = []

    def __call__(self, url: str) -> None:
        page = httpx.get(url)
        assert page.status_code == 200 and self.user in page.text
        form = dict(parse_qs(urlsplit(url).query, keep_blank_values=True))
        data = {k: v[0] for k, v in form.items()} | {"username": self.user}
        answer = httpx.post(url.split("?")[0], data=data)
        assert answer.status_code == 303
        self.redirects.append(answer.headers["location"])
        httpx.get(answer.headers["location"])  # the browser lands on `casework login`'s loopback callback


def test_authorization_code_with_pkce_gives_a_person_principal(issuer: Running, verifier: TokenVerifier) -> None:
    person = Person("cw.ben")
    tokens = login(issuer.url, open_browser=person, timeout=20)
    principal = verifier.verify(tokens["access_token"])
    assert principal.subject == "cw.ben" and principal.kind is Kind.PERSON
    assert principal.roles == {"caseworker"} and principal.teams == {"CC EEA Team"}
    assert principal.client_id == "casework-cli"
    # The redirect went to a loopback port of login's choosing, and says who issued the code (RFC 9207).
    landed = urlsplit(person.redirects[0])
    assert landed.hostname == "127.0.0.1" and parse_qs(landed.query)["iss"] == [issuer.url]
    id_token = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert id_token["aud"] == "casework-cli" and id_token["sub"] == "cw.ben"


def _code_for(issuer: Running, verifier_text: str, user: str = "director.hal",
              redirect: str = "http://127.0.0.1:8088/callback") -> str:
    params = {"response_type": "code", "client_id": "casework-web", "redirect_uri": redirect, "scope": "openid casework",
              "state": "s1", "code_challenge": s256(verifier_text), "code_challenge_method": "S256", "username": user}
    answer = httpx.post(f"{issuer.url}/authorize", data=params)
    assert answer.status_code == 303, answer.text
    return parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]


def test_authorization_code_refusals(issuer: Running, verifier: TokenVerifier) -> None:
    right = "v" * 50
    exchange = {"grant_type": "authorization_code", "redirect_uri": "http://127.0.0.1:8088/callback"}
    web = ("casework-web", "dev-web-secret")
    # The wrong verifier: refused, and the code is spent.
    code = _code_for(issuer, right)
    wrong = httpx.post(f"{issuer.url}/token", data=exchange | {"code": code, "code_verifier": "w" * 50}, auth=web)
    assert wrong.json()["error"] == "invalid_grant" and "PKCE" in wrong.json()["error_description"]
    assert httpx.post(f"{issuer.url}/token", data=exchange | {"code": code, "code_verifier": right}, auth=web).json()["error"] == "invalid_grant"
    # The right one, once; a second use of the code is refused.
    code = _code_for(issuer, right)
    ok = httpx.post(f"{issuer.url}/token", data=exchange | {"code": code, "code_verifier": right}, auth=web)
    assert ok.status_code == 200
    assert verifier.verify(ok.json()["access_token"]).roles == {"director"}
    assert httpx.post(f"{issuer.url}/token", data=exchange | {"code": code, "code_verifier": right}, auth=web).json()["error"] == "invalid_grant"
    # Another client cannot redeem it.
    code = _code_for(issuer, right)
    other = httpx.post(f"{issuer.url}/token", data=exchange | {"code": code, "code_verifier": right, "client_id": "casework-cli"})
    assert other.json()["error"] == "invalid_grant"


def test_authorize_refuses_unregistered_redirect_and_missing_pkce(issuer: Running) -> None:
    base = {"response_type": "code", "client_id": "casework-web", "redirect_uri": "http://127.0.0.1:8088/callback", "state": "s"}
    no_pkce = httpx.get(f"{issuer.url}/authorize", params=base)
    assert no_pkce.status_code == 303 and "error=invalid_request" in no_pkce.headers["location"]
    plain = httpx.get(f"{issuer.url}/authorize", params=base | {"code_challenge": "c" * 43, "code_challenge_method": "plain"})
    assert "error=invalid_request" in plain.headers["location"]
    elsewhere = httpx.get(f"{issuer.url}/authorize", params=base | {"redirect_uri": "https://attacker.example/cb",
                                                                    "code_challenge": "c" * 43, "code_challenge_method": "S256"})
    assert elsewhere.status_code == 400 and "location" not in elsewhere.headers
    # A confidential web client's redirect is exact; only the native CLI may use any loopback port.
    port = httpx.get(f"{issuer.url}/authorize", params=base | {"redirect_uri": "http://127.0.0.1:9999/callback",
                                                               "code_challenge": "c" * 43, "code_challenge_method": "S256"})
    assert port.status_code == 400


def test_login_refuses_an_answer_with_another_state(issuer: Running) -> None:
    def forged_browser(url: str) -> None:
        redirect = parse_qs(urlsplit(url).query)["redirect_uri"][0]
        httpx.get(redirect, params={"code": "x", "state": "not-ours"})

    with pytest.raises(LoginFailed, match="state"):
        login(issuer.url, open_browser=forged_browser, timeout=10)


def test_discovery_document(issuer: Running) -> None:
    doc = httpx.get(f"{issuer.url}/.well-known/openid-configuration").json()
    assert doc["issuer"] == issuer.url and doc["jwks_uri"] == f"{issuer.url}/jwks"
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert set(doc["grant_types_supported"]) == {"authorization_code", "client_credentials", "refresh_token"}
    assert doc["revocation_endpoint"] == f"{issuer.url}/revoke"


# ------------------------------------------------------------------ key rotation


def _rotate(served: Running, who: str | None = "ops.ivy", **headers: str) -> httpx.Response:
    if who is not None:
        headers["Authorization"] = f"Bearer {Tokens(served.url, load_identities(IDENTITIES)).of(who)}"
    return httpx.post(f"{served.url}/dev/rotate-keys", headers=headers)


def test_only_an_operator_rotates_the_issuers_keys_and_no_other_origin_asks() -> None:
    """Issue 25: the rotation endpoint (which withdraws a key) needed no authentication and
    took any Origin."""
    with running(load_identities(IDENTITIES), environ=LOCAL) as served:
        kid = served.issuer.kid
        assert _rotate(served, who=None).status_code == 401
        assert _rotate(served, who=None, Authorization="Bearer not-a-token").status_code == 401
        assert _rotate(served, who="cw.ben").status_code == 403  # a person, not an operator
        assert _rotate(served, Origin="http://rebound.example").status_code == 403
        assert served.issuer.kid == kid  # nothing rotated
        assert _rotate(served).status_code == 200 and served.issuer.kid != kid


def test_the_issuer_answers_only_requests_addressed_to_this_machine() -> None:
    """Issue 25: DNS rebinding - a page of another site, its name resolved to 127.0.0.1,
    reached the issuer (and a token for a system that can close any case)."""
    with running(load_identities(IDENTITIES), environ=LOCAL) as served:
        path = f"{served.url}/.well-known/openid-configuration"
        assert httpx.get(path).status_code == 200
        assert httpx.get(path, headers={"Host": "localhost:1234"}).status_code == 200
        for host in ("rebound.example", "rebound.example:8090", "127.0.0.1.rebound.example", ""):
            assert httpx.get(path, headers={"Host": host}).status_code == 421, host
        token = httpx.post(f"{served.url}/token", headers={"Host": "rebound.example"},
                           data={"grant_type": "client_credentials", "client_id": "acro", "client_secret": "dev-acro-secret"})
        assert token.status_code == 421 and "access_token" not in token.text


def test_key_rotation_new_kid_verifies_after_one_jwks_refetch() -> None:
    with running(load_identities(IDENTITIES), environ=LOCAL) as served:
        verifier = TokenVerifier(settings_for(served, jwks_cooldown_seconds=0.2))
        old_token = client_token(served, "acro", "dev-acro-secret")
        old_kid = jwt.get_unverified_header(old_token)["kid"]
        verifier.verify(old_token)
        fetched = served.issuer.jwks_requests
        new_kid = _rotate(served).json()["kid"]
        assert new_kid != old_kid and {k["kid"] for k in httpx.get(f"{served.url}/jwks").json()["keys"]} == {old_kid, new_kid}
        fetched += 1  # the look above
        new_token = client_token(served, "acro", "dev-acro-secret")
        assert jwt.get_unverified_header(new_token)["kid"] == new_kid
        time.sleep(0.3)  # past the cooldown that the first fetch began
        assert verifier.verify(new_token).subject == "acro"
        assert served.issuer.jwks_requests == fetched + 1  # exactly one refetch
        # Both keys are now known: neither token costs another fetch.
        verifier.verify(old_token)
        verifier.verify(new_token)
        assert served.issuer.jwks_requests == fetched + 1


def test_a_withdrawn_key_is_trusted_a_minute_at_most_and_not_at_all_once_a_new_kid_is_seen() -> None:
    """Issue 25: a token signed by a withdrawn key was accepted until the JWKS cache expired
    (300 s). Now the JWKS lives 60 s; and a rotation seen (a new kid refetches the JWKS)
    drops a withdrawn key at once."""
    assert AccessSettings(issuer="http://127.0.0.1:1").jwks_lifespan_seconds <= 60
    with running(load_identities(IDENTITIES), environ=LOCAL) as served:
        verifier = TokenVerifier(settings_for(served, jwks_cooldown_seconds=0.2))
        withdrawn = client_token(served, "acro", "dev-acro-secret")
        verifier.verify(withdrawn)
        _rotate(served)
        _rotate(served)  # the first key leaves the JWKS
        time.sleep(0.3)
        assert verifier.verify(client_token(served, "acro", "dev-acro-secret")).subject == "acro"  # a new kid: refetched
        with pytest.raises(TokenRefused) as refused:
            verifier.verify(withdrawn)
        assert refused.value.code == "unknown_key"


# ------------------------------------------------------------------ configuration and the claim mapping


def test_algorithms_setting_accepts_only_rs256_and_es256(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEWORK_OIDC_ISSUER", "http://127.0.0.1:1")
    monkeypatch.setenv("CASEWORK_OIDC_ALGORITHMS", "ES256, RS256")
    assert AccessSettings().algorithms == ("ES256", "RS256")
    for bad in ("HS256", "RS256,none", ","):
        monkeypatch.setenv("CASEWORK_OIDC_ALGORITHMS", bad)
        with pytest.raises(ValueError, match="CASEWORK_OIDC_ALGORITHMS"):
            AccessSettings.read()
    monkeypatch.setenv("CASEWORK_OIDC_ALGORITHMS", "")  # empty is unset (casework/config.py): the default
    assert AccessSettings.read().algorithms == ("RS256", "ES256")


def test_claim_mapping_is_configurable() -> None:
    """Keycloak-style nested roles, Entra-style ``scp`` list and ``azp`` client id."""
    settings = AccessSettings(issuer="https://idp.example.test/realms/ho", roles_claim="realm_access.roles",
                              teams_claim="teams", scopes_claim="scp", client_id_claim="azp")
    verifier = TokenVerifier(settings)
    system = verifier.principal({"iss": settings.issuer, "sub": "svc-nbtc", "azp": "svc-nbtc",
                                 "realm_access": {"roles": ["nbtc"]}, "scp": ["events:left_uk"], "exp": 2_000_000_000})
    assert system.kind is Kind.SYSTEM and system.roles == {"nbtc"} and system.scopes == {"events:left_uk"}
    person = verifier.principal({"iss": settings.issuer, "sub": "cw.ben", "azp": "casework-web",
                                 "realm_access": {"roles": ["caseworker"]}, "teams": ["CC EEA Team"]})
    assert person.kind is Kind.PERSON and person.teams == {"CC EEA Team"} and person.scopes == frozenset()
    with pytest.raises(TokenRefused, match="neither a list"):
        verifier.principal({"iss": settings.issuer, "sub": "cw.ben", "realm_access": {"roles": [1, 2]}})


# ------------------------------------------------------------------ the issuer stays on the local stack


@pytest.mark.parametrize(("issuer_url", "host", "environ", "words"), [
    ("http://127.0.0.1:8090", "127.0.0.1", {}, "CASEWORK_STACK=local"),
    ("http://127.0.0.1:8090", "127.0.0.1", {"CASEWORK_STACK": "production"}, "CASEWORK_STACK=local"),
    ("http://127.0.0.1:8090", "127.0.0.1", LOCAL | {"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, "Kubernetes"),
    ("http://127.0.0.1:8090", "0.0.0.0", LOCAL, "loopback"),
    ("http://127.0.0.1:8090", "192.168.1.10", LOCAL, "loopback"),
    ("https://login.example.test", "127.0.0.1", LOCAL, "loopback"),
    ("http://issuer.internal:8090", "127.0.0.1", LOCAL, "loopback"),
])
def test_dev_issuer_refuses_outside_the_local_stack(issuer_url: str, host: str, environ: dict[str, str], words: str) -> None:
    with pytest.raises(DevIssuerRefused, match=words):
        check_local_stack(issuer_url, host, environ)


def test_dev_issuer_command_refuses_without_the_marker(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("CASEWORK_STACK", raising=False)
    assert main(["--port", "0", "--identities", str(IDENTITIES)]) == 5
    assert "CASEWORK_STACK=local" in capsys.readouterr().err
    monkeypatch.setenv("CASEWORK_STACK", "local")
    assert main(["--host", "0.0.0.0", "--port", "0", "--identities", str(IDENTITIES)]) == 5
    assert "loopback" in capsys.readouterr().err


def test_identities_file_refuses_a_user_who_is_also_a_client(tmp_path: Path) -> None:
    bad = tmp_path / "ids.toml"
    bad.write_text('[users.acro]\nroles = ["director"]\n[clients.acro]\nsecret = "s"\nscopes = ["feed:read"]\n')
    with pytest.raises(DevIssuerRefused, match="both a user and a client"):
        load_identities(bad)


# ------------------------------------------------------------------ ES256, and the API's event loop


def test_es256_issuer_tokens_verify_and_the_allow_list_can_narrow() -> None:
    with running(load_identities(IDENTITIES), algorithm="ES256", environ=LOCAL) as served:
        token = client_token(served, "nbtc-system", "dev-nbtc-secret")
        assert jwt.get_unverified_header(token)["alg"] == "ES256"
        assert TokenVerifier(settings_for(served)).verify(token).roles == {"nbtc"}
        err = refused(TokenVerifier(settings_for(served, algorithms="RS256")), token)
        assert err.code == "algorithm" and "'ES256'" in err.reason


async def test_async_verification_fetches_in_a_thread_then_verifies_inline(issuer: Running) -> None:
    verifier = TokenVerifier(settings_for(issuer))
    header = "Bearer " + client_token(issuer, "acro", "dev-acro-secret")
    first = await verifier.verify_header_async(header)  # discovery + JWKS fetched off the loop
    kid = jwt.get_unverified_header(header.split()[1])["kid"]
    assert verifier._cached_key(kid) is not None
    assert (await verifier.verify_header_async(header)) == first
    with pytest.raises(TokenRefused) as caught:
        await verifier.verify_header_async("Bearer " + issuer.issuer.sign(claims(issuer, aud="x")))
    assert caught.value.code == "audience"
    with pytest.raises(TokenRefused):
        await verifier.verify_header_async(None)


def test_dev_issuer_command_serves_on_loopback_and_stops_on_sigterm() -> None:
    """The console script as the local stack runs it: a port, a real token, a clean stop."""
    import os
    import signal
    import subprocess
    import sys

    env = os.environ | LOCAL
    proc = subprocess.Popen([sys.executable, "-m", "access.dev_issuer", "--port", "0", "--identities", str(IDENTITIES)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        url = line.split("development issuer at ", 1)[1].split()[0]
        assert urlsplit(url).hostname == "127.0.0.1"
        token = httpx.post(f"{url}/token", data={"grant_type": "client_credentials"}, auth=("acro", "dev-acro-secret")).json()["access_token"]
        assert TokenVerifier(AccessSettings(issuer=url)).verify(token).subject == "acro"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
