"""What the API's requests share: the token verifier, the CID pool (the API's own login)
and the case client. Made once per process by the app's lifespan (api/app.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from access.directory import Directory
from access.tokens import TokenVerifier
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
