"""``casework login``, ``whoami`` and ``logout`` against the real development issuer, and
the API client's refusals before and without an API (starter/api_client.py).

The command runs as a subprocess, as at a terminal; the test plays the person's browser
on the issuer's sign-in page (``Person``, as in tests/test_access_tokens.py). The token
lands in ``$XDG_CONFIG_HOME/casework/token.json``, private to its owner, and verifies
against the issuer as the person who signed in, through the public ``casework-cli`` client.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta, timezone
import os
import socket
import stat
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from access.dev_issuer import Running, load_identities, running
from access.login import LoginFailed, refresh
from casework.config import AccessSettings
from access.tokens import TokenVerifier
from starter import credentials
from tests.api_support import ApiStack
from tests.cli_support import CASEWORK, Ran
from tests.test_access_tokens import IDENTITIES, LOCAL, Person


@pytest.fixture(scope="module")
def issuer() -> Iterator[Running]:
    with running(load_identities(IDENTITIES), environ=LOCAL) as served:
        yield served


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CASEWORK_", "TEMPORAL_", "XDG_")) and k != "DATABASE_URL"}
    return env | {"XDG_CONFIG_HOME": str(tmp_path / "config"), "CASEWORK_DATA_DIR": str(tmp_path / "data")} | extra


def run(env: dict[str, str], *args: str) -> Ran:
    done = subprocess.run([CASEWORK, *args], env=env, capture_output=True, text=True, timeout=60)
    return Ran(args, done.returncode, done.stdout, done.stderr)


def sign_in(env: dict[str, str], user: str, cwd: str | None = None) -> Ran:
    """``casework login --no-browser``: the address it prints is opened by ``Person(user)``."""
    process = subprocess.Popen([CASEWORK, "login", "--no-browser", "--timeout", "30"], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd)
    try:
        assert process.stderr is not None
        first = process.stderr.readline()
        assert first.startswith("Sign in at: "), first
        Person(user)(first.removeprefix("Sign in at: ").strip())
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return Ran(("login",), process.returncode, out, first + err)


def stored(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "config" / "casework" / "token.json").read_text())


def subject(tmp_path: Path) -> str:
    return credentials.unverified_claims(stored(tmp_path)["access_token"])["sub"]


async def test_login_whoami_renewal_and_logout(api: ApiStack, tmp_path: Path) -> None:
    """Sign in, ask the API who we are, renew quietly when the access token is due, and
    sign out: the issuer then refuses the refresh token (issue 24 item 3)."""
    env = environment(tmp_path, CASEWORK_OIDC_ISSUER=api.issuer.url, CASEWORK_API_URL=api.url)
    done = await asyncio.to_thread(sign_in, env, "nbtc.finn")
    assert done.code == 0, str(done)
    # "until": the sign-in's end (10 hours on the development issuer), not the access token's.
    until = datetime.now(timezone.utc) + timedelta(hours=10)
    assert f"Signed in as nbtc.finn (nbtc; NBTC) until {until:%Y-%m-%d %H}:" in done.out, done.out
    path = tmp_path / "config" / "casework" / "token.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    kept = stored(tmp_path)
    assert kept["access_token"] not in done.out + done.err and kept["refresh_token"] not in done.out + done.err
    principal = TokenVerifier(AccessSettings(issuer=api.issuer.url, audience="casework-api")).verify(kept["access_token"])
    assert principal.subject == "nbtc.finn" and principal.client_id == "casework-cli"

    who = await asyncio.to_thread(run, env, "whoami", "--json")
    assert who.code == 0, str(who)
    me = who.json()
    assert (me["subject"], me["roles"], me["teams"], me["client_id"]) == ("nbtc.finn", ["nbtc"], ["NBTC"], "casework-cli")
    assert me["api"] == api.url and me["api_from"] == "CASEWORK_API_URL" and me["token_from"] == str(path)
    assert "send_left_uk" in me["may"]["sends"] and "nbtc_check" in me["may"]["works_tasks"]
    text = await asyncio.to_thread(run, env, "whoami")
    assert text.code == 0 and f"API {api.url} (from CASEWORK_API_URL)" in text.out and "Works tasks: " in text.out

    # The access token is due (as if its lifetime had passed): the next command renews it
    # by the refresh-token grant, quietly; the refresh token rotates.
    path.write_text(json.dumps(kept | {"expires_at": time.time() + 5}))
    renewed = await asyncio.to_thread(run, env, "whoami", "--json")
    assert renewed.code == 0 and renewed.err == "", str(renewed)
    fresh = stored(tmp_path)
    assert fresh["access_token"] != kept["access_token"] and fresh["refresh_token"] != kept["refresh_token"]

    # Signing in again as someone else replaces the sign-in.
    assert (await asyncio.to_thread(sign_in, env, "cw.ben")).code == 0
    assert "cw.ben (caseworker; CC EEA Team)" in (await asyncio.to_thread(run, env, "whoami")).out
    last = stored(tmp_path)["refresh_token"]

    out = await asyncio.to_thread(run, env, "logout")
    assert out.code == 0 and "the issuer revoked the sign-in" in out.out and not path.exists(), str(out)
    with pytest.raises(LoginFailed, match="invalid_grant"):
        await asyncio.to_thread(refresh, api.issuer.url, last)
    gone = await asyncio.to_thread(run, env, "whoami")
    assert gone.code == 6 and gone.one_error_line() == (
        "casework: not signed in: run 'casework login' (or set CASEWORK_TOKEN)"), str(gone)
    assert "Not signed in" in (await asyncio.to_thread(run, env, "logout")).out


def test_login_finds_the_issuer_in_the_local_stack_file(issuer: Running, tmp_path: Path) -> None:
    env = environment(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "stack.json").write_text(json.dumps({"oidc_issuer": issuer.url}))
    assert sign_in(env, "director.hal").code == 0
    assert subject(tmp_path) == "director.hal"


def test_the_local_stack_is_found_from_any_folder_in_the_xdg_state_folder(issuer: Running, tmp_path: Path) -> None:
    """Issue 24 item 2: without CASEWORK_DATA_DIR the stack file is in $XDG_STATE_HOME/casework
    (else ~/.local/state/casework), whatever the working folder."""
    home = tmp_path / "home"
    env = {k: v for k, v in environment(tmp_path).items() if k != "CASEWORK_DATA_DIR"} | {"HOME": str(home)}
    state = home / ".local" / "state" / "casework"
    state.mkdir(parents=True)
    (state / "stack.json").write_text(json.dumps({"oidc_issuer": issuer.url}))
    assert sign_in(env, "director.hal", cwd="/").code == 0
    assert subject(tmp_path) == "director.hal"
    # XDG_STATE_HOME names another state folder.
    other = tmp_path / "state"
    (other / "casework").mkdir(parents=True)
    (other / "casework" / "stack.json").write_text(json.dumps({"oidc_issuer": "http://127.0.0.1:9"}))
    nowhere = run(env | {"XDG_STATE_HOME": str(other)}, "login", "--no-browser", "--timeout", "10")
    assert nowhere.code == 6 and "http://127.0.0.1:9 could not be reached" in nowhere.one_error_line(), str(nowhere)


def test_login_without_an_issuer_or_an_answer_is_one_line(issuer: Running, tmp_path: Path) -> None:
    nowhere = run(environment(tmp_path), "login", "--no-browser")
    assert nowhere.code == 5 and "no sign-in issuer: set CASEWORK_OIDC_ISSUER" in nowhere.one_error_line()
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    down = run(environment(tmp_path, CASEWORK_OIDC_ISSUER=f"http://127.0.0.1:{port}"), "login", "--no-browser")
    assert down.code == 6 and "could not be reached" in down.one_error_line(), str(down)
    # Nobody signs in: the wait ends, and nothing is stored.
    slow = run(environment(tmp_path, CASEWORK_OIDC_ISSUER=issuer.url), "login", "--no-browser", "--timeout", "10")
    lines = [line for line in slow.err.splitlines() if line.strip()]
    assert slow.code == 6 and lines[-1] == "casework: not signed in: no sign-in within 10 seconds", str(slow)
    assert not (tmp_path / "config" / "casework" / "token.json").exists()


def test_login_speaks_of_what_exists() -> None:
    """Issue 24 item 8: access/login.py spoke of a web inbox that did not exist."""
    import access.login

    assert "web inbox" not in (access.login.__doc__ or "") and "browser-based client" in (access.login.__doc__ or "")


def test_people_commands_need_a_token_and_an_api(tmp_path: Path) -> None:
    """Before any request: no API configured (5), no token (6); an API that is down (5)."""
    no_api = run(environment(tmp_path, CASEWORK_TOKEN="x"), "tasks")
    assert no_api.code == 5 and no_api.one_error_line() == (
        "casework: no API: set CASEWORK_API_URL, or start the local stack with 'casework up'"), str(no_api)
    no_token = run(environment(tmp_path, CASEWORK_API_URL="http://127.0.0.1:9"), "tasks")
    assert no_token.code == 6 and "not signed in" in no_token.one_error_line(), str(no_token)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    down = run(environment(tmp_path, CASEWORK_API_URL=f"http://127.0.0.1:{port}", CASEWORK_TOKEN="x"), "cases")
    assert down.code == 5 and f"the API cannot be reached at http://127.0.0.1:{port}" in down.one_error_line(), str(down)
    # A stored token that has expired is refused before it is sent.
    folder = tmp_path / "config" / "casework"
    folder.mkdir(parents=True)
    (folder / "token.json").write_text(json.dumps({"access_token": "x", "issuer": "http://i", "expires_at": 1}))
    expired = run(environment(tmp_path, CASEWORK_API_URL="http://127.0.0.1:9"), "cases")
    assert expired.code == 6 and "your sign-in has expired" in expired.one_error_line(), str(expired)
