"""``casework-api``: the API on uvicorn. Stateless: run as many replicas as needed behind
a load balancer (docker-compose.yml's ``api`` service)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Awaitable, Callable

from access.directory import load_directory
from access.settings import access_settings
from access.tokens import TokenVerifier
from api.services import Services
from casework import config
from casework.temporal import TemporalSettings, connect
from cid.db import API_LOGIN, create_pool, login_as
from workflows.client import CaseClient


#: Seconds an idle HTTP connection is kept open (above the usual load balancers' 60 s).
KEEP_ALIVE_SECONDS = 75
#: Connections the API's pool keeps open (its most is create_pool's, 10).
API_POOL_MIN = 4


def api_database_url() -> str:
    explicit = config.api_database_url()
    if explicit:
        return explicit
    owner = config.database_url()
    if not owner:
        raise ValueError(f"set {config.API_DATABASE_URL_ENV} (the API's own login) or DATABASE_URL")
    return login_as(owner, API_LOGIN)


async def make_services() -> tuple[Services, Callable[[], Awaitable[None]]]:
    temporal = TemporalSettings.from_environment()
    verifier = TokenVerifier(access_settings())
    directory = load_directory(config.directory_path())
    # Connections opened at start-up, not by the first requests (each login costs a SCRAM
    # exchange of several milliseconds): as many as requests commonly run at once.
    pool = await create_pool(api_database_url(), min_size=API_POOL_MIN)
    try:
        client = await connect(temporal)
    except BaseException:
        await pool.close()
        raise
    return Services(verifier, pool, CaseClient(client, task_queue=temporal.task_queue), directory), pool.close


def main() -> None:
    import uvicorn
    from pydantic import ValidationError

    from api.app import create_app

    logging.basicConfig(level=config.log_level("INFO"), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        host, port = config.api_address()
        access_settings()  # refused before anything starts
        api_database_url()
        load_directory(config.directory_path())
    except (ValueError, ValidationError) as err:
        print(f"casework-api: {err}".splitlines()[0], file=sys.stderr)
        raise SystemExit(2) from None
    # Idle keep-alive connections are kept longer than a load balancer's (or a client pool's)
    # idle timeout: uvicorn's 5 s default equals httpx's, and a request sent on a connection
    # the server is closing at that moment fails (seen in the benchmark as ReadError).
    uvicorn.run(create_app(), host=host, port=port, log_level=config.log_level("info").lower(),
                access_log=False, proxy_headers=True, timeout_keep_alive=KEEP_ALIVE_SECONDS)
