#!/bin/sh
# One version (issue 11, item 5): CMakeLists.txt's project() VERSION, given
# here as VERSION, must be the one every other place says:
#   VG_VERSION in runtime/include/vguest/vguest.h, `vguest --version` and
#   vg.version (core.version, from VG_VERSION; init.lua keeps no copy),
#   vguest.pc (as cmake --install writes it), the
#   rockspec's file name and version, debian/changelog's latest entry,
#   the Ansible collection's galaxy.yml and CHANGELOG.md's latest release.
#
#   spec/install/version.sh VERSION SOURCE_DIR BUILD_DIR VGUEST
set -eu
v=$1
src=$2
build=$3
vguest=$4
fail=0
same() { # same WHAT VALUE
  if [ "$2" = "$v" ]; then echo "ok - $1: $2"; else echo "not ok - $1 says '$2', project() says $v"; fail=1; fi
}
same "VG_VERSION in vguest.h" \
  "$(sed -n 's/^#define VG_VERSION "\(.*\)"$/\1/p' "$src/runtime/include/vguest/vguest.h")"
same "vguest --version" "$("$vguest" --version | sed -n 's/^vguest //p')"
same "vg.version" "$("$vguest" -e 'io.write(require("vguest").version)')"
# vg.version is core.version only: no second copy in lua/vguest/init.lua
if grep -q '^vg\.version = core\.version\( --.*\)\{0,1\}$' "$src/lua/vguest/init.lua"; then
  echo "ok - lua/vguest/init.lua takes vg.version from core.version alone"
else
  echo "not ok - lua/vguest/init.lua's vg.version is not core.version alone"; fail=1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake -DCMAKE_INSTALL_PREFIX="$tmp" -P "$build/runtime/install-pc.cmake"
same "vguest.pc" "$(sed -n 's/^Version: //p' "$build/runtime/vguest.pc")"
n=$(ls "$src"/rockspecs/*.rockspec | wc -l)
[ "$n" -eq 1 ] && echo "ok - one rockspec" || { echo "not ok - $n rockspecs in rockspecs/ (want one)"; fail=1; }
r=$(ls "$src"/rockspecs/*.rockspec | head -n1)
same "the rockspec's file name" "$(basename "$r" | sed -n 's/^vguest-\(.*\)-[0-9]*\.rockspec$/\1/p')"
same "the rockspec's version" "$(sed -n 's/^version = "\(.*\)-[0-9]*"$/\1/p' "$r")"
same "debian/changelog" "$(sed -n '1s/^vguest (\([^-)]*\)\(-[^)]*\)\{0,1\}).*/\1/p' "$src/debian/changelog")"
same "galaxy.yml" \
  "$(sed -n 's/^version: *//p' "$src/ansible/ansible_collections/vguest/fleet/galaxy.yml")"
same "CHANGELOG.md's latest release" \
  "$(sed -n 's/^## \[\([0-9][^]]*\)\].*/\1/p' "$src/CHANGELOG.md" | head -n1)"
exit "$fail"
