"""Search attributes: what operators filter cases by in the Temporal Web UI.

None of them carries personal data — search attributes are not encrypted. Stage, team,
the case owner's staff ID, what the case waits on (a task kind), the next deadline and
the overdue mark are enough to find a stuck case; its details are read in the CID.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

CASE_STAGE = SearchAttributeKey.for_keyword("CaseStage")
TEAM = SearchAttributeKey.for_keyword("Team")
CASE_OWNER = SearchAttributeKey.for_keyword("CaseOwner")
WAITING_ON = SearchAttributeKey.for_keyword("WaitingOn")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("NextDeadline")
OVERDUE = SearchAttributeKey.for_bool("Overdue")

ALL = [CASE_STAGE, TEAM, CASE_OWNER, WAITING_ON, NEXT_DEADLINE, OVERDUE]


def type_name(key: SearchAttributeKey) -> str:
    """The CLI's name for an attribute's type: Keyword, Datetime, Bool."""
    from temporalio.api.enums.v1 import IndexedValueType

    return IndexedValueType.Name(int(key.indexed_value_type)).removeprefix("INDEXED_VALUE_TYPE_").capitalize()


def dev_server_flags() -> list[str]:
    """``temporal server start-dev`` arguments that register every attribute."""
    flags: list[str] = []
    for key in ALL:
        flags += ["--search-attribute", f"{key.name}={type_name(key)}"]
    return flags


async def register(client) -> None:  # noqa: ANN001 - temporalio.client.Client
    """Register every attribute on a server (the time-skipping server needs this, or a
    workflow that upserts one retries its task forever)."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest

    request = AddSearchAttributesRequest(
        namespace=client.namespace,
        search_attributes={key.name: IndexedValueType.ValueType(key.indexed_value_type) for key in ALL},
    )
    try:
        await client.operator_service.add_search_attributes(request)
    except Exception as err:  # already registered is fine; anything else is not
        if "already" not in str(err).lower():
            raise
