"""The authorization policy (access/policy.py), table-tested: every role × every action,
allowed or refused exactly as the tables below say; then the rules that depend on whose
case or task it is. docs/access.md carries the same tables, rendered from the policy.

Each table row: one character per column, in the column order named above it; ``Y``
allowed, ``.`` refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from access import role_table
from access.policy import (
    SCOPES, Action, Assignment, CaseRef, Feed, Member, PersonalDataRead, Purpose, Role, TaskRef, case_scope, decide,
)
from access.principal import Kind, Principal
from access.role_table import CASE, COLUMNS, FEED_COLUMNS, TASK_COLUMNS, principal

ROOT = Path(__file__).resolve().parent.parent

MAIN_HEADINGS = [
    "submit referral", "located", "left UK", "certificate", "representations", "list cases", "see case",
    "PD: intake", "PD: locating", "PD: detention", "PD: deportation", "PD: public_security",
    "see task", "claim", "unclaim another's", "assign to teammate", "read audit", "decode history", "operate",
]
MAIN = {  # sub loc left cert reps | list see | PD intake locate detain deport pubsec | see-task claim unclaim assign | audit decode operate
    Role.CC_WORKFLOW:       "Y..Y. YY Y.... Y... ...",
    Role.CASEWORKER:        ".Y..Y YY ..YY. YY.Y ...",
    Role.SENIOR_CASEWORKER: ".Y..Y YY ..YYY Y.YY ...",
    Role.NBTC:              "..Y.. YY .Y... Y... ...",
    Role.ICE:               ".Y... YY .YY.. Y... ...",
    Role.PNC_BUREAU:        ".Y... .. ..... .... ...",
    Role.DIRECTOR:          "..... YY ...Y. Y... ...",
    Role.ACRO:              "Y..Y. YY ..... Y... ...",
    Role.REMOVALS_CASEWORK: "..... .. ..... .... ...",
    Role.OPERATOR:          "..... YY ..... Y... .YY",
    Role.AUDITOR:           "..... YY ..... Y... Y..",
}

TASK_KINDS_ORDER = [
    "await_certificate", "nbtc_check", "exclusion_consideration", "ice_tasking", "allocate_case_owner",
    "offending_history_check", "police_contact", "prosecution_decision", "prosecution_outcome", "detention_decision",
    "pursuit_decision", "consideration_decision", "deportation_enforcement", "director_decision",
    "removals_consideration", "left_uk_review", "overdue_review",
]
TASKS = {  # await nbtc excl ice | alloc history police pdec pout detain pursue consid enforce | dir removals left-uk | review
    Role.CC_WORKFLOW:       ".... ......... ... .",
    Role.CASEWORKER:        ".... YYYYYYYYY .YY .",
    Role.SENIOR_CASEWORKER: "..Y. ......... ... Y",
    Role.NBTC:              ".Y.. ......... ... .",
    Role.ICE:               "...Y ......... ... .",
    Role.PNC_BUREAU:        ".... ......... ... .",
    Role.DIRECTOR:          ".... ......... Y.. .",
    Role.ACRO:              ".... ......... ... .",
    Role.REMOVALS_CASEWORK: ".... ......... ... .",
    Role.OPERATOR:          ".... ......... ... .",
    Role.AUDITOR:           ".... ......... ... .",
}

FEED_ORDER = ["PNC Bureau", "ICE", "NBTC", "ACRO", "CC Director (SCS PB1)", "Removals Casework", "subject", "relevant departments"]
FEEDS = {  # PNC ICE NBTC ACRO Director Removals | subject departments
    Role.CC_WORKFLOW:       "...... ..",
    Role.CASEWORKER:        "...... YY",
    Role.SENIOR_CASEWORKER: "...... YY",
    Role.NBTC:              "..Y... ..",
    Role.ICE:               ".Y.... ..",
    Role.PNC_BUREAU:        "Y..... ..",
    Role.DIRECTOR:          "....Y. ..",
    Role.ACRO:              "...Y.. ..",
    Role.REMOVALS_CASEWORK: ".....Y ..",
    Role.OPERATOR:          "...... ..",
    Role.AUDITOR:           "...... ..",
}


def _cells(row: str) -> list[bool]:
    return [c == "Y" for c in row.replace(" ", "")]


def test_tables_cover_every_role_action_kind_and_feed() -> None:
    assert [name for name, _, _ in COLUMNS] == MAIN_HEADINGS
    assert [name for name, _, _ in TASK_COLUMNS] == TASK_KINDS_ORDER
    assert [name for name, _, _ in FEED_COLUMNS] == FEED_ORDER
    assert set(MAIN) == set(TASKS) == set(FEEDS) == set(Role)
    covered = {a for _, a, _ in COLUMNS + TASK_COLUMNS + FEED_COLUMNS} | {Action.ACKNOWLEDGE_FEED}
    assert covered == set(Action)
    for table, columns in ((MAIN, COLUMNS), (TASKS, TASK_COLUMNS), (FEEDS, FEED_COLUMNS)):
        assert all(len(_cells(row)) == len(columns) for row in table.values())


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
@pytest.mark.parametrize(("table", "columns"), [(MAIN, COLUMNS), (TASKS, TASK_COLUMNS), (FEEDS, FEED_COLUMNS)],
                         ids=["actions", "complete-task", "feeds"])
def test_role_table(role: Role, table: dict[Role, str], columns: list, ) -> None:
    who = principal(role)
    for (name, action, resource), expected in zip(columns, _cells(table[role]), strict=True):
        decision = decide(who, action, resource)
        assert decision.allowed is expected, f"{role.value} × {name}: {decision.reason}"
        assert decision.reason  # every decision says why


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_acknowledging_a_feed_follows_reading_it(role: Role) -> None:
    who = principal(role)
    for _, _, feed in FEED_COLUMNS:
        assert decide(who, Action.ACKNOWLEDGE_FEED, feed).allowed is decide(who, Action.READ_FEED, feed).allowed


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_claim_follows_complete_on_an_unclaimed_task(role: Role) -> None:
    who = principal(role)
    for _, _, task in TASK_COLUMNS:
        assert decide(who, Action.CLAIM_TASK, task).allowed is decide(who, Action.COMPLETE_TASK, task).allowed


def test_docs_carry_the_role_table_as_the_policy_decides() -> None:
    assert role_table.render() in (ROOT / "docs" / "access.md").read_text(encoding="utf-8")


# ------------------------------------------------------------------ refusals say who may


def test_refusal_reasons_name_who_may() -> None:
    ops = principal(Role.OPERATOR)
    assert "director" in decide(ops, Action.COMPLETE_TASK, role_table.task("director_decision")).reason
    assert "nbtc" in decide(ops, Action.SEND_LEFT_UK, CASE).reason
    assert "auditors" in decide(ops, Action.READ_AUDIT).reason
    reason = decide(principal(Role.AUDITOR), Action.READ_PERSONAL_DATA, PersonalDataRead(CASE, Purpose.PUBLIC_SECURITY)).reason
    assert reason.startswith("R60") and "senior-caseworker" in reason


# ------------------------------------------------------------------ whose case, whose task


def person(subject: str, role: Role, *teams: str) -> Principal:
    return Principal(subject=subject, kind=Kind.PERSON, roles=frozenset({role.value}), teams=frozenset(teams))


BEN = person("cw.ben", Role.CASEWORKER, "CC EEA Team")
CARA = person("cw.cara", Role.CASEWORKER, "CC Non-EEA Team")
ERIN = person("scw.erin", Role.SENIOR_CASEWORKER, "Senior caseworker")
EEA_CASE = CaseRef("C-1", team="CC EEA Team")
OWNED = CaseRef("C-2", team="CC EEA Team", case_owner="cw.cara")


def test_caseworker_sees_their_teams_and_their_own_cases_only() -> None:
    assert decide(BEN, Action.SEE_CASE, EEA_CASE).allowed
    assert not decide(CARA, Action.SEE_CASE, EEA_CASE).allowed
    assert decide(CARA, Action.SEE_CASE, OWNED).allowed  # owned by her, routed elsewhere
    scope = case_scope(BEN)
    assert not scope.all_cases and scope.teams == {"CC EEA Team"} and scope.owner == "cw.ben"


def test_nbtc_and_ice_see_only_cases_with_their_tasks() -> None:
    nbtc, ice = person("nbtc.finn", Role.NBTC, "NBTC"), person("ice.gita", Role.ICE, "ICE Tasking and Detention Gatekeeper")
    with_nbtc = CaseRef("C-3", team="CC EEA Team", task_teams=frozenset({"NBTC"}))
    assert decide(nbtc, Action.SEE_CASE, with_nbtc).allowed and not decide(ice, Action.SEE_CASE, with_nbtc).allowed
    assert not decide(nbtc, Action.SEE_CASE, EEA_CASE).allowed


def test_R60_personal_data_only_on_own_cases_for_an_allowed_purpose() -> None:
    deport = PersonalDataRead(EEA_CASE, Purpose.DEPORTATION)
    assert decide(BEN, Action.READ_PERSONAL_DATA, deport).allowed
    assert not decide(CARA, Action.READ_PERSONAL_DATA, deport).allowed  # another team's case
    assert not decide(BEN, Action.READ_PERSONAL_DATA, PersonalDataRead(EEA_CASE, Purpose.PUBLIC_SECURITY)).allowed
    assert decide(ERIN, Action.READ_PERSONAL_DATA, PersonalDataRead(EEA_CASE, Purpose.PUBLIC_SECURITY)).allowed
    director = person("director.hal", Role.DIRECTOR, "CC Director (SCS PB1)")
    assert not decide(director, Action.READ_PERSONAL_DATA, deport).allowed  # not submitted to the Director
    submitted = PersonalDataRead(CaseRef("C-4", team="CC EEA Team", task_teams=frozenset({"CC Director (SCS PB1)"}),
                                         open_task_teams=frozenset({"CC Director (SCS PB1)"})), Purpose.DEPORTATION)
    assert decide(director, Action.READ_PERSONAL_DATA, submitted).allowed


def test_R60_nbtc_ice_and_the_director_read_personal_data_only_while_their_task_is_open() -> None:
    """Issue 25: the right never expired - an NBTC officer read a closed case's personal data
    because their team once had a task on it; likewise ICE and the Director."""
    nbtc, ice = person("nbtc.finn", Role.NBTC, "NBTC"), person("ice.gita", Role.ICE, "ICE Tasking and Detention Gatekeeper")
    director = person("director.hal", Role.DIRECTOR, "CC Director (SCS PB1)")
    teams = frozenset({"NBTC", "ICE Tasking and Detention Gatekeeper", "CC Director (SCS PB1)"})
    settled = CaseRef("C-5", team="CC EEA Team", task_teams=teams)
    working = CaseRef("C-6", team="CC EEA Team", task_teams=teams, open_task_teams=teams)
    for who, purpose in ((nbtc, Purpose.LOCATING), (ice, Purpose.LOCATING), (ice, Purpose.DETENTION),
                         (director, Purpose.DEPORTATION)):
        assert decide(who, Action.READ_PERSONAL_DATA, PersonalDataRead(working, purpose)).allowed, who.subject
        refused = decide(who, Action.READ_PERSONAL_DATA, PersonalDataRead(settled, purpose))
        assert not refused.allowed and "R60" in refused.reason, who.subject
        assert decide(who, Action.SEE_CASE, settled).allowed  # the case itself (no personal data) stays in view


def test_R60_systems_never_read_personal_data() -> None:
    acro = principal(Role.ACRO)
    for purpose in Purpose:
        assert not decide(acro, Action.READ_PERSONAL_DATA, PersonalDataRead(CASE, purpose)).allowed


def test_caseworker_sends_events_only_on_their_cases() -> None:
    assert decide(BEN, Action.SEND_REPRESENTATIONS, EEA_CASE).allowed
    assert not decide(CARA, Action.SEND_REPRESENTATIONS, EEA_CASE).allowed
    assert not decide(CARA, Action.SEND_LOCATED, EEA_CASE).allowed
    assert not decide(BEN, Action.SEND_LOCATED, None).allowed


def test_system_needs_the_actions_scope() -> None:
    ice_system = Principal(subject="ice-system", kind=Kind.SYSTEM, roles=frozenset({"ice"}),
                           teams=frozenset({"ICE Tasking and Detention Gatekeeper"}), scopes=frozenset({"feed:read"}))
    refused = decide(ice_system, Action.SEND_LOCATED, CASE)
    assert not refused.allowed and "events:located" in refused.reason
    assert decide(ice_system, Action.READ_FEED, Feed("ICE")).allowed
    with_scope = Principal(subject="ice-system", kind=Kind.SYSTEM, roles=frozenset({"ice"}), scopes=frozenset({"events:located"}))
    assert decide(with_scope, Action.SEND_LOCATED, CASE).allowed
    # A scope without the role is nothing: a PNC credential holding every scope still cannot submit.
    pnc = Principal(subject="pnc-bureau", kind=Kind.SYSTEM, roles=frozenset({"pnc-bureau"}), scopes=frozenset(SCOPES.values()))
    assert not decide(pnc, Action.SUBMIT_REFERRAL).allowed


def test_systems_do_no_tasks_even_with_the_teams_role() -> None:
    nbtc_system = Principal(subject="nbtc-system", kind=Kind.SYSTEM, roles=frozenset({"nbtc"}), teams=frozenset({"NBTC"}),
                            scopes=frozenset(SCOPES.values()))
    decision = decide(nbtc_system, Action.COMPLETE_TASK, role_table.task("nbtc_check"))
    assert not decision.allowed and "people" in decision.reason


def test_unknown_roles_in_a_token_give_nothing() -> None:
    stranger = Principal(subject="x.y", kind=Kind.PERSON, roles=frozenset({"admin", "root", "Director"}))
    assert not any(decide(stranger, a, r).allowed for _, a, r in COLUMNS + TASK_COLUMNS + FEED_COLUMNS)


def test_task_of_another_team_refused() -> None:
    task = TaskRef(EEA_CASE, "police_contact-1", "police_contact", "CC EEA Team")
    assert decide(BEN, Action.COMPLETE_TASK, task).allowed
    refused = decide(CARA, Action.COMPLETE_TASK, task)
    assert not refused.allowed and "CC EEA Team" in refused.reason
    # A caseworker in the NBTC group is still no NBTC officer: the kind needs the role.
    assert not decide(person("cw.x", Role.CASEWORKER, "NBTC"), Action.COMPLETE_TASK, role_table.task("nbtc_check")).allowed


def test_owner_tasks_belong_to_the_owner_once_allocated() -> None:
    task = TaskRef(OWNED, "detention_decision-1", "detention_decision", "cw.cara")  # team = the owner's staff ID
    assert decide(CARA, Action.COMPLETE_TASK, task).allowed
    assert not decide(BEN, Action.COMPLETE_TASK, task).allowed


def test_a_subject_named_like_a_team_is_not_its_member() -> None:
    """Only a case owner's tasks carry a person's staff ID as their team."""
    impostor = person("NBTC", Role.NBTC)  # no NBTC group
    assert not decide(impostor, Action.COMPLETE_TASK, role_table.task("nbtc_check")).allowed


def test_claimed_task_belongs_to_its_assignee() -> None:
    task = TaskRef(EEA_CASE, "police_contact-1", "police_contact", "CC EEA Team", assignee="cw.dora")
    teammate_claimed = decide(BEN, Action.COMPLETE_TASK, task)
    assert not teammate_claimed.allowed and "claimed by someone else" in teammate_claimed.reason
    assert "cw.dora" not in teammate_claimed.reason  # no names in refusals (issue 25)
    dora = person("cw.dora", Role.CASEWORKER, "CC EEA Team")
    assert decide(dora, Action.COMPLETE_TASK, task).allowed
    assert not decide(BEN, Action.CLAIM_TASK, task).allowed
    assert not decide(BEN, Action.UNCLAIM_TASK, task).allowed
    assert decide(dora, Action.UNCLAIM_TASK, task).allowed
    assert decide(ERIN, Action.UNCLAIM_TASK, task).allowed
    assert not decide(dora, Action.CLAIM_TASK, task).allowed  # already hers
    unclaimed = TaskRef(EEA_CASE, "police_contact-1", "police_contact", "CC EEA Team")
    assert not decide(dora, Action.UNCLAIM_TASK, unclaimed).allowed


def test_assignee_outside_the_team_may_complete_what_was_assigned() -> None:
    """Assignment is the way to hand a task to someone: the assignee may do it."""
    task = TaskRef(EEA_CASE, "police_contact-1", "police_contact", "CC EEA Team", assignee="cw.cara")
    assert decide(CARA, Action.COMPLETE_TASK, task).allowed


def test_senior_caseworker_takes_over_overdue_casework_only() -> None:
    on_time = TaskRef(EEA_CASE, "police_contact-1", "police_contact", "CC EEA Team")
    overdue = TaskRef(EEA_CASE, "police_contact-1", "police_contact", "CC EEA Team", overdue=True)
    assert not decide(ERIN, Action.COMPLETE_TASK, on_time).allowed
    assert decide(ERIN, Action.COMPLETE_TASK, overdue).allowed
    assert decide(ERIN, Action.COMPLETE_TASK, TaskRef(EEA_CASE, "k", "police_contact", "CC EEA Team", assignee="cw.ben", overdue=True)).allowed
    # Another organisation's task stays theirs, overdue or not; so does the Director's decision.
    for kind, team in (("nbtc_check", "NBTC"), ("ice_tasking", "ICE Tasking and Detention Gatekeeper"),
                       ("director_decision", "CC Director (SCS PB1)")):
        assert not decide(ERIN, Action.COMPLETE_TASK, TaskRef(EEA_CASE, f"{kind}-1", kind, team, overdue=True)).allowed
    assert decide(ERIN, Action.COMPLETE_TASK, TaskRef(EEA_CASE, "overdue_review-x-1", "overdue_review", "Senior caseworker")).allowed


def test_assign_only_to_a_member_of_the_tasks_team_who_may_do_it() -> None:
    task = TaskRef(EEA_CASE, "police_contact-1", "police_contact", "CC EEA Team")
    dora = Member("cw.dora", frozenset({"caseworker"}), frozenset({"CC EEA Team"}))
    cara = Member("cw.cara", frozenset({"caseworker"}), frozenset({"CC Non-EEA Team"}))
    ops = Member("ops.ivy", frozenset({"operator"}), frozenset({"CC EEA Team"}))
    system = Member("acro", frozenset({"caseworker"}), frozenset({"CC EEA Team"}), kind=Kind.SYSTEM)
    assert decide(BEN, Action.ASSIGN_TASK, Assignment(task, dora)).allowed
    assert decide(ERIN, Action.ASSIGN_TASK, Assignment(task, dora)).allowed
    for target in (cara, ops, system):
        refused = decide(ERIN, Action.ASSIGN_TASK, Assignment(task, target))
        assert not refused.allowed and "CC EEA Team" in refused.reason
    assert not decide(CARA, Action.ASSIGN_TASK, Assignment(task, dora)).allowed  # not her team
    nbtc_task = role_table.task("nbtc_check")
    finn = person("nbtc.finn", Role.NBTC, "NBTC")
    other_nbtc = Member("nbtc.gus", frozenset({"nbtc"}), frozenset({"NBTC"}))
    assert decide(finn, Action.ASSIGN_TASK, Assignment(nbtc_task, other_nbtc)).allowed
    assert not decide(ERIN, Action.ASSIGN_TASK, Assignment(nbtc_task, other_nbtc)).allowed  # not casework


def test_tasks_are_seen_by_those_they_are_for() -> None:
    task = TaskRef(EEA_CASE, "police_contact-1", "police_contact", "CC EEA Team")
    assert decide(BEN, Action.SEE_TASK, task).allowed
    assert not decide(CARA, Action.SEE_TASK, task).allowed
    assigned = TaskRef(EEA_CASE, "police_contact-1", "police_contact", "CC EEA Team", assignee="cw.cara")
    assert decide(CARA, Action.SEE_TASK, assigned).allowed
    nbtc = person("nbtc.finn", Role.NBTC, "NBTC")
    assert decide(nbtc, Action.SEE_TASK, TaskRef(EEA_CASE, "nbtc_check-1", "nbtc_check", "NBTC")).allowed
    assert not decide(nbtc, Action.SEE_TASK, task).allowed


def test_await_certificate_is_completed_by_an_event_not_by_anyone() -> None:
    task = role_table.task("await_certificate")
    for role in Role:
        decision = decide(principal(role), Action.COMPLETE_TASK, task)
        assert not decision.allowed


def test_unknown_feed_and_unknown_task_kind_refused() -> None:
    assert "no feed" in decide(principal(Role.ACRO), Action.READ_FEED, Feed("Interpol")).reason
    assert "unknown task kind" in decide(BEN, Action.COMPLETE_TASK, TaskRef(EEA_CASE, "x-1", "x", "CC EEA Team")).reason


def test_wrong_resource_type_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        decide(BEN, Action.SEE_CASE, None)


def test_the_task_scope_a_list_applies_in_SQL_is_see_task() -> None:
    """The API's task list filters by ``task_scope`` in SQL; it admits exactly the tasks
    ``decide(SEE_TASK)`` allows, for every role's principal (people and systems, with and
    without scopes) and tasks of every kind, team, holder and deadline."""
    from itertools import product

    from access.policy import task_scope

    people = [principal(role) for role in Role]
    people += [Principal("cw-2", Kind.PERSON, frozenset({"caseworker"}), frozenset({"CC Non-EEA Team"})),
               Principal("caseworker-1", Kind.PERSON, frozenset(), frozenset()),
               Principal("nbtc-sys", Kind.SYSTEM, frozenset({"nbtc"}), frozenset({"NBTC"}), frozenset({"feed:read"}))]
    cases = [CASE, CaseRef("EX-2", team="CC Non-EEA Team"), CaseRef("EX-3", team="CC EEA Team", case_owner="caseworker-1"),
             CaseRef("EX-4", team=None, task_teams=frozenset({"NBTC"}))]
    teams = ["CC EEA Team", "caseworker-1", "NBTC", "ICE Tasking and Detention Gatekeeper", "Senior caseworker",
             "CC Director (SCS PB1)", "elsewhere"]
    checked = 0
    for who, case, kind, team, assignee, overdue in product(
            people, cases, ["police_contact", "nbtc_check", "overdue_review", "director_decision", "await_certificate"],
            teams, [None, "caseworker-1", "someone"], [False, True]):
        task = TaskRef(case, f"{kind}-1", kind, team, assignee=assignee, overdue=overdue)
        assert task_scope(who).admits(task) == bool(decide(who, Action.SEE_TASK, task)), (who.subject, task)
        checked += 1
    assert checked > 10_000


def test_every_feed_has_one_url_slug() -> None:
    from access.policy import FEED_READERS, FEED_SLUGS, FEEDS_BY_CASE

    assert sorted(FEED_SLUGS.values()) == sorted(FEED_READERS) and FEEDS_BY_CASE <= set(FEED_READERS)
    assert all(slug.replace("-", "").isalnum() and slug.islower() for slug in FEED_SLUGS)


def test_no_names_in_refusals() -> None:
    """Issue 25: a 403 named a hidden case's owner (an owner's task carries their staff ID as
    its team) and a task's assignee."""
    owned = TaskRef(OWNED, "police_contact-1", "police_contact", "cw.cara", assignee="cw.dora")
    for action in (Action.COMPLETE_TASK, Action.CLAIM_TASK, Action.UNCLAIM_TASK):
        refused = decide(BEN, action, owned)
        assert not refused.allowed and "cw.cara" not in refused.reason and "cw.dora" not in refused.reason, refused
