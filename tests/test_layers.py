"""Layers that hold (issue 19, item 3): the import contracts in pyproject.toml
(``[tool.importlinter]``) are checked by import-linter on every test run, and a forbidden
import makes the check fail (shown on a copy of the tree with bad imports added)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]


def _lint(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=folder, capture_output=True, text=True, timeout=120)


def test_the_import_contracts_hold() -> None:
    done = _lint(ROOT)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    names = {contract["id"] for contract in CONTRACTS["contracts"]}
    assert {"layers", "casework-is-pure", "workflow-no-io", "no-circles"} <= names


def _copy(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    tree.mkdir()
    shutil.copy(ROOT / "pyproject.toml", tree)
    for package in CONTRACTS["root_packages"]:
        shutil.copytree(ROOT / package, tree / package, ignore=shutil.ignore_patterns("__pycache__", "results"))
    return tree


def test_a_forbidden_import_breaks_its_contract(tmp_path: Path) -> None:
    """Each kind of contract, broken once on a copy: the check fails and names it."""
    tree = _copy(tmp_path)
    assert _lint(tree).returncode == 0  # the copy is the tree: it passes as it is
    (tree / "workflows" / "reads_the_cid.py").write_text("import asyncpg\nfrom cid import db\n")
    (tree / "casework" / "knows_the_api.py").write_text("from api import app\n")
    (tree / "cid" / "knows_the_worker.py").write_text("import worker.service\n")
    (tree / "api" / "one.py").write_text("def f():\n    from api import two  # inside a function: still a circle\n")
    (tree / "api" / "two.py").write_text("from api import one\n")
    done = _lint(tree)
    assert done.returncode != 0, done.stdout
    broken = {line.split(" BROKEN")[0] for line in done.stdout.splitlines() if " BROKEN" in line}
    assert broken == {contract["name"] for contract in CONTRACTS["contracts"]}, done.stdout
    for bad in ("workflows.reads_the_cid -> asyncpg", "workflows.reads_the_cid -> cid.db",
                "casework.knows_the_api -> api.app", "cid.knows_the_worker -> worker.service"):
        assert bad in done.stdout, bad
