"""The people a task may be assigned to, with their roles and teams (``ASSIGN_TASK`` asks
the policy about a ``Member``, and the assignee is not the caller, so no token says who
they are).

Read from a TOML file in the ``[users]`` format of deploy/dev-identities.toml
(``CASEWORK_DIRECTORY``; on the local stack that file itself). A deployment points it at
an export of its identity provider's people; nothing else in the file is read.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from access.policy import Member


class DirectoryRefused(ValueError):
    """The directory file cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class Directory:
    people: dict[str, Member] = field(default_factory=dict)
    #: Where it was read from (for a message); None: no directory configured.
    source: str | None = None

    def member(self, subject: str) -> Member | None:
        return self.people.get(subject)


def _names(entry: dict[str, Any], key: str, where: str) -> frozenset[str]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise DirectoryRefused(f"{where}.{key} must be a list of names")
    return frozenset(value)


def load_directory(path: str | Path | None) -> Directory:
    """The people of ``path``'s ``[users]``; an empty directory when ``path`` is None."""
    if path is None:
        return Directory()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise DirectoryRefused(f"directory {path}: {err}") from None
    users = data.get("users", {})
    if not isinstance(users, dict):
        raise DirectoryRefused(f"directory {path}: [users] must be a table of people")
    people: dict[str, Member] = {}
    for subject, entry in users.items():
        where = f"directory {path}: users.{subject}"
        if not isinstance(entry, dict):
            raise DirectoryRefused(f"{where} must be a table (roles, teams)")
        people[subject] = Member(subject, _names(entry, "roles", where), _names(entry, "teams", where))
    return Directory(people, str(path))
