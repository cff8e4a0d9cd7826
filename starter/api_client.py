"""The command line's one client of the HTTP API (docs/api.md): people's commands go
through it, so the API's policy is the one authorization point and the actor recorded
is the token's subject.

Where: ``CASEWORK_API_URL``, else ``api_url`` in the local stack's ``stack.json``. Who:
``CASEWORK_TOKEN``, else the token ``casework login`` stored (``starter.credentials``).
A problem document (RFC 9457) becomes one line and the exit status docs/cli.md gives its
HTTP status (``error_for``), a refusal of the case by its ``code``
(``starter.exits.EXIT_OF``); the API cannot be reached, or does not answer in time: 5.
Personal data never goes in a URL: paths carry case and task IDs only, filters are teams,
stages and staff IDs.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any, Mapping, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from api import schemas
from casework import config
from casework.refusals import SEND_AGAIN, RefusalCode
from starter.credentials import LOGIN_HINT
from starter.exits import EXIT_OF, CliError, Exit

PROBLEM_MEDIA_TYPE = "application/problem+json"
#: The most referrals one ``POST /referrals/batch`` carries (the API's limit).
MAX_BATCH = 100
#: How long a completion's answer may wait for the case to act on it (the API's ``Prefer: wait``).
COMPLETION_WAIT_SECONDS = 5
#: What the CLI says it is in the API's logs.
USER_AGENT = "casework-cli"
M = TypeVar("M", bound=BaseModel)


def api_url() -> str:
    from starter.stack_file import API_URL, stack_settings

    url = config.CliSettings.read().api_url or stack_settings().get(API_URL)
    if not url:
        raise CliError("no API: set CASEWORK_API_URL, or start the local stack with 'casework up'", Exit.UNAVAILABLE)
    if not url.startswith(("http://", "https://")):
        raise CliError(f"CASEWORK_API_URL must be an http(s) URL, not '{url}'", Exit.BAD_INPUT)
    return url.rstrip("/")


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


@dataclass(frozen=True)
class Answer:
    """One API answer: its status and its JSON body (a problem document when not 2xx)."""

    status: int
    body: Any
    headers: Mapping[str, str]
    #: How many times it was sent (a busy case's 503 is sent again), and seconds waited between.
    tries: int = 1
    waited: float = 0.0

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def problem(self) -> schemas.ProblemDocument:
        try:
            return schemas.ProblemDocument.model_validate(self.body)
        except ValidationError:
            return schemas.ProblemDocument(title=f"HTTP {self.status}", status=self.status)


def error_for(answer: Answer) -> CliError:
    """The CLI's one line and exit status for an API answer that is not a success."""
    problem = answer.problem
    detail = _one_line(problem.detail or problem.title)
    rule = problem.rule
    status = answer.status
    if problem.code is not None:  # the case refused: its code decides (starter/exits.py)
        if rule and not detail.startswith(str(rule)):
            detail = f"{rule}: {detail}"
        exit = EXIT_OF[RefusalCode(problem.code)]
        return CliError(f"not allowed: {detail}" if exit is Exit.NOT_ALLOWED else detail, exit)
    if status == 401:
        return CliError(f"not signed in: {detail}; {LOGIN_HINT}", Exit.NOT_SIGNED_IN)
    if status == 403:
        return CliError(f"not allowed: {detail}", Exit.NOT_ALLOWED)
    if status == 404:
        return CliError(detail, Exit.NOT_FOUND)
    if status in (409, 422):
        if rule and not detail.startswith(str(rule)):
            detail = f"{rule}: {detail}"
        return CliError(detail, Exit.REFUSED)
    if status == 400:
        return CliError(detail, Exit.BAD_INPUT)
    if status == 503:
        retry = answer.headers.get("retry-after")
        # Issue 25 item 2: the CLI says that it sent again, and for how long.
        notes = [f"sent {answer.tries} times over {answer.waited:.0f} s"] if answer.tries > 1 else []
        if retry and retry.isdigit():
            notes.append(f"try again in {retry} s")
        again = f" ({'; '.join(notes)})" if notes else ""
        return CliError(f"unavailable: {detail}{again}", Exit.UNAVAILABLE)
    return CliError(f"the API failed ({status}): {detail}", Exit.FAILED)


