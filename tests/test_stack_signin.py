"""A sign-in lasts a working day on ``casework up`` (issue 24 item 3): it survives a restart
of the stack (the issuer keeps its keys and refresh tokens in the data folder), a command
after the access token's lifetime succeeds by a quiet refresh, and after ``casework
logout`` the issuer refuses the refresh token. The access token lives 10 s here, and the
API allows no clock leeway, so "expired" means expired."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from pathlib import Path

import httpx

from tests.test_stack import Stack, _drop_database, _fresh_database
from tests.test_tour import Step, _run, _terminal

SHORT = {"CASEWORK_DEV_ISSUER_TOKEN_SECONDS": "10", "CASEWORK_OIDC_LEEWAY_SECONDS": "0"}


def _casework(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["casework", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


async def test_a_sign_in_survives_a_restart_renews_itself_and_ends_at_logout(tmp_path: Path) -> None:
    shared = os.environ.get("DATABASE_URL")
    fresh = await _fresh_database(shared) if shared else None
    stack = Stack(tmp_path / "casework", fresh)
    try:
        stack.start(**SHORT)
        settings = await stack.ready()
        env = _terminal(tmp_path, stack.data_dir)
        token_file = tmp_path / "home" / ".config" / "casework" / "token.json"
        status, said = await asyncio.to_thread(_run, Step("casework login   # pick cw.ben"), env, tmp_path)
        assert status == 0, said
        kid = httpx.get(f"{settings['oidc_issuer']}/jwks").json()["keys"][-1]["kid"]

        # A restart (same ports: the same issuer URL): no new sign-in, the same signing key.
        assert await stack.interrupt() == 0
        stack.start(same_ports=True, **SHORT)
        settings = await stack.ready()
        assert httpx.get(f"{settings['oidc_issuer']}/jwks").json()["keys"][-1]["kid"] == kid
        ran = await asyncio.to_thread(_casework, env, tmp_path, "tasks", "--mine")
        assert ran.returncode == 0, ran.stderr

        # Past the access token's lifetime: the API refuses it, the command renews it quietly.
        kept = json.loads(token_file.read_text())
        await asyncio.sleep(max(0.0, kept["expires_at"] - time.time()) + 1.5)
        old = httpx.get(f"{settings['api_url']}/me", headers={"Authorization": f"Bearer {kept['access_token']}"})
        assert old.status_code == 401 and "expired" in old.json()["detail"], old.text
        ran = await asyncio.to_thread(_casework, env, tmp_path, "whoami", "--json")
        assert ran.returncode == 0 and ran.stderr == "", ran.stderr
        assert json.loads(ran.stdout)["subject"] == "cw.ben"
        renewed = json.loads(token_file.read_text())
        assert renewed["access_token"] != kept["access_token"] and renewed["refresh_token"] != kept["refresh_token"]

        # Signed out: the issuer refuses the refresh token.
        ran = await asyncio.to_thread(_casework, env, tmp_path, "logout")
        assert ran.returncode == 0 and "the issuer revoked the sign-in" in ran.stdout, ran.stdout + ran.stderr
        refused = httpx.post(f"{settings['oidc_issuer']}/token", data={
            "grant_type": "refresh_token", "refresh_token": renewed["refresh_token"], "client_id": "casework-cli"})
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant", refused.text
        assert await stack.interrupt() == 0
    finally:
        stack.kill()
        if shared and fresh:
            await _drop_database(shared, fresh)
