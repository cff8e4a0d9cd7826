"""Issue 20: refusals are typed end to end. Every code of the closed list has one HTTP
status and one exit status; a reworded refusal keeps both; nothing decides by a sentence."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from api.problem_types import PROBLEM_TYPES
from api.problems import REFUSAL_STATUS, Problem
from casework.refusals import Refusal, RefusalCode, error, of_error
from starter.api_client import Answer, error_for
from starter.exits import EXIT_OF, Exit

ROOT = Path(__file__).resolve().parent.parent
DOCS_API = ROOT / "docs" / "api.md"


def test_every_code_has_one_http_status_and_one_exit_status() -> None:
    assert set(REFUSAL_STATUS) == set(RefusalCode)
    assert set(EXIT_OF) == set(RefusalCode)
    # The API's page of problem types explains each code under its status (api/problem_types.py).
    assert {code: PROBLEM_TYPES[code.value].status for code in RefusalCode} == {c: str(s) for c, s in REFUSAL_STATUS.items()}
    documented = dict(re.findall(r"^\| `([a-z-]+)` \| (\d{3}) \| \d \|", DOCS_API.read_text(), re.MULTILINE))
    assert {RefusalCode(c): int(s) for c, s in documented.items()} == REFUSAL_STATUS  # docs/api.md "Refusals"


@pytest.mark.parametrize("code", list(RefusalCode))
def test_a_reworded_refusal_keeps_its_status_and_exit(code: RefusalCode) -> None:
    """The sentence changes, the code does not: the status and exit status stay."""
    for words in ("case X is closed", "R30/R61: refused – reworded entirely", "anything at all"):
        raised = error(Refusal(code, words))
        read = of_error(raised)
        assert read is not None and read.code is code and read.message == words
        problem = Problem.refused(read)
        assert problem.status == REFUSAL_STATUS[code]
        assert problem.document.code is code and problem.document.type.endswith(code.value)
        body = problem.document.model_dump(mode="json", exclude_none=True)
        assert error_for(Answer(problem.status, body, {})).code is EXIT_OF[code]


def test_the_rule_travels_as_a_field_R30() -> None:
    """R30: the rule is the code's (or the refusal's), never read out of the sentence."""
    read = of_error(error(Refusal(RefusalCode.CONVICTIONS_NOT_DISCLOSABLE, "no rule named in these words")))
    assert read is not None and read.rule == "R30"
    assert Problem.refused(read).document.rule == "R30"
    assert of_error(error(Refusal(RefusalCode.OUTCOME_REFUSED, "x", rule="R46"))).rule == "R46"  # type: ignore[union-attr]


def test_a_closed_case_is_one_status_everywhere() -> None:
    assert REFUSAL_STATUS[RefusalCode.CASE_CLOSED] == 409
    assert EXIT_OF[RefusalCode.CASE_CLOSED] is Exit.REFUSED


def _text_matches(tree: ast.AST) -> list[int]:
    """Lines comparing words against a refusal's text: ``"x" in str(err)``, ``... in
    cause.message``, ``receipt.detail == ...`` (an ``RPCError``'s message is Temporal's, not ours)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn, ast.Eq)) for op in node.ops):
            for side in [node.left, *node.comparators]:
                text = ast.unparse(side)
                if re.fullmatch(r"str\((err|exc|error|cause)\)(\.lower\(\))?|cause\.message|"
                                r"(receipt|refusal)\.detail|text", text):
                    found.append(node.lineno)
    return found


def test_no_product_code_decides_by_a_refusal_sentence() -> None:
    assert _text_matches(ast.parse('if "already" in str(err): pass')) == [1]
    product = [p for folder in ("api", "starter", "workflows", "casework", "cid", "activities", "worker")
               for p in sorted((ROOT / folder).rglob("*.py"))]
    # casework/search.py reads the Temporal server's own reply to registering an attribute, not a refusal of ours.
    # KNOWN, not yet fixed: api/inbox/task_forms.py (from the inbox branch) finds the form field to focus by
    # reading the refusal's words; its status does not depend on them. It goes when Refusal carries the field.
    known = {"api/inbox/task_forms.py": [190, 190]}
    wrong = {str(p.relative_to(ROOT)): lines for p in product if p.name != "search.py"
             if (lines := _text_matches(ast.parse(p.read_text())))}
    assert {k: v for k, v in wrong.items() if k in known} == known  # the exception is still there, and no more
    wrong = {k: v for k, v in wrong.items() if k not in known}
    assert not wrong, f"decided by reading a sentence: {wrong}"
