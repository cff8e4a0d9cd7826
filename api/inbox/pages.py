"""The inbox's pages: work queues, a task's page, a case's page, personal data (R60) and
the team dashboard. Each reads and acts through the API's own route functions or the
read model with the policy's scope (api/resources.py), as the signed-in person: one
authorization point, the same answers as the API, the same records under the same subject.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import date, datetime, timezone
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse

from access.policy import PURPOSES, Action, Assignment, Purpose, Role, decide, roles_of
from access.principal import Principal
from api import cursors
from api.inbox import queues, sessions, task_forms
from api.inbox.queues import Filters, Queue
from api.inbox.rendering import PREFIX, page, same_origin_path
from api.problems import Problem
from api.resources import CASE_ID_PATTERN, task_ref, tasks_of
from api.routes import cases as case_routes
from api.routes import tasks as task_routes
from api.services import Services
from casework.case import WORKFLOW_ID_PREFIX, case_id_for
from casework.tasks import TASK_KINDS
from cid import inbox_reads, read_model

log = logging.getLogger("casework.inbox")
PAGE_SIZE = 25
#: Tasks a bulk reassignment takes at once (one POST, answered per task).
BULK_LIMIT = 100


def _svc(request: Request) -> Services:
    return request.app.state.services_of()


async def _who(request: Request) -> tuple[Principal, Services]:
    svc = _svc(request)
    session = await sessions.current(request, svc, request.app.state.settings)
    return sessions.principal_of(session), svc


async def _form(request: Request) -> list[tuple[str, str]]:
    session = await sessions.current(request, _svc(request), request.app.state.settings)
    return await sessions.form_of(request, session)


def _flash(request: Request, text: str) -> None:
    request.session["flash"] = text


def _take_flash(request: Request) -> str | None:
    return request.session.pop("flash", None)


def _now() -> datetime:
    return datetime.now(timezone.utc)


# ---------------------------------------------------------------------------- queues


def _case_id(text: str) -> str | None:
    """A case ID or an ACRO reference as typed; None when it cannot be either."""
    value = text.strip()
    if not value:
        return None
    candidate = value if value.lower().startswith(WORKFLOW_ID_PREFIX) else case_id_for(value)
    return candidate if re.match(CASE_ID_PATTERN, candidate) else None


def _filters(params: dict[str, str]) -> tuple[Filters, dict[str, str]]:
    errors: dict[str, str] = {}
    kind = params.get("kind") or None
    if kind is not None and kind not in TASK_KINDS:
        errors["kind"] = "Select a kind of task from the list"
        kind = None
    due_before: date | None = None
    parts = [params.get(f"due_before-{p}", "").strip() for p in ("day", "month", "year")]
    if any(parts):
        try:
            due_before = date(int(parts[2]), int(parts[1]), int(parts[0]))
        except ValueError:
            errors["due_before-day"] = "Due before must be a real date, for example 27 3 2026"
    case_id = None
    if params.get("case", "").strip():
        case_id = _case_id(params["case"])
        if case_id is None:
            errors["case"] = "Enter a case reference like EX/000001A or acro-case-EX_000001A"
    return Filters(kind=kind, overdue=params.get("overdue") == "yes", due_before=due_before, case_id=case_id), errors


def _query(queue: Queue, params: dict[str, str], drop: str | None = None) -> str:
    keep = {"queue": queue.value}
    for key in ("kind", "overdue", "due_before-day", "due_before-month", "due_before-year", "case"):
        if params.get(key) and not (drop and key.startswith(drop)):
            keep[key] = params[key]
    return f"{PREFIX}/tasks?{urlencode(keep)}"


def _tags(queue: Queue, params: dict[str, str], filters: Filters) -> list[dict[str, str]]:
    """The active filters as removable tags (a link that drops the one filter)."""
    tags = []
    if filters.kind:
        tags.append({"text": f"Kind: {TASK_KINDS[filters.kind].title}", "href": _query(queue, params, "kind")})
    if filters.overdue:
        tags.append({"text": "Overdue only", "href": _query(queue, params, "overdue")})
    if filters.due_before:
        tags.append({"text": f"Due before {queues.uk_date(datetime.combine(filters.due_before, datetime.min.time(), queues.UK))}",
                     "href": _query(queue, params, "due_before")})
    if filters.case_id:
        tags.append({"text": f"Case: {filters.case_id}", "href": _query(queue, params, "case")})
    return tags


def _row(who: Principal, row: Any, now: datetime) -> dict[str, Any]:
    ref = task_ref(row)
    label = queues.due_label(row["due_at"], bool(row["overdue"]), now)
    return {
        "id": row["id"], "case_id": row["case_id"], "kind": row["kind"], "title": row["title"], "team": row["team"],
        "assignee": row["assignee"], "due": queues.uk_date(row["due_at"]), "label": label,
        "may_claim": row["assignee"] is None and bool(decide(who, Action.CLAIM_TASK, ref)),
        "may_unclaim": row["assignee"] is not None and bool(decide(who, Action.UNCLAIM_TASK, ref)),
        "mine": row["assignee"] == who.subject,
    }


def _assignable(svc: Services, who: Principal) -> list[str]:
    """People a senior caseworker may hand casework to (the policy decides per task)."""
    casework = {Role.CASEWORKER.value, Role.SENIOR_CASEWORKER.value}
    return sorted(p.subject for p in svc.directory.people.values() if p.roles & casework and p.subject != who.subject)


async def _queue_page(request: Request, *, status: int = 200, errors: dict[str, str] | None = None,
                      results: list[dict[str, str]] | None = None) -> Response:
    who, svc = await _who(request)
    params = dict(request.query_params)
    mine = queues.queues_of(who)
    try:
        queue = Queue(params.get("queue", Queue.MINE.value))
    except ValueError:
        queue = Queue.MINE
    if queue not in mine:
        raise Problem(403, f"the {queues.TITLES[queue]} queue is not one of yours")
    filters, filter_errors = _filters(params)
    errors = {**filter_errors, **(errors or {})}
    after = cursors.decode(params.get("cursor") or None, int, valid=lambda key: 0 <= key < 2**63)
    visible = tasks_of(who)
    now = _now()
    started = time.perf_counter()
    async with svc.pool.acquire() as conn:
        counted = await read_model.api_task_counts(
            conn, {q.value: queues.task_filters(q, who, Filters()) for q in mine}, visible, cap=queues.COUNT_CAP)
        counts = {Queue(name): queues.count_text(n) for name, n in counted.items()}
        rows = await read_model.api_tasks(conn, queues.task_filters(queue, who, filters), visible, after=after,
                                          limit=PAGE_SIZE + 1)
    request.state.cid_ms = (time.perf_counter() - started) * 1e3
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    shown = [_row(who, r, now) for r in rows if decide(who, Action.SEE_TASK, task_ref(r))]
    next_href = None
    if more and rows:
        next_href = _query(queue, params) + "&" + urlencode({"cursor": cursors.encode(rows[-1]["due_at"], rows[-1]["id"])})
    senior = Role.SENIOR_CASEWORKER in roles_of(who)
    return page(request, "queue.html", status=status, queue=queue, queues=[(q, queues.TITLES[q], counts[q]) for q in mine],
                title=queues.TITLES[queue], rows=shown, params=params, filters=filters, tags=_tags(queue, params, filters),
                kinds=sorted((k, s.title) for k, s in TASK_KINDS.items()), errors=errors, next_href=next_href,
                first_page=not params.get("cursor"), first_href=_query(queue, params), senior=senior,
                assignable=_assignable(svc, who) if senior else [], flash=_take_flash(request), results=results or [],
                back=_query(queue, params))


async def _act(request: Request, task_id: int, action: str, fields: dict[str, str]) -> Response:
    """Claim, unclaim or assign through the API's route functions, then back to the queue;
    a refusal is shown on the queue page, linked to the task's row."""
    who, svc = await _who(request)
    back = same_origin_path(fields.get("back"), f"{PREFIX}/tasks")
    try:
        if action == "claim":
            done = await task_routes.claim_task(task_id, who, svc)
            _flash(request, f"You have claimed task {done.task_id}: {done.title} ({done.case_id})")
        elif action == "unclaim":
            done = await task_routes.unclaim_task(task_id, who, svc)
            _flash(request, f"Task {done.task_id} is unassigned now")
        else:
            done = await task_routes.assign_task(task_id, task_routes.AssignmentIn(assignee=fields.get("assignee", "")),
                                                 who, svc)
            _flash(request, f"Task {done.task_id} is assigned to {done.assignee}")
    except Problem as refused:
        text = _sentence(refused.document.detail or refused.document.title)
        if back == f"{PREFIX}/tasks/{task_id}" and refused.status != 404:  # from the task's own page: shown there
            return await _task_page(request, task_id, status=refused.status,
                                    errors={"assignee" if action == "assign" else "task-facts": text})
        if refused.status in (403, 404) and action != "claim":
            raise
        request.scope["query_string"] = back.partition("?")[2].encode()
        return await _queue_page(request, status=refused.status, errors={f"task-{task_id}": text})
    if fields.get("open") == "yes" and action == "claim":
        return RedirectResponse(f"{PREFIX}/tasks/{task_id}", status_code=303)
    return RedirectResponse(back, status_code=303)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


