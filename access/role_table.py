"""The role table: ``access.policy.decide`` asked for every role and action on one typical
case, rendered as Markdown for docs/access.md (``python -m access.role_table``).

The table's people are members of their role's team; the case is routed to that
caseworker's team and has NBTC, ICE and Director tasks; systems hold every scope. The
relational rules (another team's case, a claimed task, an overdue task, assigning outside
the team, a missing scope) are in the policy's tests and in docs/access.md.
"""

from __future__ import annotations

from access.policy import (
    FEED_READERS, SCOPES, Action, Assignment, CaseRef, Decision, Feed, Member, PersonalDataRead, Purpose, Resource,
    Role, TaskRef, decide,
)
from access.principal import Kind, Principal
from casework.tasks import CASE_OWNER, DIRECTOR, ICE, NBTC, SENIOR_CASEWORKER, TASK_KINDS

CASE_TEAM = "CC EEA Team"
SYSTEM_ROLES = frozenset({Role.ACRO, Role.PNC_BUREAU, Role.REMOVALS_CASEWORK})
ROLE_TEAMS: dict[Role, frozenset[str]] = {
    Role.CC_WORKFLOW: frozenset({"CC Workflow"}),
    Role.CASEWORKER: frozenset({CASE_TEAM}),
    Role.SENIOR_CASEWORKER: frozenset({SENIOR_CASEWORKER}),
    Role.NBTC: frozenset({NBTC}),
    Role.ICE: frozenset({ICE}),
    Role.DIRECTOR: frozenset({DIRECTOR}),
}
CASE = CaseRef("EX-000001A", team=CASE_TEAM, task_teams=frozenset({NBTC, ICE, DIRECTOR}),
               open_task_teams=frozenset({NBTC, ICE, DIRECTOR}))


def principal(role: Role) -> Principal:
    system = role in SYSTEM_ROLES
    return Principal(
        subject=f"{role.value}-1", kind=Kind.SYSTEM if system else Kind.PERSON, roles=frozenset({role.value}),
        teams=ROLE_TEAMS.get(role, frozenset()), scopes=frozenset(SCOPES.values()) if system else frozenset(),
    )


def task(kind: str, assignee: str | None = None) -> TaskRef:
    team = TASK_KINDS[kind].team
    return TaskRef(CASE, f"{kind}-1", kind, CASE_TEAM if team == CASE_OWNER else team, assignee=assignee)


_CASEWORK_TASK = "police_contact"
_TEAMMATE = Member("caseworker-2", frozenset({Role.CASEWORKER.value}), frozenset({CASE_TEAM}))

#: The main table's columns: a heading, the action, the resource.
COLUMNS: list[tuple[str, Action, Resource]] = [
    ("submit referral", Action.SUBMIT_REFERRAL, None),
    ("located", Action.SEND_LOCATED, CASE),
    ("left UK", Action.SEND_LEFT_UK, CASE),
    ("certificate", Action.SEND_CERTIFICATE, CASE),
    ("representations", Action.SEND_REPRESENTATIONS, CASE),
    ("list cases", Action.LIST_CASES, None),
    ("see case", Action.SEE_CASE, CASE),
    *[(f"PD: {p.value}", Action.READ_PERSONAL_DATA, PersonalDataRead(CASE, p)) for p in Purpose],
    ("see task", Action.SEE_TASK, task(_CASEWORK_TASK)),
    ("claim", Action.CLAIM_TASK, task(_CASEWORK_TASK)),
    ("unclaim another's", Action.UNCLAIM_TASK, task(_CASEWORK_TASK, assignee="caseworker-2")),
    ("assign to teammate", Action.ASSIGN_TASK, Assignment(task(_CASEWORK_TASK), _TEAMMATE)),
    ("read audit", Action.READ_AUDIT, None),
    ("decode history", Action.DECODE_HISTORY, None),
    ("operate", Action.OPERATE, None),
]
TASK_COLUMNS: list[tuple[str, Action, Resource]] = [(kind, Action.COMPLETE_TASK, task(kind)) for kind in TASK_KINDS]
FEED_COLUMNS: list[tuple[str, Action, Resource]] = [(r, Action.READ_FEED, Feed(r)) for r in FEED_READERS]


def decisions(columns: list[tuple[str, Action, Resource]]) -> dict[Role, list[Decision]]:
    return {role: [decide(principal(role), action, resource) for _, action, resource in columns] for role in Role}


def _markdown(title: str, columns: list[tuple[str, Action, Resource]]) -> str:
    rows = decisions(columns)
    head = f"| {title} | " + " | ".join(name for name, _, _ in columns) + " |"
    rule = "|---|" + "---|" * len(columns)
    body = [f"| {role.value}{' (system)' if role in SYSTEM_ROLES else ''} | "
            + " | ".join("yes" if d.allowed else "–" for d in rows[role]) + " |" for role in Role]
    return "\n".join([head, rule, *body])


def roles_table() -> str:
    """The actions of each role (the first of docs/access.md's tables)."""
    return _markdown("role", COLUMNS) + "\n"


def render() -> str:
    return "\n\n".join([
        roles_table().rstrip("\n"),
        _markdown("complete / claim a task of kind", TASK_COLUMNS),
        _markdown("read and acknowledge the feed of", FEED_COLUMNS),
    ]) + "\n"


if __name__ == "__main__":
    print(render(), end="")
