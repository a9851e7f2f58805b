#!/usr/bin/env bash
# Make a throwaway PKI for TLS tests with the openssl CLI: a CA, a server certificate and a
# client certificate, both signed by that CA.  Nothing is kept outside DIR.
#   usage: make-test-pki.sh DIR [SERVER_NAMES]
#     SERVER_NAMES: the server certificate's subjectAltName (default DNS:localhost,IP:127.0.0.1);
#                   give other names to make a certificate that does not match the host dialled
# Writes DIR/ca.pem (the certificate to trust), DIR/ca.key, DIR/server.pem, DIR/server.key,
# DIR/client.pem, DIR/client.key (client CN "loadrun-test-client"; keys unencrypted, PKCS#8,
# mode 600).  Prints TLS_CA_FILE, TLS_SERVER_CERT, TLS_SERVER_KEY, TLS_CLIENT_CERT,
# TLS_CLIENT_KEY as KEY=VALUE lines.  Each run makes a new CA: two DIRs never trust each other.
set -euo pipefail
DIR="${1:?usage: make-test-pki.sh DIR [SERVER_NAMES]}"
NAMES="${2:-DNS:localhost,IP:127.0.0.1}"
command -v openssl >/dev/null 2>&1 \
  || { echo "make-test-pki: 'openssl' not found in PATH (apt-get install openssl)" >&2; exit 1; }
mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"
umask 077
ossl() {
  local out
  out="$(openssl "$@" 2>&1)" || { echo "make-test-pki: openssl $1 failed: $out" >&2; exit 1; }
}
# A CA with a name of its own, so a certificate of another run's CA names a different issuer.
ID="$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=loadrun test CA $ID" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout "$DIR/ca.key" -out "$DIR/ca.pem"
leaf() { # NAME CN EXT...
  local name="$1" cn="$2"; shift 2
  ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$cn" \
    -keyout "$DIR/$name.key" -out "$DIR/$name.csr"
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "$@" >"$DIR/$name.ext"
  ossl x509 -req -in "$DIR/$name.csr" -CA "$DIR/ca.pem" -CAkey "$DIR/ca.key" -CAcreateserial \
    -days 2 -sha256 -extfile "$DIR/$name.ext" -out "$DIR/$name.pem"
  rm -f "$DIR/$name.csr" "$DIR/$name.ext"
}
FIRST="${NAMES%%,*}"
leaf server "${FIRST#*:}" "subjectAltName=$NAMES" "keyUsage=critical,digitalSignature" \
  "extendedKeyUsage=serverAuth"
leaf client loadrun-test-client "keyUsage=critical,digitalSignature" "extendedKeyUsage=clientAuth"
rm -f "$DIR/ca.srl"
chmod 644 "$DIR/ca.pem" "$DIR/server.pem" "$DIR/client.pem"
printf '%s\n' "TLS_CA_FILE=$DIR/ca.pem" "TLS_SERVER_CERT=$DIR/server.pem" \
  "TLS_SERVER_KEY=$DIR/server.key" "TLS_CLIENT_CERT=$DIR/client.pem" "TLS_CLIENT_KEY=$DIR/client.key"