# ---------------------------------------------------------------------------- a task's page


def _values(fields: list[tuple[str, str]]) -> dict[str, str]:
    return dict(fields)


async def _task_page(request: Request, task_id: int, *, status: int = 200, values: dict[str, str] | None = None,
                     errors: dict[str, str] | None = None) -> Response:
    who, svc = await _who(request)
    task = await task_routes.get_task(task_id, who, svc)  # 404/403 as the API answers
    async with svc.pool.acquire() as conn:
        row = await read_model.api_task(conn, task_id)
    ref = task_ref(row)
    may = decide(who, Action.COMPLETE_TASK, ref)
    claim = decide(who, Action.CLAIM_TASK, ref) if row["assignee"] is None else None
    try:
        case = await case_routes.one_case(task.case_id, who, svc)
    except Problem:
        case = None
    form = task_forms.form_of(task.kind)
    label = queues.due_label(task.due_at, task.overdue, _now())
    # Whom the policy lets this person hand the task to (a member of its team who may do it).
    hand_to = sorted(m.subject for m in svc.directory.people.values()
                     if m.subject != row["assignee"] and task.status == "open"
                     and decide(who, Action.ASSIGN_TASK, Assignment(ref, m)))
    return page(request, "task.html", status=status, task=task, form=form, may=may, claim=claim, case=case,
                hand_to=hand_to,
                label=label, due=queues.uk_date(task.due_at), values=values or {}, errors=errors or {},
                flash=_take_flash(request),
                completed_at=queues.uk_time(task.completed_at) if task.completed_at else None)


