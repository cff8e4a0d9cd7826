"""``casework-api``: the API on uvicorn. Stateless: run as many replicas as needed behind
a load balancer (docker-compose.yml's ``api`` service)."""

from __future__ import annotations

import logging
import sys

import uvicorn

from access.directory import load_directory
from api.app import create_app
from api.serving import uvicorn_options
from api.services import api_database_url
from casework import config


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
    # Keep-alive, the head timeout and the connection limit: api/serving.py.
    uvicorn.run(create_app(), host=host, port=port, log_level=level.lower(), proxy_headers=True, **uvicorn_options())
