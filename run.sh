#!/usr/bin/env bash
# ./run.sh [casework up options]  - set this checkout up and start the local stack.
#
# A fresh machine needs only Python 3.11 or newer: this makes .venv if it is missing,
# installs the project into it when it is new or pyproject.toml has changed, then runs
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
  # Install only when the venv is new or pyproject.toml changed since the last install.
  local stamp=.venv/.casework-pyproject.sha256 want
  want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    echo "setup: installing the project and its dependencies into .venv" >&2
    if ! .venv/bin/python -m pip install -qq --disable-pip-version-check --progress-bar off -e '.[test]'; then
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