async def _complete(request: Request, task_id: int) -> Response:
    fields = await _form(request)
    values = _values(fields)
    who, svc = await _who(request)
    task = await task_routes.get_task(task_id, who, svc)
    form = task_forms.form_of(task.kind)
    if form is None:
        raise Problem(404, f"task {task_id} has no form")
    answer = task_forms.read_answer(form, values)
    if answer.errors:
        return await _task_page(request, task_id, status=422, values=values, errors=answer.errors)
    try:
        done = await task_routes.complete_task(
            task_id, task_routes.CompletionIn(outcome=answer.outcome or "", details=answer.details), who, svc, request,
            Response())
    except Problem as refused:
        text = refused.document.detail or refused.document.title
        if refused.status == 403 and refused.document.type.endswith("not-allowed"):
            where = "outcome"
        else:
            where = task_forms.field_of_refusal(form, answer.outcome, text)
        message = _sentence(text)
        if refused.status == 409:
            message = f"This task cannot be completed now: {text}"
        return await _task_page(request, task_id, status=refused.status, values=values, errors={where: message})
    _flash(request, f"Task {done.task_id} completed: {done.outcome.replace('_', ' ')}. The case is now at stage {done.stage}.")
    return RedirectResponse(f"{PREFIX}/cases/{done.case_id}", status_code=303)


# ---------------------------------------------------------------------------- a case's page


def _known_form(case_id: str) -> None:
    """A case ID in the form the CID gives them (else: no such page)."""
    if not re.match(CASE_ID_PATTERN, case_id):
        raise Problem(404, f"no case {case_id[:80]} that you may see")


