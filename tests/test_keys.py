"""Each string key written by one layer and read by another is defined once, in
``casework/keys.py``: no product code holds a second literal of any of them."""

from __future__ import annotations

import ast
from pathlib import Path

from casework import keys

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("casework", "cid", "workflows", "activities", "worker", "starter", "codec_server", "bench", "access")
KEYS = {
    keys.WORKFLOW_TYPE: "WORKFLOW_TYPE", keys.WORKFLOW_ID_PREFIX: "WORKFLOW_ID_PREFIX",
    keys.CERTIFICATE_RECEIVED: "CERTIFICATE_RECEIVED", keys.STAGE1_NOTICE: "STAGE1_NOTICE",
    keys.RESPOND_BY: "RESPOND_BY", keys.DIRECTOR: "DIRECTOR",
    # Recipients the workflow addresses and the access policy gives readers ("subject" and
    # "NBTC" are also other words: a field name, a team).
    **{r.value: f"Recipient.{r.name}" for r in keys.Recipient
       if r not in (keys.Recipient.SUBJECT, keys.Recipient.NBTC, keys.Recipient.DIRECTOR)},
}
EVENT_KEY_PREFIX = keys.legacy_event_key("")


def literals(path: Path) -> list[tuple[int, str]]:
    """Where a key appears as a string constant: whole, quoted inside SQL, or as the start
    of an f-string (the event key)."""
    found = []
    tree = ast.parse(path.read_text(), str(path))
    in_fstrings = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values}
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant) \
                and str(node.values[0].value).endswith(EVENT_KEY_PREFIX):
            found.append((node.lineno, "event_key"))
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) or id(node) in in_fstrings:
            continue
        for key, name in KEYS.items():
            if node.value == key or f"'{key}'" in node.value or f'"{key}"' in node.value:
                found.append((node.lineno, name))
        if node.value == EVENT_KEY_PREFIX or f"'{EVENT_KEY_PREFIX}" in node.value:
            found.append((node.lineno, "event_key"))
    return found


def test_each_shared_key_has_one_literal_in_product_code():
    seen: dict[str, list[str]] = {}
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            for line, name in literals(path):
                seen.setdefault(name, []).append(f"{path.relative_to(ROOT)}:{line}")
    home = "casework/keys.py"
    assert set(seen) == {*KEYS.values(), "event_key"}, seen
    repeated = {name: where for name, where in seen.items() if len(where) != 1 or not where[0].startswith(home)}
    assert not repeated, f"import these from casework.keys instead of repeating them: {repeated}"


def test_the_cid_read_side_never_imports_the_command_line():
    for path in (ROOT / "cid").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n == "starter" or n.startswith("starter.") for n in names), f"{path}: imports {names}"
