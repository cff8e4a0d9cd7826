#!/usr/bin/env bash
# ./test.sh [pytest options]  - set this checkout up (as run.sh does) and run the tests.
#
# With DATABASE_URL set the tests use that PostgreSQL; otherwise an embedded one in a
# temporary folder. Temporal servers come from the venv's binaries; nothing is downloaded.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/run.sh"
casework_setup
exec .venv/bin/python -m pytest "$@"