async def _case_page(request: Request, case_id: str) -> Response:
    _known_form(case_id)
    who, svc = await _who(request)
    case = await case_routes.one_case(case_id, who, svc)  # 404 unless the person may see it
    # Issue 20: why the case did what it did, by the API's own read (rule sentences, no personal data).
    decided = await case_routes.case_decisions(case_id, who, svc, after=0, limit=case_routes.MAX_LIMIT)
    async with svc.pool.acquire() as conn:
        window = await read_model.stage1_window(conn, case_id)
        sent = await inbox_reads.messages_sent(conn, case_id)
        timeline = await inbox_reads.timeline(conn, case_id)
    purposes = _purposes(who)
    open_tasks = [{"id": t.task_id, "title": t.title, "team": t.team, "assignee": t.assignee, "due": queues.uk_date(t.due_at),
                   "label": queues.due_label(t.due_at, t.overdue, _now())} for t in case.open_tasks]
    return page(request, "case.html", case=case, window=window, sent=sent, timeline=timeline, open_tasks=open_tasks,
                uk_date=queues.uk_date, uk_time=queues.uk_time, may_read=bool(purposes), flash=_take_flash(request),
                decisions=decided.decisions)


def _purposes(who: Principal) -> list[Purpose]:
    roles = roles_of(who)
    return [p for p in Purpose if any(p in PURPOSES.get(r, frozenset()) for r in roles)]


async def _personal_data_form(request: Request, case_id: str, *, status: int = 200, values: dict[str, str] | None = None,
                              errors: dict[str, str] | None = None) -> Response:
    _known_form(case_id)
    who, svc = await _who(request)
    case = await case_routes.one_case(case_id, who, svc)
    purposes = _purposes(who)
    if not purposes:
        raise Problem(403, "R60: your role reads no personal data")
    return page(request, "personal_data_form.html", status=status, case=case, purposes=purposes, values=values or {},
                errors=errors or {})


async def _personal_data(request: Request, case_id: str) -> Response:
    values = _values(await _form(request))
    who, svc = await _who(request)
    errors: dict[str, str] = {}
    purpose = None
    try:
        purpose = Purpose(values.get("purpose", ""))
    except ValueError:
        errors["purpose"] = "Select why you need to see this person's details"
    reason = values.get("reason", "").strip()
    if not reason:
        errors["reason"] = "Enter the reason you need to see this person's details"
    if errors or purpose is None:
        return await _personal_data_form(request, case_id, status=422, values=values, errors=errors)
    try:
        body = case_routes.PersonalDataRequest(purpose=purpose, reason=reason)
    except Exception:  # pydantic: too long, control characters
        return await _personal_data_form(request, case_id, status=422, values=values,
                                         errors={"reason": "The reason must be 500 characters or fewer, in plain text"})
    try:
        data = await case_routes.personal_data(case_id, body, who, svc, request, Response())
    except Problem as refused:
        if refused.status == 403:
            return await _personal_data_form(request, case_id, status=403, values=values,
                                             errors={"purpose": _sentence(refused.document.detail or "Not allowed")})
        raise
    return page(request, "personal_data.html", case_id=case_id, data=data, purpose=purpose, who=who.subject,
                uk_time=queues.uk_time)


# ---------------------------------------------------------------------------- the dashboard


async def _dashboard(request: Request) -> Response:
    who, svc = await _who(request)
    if Role.SENIOR_CASEWORKER not in roles_of(who):
        raise Problem(403, "the team dashboard is for senior caseworkers")
    now = _now()
    async with svc.pool.acquire() as conn:
        rows = await read_model.dashboard(conn, tasks_of(who), teams=None, now=now, week_end=queues.week_end(now))
    totals = {k: sum(r[k] for r in rows) for k in ("open", "overdue", "unassigned", "due_this_week")}
    oldest = min((r["oldest"] for r in rows), default=None)
    return page(request, "dashboard.html", rows=rows, totals=totals, oldest=queues.uk_date(oldest) if oldest else None,
                uk_date=queues.uk_date, titles={k: s.title for k, s in TASK_KINDS.items()})


# ---------------------------------------------------------------------------- routes


