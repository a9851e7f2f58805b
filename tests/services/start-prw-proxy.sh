#!/usr/bin/env bash
# Start the test remote-write proxy (prw-proxy.py beside this script) in front of a
# remote-write receiver, e.g. the Prometheus of start-prometheus.sh.  It verifies AWS SigV4
# signatures with botocore (PyPI `botocore`, comes with boto3) and/or terminates TLS with a
# maximum protocol version, then forwards what passes.
#   usage: start-prw-proxy.sh STATE_DIR [PORT|auto]           (default 19091)
# Needs:    PRW_PROXY_UPSTREAM=http://127.0.0.1:PORT/api/v1/write
# SigV4:    PRW_PROXY_SIGV4_REGION, PRW_PROXY_SIGV4_ACCESS_KEY, PRW_PROXY_SIGV4_SECRET_KEY
#           (all three, or none: no checking); PRW_PROXY_SIGV4_SESSION_TOKEN (then required
#           on every request); PRW_PROXY_SIGV4_SERVICE (default aps)
# TLS:      PRW_PROXY_TLS=1 serves HTTPS with a self-signed certificate for 127.0.0.1 and
#           localhost (made with the openssl CLI, kept in STATE_DIR);
#           PRW_PROXY_TLS_MAX_VERSION=1.2 makes it a TLS 1.2-only server
# Optional: PRW_PROXY_PYTHON=/path/python3 (an interpreter that has botocore)
# Prints PRW_PROXY_URL (…/api/v1/write), PRW_PROXY_PORT, PRW_PROXY_STATS_URL (GET: JSON
# counts of accepted and rejected requests, the reasons, failed TLS handshakes) and, with TLS,
# PRW_PROXY_CA_FILE (the certificate to trust).
SVC_NAME=prw-proxy
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_cmd curl
PY="${PRW_PROXY_PYTHON:-python3}"
need_cmd "$PY"
[ -n "${PRW_PROXY_UPSTREAM:-}" ] || die "set PRW_PROXY_UPSTREAM to the receiver's remote-write URL"
if [ -n "${PRW_PROXY_SIGV4_REGION:-}${PRW_PROXY_SIGV4_ACCESS_KEY:-}${PRW_PROXY_SIGV4_SECRET_KEY:-}" ]; then
  "$PY" -c 'import botocore.auth' 2>/dev/null \
    || die "botocore not found for $PY: pip install boto3 (or set PRW_PROXY_PYTHON)"
fi
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

init_state_dir "${1:-}"
PORT="$(resolve_port "${2:-${PRW_PROXY_PORT:-}}" 19091)"
export PRW_PROXY_PORT="$PORT"

SCHEME=http
CURL_TLS=()
if [ "${PRW_PROXY_TLS:-}" = 1 ]; then
  NEED_HINT="apt-get install openssl" need_cmd openssl
  CERT="$STATE_DIR/prw-proxy-cert.pem"
  KEY="$STATE_DIR/prw-proxy-key.pem"
  if [ ! -s "$CERT" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
      -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
      -addext "basicConstraints=critical,CA:FALSE" \
      -keyout "$KEY" -out "$CERT" >/dev/null 2>&1 || die "openssl could not make a test certificate"
  fi
  export PRW_PROXY_TLS_CERT="$CERT" PRW_PROXY_TLS_KEY="$KEY"
  SCHEME=https
  CURL_TLS=(--cacert "$CERT")
fi

start_bg "$PY" -u "$HERE/prw-proxy.py"
URL="$SCHEME://127.0.0.1:$PORT"
ready() { curl -fsS -o /dev/null --max-time 2 "${CURL_TLS[@]}" "$URL/ready"; }
wait_ready ready
vars=("PRW_PROXY_URL=$URL/api/v1/write" "PRW_PROXY_PORT=$PORT" "PRW_PROXY_STATS_URL=$URL/stats")
[ "$SCHEME" = https ] && vars+=("PRW_PROXY_CA_FILE=$CERT")
emit "${vars[@]}"
