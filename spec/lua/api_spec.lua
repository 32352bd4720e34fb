-- The friendly API (require "vguest") against a simulator, for the parts
-- that do not depend on the flavour: misuse, secrets, lifetimes. The
-- per-flavour behaviour suite is spec/flavours/behaviour_spec.lua.
local vg = require "vguest"
local pretty = require "vguest.pretty"
local helper = require "spec.helper"

local no_secret = helper.no_secret

describe("vguest API misuse", function()
  local sim, s, g
  setup(function()
    sim = helper.sim()
    s = helper.connect("api")
    g = s:vm("web-01"):guest(helper.credentials())
  end)
  teardown(function()
    s:close()
    helper.assert_loop_empty()
  end)
  after_each(helper.assert_loop_empty)

  it("connect: unknown options, wrong types, missing fields", function()
    assert.has_error(function() vg.connect { server = sim.url, timout = 3 } end,
      "bad argument #1 to 'connect' (unknown option 'timout')")
    assert.has_error(function() vg.connect { server = 1 } end,
      "bad argument #1 to 'connect' (field 'server' must be a string, got number)")
    assert.has_error(function() vg.connect { server = sim.url, user = "u", password = "p", protocol = "soap" } end,
      "bad argument #1 to 'connect' (field 'protocol' must be one of 'auto', 'api', 'rest', 'vim25', got 'soap')")
    assert.has_error(function() vg.connect "x" end, "bad argument #1 to 'connect' (table expected, got string)")
    assert.has_error(function() vg.connect { server = sim.url, user = "u", password = "p", timeout = -1 } end,
      "bad argument #1 to 'connect' (field 'timeout' must be a positive number of seconds, got -1)")
  end)

  it("secret and credentials", function()
    assert.has_error(function() vg.secret {} end,
      "bad argument #1 to 'secret' (exactly one of 'env', 'file', 'prompt' expected)")
    assert.has_error(function() vg.secret { env = "A", file = "B" } end,
      "bad argument #1 to 'secret' (exactly one of 'env', 'file', 'prompt' expected)")
    assert.has_error(function() vg.secret { nev = "A" } end,
      "bad argument #1 to 'secret' (unknown option 'nev')")
    assert.has_error(function() vg.secret(42) end)
    assert.has_error(function() vg.secret { env = "VGUEST_SPEC_SURELY_UNSET" } end)
    assert.has_error(function() vg.credentials { user = "root", pasword = "x" } end,
      "bad argument #1 to 'credentials' (unknown option 'pasword')")
    assert.has_error(function() vg.credentials { user = 1, password = "x" } end,
      "bad argument #1 to 'credentials' (field 'user' must be a string, got number)")
    assert.has_error(function() vg.credentials { user = "root", password = "x", saml_token = "y" } end)
  end)

  it("session and VM methods", function()
    assert.has_error(function() s:vm(42) end, "bad argument #1 to 'vm' (VM name or id expected, got number)")
    assert.has_error(function() s:vms { name = { "x" } } end, "bad argument #1 to 'vms' (unknown option 'name')")
    assert.has_error(function() s:vms { power_state = "ON" } end,
      "bad argument #1 to 'vms' (field 'power_state' must be one of 'POWERED_ON', 'POWERED_OFF', 'SUSPENDED', got 'ON')")
    assert.has_error(function() s:vms { names = "x" } end,
      "bad argument #1 to 'vms' (field 'names' must be an array of strings, got string)")
    assert.has_error(function() s.vm("web-01") end)
    local vm = s:vm("web-01")
    assert.has_error(function() vm:guest(42) end, "bad argument #1 to 'guest' (vguest.Credentials expected, got number)")
  end)

  it("guest and process methods", function()
    assert.has_error(function() g:create { pth = "/bin/true" } end,
      "bad argument #1 to 'create' (unknown option 'pth')")
    assert.has_error(function() g:create {} end, "bad argument #1 to 'create' (field 'path' is required)")
    assert.has_error(function() g:create { path = "" } end, "bad argument #1 to 'create' (field 'path' must not be empty)")
    assert.has_error(function() g:create() end, "bad argument #1 to 'create' (table expected, got no value)")
    assert.has_error(function() g:create { path = "/bin/true", environment = { K = {} } } end,
      "bad argument #1 to 'create' (field 'environment' must map names to strings, got string = table)")
    assert.has_error(function() g.create { path = "/bin/true" } end,
      "calling 'create' on bad self (vguest.Guest expected, got table); use ':' to call methods")
    assert.has_error(function() g:get("12") end, "bad argument #1 to 'get' (pid must be a positive integer, got string)")
    assert.has_error(function() g:delete() end, "bad argument #1 to 'delete' (pid must be a positive integer, got no value)")
    assert.has_error(function() g:env(42) end)
    local p = g:create { path = "/bin/true" }
    assert.has_error(function() p:wait { timeout = "soon" } end,
      "bad argument #1 to 'wait' (field 'timeout' must be a positive number, got string)")
    assert.has_error(function() p:wait { timout = 1 } end, "bad argument #1 to 'wait' (unknown option 'timout')")
    p:wait()
  end)

  it("tasks", function()
    assert.has_error(function() vg.spawn(42) end, "bad argument #1 to 'spawn' (function expected, got number)")
    assert.has_error(function() vg.parallel({}, nil) end, "bad argument #2 to 'parallel' (function expected, got no value)")
    assert.has_error(function() vg.parallel({}, print, { limt = 2 }) end,
      "bad argument #3 to 'parallel' (unknown option 'limt')")
    assert.has_error(function() vg.sleep(-1) end)
  end)

  it("refuses a call from a coroutine it did not create", function()
    local co = coroutine.wrap(function() return s:vm("web-01") end)
    assert.has_error(co, "vguest call from a foreign coroutine; use vg.spawn")
  end)
end)

