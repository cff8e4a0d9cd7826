#!/bin/sh
# One-shot job once the server is healthy: the namespace and our search attributes
# (none of which carries personal data: see casework/search.py).
set -eu
ADDR="--address ${TEMPORAL_ADDRESS}"
# mTLS (docker-compose.yml): the admin client certificate, given as flags every CLI version reads.
if [ -n "${TEMPORAL_TLS_CLIENT_CERT_PATH:-}" ]; then
  ADDR="$ADDR --tls-cert-path ${TEMPORAL_TLS_CLIENT_CERT_PATH} --tls-key-path ${TEMPORAL_TLS_CLIENT_KEY_PATH}"
  ADDR="$ADDR --tls-ca-path ${TEMPORAL_TLS_SERVER_CA_CERT_PATH} --tls-server-name ${TEMPORAL_TLS_SERVER_NAME}"
fi
temporal operator namespace describe $ADDR --namespace "${NAMESPACE}" >/dev/null 2>&1 \
  || temporal operator namespace create $ADDR --namespace "${NAMESPACE}" --retention 30d
for attr in CaseStage:Keyword Team:Keyword CaseOwner:Keyword WaitingOn:Keyword NextDeadline:Datetime Overdue:Bool; do
  temporal operator search-attribute create $ADDR --namespace "${NAMESPACE}" \
    --name "${attr%%:*}" --type "${attr##*:}" 2>/dev/null || true
done
temporal operator search-attribute list $ADDR --namespace "${NAMESPACE}"
