"""Authorization: the one policy. Pure: a principal, an action and the resource in, a
``Decision`` out; no I/O, no clock. The API asks it before it writes or reads anything.

Roles are the guidance's actors (process.md, "Actors"). Teams are the task teams of
casework/tasks.py and the routing table's casework teams; a CASE_OWNER task belongs to
the routed team until an owner is allocated, then to the owner (its ``team`` is the
owner's staff ID, as the workflow records it). Interpretations, where the guidance is
silent, are marked "Interpretation" and listed in docs/access.md.

A person's rights come from roles and teams. A system (client credentials) must hold
the role *and* the action's scope: the role says which system it is, the scope what this
credential may do, so a feed reader's credential cannot send events.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from access.principal import Kind, Principal
from casework.keys import Recipient
from casework.tasks import CASE_OWNER, CC_WORKFLOW, DIRECTOR, ICE, NBTC, SENIOR_CASEWORKER, TASK_KINDS


class Role(str, Enum):
    CC_WORKFLOW = "cc-workflow"
    CASEWORKER = "caseworker"
    SENIOR_CASEWORKER = "senior-caseworker"
    NBTC = "nbtc"
    ICE = "ice"
    PNC_BUREAU = "pnc-bureau"
    DIRECTOR = "director"
    ACRO = "acro"
    REMOVALS_CASEWORK = "removals-casework"
    OPERATOR = "operator"
    AUDITOR = "auditor"


class Action(str, Enum):
    SUBMIT_REFERRAL = "submit_referral"
    SEND_LOCATED = "send_located"
    SEND_LEFT_UK = "send_left_uk"
    SEND_CERTIFICATE = "send_certificate"
    SEND_REPRESENTATIONS = "send_representations"
    LIST_CASES = "list_cases"
    SEE_CASE = "see_case"
    READ_PERSONAL_DATA = "read_personal_data"
    SEE_TASK = "see_task"
    COMPLETE_TASK = "complete_task"
    CLAIM_TASK = "claim_task"
    UNCLAIM_TASK = "unclaim_task"
    ASSIGN_TASK = "assign_task"
    READ_FEED = "read_feed"
    ACKNOWLEDGE_FEED = "acknowledge_feed"
    READ_AUDIT = "read_audit"
    #: Decrypt Temporal history through the codec server (the Web UI, the temporal CLI).
    DECODE_HISTORY = "decode_history"
    #: The operators' reports and jobs: the stuck-case sweep, the daily jobs' runs (issue 22).
    OPERATE = "operate"


class Purpose(str, Enum):
    """R60: personal data is used only for the purpose it was sought for (immigration and
    deportation), except to prevent a serious and immediate threat to public security.
    Interpretation: the purposes within that, and who has each."""

    INTAKE = "intake"  # registering the referral: identity, duplicate subjects (R04)
    LOCATING = "locating"  # finding the person: NBTC check, ICE tasking (R10-R16)
    DETENTION = "detention"  # considering or arranging detention (R22, R26, R30-R33, R45)
    DEPORTATION = "deportation"  # deportation consideration and decision (R23-R28, R40-R52)
    PUBLIC_SECURITY = "public_security"  # R60's exception: a serious and immediate threat


#: Recipients of outbound messages (casework.keys.Recipient, addressed by the workflow) and who reads each feed.
FEED_READERS: dict[str, frozenset[Role]] = {
    Recipient.PNC_BUREAU: frozenset({Role.PNC_BUREAU}),  # ICD.5079 / ICD5080 (R13, R21)
    Recipient.ICE: frozenset({Role.ICE}),  # tasking and detention requests (R14, R45)
    Recipient.NBTC: frozenset({Role.NBTC}),
    Recipient.ACRO: frozenset({Role.ACRO}),  # certificate requests, R52 advice
    Recipient.DIRECTOR: frozenset({Role.DIRECTOR}),  # R50 submissions
    Recipient.REMOVALS_CASEWORK: frozenset({Role.REMOVALS_CASEWORK}),  # R51
    # Interpretation: the case owner serves the Stage 1 notice (R41) and tells the relevant
    # departments after deportation (R46); the API lists only their visible cases' entries.
    Recipient.SUBJECT: frozenset({Role.CASEWORKER, Role.SENIOR_CASEWORKER}),
    Recipient.RELEVANT_DEPARTMENTS: frozenset({Role.CASEWORKER, Role.SENIOR_CASEWORKER}),
}

#: Each feed's name in a URL (``/feeds/{slug}``, docs/api.md): recipients' names have
#: spaces and parentheses. One slug per key of FEED_READERS.
FEED_SLUGS: dict[str, str] = {
    "pnc-bureau": Recipient.PNC_BUREAU,
    "ice": Recipient.ICE,
    "nbtc": Recipient.NBTC,
    "acro": Recipient.ACRO,
    "director": Recipient.DIRECTOR,
    "removals-casework": Recipient.REMOVALS_CASEWORK,
    "subject": Recipient.SUBJECT,
    "relevant-departments": Recipient.RELEVANT_DEPARTMENTS,
}
#: Feeds whose entries each reader sees only on the cases they may see (case_scope).
FEEDS_BY_CASE = frozenset({Recipient.SUBJECT, Recipient.RELEVANT_DEPARTMENTS})

#: The scope a system's token must carry for an action (people need none).
SCOPES: dict[Action, str] = {
    Action.SUBMIT_REFERRAL: "referrals:submit",
    Action.SEND_LOCATED: "events:located",
    Action.SEND_LEFT_UK: "events:left_uk",
    Action.SEND_CERTIFICATE: "events:certificate",
    Action.SEND_REPRESENTATIONS: "events:representations",
    Action.LIST_CASES: "cases:read",
    Action.SEE_CASE: "cases:read",
    Action.SEE_TASK: "cases:read",
    Action.READ_FEED: "feed:read",
    Action.ACKNOWLEDGE_FEED: "feed:read",
}

#: The task team of the fixed-team kinds, and the role that works in it.
TEAM_ROLES: dict[str, Role] = {
    CC_WORKFLOW: Role.CC_WORKFLOW,
    NBTC: Role.NBTC,
    ICE: Role.ICE,
    DIRECTOR: Role.DIRECTOR,
    SENIOR_CASEWORKER: Role.SENIOR_CASEWORKER,
}
CASEWORK = frozenset({Role.CASEWORKER, Role.SENIOR_CASEWORKER})


# ------------------------------------------------------------------ resources


@dataclass(frozen=True)
class CaseRef:
    """What the policy needs of a case (from the CID, no personal data)."""

    case_id: str
    team: str | None = None  # the routed casework team (R06)
    case_owner: str | None = None  # the allocated owner's staff ID (R20)
    #: Teams that have, or had, a task on the case (NBTC, ICE, the Director ...).
    task_teams: frozenset[str] = frozenset()
    #: Teams with an open task on the case now: R60's right of NBTC, ICE and the Director.
    open_task_teams: frozenset[str] = frozenset()


@dataclass(frozen=True)
class TaskRef:
    case: CaseRef
    key: str
    kind: str
    team: str  # as recorded: a fixed team, the routed team, or the owner's staff ID
    assignee: str | None = None
    overdue: bool = False


@dataclass(frozen=True)
class Member:
    """Someone a task may be assigned to (from the directory or a verified token)."""

    subject: str
    roles: frozenset[str]
    teams: frozenset[str]
    kind: Kind = Kind.PERSON


@dataclass(frozen=True)
class Assignment:
    task: TaskRef
    to: Member


@dataclass(frozen=True)
class PersonalDataRead:
    case: CaseRef
    purpose: Purpose


@dataclass(frozen=True)
class Feed:
    recipient: str


Resource = CaseRef | TaskRef | Assignment | PersonalDataRead | Feed | None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    #: Why, and who may: the API puts it in a 403 problem's detail.
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


def _allow(reason: str) -> Decision:
    return Decision(True, reason)


def _refuse(reason: str) -> Decision:
    return Decision(False, reason)


def roles_of(principal: Principal | Member) -> frozenset[Role]:
    """The policy's roles among the principal's; names the policy does not know are ignored."""
    known = {r.value: r for r in Role}
    return frozenset(known[r] for r in principal.roles if r in known)


# ------------------------------------------------------------------ who may see which cases


@dataclass(frozen=True)
class CaseScope:
    """Which cases a principal may see (no personal data): for the API's list filter and
    for one case, so both come from the same rule."""

    all_cases: bool = False
    teams: frozenset[str] = frozenset()  # cases routed to these teams
    owner: str | None = None  # cases this person owns
    task_teams: frozenset[str] = frozenset()  # cases with a task for these teams

    def admits(self, case: CaseRef) -> bool:
        return (self.all_cases or (case.team is not None and case.team in self.teams)
                or (self.owner is not None and case.case_owner == self.owner)
                or bool(case.task_teams & self.task_teams))

    @property
    def empty(self) -> bool:
        return not (self.all_cases or self.teams or self.owner or self.task_teams)


#: Roles that see every case (no personal data): intake, escalation and oversight.
SEES_ALL = frozenset({Role.CC_WORKFLOW, Role.SENIOR_CASEWORKER, Role.DIRECTOR, Role.ACRO, Role.OPERATOR, Role.AUDITOR})


def case_scope(principal: Principal) -> CaseScope:
    roles = roles_of(principal)
    if principal.is_system and SCOPES[Action.SEE_CASE] not in principal.scopes:
        return CaseScope()
    if roles & SEES_ALL:
        return CaseScope(all_cases=True)
    scope = CaseScope()
    if Role.CASEWORKER in roles:
        scope = CaseScope(teams=principal.teams, owner=principal.subject)
    if roles & {Role.NBTC, Role.ICE}:
        fixed = frozenset(t for t, r in TEAM_ROLES.items() if r in roles) & principal.teams
        scope = CaseScope(teams=scope.teams, owner=scope.owner, task_teams=fixed)
    return scope


# ------------------------------------------------------------------ tasks


def task_roles(kind: str) -> frozenset[Role]:
    """Who may do a task of this kind: its fixed team's role, or casework for the case owner's."""
    team = TASK_KINDS[kind].team
    return CASEWORK if team == CASE_OWNER else frozenset({TEAM_ROLES[team]})


def _is_casework_kind(kind: str) -> bool:
    return TASK_KINDS[kind].team in (CASE_OWNER, SENIOR_CASEWORKER)


def _team_phrase(task: TaskRef) -> str:
    # No names in refusals (issue 25): an owner's task carries the owner's staff ID as its team.
    if TASK_KINDS[task.kind].team != CASE_OWNER:
        return f"members of '{task.team}'"
    return f"the case's team ('{task.case.team}') or owner" if task.case.team else "the case's team or owner"


def _belongs(principal: Principal | Member, task: TaskRef) -> bool:
    """A member of the task's team, or its owner (an allocated owner's tasks carry the
    owner's staff ID as their team)."""
    owners_task = TASK_KINDS[task.kind].team == CASE_OWNER
    return task.team in principal.teams or (owners_task and task.team == principal.subject)


