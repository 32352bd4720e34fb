-- The vguest Lua module (require "vguest": vguest/*.lua and the C part
-- vguest/core.so) and the vguest program, built with the project's own
-- CMake files against the system's libcurl, jansson, OpenSSL and libedit
-- (found through pkg-config, as in a source build). From the tree:
--   luarocks --lua-version 5.4 make rockspecs/vguest-0.1.0-1.rockspec
-- The version is the one of CMakeLists.txt's project() (spec/version
-- checks that they agree).
rockspec_format = "3.0"
package = "vguest"
version = "0.1.0-1"
source = {
  -- vguest has no published source archive yet: `luarocks make` in a
  -- checkout builds from the tree; this names the release tag to build.
  url = "git+file://./vguest",
  tag = "v0.1.0",
}
description = {
  summary = "Run programs inside VMware vSphere guest VMs from Lua",
  detailed = [[
vguest is a C runtime (sessions, guest credentials, guest processes and
files over libcurl, one event loop) with a Lua layer on top: run a command
in every VM of a fleet, wait for all of them concurrently, read their
output and exit codes, move files in and out. It speaks the vSphere /api,
/rest and vim25 (VI/JSON) flavours.]],
  license = "UNLICENSED (no license chosen yet)",
  labels = { "vmware", "vsphere", "automation" },
}
dependencies = {
  "lua >= 5.4, < 5.5",
  "lua-cjson",
}
-- libcurl (OpenSSL flavour), jansson, OpenSSL, libedit and Lua's headers:
-- CMake finds them with pkg-config and names any that is missing
-- (on Debian: libcurl4-openssl-dev libjansson-dev libssl-dev libedit-dev
-- liblua5.4-dev pkg-config cmake). LuaRocks' own header search is not
-- used: it does not look in Debian's multiarch include directory.
build = {
  type = "cmake",
  variables = {
    -- only the module and the program: no simulator, specs or C library
    VGUEST_LUA_MODULE = "ON",
    -- the program finds its Lua files in the rock tree only
    VGUEST_BUILD_TREE_FALLBACK = "OFF",
    CMAKE_BUILD_TYPE = "Release",
    CMAKE_INSTALL_PREFIX = "$(PREFIX)",
    CMAKE_INSTALL_BINDIR = "$(BINDIR)",
    VGUEST_INSTALL_LUADIR = "$(LUADIR)",
    VGUEST_INSTALL_LUA_CMODDIR = "$(LIBDIR)",
  },
}
