"""One configuration (issue 14, item 4): every environment variable the product reads is
read in casework/config.py, the one home, and listed in the README's Configuration table.

The product's modules are parsed (``ast``, not text search: a comment or a docstring that
names ``os.environ`` is not a read, and ``import os as o; o.getenv(...)`` is). A module
may still *write* a variable to hand a setting to the processes it starts
(``os.environ[config.X_ENV] = ...``, ``config.export``); reading one anywhere else fails
here, with the file, the line and how to fix it.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from casework import config
from casework.temporal import ENVCONFIG_VARIABLES

ROOT = Path(__file__).resolve().parent.parent
#: The product: every package that ships or runs against a deployment (tests/ is not).
PACKAGES = ("access", "activities", "api", "bench", "casework", "cid", "codec_server", "starter", "worker", "workflows")

#: The homes of environment reads, each with its reason.
HOMES: dict[str, str] = {
    "casework/config.py": "the home: each variable's name and the one function that reads it",
    "casework/temporal.py": "hands the environment to the SDK's environment configuration "
                            "(temporalio.envconfig reads TEMPORAL_*, as the temporal CLI does: the SDK is their home)",
}
#: Reads allowed outside the homes: (file, variable) and why.
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("cid/embedded.py", "XDG_RUNTIME_DIR"): "a setdefault for the embedded PostgreSQL (its socket folder), "
                                            "not a setting of ours",
    ("starter/output.py", "COLUMNS"): "the terminal's width, read as every terminal program reads it",
}
#: Folders that may copy the whole environment for a child process they start (and add to it).
CHILD_ENVIRONMENTS: dict[str, str] = {
    "bench/": "runs casework submit and worker probes as child processes with this process's environment",
}
#: The only module whose classes pydantic-settings fills from the environment.
PYDANTIC_SETTINGS_HOME = "access/settings.py"
#: Methods of os.environ that change it; called as a statement they read nothing.
WRITES = {"pop", "update", "clear", "__setitem__", "__delitem__"}
#: Methods of os.environ that copy the whole environment.
COPIES = {"copy", "items", "keys", "values"}


@dataclass(frozen=True)
class Read:
    path: str
    line: int
    what: str
    variable: str | None  # the variable's name, when written as a literal
    whole: bool = False  # a copy of the whole environment (dict(os.environ), os.environ.copy())

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def _literal(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def environment_reads(source: str, path: str = "<source>") -> list[Read]:
    """Every read of the process environment in ``source``."""
    tree = ast.parse(source, path)
    os_names = {"os"}
    parents: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
        if isinstance(node, ast.Import):
            os_names |= {a.asname or "os" for a in node.names if a.name == "os"}
    reads: list[Read] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("os", "posix"):
            for alias in node.names:
                if alias.name in ("environ", "environb", "getenv", "getenvb"):
                    reads.append(Read(path, node.lineno, f"from os import {alias.name}", None))
        if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in os_names):
            continue
        if node.attr in ("getenv", "getenvb"):
            call = parents.get(node)
            variable = _literal(call.args[0]) if isinstance(call, ast.Call) and call.args else None
            reads.append(Read(path, node.lineno, f"os.{node.attr}(...)", variable))
            continue
        if node.attr not in ("environ", "environb"):
            continue
        parent = parents.get(node)
        if isinstance(parent, ast.Subscript) and parent.value is node:
            if isinstance(parent.ctx, (ast.Store, ast.Del)):
                continue  # os.environ[NAME] = value / del os.environ[NAME]: a write
            reads.append(Read(path, node.lineno, "os.environ[...]", _literal(parent.slice)))
            continue
        if isinstance(parent, ast.Attribute) and parent.value is node:
            call = parents.get(parent)
            is_call = isinstance(call, ast.Call) and call.func is parent
            if is_call and parent.attr in WRITES and isinstance(parents.get(call), ast.Expr):
                continue  # os.environ.pop(NAME, None) as a statement: a write
            variable = _literal(call.args[0]) if is_call and call.args else None  # type: ignore[union-attr]
            reads.append(Read(path, node.lineno, f"os.environ.{parent.attr}(...)", variable,
                              whole=parent.attr in COPIES))
            continue
        if isinstance(parent, ast.Compare) and len(parent.comparators) == 1 and parent.comparators[0] is node:
            reads.append(Read(path, node.lineno, "... in os.environ", _literal(parent.left)))
            continue
        whole = (isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) and parent.func.id == "dict"
                 and parent.args[:1] == [node]) or isinstance(parent, ast.Dict)
        reads.append(Read(path, node.lineno, "os.environ", None, whole=whole))
    return reads


def _product_files() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def _allowed(read: Read) -> bool:
    if read.path in HOMES:
        return True
    if read.variable is not None and (read.path, read.variable) in EXCEPTIONS:
        return True
    return read.whole and any(read.path.startswith(folder) for folder in CHILD_ENVIRONMENTS)


def test_every_environment_read_is_in_its_home() -> None:
    stray = []
    for path in _product_files():
        relative = path.relative_to(ROOT).as_posix()
        stray += [read for read in environment_reads(path.read_text(), relative) if not _allowed(read)]
    assert not stray, (
        "environment read outside casework/config.py: add the variable and a function that reads it "
        "to casework/config.py and call that (a write to hand it to a child process may stay, "
        "with config's name):\n" + "\n".join(map(str, stray)))


def test_the_exceptions_are_still_needed() -> None:
    """An exception whose read has gone is taken off the list (no stale permissions)."""
    for (path, variable), reason in EXCEPTIONS.items():
        reads = environment_reads((ROOT / path).read_text(), path)
        assert any(r.variable == variable for r in reads), f"{path} no longer reads {variable}: remove its exception ({reason})"
    for path in HOMES:
        assert (ROOT / path).is_file(), path


def test_only_access_settings_is_filled_by_pydantic_settings() -> None:
    """pydantic-settings reads the environment for the classes derived from BaseSettings:
    those live in access/settings.py (CASEWORK_OIDC_*, CASEWORK_DEV_ISSUER_*), nowhere else."""
    found = []
    for path in _product_files():
        relative = path.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text(), relative)):
            if isinstance(node, ast.ClassDef) and any(
                    (isinstance(b, ast.Name) and b.id == "BaseSettings")
                    or (isinstance(b, ast.Attribute) and b.attr == "BaseSettings") for b in node.bases):
                found.append((relative, node.name))
    assert found and {path for path, _ in found} == {PYDANTIC_SETTINGS_HOME}, found


def test_command_line_options_name_variables_through_config() -> None:
    """typer reads an option's ``envvar`` itself: its name comes from casework.config, not a literal."""
    literal = []
    for path in _product_files():
        relative = path.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text(), relative)):
            if isinstance(node, ast.keyword) and node.arg == "envvar" and _literal(node.value) is not None:
                literal.append(f"{relative}:{node.value.lineno}: envvar={node.value.value!r}")  # type: ignore[attr-defined]
    assert not literal, literal