def _send_again_after(answer: Answer) -> float | None:
    """Seconds to wait before sending again; None when the answer is to be kept."""
    if answer.status != 503 or answer.problem.type.rsplit("#", 1)[-1] not in SEND_AGAIN:
        return None
    retry = answer.headers.get("retry-after", "")
    return float(retry) if retry.isdigit() else None


class ApiClient:
    """``async with ApiClient() as api: await api.complete(task_id, ...)``.

    The typed calls raise ``CliError`` for a problem; ``request`` returns the ``Answer``
    for callers that report per item (a batch of events)."""

    def __init__(self, base_url: str | None = None, token: str | None = None, *, timeout: float | None = None) -> None:
        from starter import credentials

        self.base_url = base_url or api_url()
        self._token = token or credentials.bearer()
        try:
            self.timeout = timeout or config.CliSettings.read().api_timeout_seconds
        except config.SettingsError as err:
            raise CliError(str(err), Exit.BAD_INPUT) from None
        self._http: httpx.AsyncClient | None = None

    async def __aenter__(self) -> ApiClient:
        self._http = httpx.AsyncClient(
            base_url=self.base_url, timeout=self.timeout,
            headers={"Authorization": f"Bearer {self._token}", "Accept": f"application/json, {PROBLEM_MEDIA_TYPE}",
                     "User-Agent": USER_AGENT},
        )
        return self

    async def __aexit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # ------------------------------------------------------------------ the wire

    async def request(self, method: str, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None,
                      headers: Mapping[str, str] | None = None) -> Answer:
        """One call, sent again after a 503 whose type says nothing was done
        (``casework.refusals.SEND_AGAIN``) while its ``Retry-After`` fits in the timeout."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.timeout
        tries, waited = 1, 0.0
        while True:
            answer = await self._once(method, path, json=json, params=params, headers=headers)
            pause = _send_again_after(answer)
            if pause is None or loop.time() + pause >= give_up:
                return replace(answer, tries=tries, waited=waited)
            await asyncio.sleep(pause)
            tries, waited = tries + 1, waited + pause

    async def _once(self, method: str, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None,
                    headers: Mapping[str, str] | None = None) -> Answer:
        """One call; connection failures and timeouts raise ``CliError`` (exit 5)."""
        assert self._http is not None, "use 'async with ApiClient()'"
        query = {k: _param(v) for k, v in (params or {}).items() if v is not None and v is not False}
        try:
            response = await self._http.request(method, path, json=json, params=query, headers=headers)
        except httpx.TimeoutException:
            raise CliError(
                f"the API did not answer within {self.timeout:.0f} s ({method} {path}); nothing is known to have"
                " changed: check (e.g. 'casework tasks') before repeating", Exit.UNAVAILABLE) from None
        except httpx.HTTPError as err:
            raise CliError(f"the API cannot be reached at {self.base_url}: {_one_line(err) or type(err).__name__}",
                           Exit.UNAVAILABLE) from None
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = None
        if not response.is_success and not isinstance(body, dict):
            body = {"title": f"HTTP {response.status_code} {response.reason_phrase}", "status": response.status_code}
        elif response.is_success and body is None and response.content:
            raise CliError(f"the API answered {method} {path} with something other than JSON", Exit.FAILED)
        return Answer(response.status_code, body, response.headers)

    async def _typed(self, model: type[M], method: str, path: str, **kwargs: Any) -> M:
        """A success read as the API's own model (api/schemas.py); a problem raised as ``CliError``."""
        answer = await self.request(method, path, **kwargs)
        if not answer.ok:
            raise error_for(answer)
        try:
            return model.model_validate(answer.body)
        except ValidationError:
            raise CliError(f"the API answered {method} {path} with something other than a {model.__name__}",
                           Exit.FAILED) from None

    # ------------------------------------------------------------------ referrals and events

    async def submit_batch(self, referrals: list[Mapping[str, Any]]) -> schemas.BatchAnswer:
        """``POST /referrals/batch``: up to ``MAX_BATCH``, answered per referral (``results``)."""
        return await self._typed(schemas.BatchAnswer, "POST", "/referrals/batch", json=list(referrals))

    async def send_event(self, case_id: str, kind: str, body: Mapping[str, Any]) -> Answer:
        """``POST /cases/{id}/events/{kind}``; the answer as it is (a batch reports per row)."""
        return await self.request("POST", f"/cases/{case_id}/events/{kind}", json=body)

    # ------------------------------------------------------------------ cases

    async def cases(self, **filters: Any) -> schemas.CasePage:
        return await self._typed(schemas.CasePage, "GET", "/cases", params=filters)

    async def case(self, case_id: str) -> schemas.CaseDetail:
        return await self._typed(schemas.CaseDetail, "GET", f"/cases/{case_id}")

    async def decisions(self, case_id: str) -> schemas.DecisionPage:
        """``GET /cases/{id}/decisions``: the first 200 decisions of the case, in the order taken."""
        return await self._typed(schemas.DecisionPage, "GET", f"/cases/{case_id}/decisions", params={"limit": 200})

    async def timeline(self, case_id: str) -> schemas.TimelinePage:
        """``GET /cases/{id}/timeline``: the first 200 rows of the case's trail, oldest first."""
        return await self._typed(schemas.TimelinePage, "GET", f"/cases/{case_id}/timeline", params={"limit": 200})

    async def audit_decisions(self, **filters: object) -> schemas.DecisionPage:
        """``GET /audit/decisions`` (auditors), with the filters given (None ones left out)."""
        params = {k: v for k, v in filters.items() if v is not None}
        return await self._typed(schemas.DecisionPage, "GET", "/audit/decisions", params=params)

    async def personal_data(self, case_id: str, purpose: str, reason: str) -> schemas.PersonalData:
        """R60: the read is recorded under the token's subject, with the purpose and reason."""
        return await self._typed(schemas.PersonalData, "POST", f"/cases/{case_id}/personal-data",
                                 json={"purpose": purpose, "reason": reason})

    async def feed(self, recipient: str, **query: Any) -> schemas.FeedPage:
        return await self._typed(schemas.FeedPage, "GET", f"/feeds/{recipient}", params=query)

    # ------------------------------------------------------------------ tasks

    async def tasks(self, **filters: Any) -> schemas.TaskPage:
        return await self._typed(schemas.TaskPage, "GET", "/tasks", params=filters)

    async def task(self, task_id: int) -> schemas.TaskDetail:
        return await self._typed(schemas.TaskDetail, "GET", f"/tasks/{task_id}")

    async def complete(self, task_id: int, outcome: str, details: Mapping[str, Any]) -> schemas.CompletionOut:
        # A person reads where the case went: wait for the case to act on it (RFC 7240).
        return await self._typed(schemas.CompletionOut, "POST", f"/tasks/{task_id}/completion",
                                 json={"outcome": outcome, "details": dict(details)},
                                 headers={"Prefer": f"wait={COMPLETION_WAIT_SECONDS}"})

    async def claim(self, task_id: int) -> schemas.Held:
        return await self._typed(schemas.Held, "POST", f"/tasks/{task_id}/claim")

    async def unclaim(self, task_id: int) -> schemas.Held:
        return await self._typed(schemas.Held, "POST", f"/tasks/{task_id}/unclaim")

    async def assign(self, task_id: int, assignee: str) -> schemas.Held:
        return await self._typed(schemas.Held, "POST", f"/tasks/{task_id}/assignment", json={"assignee": assignee})


def _param(value: Any) -> Any:
    return "true" if value is True else value


def run(work: Any) -> Any:
    """``asyncio.run(work(api))`` with one ``ApiClient`` open for the command."""
    import asyncio

    async def with_client() -> Any:
        async with ApiClient() as api:
            return await work(api)

    return asyncio.run(with_client())