def _may_work(principal: Principal, task: TaskRef, verb: str) -> Decision:
    """The common test of complete and claim: the right role, and the task is theirs."""
    spec = TASK_KINDS.get(task.kind)
    if spec is None:
        return _refuse(f"{verb} {task.kind}: unknown task kind")
    if principal.is_system:
        return _refuse(f"{verb} {task.kind}: tasks are done by people, not by a system's credentials")
    if not spec.details:  # no outcome a person may record: a message settles it
        return _refuse(f"{verb} {task.kind}: it is completed by an event (R03), not by hand")
    roles = roles_of(principal)
    allowed_roles = task_roles(task.kind)
    who = f"{' or '.join(sorted(r.value for r in allowed_roles))} in {_team_phrase(task)}, its assignee"
    if _is_casework_kind(task.kind):
        who += ", or a senior caseworker once it is overdue"
    if not roles & allowed_roles:
        return _refuse(f"{verb} {task.kind}: only {who}")
    if task.assignee is not None and task.assignee != principal.subject:
        if Role.SENIOR_CASEWORKER in roles and task.overdue and _is_casework_kind(task.kind):
            return _allow(f"{verb} {task.kind}: a senior caseworker takes over an overdue task")
        return _refuse(f"{verb} {task.kind}: claimed by someone else; they, or a senior caseworker after unclaiming it, may")
    if task.assignee == principal.subject:
        return _allow(f"{verb} {task.kind}: the assignee")
    if _belongs(principal, task):
        return _allow(f"{verb} {task.kind}: {_team_phrase(task)}")
    if Role.SENIOR_CASEWORKER in roles and task.overdue and _is_casework_kind(task.kind):
        return _allow(f"{verb} {task.kind}: a senior caseworker, for an overdue (escalated) task")
    return _refuse(f"{verb} {task.kind}: only {who}")


