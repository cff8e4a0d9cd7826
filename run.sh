#!/usr/bin/env bash
# ./run.sh [casework up options]  - set this checkout up and start the local stack.
#
# A fresh machine needs Python 3.11 or newer, and Node.js with npm (the inbox's assets): this makes .venv if it is missing,
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
  casework_assets
}

# The web inbox's GOV.UK Frontend assets (docs/inbox.md): node_modules/ from the committed
# package-lock.json (versions and integrity hashes), installed only when the lock changed.
casework_assets() {
  local stamp=node_modules/.casework-lock.sha256 want
  want="$(sha256sum package-lock.json | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return 0
  fi
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "setup: Node.js and npm are needed for the web inbox's GOV.UK Frontend assets (package-lock.json);" \
      "install them (Debian: apt-get install nodejs npm) and run again" >&2
    exit 5
  fi
  echo "setup: installing the web inbox's assets (npm ci from package-lock.json)" >&2
  if ! npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2; then
    echo "setup: npm ci failed (see above)" >&2
    exit 5
  fi
  echo "$want" >"$stamp"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  casework_setup
  exec .venv/bin/casework up "$@"
fi
