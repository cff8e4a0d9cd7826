"""One configuration (issue 19, item 4): the settings models in casework/config.py are the
only readers of our environment variables, docs/configuration.md is generated from them,
and nothing reads a setting at import time.

The product's modules are parsed (``ast``, not text search: a comment or a docstring that
names ``os.environ`` is not a read, and ``import os as o; o.getenv(...)`` is). A module
may still *write* a variable to hand a setting to the processes it starts
(``config.export``); reading one anywhere else fails here, with the file, the line and
how to fix it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from casework import config

ROOT = Path(__file__).resolve().parent.parent
#: The product: every package that ships or runs against a deployment (tests/ is not).
PACKAGES = ("access", "activities", "api", "bench", "casework", "cid", "codec_server", "starter", "worker", "workflows")

#: The modules that may read the environment themselves, each with its reason (every other
#: setting is a field of a model in casework/config.py, which pydantic-settings fills).
HOMES: dict[str, str] = {
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
PYDANTIC_SETTINGS_HOME = "casework/config.py"
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
        "environment read outside casework/config.py's models: add a field for the variable to the "
        "model of the program that reads it and read that model (a write to hand it to a child "
        "process may stay, with the model's name for it):\n" + "\n".join(map(str, stray)))


def test_the_exceptions_are_still_needed() -> None:
    """An exception whose read has gone is taken off the list (no stale permissions)."""
    for (path, variable), reason in EXCEPTIONS.items():
        reads = environment_reads((ROOT / path).read_text(), path)
        assert any(r.variable == variable for r in reads), f"{path} no longer reads {variable}: remove its exception ({reason})"
    for path in HOMES:
        assert (ROOT / path).is_file(), path


def test_only_the_configuration_models_are_filled_by_pydantic_settings() -> None:
    """pydantic-settings reads the environment for the classes derived from BaseSettings:
    one, ``config.Settings``, the base of every model, in casework/config.py."""
    found = []
    for path in _product_files():
        relative = path.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text(), relative)):
            if isinstance(node, ast.ClassDef) and any(
                    (isinstance(b, ast.Name) and b.id == "BaseSettings")
                    or (isinstance(b, ast.Attribute) and b.attr == "BaseSettings") for b in node.bases):
                found.append((relative, node.name))
    assert found == [(PYDANTIC_SETTINGS_HOME, "Settings")], found
    assert set(config.MODELS) == {m for m in vars(config).values()
                                  if isinstance(m, type) and issubclass(m, config.Settings) and m is not config.Settings}, (
        "a model missing from config.MODELS is missing from docs/configuration.md")


def test_command_line_options_name_variables_through_config() -> None:
    """typer reads an option's ``envvar`` itself: its name comes from a model, not a literal."""
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


def test_the_configuration_doc_is_generated_from_the_models() -> None:
    """docs/configuration.md's tables are the models' fields, as scripts/config_table.py
    writes them: a field added, renamed or redocumented without rerunning it fails here."""
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "config_table.py"), "--check"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    text = (ROOT / "docs" / "configuration.md").read_text()
    for variable in config.variables():
        assert f"| `{variable.name}` |" in text, variable.name
    assert all(variable.description for variable in config.variables()), "every setting says what it sets"


def test_a_variable_is_read_by_one_model() -> None:
    """Two models reading one variable would be two homes for one setting (a subclass
    shares its parent's field: that is one)."""
    owners: dict[str, set[type]] = {}
    for model in config.MODELS:
        for field in model.model_fields:
            origin = next(m for m in reversed(model.__mro__) if field in getattr(m, "__annotations__", {}))
            owners.setdefault(model.variable(field), set()).add(origin)
    shared = {name: sorted(m.__name__ for m in models) for name, models in owners.items() if len(models) > 1}
    assert shared == {"CASEWORK_OIDC_ISSUER": ["AccessSettings", "CliSettings"]}, shared


#: Imports every product module with a read of any settings model turned into a failure:
#: a module that reads a setting when imported (worker/service.py did: its shutdown grace)
#: would fix a value before a test or ``casework up`` could set it.
IMPORT_PROBE = r"""
import importlib, pkgutil, sys
from casework import config

def refuse(*args, **kwargs):
    raise RuntimeError("a setting read at import time")

config.Settings.read = classmethod(refuse)
config.Settings.__init__ = refuse
failed = []
for package in sys.argv[1:]:
    for info in pkgutil.walk_packages([package], prefix=package + "."):
        if info.name.endswith("__main__"):
            continue  # runs the program
        try:
            importlib.import_module(info.name)
        except ModuleNotFoundError as err:
            if err.name and err.name.split(".")[0] in sys.argv[1:]:
                failed.append(f"{info.name}: {err}")
        except Exception as err:
            failed.append(f"{info.name}: {type(err).__name__}: {err}")
print("\n".join(failed))
"""


def test_no_setting_is_read_at_import_time() -> None:
    done = subprocess.run([sys.executable, "-c", IMPORT_PROBE, *PACKAGES], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "", done.stdout


def test_a_bad_value_is_one_line_naming_the_variable() -> None:
    with pytest.raises(config.SettingsError) as refused:
        config.WorkerSettings.read({"CASEWORK_SHUTDOWN_GRACE_SECONDS": "soon"})
    assert str(refused.value).startswith("CASEWORK_SHUTDOWN_GRACE_SECONDS: ") and "'soon'" in str(refused.value)
    assert "\n" not in str(refused.value)
    with pytest.raises(config.SettingsError, match="CASEWORK_API_ADDRESS: must be host:port"):
        config.ApiSettings.read({"CASEWORK_API_ADDRESS": "8080"})
    assert config.ApiSettings.read({"CASEWORK_API_ADDRESS": "[::1]:80"}).host_port == ("::1", 80)


def test_empty_is_unset_except_where_empty_means_none() -> None:
    assert config.WorkerSettings.read({"CASEWORK_MAX_CACHED_WORKFLOWS": ""}).max_cached_workflows == 1000
    endpoints = config.WorkerEndpointSettings.read({"CASEWORK_METRICS_ADDRESS": ""})
    assert endpoints.metrics is None and endpoints.health == "0.0.0.0:8000"


def test_the_cli_refuses_a_bad_setting_in_one_line(tmp_path) -> None:
    """A setting the CLI reads with a bad value: exit 2 (bad input), one line naming the
    variable, no traceback - before anything is sent."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEWORK_")}
    env.update(CASEWORK_TOKEN="not-a-real-token", CASEWORK_API_TIMEOUT_SECONDS="soon",
               CASEWORK_DATA_DIR=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path))
    done = subprocess.run([str(Path(sys.executable).parent / "casework"), "whoami"], env=env, capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("casework: CASEWORK_API_TIMEOUT_SECONDS: ") and done.stderr.count("\n") == 1, done.stderr


def test_the_apis_limits_are_settings_refused_by_name() -> None:
    """Issue 25 item 4: the API's limits per minute are ApiSettings; a bad count is refused
    naming its variable (casework-api exits 2 with that line before it serves)."""
    settings = config.ApiSettings.read({"CASEWORK_API_PERSONAL_DATA_READS_PER_MINUTE": "5"})
    assert (settings.personal_data_reads_per_minute, settings.token_failures_per_minute) == (5, 60)
    for bad in ("0", "x", "-3"):
        with pytest.raises(config.SettingsError, match="CASEWORK_API_TOKEN_FAILURES_PER_MINUTE"):
            config.ApiSettings.read({"CASEWORK_API_TOKEN_FAILURES_PER_MINUTE": bad})
