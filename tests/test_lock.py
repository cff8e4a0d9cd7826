"""The lock files (scripts/lock; docs/design.md, "A lock file") are current and installed.

A branch that adds a dependency to pyproject.toml without re-running scripts/lock fails
here, and so does a venv that was not installed from requirements-test.lock.
"""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def pins(lock: str) -> dict[str, str]:
    """Package -> the version locked for this interpreter and platform (a universal lock
    may pin one package differently per Python version, under environment markers)."""
    text = (ROOT / lock).read_text()
    lines = [line.rstrip(" \\") for line in text.splitlines() if line and not line[0].isspace() and line[0] != "#"]
    found: dict[str, str] = {}
    for line in lines:
        req = Requirement(line)
        (spec,) = req.specifier
        assert spec.operator == "==", f"{lock}: {line} does not pin one version"
        if req.marker is None or req.marker.evaluate():
            assert canonicalize_name(req.name) not in found, f"{lock}: {req.name} pinned twice here"
            found[canonicalize_name(req.name)] = spec.version
    assert found and text.count("--hash=sha256:") >= len(lines), f"{lock}: every pin carries its hashes"
    return found


def test_every_dependency_of_pyproject_is_locked():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {
        "requirements.lock": project["dependencies"],
        "requirements-test.lock": project["dependencies"] + project["optional-dependencies"]["test"],
        "requirements-bench.lock": project["dependencies"] + project["optional-dependencies"]["bench"],
    }
    for lock, requirements in wanted.items():
        locked = pins(lock)
        for line in requirements:
            req = Requirement(line)
            name = canonicalize_name(req.name)
            assert name in locked, f"{req.name} is in pyproject.toml but not in {lock}: run scripts/lock"
            assert req.specifier.contains(locked[name], prereleases=True), (
                f"{lock} pins {req.name}=={locked[name]}, outside pyproject.toml's {req.specifier}: run scripts/lock")


def test_the_product_pins_agree_across_the_lock_files():
    product = pins("requirements.lock")
    for lock in ("requirements-test.lock", "requirements-bench.lock"):
        other = pins(lock)
        assert {name: other.get(name) for name in product} == product, lock


def test_this_venv_has_exactly_the_locked_versions():
    """./test.sh installed from requirements-test.lock (and reinstalls when it changes)."""
    wrong = {}
    for name, version in pins("requirements-test.lock").items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue  # a package for another platform or Python (environment markers)
        if installed != version:
            wrong[name] = (installed, version)
    assert not wrong, f"installed vs locked: {wrong}"