describe("vguest secrets", function()
  after_each(helper.assert_loop_empty)

  it("never show a secret in tostring, pretty or errors", function()
    local sim = helper.sim()
    local sec = vg.secret(sim.password)
    no_secret(tostring(sec))
    local cred = vg.credentials { user = "root", password = sim.guest_password }
    no_secret(tostring(cred))
    local s <close> = helper.connect("auto")
    no_secret(tostring(s))
    no_secret(pretty(s:info()))
    no_secret(pretty { s = s, cred = cred, sec = sec, vm = s:vm("web-01") })
    local g = s:vm("web-01"):guest(cred)
    no_secret(tostring(g))
    no_secret(pretty(g))
    local p = g:create { path = "/bin/true" }
    no_secret(pretty(p))
    no_secret(pretty(p:wait()))
    no_secret(pretty(g:list()))
  end)

  it("uses vguest.defaults for vg.connect{} and vg.credentials{}", function()
    local sim = helper.sim()
    local d = vg.defaults
    d.server, d.user, d.password, d.ca_file = sim.url, sim.user, vg.secret(sim.password), sim.ca_file
    d.guest_user, d.guest_password = sim.guest_user, vg.secret(sim.guest_password)
    local ok, err = pcall(function()
      local s <close> = vg.connect {}
      return s:vm("web-01"):guest():run { path = "/bin/true" }.exit_code
    end)
    for k in pairs(d) do d[k] = nil end
    assert.is_true(ok, tostring(err))
    assert.are.equal(0, err)
  end)
end)

describe("vguest lifetimes", function()
  after_each(helper.assert_loop_empty)

  it("collects an unreferenced session (logging out in the background)", function()
    local weak = setmetatable({}, { __mode = "v" })
    do
      local s = helper.connect("api")
      weak[1] = s
      weak[2] = s:vm("web-01")
    end
    collectgarbage()
    collectgarbage()
    assert.is_nil(weak[1])
    assert.is_nil(weak[2])
  end)

  it("keeps a session alive while a task still uses it", function()
    local weak = setmetatable({}, { __mode = "v" })
    local t
    do
      local s = helper.connect("rest")
      weak[1] = s
      local g = s:vm("web-01"):guest(helper.credentials())
      t = vg.spawn(function()
        local info = g:create { path = "/bin/sleep", arguments = "0.3" }:wait()
        s:close()
        return info.exit_code
      end)
    end
    collectgarbage()
    collectgarbage()
    assert.is_not_nil(weak[1])
    assert.are.equal(0, t:wait())
    t = nil
    collectgarbage()
    collectgarbage()
    assert.is_nil(weak[1])
  end)
end)
