"""The case's activities as the workflow calls them: each one's name, command and result.

The workflow calls these by method reference (``workflow.execute_activity_method``), so a
renamed or retyped activity is caught where it is called, not by a string that silently
stops matching. ``CaseActivities`` (activities/case_activities.py) implements every one
against the CID; the worker registers its bound methods from this class's own list
(``registered``), so the workflow's calls and the worker's registrations cannot drift.
This module holds no database code: the workflow imports it.

The names are those recorded in every history (the method names): renaming a method is a
change of the workflow's commands (docs/changing-workflows.md).
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

from temporalio import activity

from casework import records as r
from casework.settings import ProcessSettings


class CaseActivityContract:
    """What each activity takes and returns; the bodies are ``CaseActivities``'."""

    @activity.defn
    async def load_settings(self) -> ProcessSettings:
        raise NotImplementedError

    @activity.defn
    async def record_referral(self, cmd: r.RecordReferral) -> r.ReferralFacts:
        raise NotImplementedError

    @activity.defn
    async def record_certificate(self, cmd: r.RecordCertificate) -> r.CertificateFacts:
        raise NotImplementedError

    @activity.defn
    async def apply_non_disclosable(self, cmd: r.DestroyCertificate) -> None:
        raise NotImplementedError

    @activity.defn
    async def register_case(self, cmd: r.RegisterCase) -> None:
        raise NotImplementedError

    @activity.defn
    async def restricted_step(self, cmd: r.RestrictedStep) -> None:
        raise NotImplementedError

    @activity.defn
    async def route_case(self, cmd: r.RouteCase) -> str:
        raise NotImplementedError

    @activity.defn
    async def open_task(self, cmd: r.OpenInboxTask) -> int:
        raise NotImplementedError

    @activity.defn
    async def complete_task(self, cmd: r.CompleteTask) -> None:
        raise NotImplementedError

    @activity.defn
    async def escalate_task(self, cmd: r.EscalateTask) -> None:
        raise NotImplementedError

    @activity.defn
    async def send_message(self, cmd: r.SendMessage) -> None:
        raise NotImplementedError

    @activity.defn
    async def set_stage(self, cmd: r.SetStage) -> None:
        raise NotImplementedError

    @activity.defn
    async def add_note(self, cmd: r.AddNote) -> None:
        raise NotImplementedError

    @activity.defn
    async def record_event(self, cmd: r.AuditEvent) -> None:
        raise NotImplementedError

    @activity.defn
    async def record_message(self, cmd: r.RecordMessage) -> r.MessageStatus:
        raise NotImplementedError

    @activity.defn
    async def record_decision(self, cmd: r.RecordDecision) -> None:
        raise NotImplementedError

    @activity.defn
    async def close_case(self, cmd: r.CloseCase) -> None:
        raise NotImplementedError

    def registered(self) -> list[Callable[..., Any]]:
        """This object's implementation of every activity of the contract, for the worker."""
        return [getattr(self, name) for name in activity_names()]


class JobActivityContract:
    """The daily jobs' activities (workflows/jobs.py); the bodies are ``JobActivities``'
    (activities/jobs.py)."""

    @activity.defn
    async def run_sweep_job(self, run_key: str) -> dict[str, Any]:
        raise NotImplementedError

    @activity.defn
    async def run_purge_job(self, run_key: str) -> dict[str, Any]:
        raise NotImplementedError

    @activity.defn
    async def record_failed_job(self, job: str, run_key: str, reason: str) -> None:
        raise NotImplementedError

    def registered(self) -> list[Callable[..., Any]]:
        return [getattr(self, name) for name in activity_names(JobActivityContract)]


def activity_names(contract: type = CaseActivityContract) -> list[str]:
    """Every activity of a contract, by the method (and recorded) name."""
    return [name for name, member in vars(contract).items() if inspect.iscoroutinefunction(member)]
