"""Who is acting: the authenticated subject and what its token says about it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any


class Kind(str, Enum):
    PERSON = "person"
    #: Another system, authenticated by client credentials; its scopes limit what it may do.
    SYSTEM = "system"


@dataclass(frozen=True)
class Principal:
    """The actor every audit row, R60 read record and task records: ``subject`` is the
    verified token's subject, never a name a caller typed."""

    subject: str
    kind: Kind
    roles: frozenset[str] = frozenset()
    teams: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()
    issuer: str = ""
    client_id: str | None = None
    expires_at: datetime | None = None
    #: The verified claims the mapping used (sub, iss, aud, exp, jti, client_id, the
    #: role/team/scope claims), for an audit record or a support question; not everything.
    claims: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_system(self) -> bool:
        return self.kind is Kind.SYSTEM