def install(inbox: FastAPI) -> None:
    @inbox.get("/", include_in_schema=False)
    async def home(request: Request) -> Response:
        return RedirectResponse(f"{PREFIX}/tasks", status_code=303)

    @inbox.get("/tasks", include_in_schema=False)
    async def task_list(request: Request) -> Response:
        return await _queue_page(request)

    @inbox.post("/tasks/next", include_in_schema=False)
    async def work_on_next(request: Request) -> Response:
        """Claim the most urgent unassigned task of my teams and open it (the next one when
        a colleague claims it first)."""
        fields = dict(await _form(request))
        who, svc = await _who(request)
        # Within the filters in use (kind, case...), if any: "next" of what the person is looking at.
        narrowed, _ = _filters(fields)
        wanted = queues.task_filters(Queue.UNASSIGNED, who, narrowed)
        async with svc.pool.acquire() as conn:
            rows = await read_model.api_tasks(conn, wanted, tasks_of(who), after=None, limit=20)
        for row in rows:
            if not decide(who, Action.CLAIM_TASK, task_ref(row)):
                continue
            try:
                await task_routes.claim_task(row["id"], who, svc)
            except Problem:
                continue  # claimed by someone else meanwhile: the next one
            _flash(request, f"You have claimed task {row['id']}: {row['title']}")
            return RedirectResponse(f"{PREFIX}/tasks/{row['id']}", status_code=303)
        _flash(request, "There are no unassigned tasks for your teams to claim")
        return RedirectResponse(f"{PREFIX}/tasks?queue=unassigned", status_code=303)

    @inbox.post("/tasks/bulk-assign", include_in_schema=False)
    async def bulk_assign(request: Request) -> Response:
        fields = await _form(request)
        who, svc = await _who(request)
        values = dict(fields)
        back = same_origin_path(values.get("back"), f"{PREFIX}/tasks")
        request.scope["query_string"] = back.partition("?")[2].encode()
        if Role.SENIOR_CASEWORKER not in roles_of(who):
            raise Problem(403, "bulk reassignment is for senior caseworkers")
        chosen = [int(v) for k, v in fields if k == "task" and v.isdigit()][:BULK_LIMIT]
        assignee = values.get("assignee", "")
        if not chosen or not assignee:
            errors = {}
            if not chosen:
                errors["bulk-tasks"] = "Select the tasks to reassign"
            if not assignee:
                errors["assignee"] = "Select who to reassign the tasks to"
            return await _queue_page(request, status=422, errors=errors)
        results = []
        for task_id in chosen:
            try:
                done = await task_routes.assign_task(task_id, task_routes.AssignmentIn(assignee=assignee), who, svc)
                results.append({"task": str(task_id), "ok": "yes", "text": f"assigned to {done.assignee}"})
            except Problem as refused:
                results.append({"task": str(task_id), "ok": "", "text": _sentence(refused.document.detail or refused.document.title)})
        return await _queue_page(request, results=results)

    @inbox.get("/tasks/{task_id}", include_in_schema=False)
    async def task_page(request: Request, task_id: int) -> Response:
        return await _task_page(request, task_id)

    @inbox.post("/tasks/{task_id}", include_in_schema=False)
    async def complete(request: Request, task_id: int) -> Response:
        return await _complete(request, task_id)

    for action in ("claim", "unclaim", "assign"):
        def bind(action: str = action) -> None:
            @inbox.post(f"/tasks/{{task_id}}/{action}", include_in_schema=False, name=f"task_{action}")
            async def act(request: Request, task_id: int) -> Response:
                fields = dict(await _form(request))
                return await _act(request, task_id, action, fields)
        bind()

    @inbox.get("/cases/{case_id}", include_in_schema=False)
    async def case_page(request: Request, case_id: str) -> Response:
        return await _case_page(request, case_id)

    @inbox.get("/cases/{case_id}/personal-data", include_in_schema=False)
    async def personal_data_form(request: Request, case_id: str) -> Response:
        return await _personal_data_form(request, case_id)

    @inbox.post("/cases/{case_id}/personal-data", include_in_schema=False)
    async def personal_data(request: Request, case_id: str) -> Response:
        return await _personal_data(request, case_id)

    @inbox.get("/dashboard", include_in_schema=False)
    async def dashboard(request: Request) -> Response:
        return await _dashboard(request)