SAMPLES = [
    ("import os\nos.environ.get('X')", "X"),
    ("import os\nos.environ['X']", "X"),
    ("import os\nos.getenv('X', '')", "X"),
    ("import os as o\no.environ.get('X')", "X"),
    ("from os import environ", None),
    ("from os import getenv", None),
    ("import os\n'X' in os.environ", "X"),
    ("import os\nos.environ.setdefault('X', '1')", "X"),
    ("import os\nvalue = os.environ.pop('X', None)", "X"),
    ("import os\nf(os.environ)", None),
    ("import os\nenv = os.environ if e is None else e", None),
    ("import os\ndict(os.environ)", None),
]


@pytest.mark.parametrize(("source", "variable"), SAMPLES)
def test_the_check_finds_each_way_of_reading(source: str, variable: str | None) -> None:
    [read] = environment_reads(source)
    assert read.variable == variable
    assert not _allowed(Read("starter/x.py", read.line, read.what, read.variable, read.whole))


@pytest.mark.parametrize("source", [
    "import os\nos.environ['X'] = '1'",
    "import os\ndel os.environ['X']",
    "import os\nos.environ.pop('X', None)",
    "import os\nos.environ.update(X='1')",
    "'''os.environ.get('X') in a docstring'''\n# os.getenv('X') in a comment",
])
def test_writes_and_words_are_not_reads(source: str) -> None:
    assert environment_reads(source) == []


def test_a_child_environment_is_allowed_only_where_listed() -> None:
    [copy] = environment_reads("import os\nenv = dict(os.environ, X='1')", "bench/x.py")
    assert copy.whole and _allowed(copy)
    assert not _allowed(Read("starter/x.py", 1, copy.what, None, True))


def _readme_configuration() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    return "\n".join(line for line in section.splitlines() if line.startswith("|"))


def test_the_readme_lists_every_variable() -> None:
    """Every variable casework/config.py names, the SDK's TEMPORAL_* connection variables,
    and the prefixes pydantic-settings reads, are in the README's Configuration table."""
    table = _readme_configuration()
    listed = set(re.findall(r"`([A-Z][A-Z0-9_]*)`", table))
    names = {value for name, value in vars(config).items() if name.endswith("_ENV") and isinstance(value, str)}
    assert names, "casework/config.py names no variable?"
    missing = sorted((names | ENVCONFIG_VARIABLES) - listed)
    assert not missing, f"not in the README's Configuration table: {', '.join(missing)}"
    for prefix in ("CASEWORK_OIDC_", "CASEWORK_DEV_ISSUER_"):
        assert f"`{prefix}" in table, prefix


def test_the_apis_limits_are_read_by_name_and_refused_by_name() -> None:
    """Issue 25 item 4: CASEWORK_API_LIMITS, per minute; an unknown name or a bad count is
    refused naming the variable (casework-api exits 2 with that line before it serves)."""
    assert config.api_limits({}) == config.DEFAULT_API_LIMITS
    assert config.api_limits({"CASEWORK_API_LIMITS": "personal_data_reads=5, token_failures=9"}) == {
        **config.DEFAULT_API_LIMITS, "personal_data_reads": 5, "token_failures": 9}
    for bad in ("bogus=1", "token_failures=0", "token_failures=x", "token_failures"):
        with pytest.raises(ValueError, match="CASEWORK_API_LIMITS"):
            config.api_limits({"CASEWORK_API_LIMITS": bad})