@dataclass(frozen=True)
class TaskScope:
    """Which tasks a principal may see: ``_see_task`` as a filter, so that a task list can
    apply it in SQL (tests/test_access_policy.py holds the two equal)."""

    cases: CaseScope = CaseScope()
    #: A person's own: tasks of these teams, the owner's tasks whose team is this subject,
    #: tasks assigned to this subject.
    teams: frozenset[str] = frozenset()
    subject: str | None = None
    #: A senior caseworker: every overdue task of a casework kind.
    overdue_casework: bool = False

    def admits(self, task: TaskRef) -> bool:
        if self.cases.admits(task.case):
            return True
        if self.subject is not None and (task.team in self.teams or task.assignee == self.subject
                                         or (task.kind in OWNER_KINDS and task.team == self.subject)):
            return True
        return self.overdue_casework and task.overdue and task.kind in CASEWORK_KINDS


#: Task kinds whose team is the case owner (their team is the owner's staff ID once allocated).
OWNER_KINDS = frozenset(k for k, spec in TASK_KINDS.items() if spec.team == CASE_OWNER)
#: Task kinds a senior caseworker takes over once overdue.
CASEWORK_KINDS = frozenset(k for k in TASK_KINDS if _is_casework_kind(k))


def task_scope(principal: Principal) -> TaskScope:
    person = not principal.is_system
    return TaskScope(
        cases=case_scope(principal),
        teams=principal.teams if person else frozenset(),
        subject=principal.subject if person else None,
        overdue_casework=Role.SENIOR_CASEWORKER in roles_of(principal),
    )


