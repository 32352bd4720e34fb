#!/bin/sh
# Runs the embedding example against a simulator on a free loopback port.
set -eu
sim=$1 embed=$2
out=$(mktemp)
"$sim" --port 0 --lifetime 60 >"$out" &
simpid=$!
trap 'kill $simpid 2>/dev/null; rm -f "$out"' EXIT
for _ in $(seq 100); do [ -s "$out" ] && break; sleep 0.05; done
line=$(head -n1 "$out")
field() { printf '%s' "$line" | sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
VGUEST_SERVER=$(field url) VGUEST_CA_FILE=$(field ca_file) \
VGUEST_USER=administrator@vsphere.local VGUEST_PASSWORD='VMware1!' \
VGUEST_GUEST_USER=root VGUEST_GUEST_PASSWORD=guest-secret \
  "$embed" web-01 /bin/sh "-c 'exit 7'" | tee /dev/stderr | grep -q "exited with 7"
