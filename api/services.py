"""What the API's requests share: the token verifier, the CID pool (the API's own login)
and the case client. Made once per process by the app's lifespan (api/app.py), from the
configuration (``make_services``) unless the caller brings its own (the tests, ``casework up``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from access.directory import Directory, load_directory
from access.tokens import TokenVerifier
from casework import config
from casework.temporal import TemporalSettings, connect
from cid.db import API_LOGIN, create_pool, login_as
from workflows.client import CaseClient


@dataclass
class Services:
    verifier: TokenVerifier
    #: The CID, logged in as casework_api (migration 0005): only the API's grants.
    pool: asyncpg.Pool
    cases: CaseClient
    #: The people a task may be assigned to (access/directory.py); empty when none is configured.
    directory: Directory = field(default_factory=Directory)


def services(request: Request) -> Services:
    return request.app.state.services


Svc = Annotated[Services, Depends(services)]


#: Connections the API's pool keeps open (its most is create_pool's, 10).
API_POOL_MIN = 4


def api_database_url() -> str:
    explicit = config.ApiSettings.read().api_database_url
    if explicit:
        return explicit
    owner = config.DatabaseSettings.read().database_url
    if not owner:
        raise ValueError(f"set {config.API_DATABASE_URL_ENV} (the API's own login) or DATABASE_URL")
    return login_as(owner, API_LOGIN)


async def make_services() -> tuple[Services, Callable[[], Awaitable[None]]]:
    temporal = TemporalSettings.from_environment()
    verifier = TokenVerifier(config.AccessSettings.read())
    directory = load_directory(config.ApiSettings.read().directory_path)
    # Connections opened at start-up, not by the first requests (each login costs a SCRAM
    # exchange of several milliseconds): as many as requests commonly run at once.
    pool = await create_pool(api_database_url(), min_size=API_POOL_MIN)
    try:
        client = await connect(temporal)
    except BaseException:
        await pool.close()
        raise
    return Services(verifier, pool, CaseClient(client, task_queue=temporal.task_queue), directory), pool.close