def _see_task(principal: Principal, task: TaskRef) -> Decision:
    """A task (no personal data) is seen by whoever sees its case, and by whoever it is
    for: its team, its owner or assignee, a senior caseworker once it is overdue."""
    if case_scope(principal).admits(task.case):
        return _allow("see_task: on a case you may see")
    if not principal.is_system and (_belongs(principal, task) or task.assignee == principal.subject):
        return _allow(f"see_task: {_team_phrase(task)}, or its assignee")
    if Role.SENIOR_CASEWORKER in roles_of(principal) and task.overdue and _is_casework_kind(task.kind):
        return _allow("see_task: a senior caseworker, for an overdue task")
    return _refuse("see_task: those who see its case, its team, its owner or assignee, or a senior caseworker once it is overdue")


def _complete(principal: Principal, task: TaskRef) -> Decision:
    return _may_work(principal, task, "complete")


def _claim(principal: Principal, task: TaskRef) -> Decision:
    if task.assignee == principal.subject:
        return _refuse(f"claim {task.kind}: already claimed by you")
    if task.assignee is not None:
        return _refuse(f"claim {task.kind}: claimed by someone else; they, or a senior caseworker, may unclaim it")
    return _may_work(principal, task, "claim")


def _unclaim(principal: Principal, task: TaskRef) -> Decision:
    if task.assignee is None:
        return _refuse(f"unclaim {task.kind}: nobody has claimed it")
    if principal.is_system:
        return _refuse(f"unclaim {task.kind}: tasks are done by people, not by a system's credentials")
    if task.assignee == principal.subject:
        return _allow(f"unclaim {task.kind}: the assignee")
    if Role.SENIOR_CASEWORKER in roles_of(principal) and _is_casework_kind(task.kind):
        return _allow(f"unclaim {task.kind}: a senior caseworker may release a casework task")
    return _refuse(f"unclaim {task.kind}: only its assignee, or a senior caseworker for a casework task")


