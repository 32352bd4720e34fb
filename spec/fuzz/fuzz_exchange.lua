-- The Lua driver of fuzz_exchange.c: one call of vguest.core per input,
-- on a session kept across inputs, against the target's loopback server.
-- Loaded once with the server's port; returns run(flavour, call). For the
-- logout and the login, fuzz_session(true) has the session's own requests
-- answered from the input too (canned otherwise). A failed check raises: the target aborts.
local core = require "vguest.core"
local PORT = ...
local FLAVOURS = { "api", "rest", "vim25" }
local VM = "vm-42"

-- DESIGN.md's kinds (out_of_memory: the runtime's own, for answers too
-- large to hold)
local KINDS = {}
for k in ([[unauthenticated unauthorized not_found invalid_argument
  not_allowed_in_current_state resource_busy service_unavailable unsupported
  unable_to_allocate_resource timed_out canceled server_error transport tls
  protocol out_of_memory]]):gmatch("%S+") do
  KINDS[k] = true
end

-- the simulator's guest account (spec/fuzz/exchange_seeds.py replays the
-- requests against it)
local cred = core.credentials { user = "root", password = core.secret("guest-secret") }
local sessions = {}
local function session(flavour, which)
  local key = flavour .. "/" .. which
  local s = sessions[key]
  if not s then
    s = core.session { server = "http://127.0.0.1:" .. PORT, user = "administrator@vsphere.local",
      password = core.secret("VMware1!"), protocol = flavour, timeout = 2,
      release = flavour == "vim25" and "8.0.2.0" or nil }
    sessions[key] = s
  end
  return s
end

local function is_int(v) return math.type(v) == "integer" end
local function str_or_nil(v) return v == nil or type(v) == "string" end

local function info(t)
  assert(type(t) == "table" and is_int(t.pid), "process info")
  for _, f in ipairs { "name", "owner", "command", "started", "finished" } do
    assert(str_or_nil(t[f]), "process info field " .. f)
  end
  assert(t.exit_code == nil or is_int(t.exit_code), "exit_code")
end

local function file(t)
  assert(type(t) == "table" and type(t.type) == "string" and is_int(t.size), "file info")
  for _, f in ipairs { "name", "modified", "symlink_target" } do
    assert(str_or_nil(t[f]), "file info field " .. f)
  end
end

local function array(v, each)
  assert(type(v) == "table", "array")
  for i = 1, #v do each(v[i]) end
end

local function is_true(v) assert(v == true, "true") end

local CALLS = {
  { "vms", function(s) return s:vms() end, function(v)
    array(v, function(t)
      assert(type(t.id) == "string" and type(t.name) == "string", "vm")
    end)
  end },
  { "vms", function(s) return s:vms { names = { "web-01" }, power_state = "POWERED_ON" } end,
    function(v) assert(type(v) == "table") end },
  { "create", function(s)
    return s:create(VM, cred, { path = "/bin/true", arguments = "a b", environment = { A = "b" } })
  end, function(v) assert(is_int(v), "pid") end },
  { "get", function(s) return s:get(VM, cred, 42) end, info },
  { "list", function(s) return s:list(VM, cred) end, function(v) array(v, info) end },
  { "list", function(s) return s:list(VM, cred, { 42, 43 }) end, function(v) array(v, info) end },
  { "delete", function(s) return s:delete(VM, cred, 42) end, is_true },
  { "env", function(s) return s:env(VM, cred) end, function(v)
    assert(type(v) == "table")
    for k, x in pairs(v) do assert(type(k) == "string" and type(x) == "string", "env") end
  end },
  { "env", function(s) return s:env(VM, cred, { "PATH", "HOME" }) end,
    function(v) assert(type(v) == "table") end },
  { "guest_os", function(s) return s:guest_os(VM) end,
    function(v) assert(v == "posix" or v == "windows", "guest_os") end },
  { "mktemp", function(s) return s:mktemp(VM, cred, { prefix = "p", directory = true }) end,
    function(v) assert(type(v) == "string", "path") end },
  { "stat", function(s) return s:stat(VM, cred, "/tmp/vguest-fuzz-x") end, file },
  { "list_files", function(s) return s:list_files(VM, cred, "/tmp/vguest-fuzz-d") end,
    function(v) array(v, file) end },
  { "mkdir", function(s) return s:mkdir(VM, cred, "/tmp/vguest-fuzz-d", { parents = true }) end, is_true },
  { "remove", function(s)
    return s:remove(VM, cred, "/tmp/vguest-fuzz-d", { directory = true, recursive = true })
  end, is_true },
  { "logout", function(s) return s:logout() end, is_true },
  { "login", function(s) return s:login() end, is_true },
}

local function check_error(e)
  assert(type(e) == "table", "error is not a table")
  assert(KINDS[e.kind], "error kind " .. tostring(e.kind))
  assert(type(e.message) == "string", "error message")
  assert(type(e.retryable) == "boolean" and type(e.maybe_done) == "boolean", "error flags")
  assert(e.status == nil or is_int(e.status), "error status")
  assert(e.pid == nil or is_int(e.pid), "error pid")
  for _, f in ipairs { "op", "fault", "message_id", "vm", "auth" } do
    assert(str_or_nil(e[f]), "error field " .. f)
  end
end

-- every op ends within its session's timeout (2 s, a few requests)
local function drain()
  for _ = 1, 400 do
    if core.pending() == 0 then
      core.step(0)
      return
    end
    core.step(50)
  end
  error("the loop did not drain")
end

local function wait(op, what)
  for _ = 1, 400 do
    if op:status() ~= "pending" then return op end
    core.step(50)
  end
  error(what .. " did not complete")
end

local function run(f, c)
  local flavour = FLAVOURS[f % #FLAVOURS + 1]
  local call = CALLS[c % #CALLS + 1]
  local own = call[1] == "login" or call[1] == "logout"
  local s = session(flavour, own and "own" or "ops")
  fuzz_session(false)
  if call[1] == "logout" then wait(s:login(), "login") end
  fuzz_session(own)
  local op = wait(call[2](s), call[1])
  fuzz_session(false)
  local v, err = op:result()
  if v == nil then check_error(err) else call[3](v) end
  assert(type(tostring(op)) == "string")
  if call[1] == "login" and v then s:logout() end
  drain()
  op = nil
  collectgarbage()
end

return run
