"""``casework-api``: the API on uvicorn. Stateless: run as many replicas as needed behind
a load balancer (docker-compose.yml's ``api`` service)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Awaitable, Callable

from access.directory import load_directory
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
    return Services(verifier, pool, CaseClient(client, pool=pool, task_queue=temporal.task_queue), directory), pool.close


def main() -> None:
    import uvicorn

    from api.app import create_app

    try:  # every setting refused before anything starts
        level = config.LogSettings.read().level("INFO")
        settings = config.ApiSettings.read()
        config.AccessSettings.read()
        api_database_url()
        load_directory(settings.directory_path)
    except ValueError as err:
        print(f"casework-api: {err}".splitlines()[0], file=sys.stderr)
        raise SystemExit(2) from None
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    host, port = settings.host_port
    # Idle keep-alive connections are kept longer than a load balancer's (or a client pool's)
    # idle timeout: uvicorn's 5 s default equals httpx's, and a request sent on a connection
    # the server is closing at that moment fails (seen in the benchmark as ReadError).
    uvicorn.run(create_app(), host=host, port=port, log_level=level.lower(),
                access_log=False, proxy_headers=True, timeout_keep_alive=KEEP_ALIVE_SECONDS)