def _assign(principal: Principal, assignment: Assignment) -> Decision:
    task, to = assignment.task, assignment.to
    spec = TASK_KINDS.get(task.kind)
    if spec is None:
        return _refuse(f"assign {task.kind}: unknown task kind")
    if principal.is_system:
        return _refuse(f"assign {task.kind}: tasks are done by people, not by a system's credentials")
    roles = roles_of(principal)
    senior = Role.SENIOR_CASEWORKER in roles and _is_casework_kind(task.kind)
    peer = bool(roles & task_roles(task.kind)) and _belongs(principal, task) and task.assignee in (None, principal.subject)
    if not (senior or peer):
        return _refuse(f"assign {task.kind}: a senior caseworker (casework tasks), or {_team_phrase(task)} "
                       "with a role for it while it is unclaimed or theirs")
    if to.kind is not Kind.PERSON or not roles_of(to) & task_roles(task.kind) or not _belongs(to, task):
        return _refuse(f"assign {task.kind}: {to.subject} is not one of {_team_phrase(task)} who may do it "
                       f"({' or '.join(sorted(r.value for r in task_roles(task.kind)))})")
    return _allow(f"assign {task.kind} to {to.subject}: " + ("a senior caseworker" if senior and not peer else _team_phrase(task)))


def allocation(task: TaskRef, owner: Member | None) -> Decision:
    """R20: whom a case may be allocated to - a person of the directory with a casework
    role in the case's routed team (issue 25: an owner from another team, or no one the
    directory knows, was allocated and then read the personal data, R60)."""
    if owner is None:
        return _refuse("R20: the case owner must be a person in the directory")
    if owner.kind is not Kind.PERSON or not roles_of(owner) & CASEWORK:
        return _refuse(f"R20: {owner.subject} is not a caseworker")
    if task.case.team is None or task.case.team not in owner.teams:
        return _refuse(f"R20: {owner.subject} is not a member of the case's team ('{task.case.team}')")
    return _allow(f"R20: {owner.subject}, a caseworker of '{task.case.team}'")


# ------------------------------------------------------------------ personal data (R60)


#: R60: who may read personal data, for which purposes. Interpretation (docs/access.md).
PURPOSES: dict[Role, frozenset[Purpose]] = {
    Role.CC_WORKFLOW: frozenset({Purpose.INTAKE}),
    Role.CASEWORKER: frozenset({Purpose.DETENTION, Purpose.DEPORTATION}),
    Role.SENIOR_CASEWORKER: frozenset({Purpose.DETENTION, Purpose.DEPORTATION, Purpose.PUBLIC_SECURITY}),
    Role.NBTC: frozenset({Purpose.LOCATING}),
    Role.ICE: frozenset({Purpose.LOCATING, Purpose.DETENTION}),
    Role.DIRECTOR: frozenset({Purpose.DEPORTATION}),
}


