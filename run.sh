#!/usr/bin/env bash
# ./run.sh [casework up options]  - set this checkout up and start the local stack.
#
# A fresh machine needs only Python 3.11 or newer: this makes .venv if it is missing,
# installs the locked dependencies and the project into it when it is new or the lock file
# (requirements-test.lock) has changed, then runs
# `casework up` (Temporal dev server + Web UI, case database, worker, example referrals).
# test.sh sources this file for the same setup.
set -euo pipefail

casework_find_python() {
  local candidate
  for candidate in python3.11 python3 python3.12 python3.13; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

casework_setup() {
  cd "$(dirname "${BASH_SOURCE[0]}")"
  if [[ -x .venv/bin/python ]] && ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "setup: .venv has a Python older than 3.11 (or a broken one); remove .venv and run again" >&2
    exit 5
  fi
  if [[ ! -x .venv/bin/python ]]; then
    local python
    if ! python="$(casework_find_python)"; then
      echo "setup: Python 3.11 or newer is needed (python3.11 or python3 on PATH)" >&2
      exit 5
    fi
    echo "setup: creating .venv with $("$python" --version 2>&1)" >&2
    "$python" -m venv .venv
  fi
  # Install only when the venv is new or the lock file (or pyproject.toml: entry points,
  # packages) changed since the last install. Everything comes from requirements-test.lock,
  # pinned and hashed (scripts/lock writes it), so this machine gets what CI tested; the
  # project itself is then installed without resolving anything (--no-deps) and built with
  # the locked setuptools (--no-build-isolation).
  local stamp=.venv/.casework-lock.sha256 want
  want="$(cat requirements-test.lock pyproject.toml | sha256sum | cut -d' ' -f1)"
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    echo "setup: installing the locked dependencies (requirements-test.lock) and the project into .venv" >&2
    local pip=(.venv/bin/python -m pip install -qq --disable-pip-version-check --progress-bar off)
    if ! "${pip[@]}" --require-hashes --no-deps -r requirements-test.lock ||
       ! "${pip[@]}" --no-deps --no-build-isolation -e .; then
      echo "setup: pip install failed (see above)" >&2
      exit 5
    fi
    echo "$want" >"$stamp"
  fi
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  casework_setup
  exec .venv/bin/casework up "$@"
fi
