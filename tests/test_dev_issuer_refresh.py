"""A sign-in lasts a working day (issue 24 item 3), on the development issuer over real
HTTP: refresh tokens by the standard grant, rotated at every use, a reused one revoking
the whole sign-in, revocation (RFC 7009), and signing keys and refresh tokens kept in the
state file across a restart. The CLI's side (quiet renewal, logout) is in
tests/test_cli_login.py and, against ``casework up``, tests/test_tour.py."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import httpx
import pytest

from access.dev_issuer import load_identities, running
from access.login import LoginFailed, login, refresh, revoke
from casework.config import AccessSettings
from access.tokens import TokenVerifier
from tests.test_access_tokens import IDENTITIES, LOCAL, Person


def _sign_in(url: str, user: str = "cw.ben") -> dict:
    return login(url, open_browser=Person(user), timeout=20)


def _verify(url: str, token: str) -> str:
    return TokenVerifier(AccessSettings(issuer=url, audience="casework-api")).verify(token).subject


def test_refresh_tokens_rotate_and_a_reused_one_ends_the_sign_in(tmp_path: Path) -> None:
    with running(load_identities(IDENTITIES), environ=LOCAL, state_file=tmp_path / "state.json") as served:
        first = _sign_in(served.url)
        assert first["refresh_token"] and 0 < first["refresh_expires_in"] <= 10 * 3600
        second = refresh(served.url, first["refresh_token"])
        assert _verify(served.url, second["access_token"]) == "cw.ben"
        assert second["refresh_token"] != first["refresh_token"]  # rotated
        # The session's end is fixed at sign-in: refreshing does not extend it.
        assert second["refresh_expires_in"] <= first["refresh_expires_in"]
        third = refresh(served.url, second["refresh_token"])
        # The first token again (a stolen copy): refused, and the whole sign-in with it.
        with pytest.raises(LoginFailed, match="already used"):
            refresh(served.url, first["refresh_token"])
        with pytest.raises(LoginFailed, match="invalid_grant"):
            refresh(served.url, third["refresh_token"])
        # Systems get none (client credentials, RFC 6749 4.4.3).
        system = httpx.post(f"{served.url}/token", data={"grant_type": "client_credentials"},
                            auth=("acro", "dev-acro-secret")).json()
        assert "refresh_token" not in system


def test_revocation_ends_the_sign_in_and_answers_200_for_unknown_tokens(tmp_path: Path) -> None:
    with running(load_identities(IDENTITIES), environ=LOCAL) as served:
        tokens = _sign_in(served.url)
        assert revoke(served.url, tokens["refresh_token"]) is True
        with pytest.raises(LoginFailed, match="invalid_grant"):
            refresh(served.url, tokens["refresh_token"])
        assert revoke(served.url, "never-issued") is True  # RFC 7009 2.2: 200 all the same
        # Another client cannot use or revoke the CLI's refresh token.
        other = _sign_in(served.url)
        answer = httpx.post(f"{served.url}/token", auth=("casework-web", "dev-web-secret"),
                            data={"grant_type": "refresh_token", "refresh_token": other["refresh_token"]})
        assert answer.status_code in (400, 401), answer.text
        assert refresh(served.url, other["refresh_token"])["access_token"]


def test_keys_and_sign_ins_survive_a_restart_in_the_state_file(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    identities = load_identities(IDENTITIES)
    with running(identities, environ=LOCAL, state_file=state) as served:
        url, port = served.url, int(served.url.rsplit(":", 1)[1])
        tokens = _sign_in(url)
        kid = served.issuer.kid
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    assert tokens["refresh_token"] not in state.read_text()  # hashes only
    with running(identities, environ=LOCAL, state_file=state, port=port) as again:
        assert again.issuer.kid == kid
        assert _verify(url, tokens["access_token"]) == "cw.ben"  # signed before the restart
        assert _verify(url, refresh(url, tokens["refresh_token"])["access_token"]) == "cw.ben"
    # Without a state file a restart is a new key (the tests' issuers).
    with running(identities, environ=LOCAL) as fresh:
        assert fresh.issuer.kid != kid


def test_a_short_sign_in_ends(tmp_path: Path) -> None:
    with running(load_identities(IDENTITIES), environ=LOCAL, refresh_seconds=1) as served:
        tokens = _sign_in(served.url)
        time.sleep(1.2)
        with pytest.raises(LoginFailed, match="sign-in has ended"):
            refresh(served.url, tokens["refresh_token"])
