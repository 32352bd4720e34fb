#!/bin/sh
# Runs a program against a simulator started on a free loopback port, with
# VGUEST_SERVER, VGUEST_CA_FILE, the vCenter and the guest credentials of
# the simulator's default inventory in its environment:
#   examples/with-sim.sh build/sim/vguest-sim build/examples/embed web-01 /bin/true
set -eu
if [ $# -lt 2 ]; then
  echo "usage: $0 VGUEST_SIM PROGRAM [ARGUMENTS...]" >&2
  exit 2
fi
sim=$1
shift
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
  "$@"
