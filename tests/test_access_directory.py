"""The people directory a task is assigned from (access/directory.py, ``CASEWORK_DIRECTORY``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from access.directory import DirectoryRefused, load_directory
from casework import config


def test_the_directory_reads_people_with_roles_and_teams(tmp_path: Path) -> None:
    path = tmp_path / "people.toml"
    path.write_text('[users."cw.zoe"]\nroles = ["caseworker"]\nteams = ["CC EEA Team"]\n\n[users."ops.x"]\nroles = ["operator"]\n'
                    '\n[clients.ignored]\nsecret = "s"\n')
    directory = load_directory(path)
    zoe = directory.member("cw.zoe")
    assert zoe is not None and zoe.roles == {"caseworker"} and zoe.teams == {"CC EEA Team"}
    assert directory.member("ops.x").teams == frozenset() and directory.member("ignored") is None
    assert load_directory(None).member("cw.zoe") is None


@pytest.mark.parametrize("text,words", [
    ('[users."a.b"]\nroles = "caseworker"\n', "users.a.b.roles must be a list"),
    ('[users]\n"a.b" = 3\n', "users.a.b must be a table"),
    ("not toml [", "directory"),
])
def test_a_bad_directory_names_the_entry(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "people.toml"
    path.write_text(text)
    with pytest.raises(DirectoryRefused, match=words.replace(".", r"\.")):
        load_directory(path)


def test_the_directory_defaults_to_the_dev_identities_only_on_the_local_stack(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv(config.DIRECTORY_ENV, raising=False)
    directory_path = lambda: config.ApiSettings.read().directory_path  # noqa: E731
    monkeypatch.delenv("CASEWORK_STACK", raising=False)
    assert directory_path() is None
    monkeypatch.setenv("CASEWORK_STACK", "local")
    assert directory_path() == config.DEV_DIRECTORY and config.DEV_DIRECTORY.is_file()
    monkeypatch.setenv(config.DIRECTORY_ENV, str(tmp_path / "x.toml"))
    assert directory_path() == tmp_path / "x.toml"
