#!/usr/bin/env bash
# Writes throw-away TLS certificates for the tests into DIR (openssl's command line; EC P-256):
#   ca.pem                         the test authority
#   server.pem server.key          rcpud's, for localhost, 127.0.0.1 and ::1, signed by ca.pem
#   client.pem client.key          a client's (CN alice), signed by ca.pem: mutual TLS
#   rogue-ca.pem                   another authority nobody trusts
#   rogue-server.pem rogue-server.key, rogue-client.pem rogue-client.key   signed by rogue-ca.pem
# Usage: make_test_certs.sh DIR
set -euo pipefail
dir=$1
mkdir -p "$dir"
cd "$dir"
umask 077
days=3650

authority() {  # NAME CN
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.pem" \
    -days $days -subj "/CN=$2" -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
}

leaf() {  # NAME CN AUTHORITY EXTENSIONS
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" \
    -subj "/CN=$2" 2>/dev/null
  printf '%s\n' "$4" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial -out "$1.pem" -days $days \
    -extfile "$1.ext" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

server_ext='subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
extendedKeyUsage=serverAuth'
client_ext='extendedKeyUsage=clientAuth'

authority ca "rcpu test CA"
leaf server rcpud-test ca "$server_ext"
leaf client alice ca "$client_ext"
authority rogue-ca "rogue CA"
leaf rogue-server rcpud-rogue rogue-ca "$server_ext"
leaf rogue-client mallory rogue-ca "$client_ext"
rm -f ./*.srl
