#!/bin/sh
# Makes the test MOK certificate `gpu-server.der` committed next to this
# script: a self-signed X.509 certificate in DER form, public part only.
# The private key is thrown away; a real build passes its own key as the
# build secret `akmods-key` and ships its own certificate. Run once:
#   sh keys/make-test-cert.sh
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
openssl req -x509 -new -nodes -newkey rsa:2048 -sha256 -days 36500 \
  -subj "/CN=aidc test module signing key (not for production)/" \
  -addext "extendedKeyUsage=codeSigning" \
  -keyout "$tmp/key.pem" -outform DER -out gpu-server.der
