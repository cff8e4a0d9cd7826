#!/bin/sh
# Make the secrets docker-compose.yml expects, once (docs/operations.md):
#   deploy/secrets/codec-keys.json  the payload key, made by `casework codec-key`
#   deploy/secrets/cid-postgres-password          the CID server's bootstrap superuser
#   deploy/secrets/cid-{owner,worker,api}.pgpass  one login each (PGPASSFILE format:
#       cid-postgresql:5432:cid:casework_<login>:<random password>; deploy/cid-init.sh)
#   deploy/secrets/tls/  the compose cluster's CA and mTLS certificates (deploy/make_certs.py)
# An existing file is kept: a new key would leave every sealed history unreadable.
# CASEWORK and PYTHON name the commands to use (default: casework and python3 on PATH).
set -eu
cd "$(dirname "$0")"
CASEWORK=${CASEWORK:-casework}
PYTHON=${PYTHON:-python3}
umask 077
mkdir -p secrets
if [ ! -s secrets/codec-keys.json ]; then
  key="$("$CASEWORK" codec-key --id "${KEY_ID:-k1}")"
  # ID:BASE64 (the CASEWORK_CODEC_KEYS form) -> the key file form {"keys": [{"id", "key"}]}.
  printf '%s' "$key" | "$PYTHON" -c 'import json, sys
key_id, key = sys.stdin.read().strip().split(":", 1)
print(json.dumps({"keys": [{"id": key_id, "key": key}]}))' > secrets/codec-keys.json.new
  mv secrets/codec-keys.json.new secrets/codec-keys.json
  echo "made deploy/secrets/codec-keys.json (key ${KEY_ID:-k1})"
fi
if [ ! -s secrets/cid-postgres-password ]; then
  "$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(32))' > secrets/cid-postgres-password
  echo "made deploy/secrets/cid-postgres-password"
fi
for login in owner worker api; do
  if [ ! -s "secrets/cid-$login.pgpass" ]; then
    "$PYTHON" -c 'import secrets, sys; print(f"cid-postgresql:5432:cid:casework_{sys.argv[1]}:{secrets.token_urlsafe(32)}")' \
      "$login" > "secrets/cid-$login.pgpass"
    echo "made deploy/secrets/cid-$login.pgpass"
  fi
done
"$PYTHON" "$(pwd)/make_certs.py" secrets/tls