def _personal_data(principal: Principal, read: PersonalDataRead) -> Decision:
    purpose = read.purpose
    who = ", ".join(sorted(r.value for r, ps in PURPOSES.items() if purpose in ps))
    if principal.is_system:
        return _refuse("R60: personal data is read by people for a recorded purpose, not by a system's credentials")
    roles = roles_of(principal)
    if not any(purpose in PURPOSES.get(r, frozenset()) for r in roles):
        return _refuse(f"R60: personal data for {purpose.value}: only {who}")
    case = read.case
    if Role.DIRECTOR in roles and not roles & {Role.SENIOR_CASEWORKER, Role.CC_WORKFLOW, Role.CASEWORKER}:
        # Interpretation: the Director sees every case, but a person's data only while a
        # submission asks them for a decision (R50): an open task, not one long settled.
        if DIRECTOR in case.open_task_teams:
            return _allow(f"R60: the Director, for {purpose.value}, on a case awaiting their decision")
        return _refuse("R60: the Director reads personal data only on a case awaiting their decision (R50)")
    if roles & {Role.CC_WORKFLOW, Role.SENIOR_CASEWORKER}:
        scope = CaseScope(all_cases=True)
    elif Role.CASEWORKER in roles:
        scope = case_scope(principal)
    else:
        # Issue 25: NBTC and ICE read personal data while their team has an open task on the
        # case (finding, detaining the person), not for ever after (R60: for its purpose).
        fixed = frozenset(t for t, r in TEAM_ROLES.items() if r in roles) & principal.teams
        scope = CaseScope(task_teams=fixed)
        case = CaseRef(case.case_id, task_teams=case.open_task_teams)
    if not scope.admits(case):
        return _refuse(f"R60: {read.case.case_id} is not one of your cases now; {who} read personal data for "
                       f"{purpose.value} on their own cases (NBTC, ICE: while their team has an open task on it)")
    return _allow(f"R60: {', '.join(sorted(r.value for r in roles if purpose in PURPOSES.get(r, frozenset())))}, for {purpose.value}")


# ------------------------------------------------------------------ events and referrals


#: Who may send each event kind (the events resolve waits in workflows/case.py).
EVENT_SENDERS: dict[Action, frozenset[Role]] = {
    Action.SUBMIT_REFERRAL: frozenset({Role.ACRO, Role.CC_WORKFLOW}),
    # R16/R20: the person is found by ICE, or through the PNC marker (R13), or reported to the case owner.
    Action.SEND_LOCATED: frozenset({Role.ICE, Role.PNC_BUREAU, Role.CASEWORKER, Role.SENIOR_CASEWORKER}),
    Action.SEND_LEFT_UK: frozenset({Role.NBTC}),  # R10/R11
    # R03: a disclosable certificate comes from ACRO, or is received and entered by CC Workflow.
    Action.SEND_CERTIFICATE: frozenset({Role.ACRO, Role.CC_WORKFLOW}),
    # R43: representations reach the case owner.
    Action.SEND_REPRESENTATIONS: frozenset({Role.CASEWORKER, Role.SENIOR_CASEWORKER}),
}
#: Roles that send an event only on the cases they can see (the rest: on any case).
_ON_OWN_CASES = frozenset({Role.CASEWORKER})


def _event(principal: Principal, action: Action, case: CaseRef | None) -> Decision:
    senders = EVENT_SENDERS[action]
    roles = roles_of(principal) & senders
    name = action.value.removeprefix("send_").replace("_", " ")
    if not roles:
        return _refuse(f"{action.value}: only {', '.join(sorted(r.value for r in senders))}")
    if action is not Action.SUBMIT_REFERRAL and roles <= _ON_OWN_CASES:
        if case is None or not case_scope(principal).admits(case):
            return _refuse(f"{action.value}: a caseworker sends '{name}' only on the cases of their team or their own")
    return _allow(f"{action.value}: {', '.join(sorted(r.value for r in roles))}")


