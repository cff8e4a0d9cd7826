"""Every problem ``type`` the API answers with, and what it means: the one home of the
names (``Problem(kind=...)`` takes them from here) and of the page that explains them,
``GET /docs/api`` (api/docs_pages.py), where each ``type`` URI (``/docs/api#token-refused``)
resolves to its anchor. tests/test_api_docs.py checks that every kind the API raises is
here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProblemType:
    status: str
    meaning: str
    what_to_do: str


#: The page the API serves that explains each type; a type URI is ``PAGE#<kind>``.
PAGE = "/docs/api"

#: One problem type for every field error on every endpoint: the field is in ``errors``.
INVALID_REQUEST = "invalid-request"

PROBLEM_TYPES: dict[str, ProblemType] = {
    INVALID_REQUEST: ProblemType(
        "422", "A field of the request (path, query or body) is missing, malformed or not allowed; "
        "``errors`` names each field (``body.certificate.issued_on``, ``query.limit``, ``path.kind``) and says why; "
        "``rule`` names the guidance's rule when one is the reason (R01 ...).",
        "Correct the fields named and send again; nothing was written."),
    "bad-json": ProblemType(
        "400", "The body is not strict JSON: a key given twice, a number that is not finite or too long, nesting "
        "deeper than the API reads; ``detail`` names the key or the limit (api/door.py).",
        "Send the body as plain JSON; nothing was read or written."),
    "body-too-large": ProblemType(
        "413", "The body is larger than the route takes (``detail`` gives the limit); refused before it was read.",
        "Send less (a batch in parts); nothing was written."),
    "too-many-requests": ProblemType(
        "429", "Too many requests of one kind from you in a short time (reads of personal data: R60; token "
        "failures), or too many messages to one case or from one sender (issue 25: no burst freezes a case); "
        "nothing was done and ``Retry-After`` says when to ask again.",
        "Wait as ``Retry-After`` says."),
    "case-busy": ProblemType(
        "503", "The case cannot take this now (continuing as new, too many updates in flight, its workflow task "
        "being retried); nothing was done. The CLI sends it again within its timeout.",
        "Send again after ``Retry-After`` seconds."),
    "token-refused": ProblemType(
        "401", "No bearer token, or one the API does not accept (expired, another issuer or audience, a bad "
        "signature); ``detail`` says which. The ``WWW-Authenticate`` header carries the same (RFC 6750).",
        "Sign in again ('casework login'), or ask your issuer for a new token."),
    "issuer-unavailable": ProblemType(
        "503", "The issuer's signing keys could not be fetched, so no token can be checked now.",
        "Send again after ``Retry-After`` seconds."),
    "not-allowed": ProblemType(
        "403", "The policy (docs/access.md) does not let you do this; ``detail`` says who may.",
        "Ask someone who may, or the senior caseworker of the team; nothing was written."),
    "no-such-case": ProblemType("404", "There is no case with that ID (or none is running).",
                                "Check the case ID ('casework cases')."),
    "no-such-task": ProblemType("404", "There is no task with that ID.", "Check the task ID ('casework tasks')."),
    "no-such-feed": ProblemType("404", "There is no outbound feed for that recipient.", "See GET /feeds in the API docs."),
    "not-this-feed": ProblemType("422", "A message ID acknowledged is not a message of this feed.",
                                 "Acknowledge only IDs the feed listed."),
    # The case's own refusals (casework/refusals.py RefusalCode; status by api/problems.py REFUSAL_STATUS):
    # the problem also carries ``code`` (the same word) and ``rule`` where a rule refused (issue 20).
    "case-closed": ProblemType("409", "The case is closed: it takes no more messages or completions.",
                               "Nothing to do on this case."),
    "older-release": ProblemType("409", "A case of an older release: it takes messages only as signals.",
                                 "Send the message with 'Prefer: respond-async'."),
    "task-done": ProblemType("409", "The task was completed already (by you or a colleague); ``detail`` says by whom.",
                             "Nothing to do; see the task for who completed it."),
    "no-open-task": ProblemType("409", "The case has no open task by that key.", "List the case's tasks again."),
    "case-dormant": ProblemType("422", "R40: the case is dormant (R16): nothing is open on it and nothing is decided "
                                "until the person is located.", "Send the 'person located' message when they are."),
    "task-being-completed": ProblemType("409", "Another completion of the task is being applied.",
                                        "Look at the task in a moment."),
    "not-permitted": ProblemType("403", "The case's own check of who you are refused the completion (defence in depth).",
                                 "Ask someone of the task's team."),
    "outcome-refused": ProblemType("422", "The task table refuses the outcome or its details; ``detail`` names the field.",
                                   "Correct the outcome or details and send again."),
    "details-refused": ProblemType("422", "The details are too large, or hold a character that cannot be recorded.",
                                   "Send shorter details."),
    "convictions-not-disclosable": ProblemType(
        "422", "R30/R61: the outcome needs disclosable convictions and the case has none; ``rule`` is R30.",
        "Hand in a usable ACRO certificate, then complete the task."),
    "certificate-refused": ProblemType("422", "The case cannot take the certificate; ``detail`` says why.",
                                       "Send a corrected certificate with a new event ID."),
    "invalid-delivery": ProblemType("422", "A delivery that is not one event.", "Send one event."),
    "refused": ProblemType("422", "The case refused (a release that sent no code); ``detail`` says why.",
                           "Read ``detail``."),
    "already-claimed": ProblemType("409", "Someone else holds the task.", "Ask them, or a senior caseworker, to release it."),
    "not-claimed": ProblemType("409", "Nobody holds the task, so there is nothing to release.", "Nothing to do."),
    "unknown-person": ProblemType("422", "The person to assign is not in the directory, or not in the task's team.",
                                  "Choose a member of the task's team."),
    "subject-not-recordable": ProblemType(
        "422", "Your token's subject cannot be recorded as a case's actor (2-64 letters, digits or ._@:-).",
        "Ask the issuer's administrators for a usable subject."),
    "conflicting-repeat": ProblemType(
        "409", "This event ID was sent before with different content: the first one stands.",
        "Use a new event ID for a different message."),
    "not-applied-yet": ProblemType("404", "The message sent asynchronously is not applied yet (or never arrived).",
                                   "Ask again after ``Retry-After`` seconds."),
    "referral-conflict": ProblemType("409", "A different referral with the same ACRO reference exists.",
                                     "Check the reference; the first referral stands."),
    "batch-too-large": ProblemType("413/422", "More referrals in one batch than the API takes.",
                                   "Send them in smaller batches (the limit is in ``detail``)."),
    "case-unavailable": ProblemType(
        "503", "The case did not answer in time; nothing was refused.",
        "Look at the task before sending again (it may have been completed)."),
    "temporal-unavailable": ProblemType("503", "Temporal did not answer.", "Send again after ``Retry-After`` seconds."),
    "unavailable": ProblemType("503", "A service the API needs (Temporal, the database) is not answering; nothing "
                               "was refused.", "Send again after ``Retry-After`` seconds."),
    "internal": ProblemType("500", "Something went wrong on our side; it is logged (the type of error only).",
                            "Report it with the time and the ``instance``."),
}
