"""``casework-api``: the API on uvicorn. Stateless: run as many replicas as needed behind
a load balancer (docker-compose.yml's ``api`` service)."""

from __future__ import annotations

import logging
import sys

import uvicorn

from access.directory import load_directory
from api.app import create_app
from api.services import api_database_url
from casework import config


#: Seconds an idle HTTP connection is kept open (above the usual load balancers' 60 s).
KEEP_ALIVE_SECONDS = 75


def main() -> None:
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
