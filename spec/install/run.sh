#!/bin/sh
# The install spec (issue 11, item 1): `cmake --install` into a temporary
# prefix P, then everything a new user does, from a directory outside the
# source tree and with none of the build's variables (no LUA_PATH,
# LUA_CPATH, VGUEST_SIM, VGUEST_SIM_INVENTORY, VGUEST_LUA_PATH):
#   1. P/bin/vguest run --sim on a copy of examples/quickstart.lua and
#      fanout.lua (the installed vguest-sim and its installed inventory);
#   2. `require "vguest"` from stock lua5.4 with only P's standard paths
#      (and the system's: require "cjson" still works), a command run;
#   3. the man page (man -l, and man -w with MANPATH=P/share/man), the
#      bash completion (sourced, completing `vguest ex`), __complete;
#   4. examples/embed.c built with `pkg-config --cflags --libs vguest` and
#      with a CMake project's find_package(vguest) (vguest::vguest and
#      vguest::vguest_static), each run against the installed simulator;
#   5. the installed vguest and vguest-sim read P's inventory (a VM
#      renamed there is the one they see), not the source tree's;
#   6. ansible-doc finds vguest.fleet.vguest_exec in P (when installed).
#
#   spec/install/run.sh BUILD_DIR SOURCE_DIR [CC]
set -eu
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
cc=${3:-cc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vguest-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
P=$tmp/prefix
fail=0
ok() { echo "ok - $1"; }
no() { echo "not ok - $1"; fail=1; }
check() { # check NAME COMMAND...: runs it, its output in $tmp/out
  name=$1
  shift
  if "$@" >"$tmp/out" 2>&1; then ok "$name"; else no "$name"; sed 's/^/#   /' "$tmp/out"; fi
}
expect() { # expect NAME PATTERN: the last check's output matches
  if grep -q -- "$2" "$tmp/out"; then ok "$1"; else no "$1 (no '$2')"; sed 's/^/#   /' "$tmp/out"; fi
}

check "cmake --install --prefix P" cmake --install "$build" --prefix "$P"
for f in bin/vguest bin/vguest-sim include/vguest/vguest.h share/vguest/inventory.json \
  share/lua/5.4/vguest/init.lua lib/lua/5.4/vguest/core.so share/man/man1/vguest.1 \
  share/bash-completion/completions/vguest lib/pkgconfig/vguest.pc \
  lib/cmake/vguest/vguestConfig.cmake \
  share/ansible/collections/ansible_collections/vguest/fleet/plugins/modules/vguest_exec.py; do
  if [ -e "$P/$f" ]; then ok "installed $f"; else no "installed $f"; fi
done
# the C library in the GNU libdir chosen at configure time (lib or lib64)
if ls "$P"/lib*/libvguest.so.0 "$P"/lib*/libvguest.a >/dev/null 2>&1; then
  ok "installed libvguest.so.0 and libvguest.a"
else
  no "installed libvguest.so.0 and libvguest.a"
fi

# From here: outside the source tree, with a plain environment.
mkdir "$tmp/work"
cd "$tmp/work"
cp "$src/examples/quickstart.lua" "$src/examples/fanout.lua" "$src/examples/embed.c" .
clean="env -u LUA_PATH -u LUA_CPATH -u LUA_PATH_5_4 -u LUA_CPATH_5_4 -u VGUEST_SIM
  -u VGUEST_SIM_INVENTORY -u VGUEST_LUA_PATH -u VGUEST_SERVER -u VGUEST_PROFILE
  HOME=$tmp/work XDG_CONFIG_HOME=$tmp/work/.config PATH=/usr/local/bin:/usr/bin:/bin"

check "vguest --version" $clean "$P/bin/vguest" --version
expect "vguest --version says the version" "^vguest [0-9]"
check "vguest run --sim quickstart.lua" $clean "$P/bin/vguest" run --sim quickstart.lua
expect "quickstart ran in the guest" "hello from the guest"
check "vguest run --sim fanout.lua" $clean "$P/bin/vguest" run --sim fanout.lua
check "vguest -e finds the installed modules" $clean "$P/bin/vguest" -e \
  'print(package.searchpath("vguest.cli", package.path))'
expect "the modules are P's" "^$P/share/lua/5.4/vguest/cli.lua$"

# stock lua5.4, only P's standard paths prepended (';;' keeps the system's)
cat >stock.lua <<'LUA'
local vg = require "vguest"
local cjson = require "cjson"
print("core", package.searchpath("vguest.core", package.cpath))
local sim <close> = require("vguest.sim").start{}
local s <close> = vg.connect{ server = sim.url, ca_file = sim.ca_file,
                              user = sim.user, password = sim.password }
local g = s:vm(sim.vm.name):guest(vg.credentials{ user = sim.guest_user, password = sim.guest_password })
local r = g:run{ "echo", "from stock lua" }
print(cjson.encode{ stdout = r.stdout, exit_code = r.exit_code })
LUA
check "require 'vguest' from stock lua5.4" $clean PATH="$P/bin:/usr/bin:/bin" \
  LUA_PATH="$P/share/lua/5.4/?.lua;$P/share/lua/5.4/?/init.lua;;" \
  LUA_CPATH="$P/lib/lua/5.4/?.so;;" lua5.4 stock.lua
expect "its core.so is P's" "^core	$P/lib/lua/5.4/vguest/core.so$"
expect "a command ran from stock lua5.4" '"stdout":"from stock lua\\n"'

check "man -l the installed page" env MANPAGER=cat MANWIDTH=80 man -l "$P/share/man/man1/vguest.1"
expect "the man page renders" "vguest exec"
check "man -w finds it in P/share/man" env MANPATH="$P/share/man" man -w vguest
expect "man -w says P's page" "^$P/share/man/man1/vguest.1"
check "vguest __complete" $clean "$P/bin/vguest" __complete
expect "__complete lists exec" "^exec$"
check "the bash completion completes 'vguest ex'" $clean PATH="$P/bin:/usr/bin:/bin" bash -c '
  . "$1"
  COMP_WORDS=(vguest ex); COMP_CWORD=1; _vguest
  printf "%s\n" "${COMPREPLY[@]}"' sh "$P/share/bash-completion/completions/vguest"
expect "it offers exec" "^exec$"

# examples/embed.c, as a user builds it
pcdir=$(dirname "$(ls "$P"/lib*/pkgconfig/vguest.pc | head -n1)")
libdir=$(dirname "$pcdir")
check "pkg-config --modversion vguest" env PKG_CONFIG_PATH="$pcdir" pkg-config --modversion vguest
check "cc embed.c \$(pkg-config --cflags --libs vguest)" sh -c \
  "$cc -std=c99 -Wall -Wextra -Wpedantic -Werror -o embed-pc embed.c \
   \$(PKG_CONFIG_PATH='$pcdir' pkg-config --cflags --libs vguest) -Wl,-rpath,'$libdir'"
check "embed (pkg-config) against the installed simulator" $clean \
  sh "$src/examples/with-sim.sh" "$P/bin/vguest-sim" ./embed-pc web-01 /bin/echo via pkg-config
expect "embed (pkg-config) ran the command" "in web-01 (vm-42) exited with 0"

mkdir cm
cp embed.c cm/
cat >cm/CMakeLists.txt <<'CM'
cmake_minimum_required(VERSION 3.18)
project(embed_user C)
find_package(vguest REQUIRED)
add_executable(embed embed.c)
target_link_libraries(embed vguest::vguest)
add_executable(embed_static embed.c)
target_link_libraries(embed_static vguest::vguest_static)
CM
check "find_package(vguest): configure" cmake -S cm -B cm/build -DCMAKE_PREFIX_PATH="$P" \
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_RPATH="$libdir"
check "find_package(vguest): build" cmake --build cm/build
for t in embed embed_static; do
  check "$t (find_package) against the installed simulator" $clean \
    sh "$src/examples/with-sim.sh" "$P/bin/vguest-sim" "cm/build/$t" web-01 /bin/echo "$t"
  expect "$t (find_package) ran the command" "in web-01 (vm-42) exited with 0"
done
if nm -D cm/build/embed_static 2>/dev/null | grep -q " U vg_run_start"; then
  no "embed_static links libvguest.a"
elif ldd cm/build/embed_static | grep -q libvguest; then
  no "embed_static links libvguest.a (it needs libvguest.so)"
else
  ok "embed_static links libvguest.a"
fi

# The installed programs read the installed inventory (P/share/vguest),
# not the source tree's: a VM renamed there is the one they see.
sed -i 's/"name": "web-04"/"name": "installed-04"/' "$P/share/vguest/inventory.json"
check "vguest vms --sim lists P's inventory" $clean "$P/bin/vguest" vms --sim
expect "its renamed VM" "installed-04"
check "vguest-sim on its own reads P's inventory" $clean \
  sh "$src/examples/with-sim.sh" "$P/bin/vguest-sim" ./embed-pc installed-04 /bin/true
expect "embed ran in the renamed VM" "in installed-04 (vm-45) exited with 0"

if command -v ansible-doc >/dev/null 2>&1; then
  check "ansible-doc finds vguest.fleet.vguest_exec in P" $clean \
    ANSIBLE_COLLECTIONS_PATH="$P/share/ansible/collections" ansible-doc vguest.fleet.vguest_exec
  expect "its documentation" "vguest exec"
else
  echo "ok - ansible-doc # SKIP ansible-core not installed"
fi

[ "$fail" -eq 0 ] && echo "# install: all passed" || echo "# install: FAILED"
exit "$fail"
