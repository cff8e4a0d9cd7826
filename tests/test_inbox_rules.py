"""The inbox's pure rules (issue 21): how a due date reads, which queues a person has, and
the task pages generated from the task table (casework/tasks.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from access.principal import Kind, Principal
from api.inbox.queues import Queue, due_label, queues_of, task_filters, Filters
from api.inbox.task_forms import form_for, form_of, read_answer
from casework.tasks import TASK_KINDS

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(("due", "overdue", "text", "tag"), [
    (NOW - timedelta(days=3), True, "Overdue by 3 days", "govuk-tag--red"),
    (NOW - timedelta(days=1), False, "Overdue by 1 day", "govuk-tag--red"),
    (NOW - timedelta(hours=1), False, "Overdue", "govuk-tag--red"),
    (NOW + timedelta(hours=2), False, "Due today", "govuk-tag--orange"),
    (NOW + timedelta(days=1), False, "Due tomorrow", "govuk-tag--yellow"),
    (NOW + timedelta(days=3), False, "Due in 3 days", "govuk-tag--yellow"),
    (NOW + timedelta(days=9), False, "Due in 9 days", None),
])
def test_a_due_date_reads_in_words_not_colour_alone(due, overdue, text, tag) -> None:
    label = due_label(due, overdue, NOW)
    assert (label.text, label.tag) == (text, tag)


def test_an_escalated_task_reads_overdue_even_before_its_date() -> None:
    assert due_label(NOW + timedelta(days=2), True, NOW).tag == "govuk-tag--red"


def _person(roles: set[str], teams: set[str] = frozenset()) -> Principal:  # type: ignore[assignment]
    return Principal("p.one", Kind.PERSON, roles=frozenset(roles), teams=frozenset(teams))


def test_queues_follow_the_roles_R50() -> None:
    assert queues_of(_person({"caseworker"})) == [Queue.MINE, Queue.TEAM, Queue.UNASSIGNED]
    assert Queue.ESCALATED in queues_of(_person({"senior-caseworker"}))
    assert Queue.SUBMISSIONS in queues_of(_person({"director"}))  # R50: the Director's submissions
    assert Queue.ESCALATED not in queues_of(_person({"director"}))


def test_queue_filters_combine_with_the_panel() -> None:
    who = _person({"caseworker"}, {"CC EEA Team"})
    mine = task_filters(Queue.MINE, who, Filters())
    assert mine.assignee == "p.one" and mine.mine_subject is None
    unassigned = task_filters(Queue.UNASSIGNED, who, Filters(kind="police_contact", overdue=True))
    assert unassigned.unassigned and unassigned.mine_teams == ("CC EEA Team",) and unassigned.kind == "police_contact"
    assert unassigned.overdue


def test_every_task_kind_has_a_page_with_every_outcome_a_person_records() -> None:
    for kind, spec in TASK_KINDS.items():
        form = form_for(spec)
        assert {c.outcome for c in form.choices} == {str(o) for o in spec.details}, kind
        assert form.rules == spec.rules


def test_fields_follow_the_details_model_types_and_optionality() -> None:
    located = {c.outcome: c for c in form_of("ice_tasking").choices}["located"]
    assert [(q.name, q.widget, q.required) for q in located.questions] == [("location", "textarea", False),
                                                                          ("detained", "yesno", False)]
    enforced = form_of("deportation_enforcement").choices[0].questions[0]
    assert (enforced.widget, enforced.required, enforced.id) == ("date", True, "enforced-departed_on-day")
    detain = {c.outcome: c for c in form_of("detention_decision").choices}["detain"]
    assert detain.needs_disclosable  # R30: shown as the outcome's hint


def test_an_answer_is_read_and_checked_against_the_model_before_the_case_is_asked() -> None:
    form = form_of("consideration_decision")
    assert read_answer(form, {}).errors == {"outcome-deport": "Select the outcome of this task"}
    missing = read_answer(form, {"outcome": "deport", "deport-address_known": "yes"})
    assert list(missing.errors) == ["deport-in_country_right_of_appeal"]
    ok = read_answer(form, {"outcome": "deport", "deport-address_known": "yes", "deport-in_country_right_of_appeal": "no"})
    assert (ok.errors, ok.details) == ({}, {"address_known": True, "in_country_right_of_appeal": False})
    date = read_answer(form_of("deportation_enforcement"),
                       {"outcome": "enforced", "enforced-departed_on-day": "31", "enforced-departed_on-month": "2",
                        "enforced-departed_on-year": "2026"})
    assert date.errors == {"enforced-departed_on-day": "Departed on must be a real date"}


def test_queue_counts_are_exact_up_to_the_cap() -> None:
    from api.inbox.queues import COUNT_CAP, count_text

    assert count_text(0) == "0" and count_text(COUNT_CAP) == "1,000"
    assert count_text(COUNT_CAP + 1) == "more than 1,000"
