#!/bin/sh
# The LuaRocks spec (issue 11, item 2): `luarocks make` of the rockspec in
# a copy of the source tree (its build.luarocks/ stays out of the real
# one) into a temporary --tree, then the rock used as LuaRocks users do:
# the tree's bin/vguest runs a playbook (the rock has no simulator: the
# build's, with the source tree's inventory), and stock lua5.4 with the paths
# of `luarocks path` (which keep the system's: Debian's lua-cjson) loads
# vguest and its core.so from the tree. Exit 77 (skipped) without luarocks.
#
#   spec/install/luarocks.sh SOURCE_DIR VERSION VGUEST_SIM
set -eu
src=$(cd "$1" && pwd)
version=$2
sim=$(cd "$(dirname "$3")" && pwd)/$(basename "$3")
if ! command -v luarocks >/dev/null 2>&1; then
  echo "# SKIP luarocks is not installed (scripts/bootstrap installs Debian's luarocks)"
  exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vguest-rock.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail=0
ok() { echo "ok - $1"; }
no() { echo "not ok - $1"; fail=1; }

mkdir "$tmp/src"
tar -C "$src" --exclude='./build*' --exclude=./.git -cf - . | tar -C "$tmp/src" -xf -
rockspec=rockspecs/vguest-$version-1.rockspec
# lua-cjson comes from Debian here, not from a rocks server: --deps-mode=none
if (cd "$tmp/src" && CMAKE_BUILD_PARALLEL_LEVEL=2 luarocks --lua-version 5.4 --tree "$tmp/tree" \
  make --deps-mode=none "$rockspec") >"$tmp/make.log" 2>&1; then
  ok "luarocks make $rockspec"
else
  no "luarocks make $rockspec"
  sed 's/^/#   /' "$tmp/make.log"
  exit 1
fi
if luarocks --lua-version 5.4 --tree "$tmp/tree" list --porcelain 2>/dev/null | grep -q "^vguest	$version-1	installed"; then
  ok "luarocks list shows vguest $version-1"
else
  no "luarocks list shows vguest $version-1"
fi

# VGUEST_BUILD_TREE_FALLBACK=OFF: the rock names no directory it was built in
if grep -rlF "$tmp/src" "$tmp/tree" >"$tmp/leaks" 2>/dev/null; then
  no "the rock names its build tree"; sed 's/^/#   /' "$tmp/leaks"
else
  ok "the rock names no build tree path"
fi

cd "$tmp"
cp "$src/examples/quickstart.lua" .
clean="env -u LUA_PATH -u LUA_CPATH -u LUA_PATH_5_4 -u LUA_CPATH_5_4 -u VGUEST_LUA_PATH HOME=$tmp"
out=$($clean "$tmp/tree/bin/vguest" --version 2>&1) || true
if [ "$out" = "vguest $version" ]; then ok "the rock's vguest --version"; else no "the rock's vguest --version: $out"; fi
if out=$($clean VGUEST_SIM="$sim" VGUEST_SIM_INVENTORY="$src/sim/inventory.json" "$tmp/tree/bin/vguest" run --sim quickstart.lua 2>&1) &&
  printf '%s\n' "$out" | grep -q "hello from the guest"; then
  ok "the rock's vguest run --sim quickstart.lua"
else
  no "the rock's vguest run --sim quickstart.lua"
  printf '%s\n' "$out" | sed 's/^/#   /'
fi
paths=$(luarocks --lua-version 5.4 --tree "$tmp/tree" path)
if out=$($clean sh -c "$paths
  exec lua5.4 -e 'local vg = require \"vguest\"; require \"cjson\"
    print(vg.version, package.searchpath(\"vguest.core\", package.cpath))'" 2>&1) &&
  [ "$out" = "$version	$tmp/tree/lib/lua/5.4/vguest/core.so" ]; then
  ok "stock lua5.4 with luarocks path: require 'vguest' and 'cjson'"
else
  no "stock lua5.4 with luarocks path: require 'vguest' and 'cjson'"
  printf '%s\n' "$out" | sed 's/^/#   /'
fi
exit "$fail"