# ------------------------------------------------------------------ the one entry point


def decide(principal: Principal, action: Action, resource: Resource = None) -> Decision:
    """May ``principal`` do ``action`` on ``resource``? The reason says who may."""
    if principal.is_system and action in SCOPES and SCOPES[action] not in principal.scopes:
        return _refuse(f"{action.value}: this system's token lacks the scope '{SCOPES[action]}'")
    if action in EVENT_SENDERS:
        return _event(principal, action, resource if isinstance(resource, CaseRef) else None)
    if action is Action.LIST_CASES:
        if case_scope(principal).empty:
            return _refuse("list_cases: casework, CC Workflow, NBTC, ICE, the Director, ACRO, operators and auditors")
        return _allow("list_cases: filtered to the cases you may see")
    if action is Action.SEE_CASE:
        if not isinstance(resource, CaseRef):
            raise TypeError("see_case needs a CaseRef")
        if case_scope(principal).admits(resource):
            return _allow("see_case: one of the cases you may see")
        return _refuse(f"see_case: {resource.case_id} is not one of your cases (caseworkers: their team's or their own; "
                       "NBTC and ICE: cases with their tasks; oversight roles: all)")
    if action is Action.READ_PERSONAL_DATA:
        if not isinstance(resource, PersonalDataRead):
            raise TypeError("read_personal_data needs a PersonalDataRead")
        return _personal_data(principal, resource)
    if action is Action.SEE_TASK:
        if not isinstance(resource, TaskRef):
            raise TypeError("see_task needs a TaskRef")
        return _see_task(principal, resource)
    if action in (Action.COMPLETE_TASK, Action.CLAIM_TASK, Action.UNCLAIM_TASK):
        if not isinstance(resource, TaskRef):
            raise TypeError(f"{action.value} needs a TaskRef")
        return {Action.COMPLETE_TASK: _complete, Action.CLAIM_TASK: _claim, Action.UNCLAIM_TASK: _unclaim}[action](principal, resource)
    if action is Action.ASSIGN_TASK:
        if not isinstance(resource, Assignment):
            raise TypeError("assign_task needs an Assignment")
        return _assign(principal, resource)
    if action in (Action.READ_FEED, Action.ACKNOWLEDGE_FEED):
        if not isinstance(resource, Feed):
            raise TypeError(f"{action.value} needs a Feed")
        readers = FEED_READERS.get(resource.recipient)
        if readers is None:
            return _refuse(f"{action.value}: there is no feed for '{resource.recipient}'")
        if roles_of(principal) & readers:
            return _allow(f"{action.value}: the '{resource.recipient}' feed is read by {', '.join(sorted(r.value for r in readers))}")
        return _refuse(f"{action.value}: the '{resource.recipient}' feed is read only by {', '.join(sorted(r.value for r in readers))}")
    if action is Action.READ_AUDIT:
        if Role.AUDITOR in roles_of(principal) and not principal.is_system:
            return _allow("read_audit: auditors")
        return _refuse("read_audit: only auditors read the audit log and the R60 read log")
    if action is Action.DECODE_HISTORY:
        # Interpretation: operators find and mend stuck cases from their history. Auditors
        # read the audit and R60 logs (the record), not the workflow's inputs, whose task
        # details are free text; systems work through the API.
        if Role.OPERATOR in roles_of(principal) and not principal.is_system:
            return _allow("decode_history: operators")
        return _refuse("decode_history: only operators decode case histories (the codec server)")
    if action is Action.OPERATE:
        # Case IDs, stages, teams and counts: no personal data, but the whole service's state.
        if Role.OPERATOR in roles_of(principal) and not principal.is_system:
            return _allow("operate: operators")
        return _refuse("operate: only operators read the stuck-case sweep and the daily jobs")
    raise ValueError(f"unknown action {action!r}")
