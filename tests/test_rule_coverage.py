"""Every rule of the process (docs/rules.md, the repository's copy of process.md) is listed in ``casework.rule_ids`` and cited by at least one test.

A test cites a rule by its ID (R04, R42, ...) in its name, docstring or a comment beside
the assertion that proves it.
"""

from __future__ import annotations

import re
from pathlib import Path


from casework.rule_ids import RULES

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
PROCESS_MD = REPO / "docs" / "rules.md"
#: "R04" alone or inside a test name ("test_..._R04_R05"); not part of a longer word or number.
RULE_ID = re.compile(r"(?<![A-Za-z0-9])R\d\d(?!\d)")
#: A rule is numbered in process.md where a bullet starts with its ID ("- R04 ...").
NUMBERED = re.compile(r"^- (R\d\d)\b", re.MULTILINE)
THIS_FILE = Path(__file__).resolve()


def cited_by_tests() -> dict[str, set[str]]:
    """Rule ID -> the test files citing it (this file, which names them all, excluded)."""
    cited: dict[str, set[str]] = {}
    for path in sorted(TESTS.rglob("*.py")):
        if path.resolve() == THIS_FILE or not path.name.startswith("test_"):
            continue
        for rule in set(RULE_ID.findall(path.read_text(encoding="utf-8"))):
            cited.setdefault(rule, set()).add(path.name)
    return cited


def test_rule_ids_are_numbered_in_order_with_titles():
    assert list(RULES) == sorted(RULES), "keep casework/rule_ids.py in process.md order"
    assert all(re.fullmatch(r"R\d\d", rule) for rule in RULES)
    assert all(title.strip() for title in RULES.values())


def test_every_rule_is_cited_by_a_test():
    cited = cited_by_tests()
    uncited = [rule for rule in RULES if rule not in cited]
    assert not uncited, f"rules no test cites: {', '.join(uncited)}"


def test_tests_cite_only_known_rules():
    unknown = sorted(set(cited_by_tests()) - set(RULES))
    assert not unknown, f"tests cite rule IDs that casework/rule_ids.py does not list: {', '.join(unknown)}"


def test_rule_ids_match_process_md():
    numbered = NUMBERED.findall(PROCESS_MD.read_text(encoding="utf-8"))
    missing = [rule for rule in numbered if rule not in RULES]
    assert not missing, f"process.md numbers rules missing from casework/rule_ids.py: {', '.join(missing)}"
    extra = [rule for rule in RULES if rule not in numbered]
    assert not extra, f"casework/rule_ids.py lists rules process.md does not number: {', '.join(extra)}"
