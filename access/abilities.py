"""What the policy lets a principal do, in general, for ``GET /me`` and ``casework
whoami``: derived from the policy's own tables and decisions (access/policy.py), never a
second copy of them. Each answer is for "some case": the policy still decides each request
on its resource (a caseworker completes only their team's tasks)."""

from __future__ import annotations

from dataclasses import dataclass

from access.policy import (EVENT_SENDERS, FEED_READERS, PURPOSES, SCOPES, Action, case_scope, decide, roles_of,
                           task_roles)
from access.principal import Principal
from casework.tasks import TASK_KINDS


@dataclass(frozen=True)
class Abilities:
    #: Which cases the principal sees: "all", or the teams and task teams that admit a case.
    sees_cases: str
    #: Events the principal may send (by action name), referrals included.
    sends: tuple[str, ...]
    #: Task kinds the principal's roles work (on tasks for their team or their own cases).
    works_tasks: tuple[str, ...]
    #: R60: the purposes the principal may state to read personal data.
    personal_data_purposes: tuple[str, ...]
    #: Feeds (recipients) the principal reads.
    reads_feeds: tuple[str, ...]
    #: Other rights by action name: read_audit, decode_history.
    other: tuple[str, ...]


def _scoped(principal: Principal, action: Action) -> bool:
    """A system needs the action's scope in its token (people need none)."""
    return not principal.is_system or action not in SCOPES or SCOPES[action] in principal.scopes


def abilities(principal: Principal) -> Abilities:
    roles = roles_of(principal)
    scope = case_scope(principal)
    if not _scoped(principal, Action.LIST_CASES):
        sees = f"no cases (the token lacks the scope '{SCOPES[Action.LIST_CASES]}')"
    elif scope.all_cases:
        sees = "all cases"
    elif scope.empty:
        sees = "no cases"
    else:
        parts = [f"cases routed to {', '.join(sorted(scope.teams))}" if scope.teams else "",
                 "cases you own" if scope.owner else "",
                 f"cases with a task for {', '.join(sorted(scope.task_teams))}" if scope.task_teams else ""]
        sees = "; ".join(p for p in parts if p)
    sends = tuple(a.value for a, senders in EVENT_SENDERS.items() if roles & senders and _scoped(principal, a))
    works = () if principal.is_system else tuple(k for k in TASK_KINDS if roles & task_roles(k))
    purposes = () if principal.is_system else tuple(sorted({p.value for r in roles for p in PURPOSES.get(r, ())}))
    feeds = tuple(r for r, readers in FEED_READERS.items() if roles & readers and _scoped(principal, Action.READ_FEED))
    other = tuple(a.value for a in (Action.READ_AUDIT, Action.DECODE_HISTORY) if decide(principal, a))
    return Abilities(sees, sends, works, purposes, feeds, other)
