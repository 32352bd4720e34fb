--- vguest: run programs inside vSphere guest VMs from Lua.
--
-- The friendly API of DESIGN.md ("The Lua API"), built on the `vguest.core`
-- C module (bindings/README.md). Every call works the same at top level, in
-- the REPL and inside tasks: inside a task it yields to the loop; outside,
-- it runs the loop until done (see vguest.task).
--
--   local vg = require "vguest"
--   local s <close> = vg.connect{ server = ..., user = ..., password = vg.secret{ env = "PW" } }
--   local g = s:vm("web-01"):guest(vg.credentials{ user = "root", password = ... })
--   local info = g:create{ path = "/bin/true" }:wait()
local core = require "vguest.core"
local errors = require "vguest.errors"
local task = require "vguest.task"
local poller = require "vguest.poller"
local defaults = require "vguest.defaults"

local checkopts, argerror, checkself = errors.checkopts, errors.argerror, errors.checkself
local typename = errors.typename

local vg = {}
vg.version = core.version or "0.1.0"
vg.is_error = errors.is_error
vg.Error = errors.Error
vg.defaults = defaults

local Session = { __name = "vguest.Session" }
local VM = { __name = "vguest.VM" }
local Guest = { __name = "vguest.Guest" }
local Process = { __name = "vguest.Process" }
VM.__index = VM
Guest.__index = Guest
Process.__index = Process
vg.Session, vg.VM, vg.Guest, vg.Process = Session, VM, Guest, Process

local function getenv(name)
  local v = os.getenv(name)
  if v == "" then return nil end
  return v
end

-------------------------------------------------------------------------------
-- Secrets and credentials

local function is_secret(v) return typename(v) == "vguest.Secret" end
local function is_credentials(v) return typename(v) == "vguest.Credentials" end

local secret_spec = { env = "string", file = "string", prompt = "string" }

local function make_secret(v, n, fname, level)
  level = (level or 1) + 1
  if is_secret(v) then return v end
  if type(v) == "string" then return core.secret(v) end
  if type(v) == "table" and getmetatable(v) == nil then
    checkopts(v, secret_spec, n, fname, false, level)
    local count = (v.env and 1 or 0) + (v.file and 1 or 0) + (v.prompt and 1 or 0)
    if count ~= 1 then argerror(n, fname, "exactly one of 'env', 'file', 'prompt' expected", level) end
    local ok, s
    if v.env then
      ok, s = pcall(core.secret_env, v.env)
    elseif v.file then
      ok, s = pcall(core.secret_file, v.file)
    else
      ok, s = pcall(core.secret_prompt, v.prompt)
    end
    if not ok then
      if errors.is_error(s) then error(s, 0) end
      argerror(n, fname, tostring(s):gsub("^.-:%d+: ", ""), level)
    end
    return s
  end
  argerror(n, fname, "string, vguest.Secret or table {env=|file=|prompt=} expected, got " ..
    (v == nil and "no value" or typename(v)), level)
end

--- vg.secret("literal") or vg.secret{ env = NAME | file = PATH | prompt = TEXT }
-- -> vguest.Secret (its tostring is "vguest.Secret (***)").
function vg.secret(v)
  return make_secret(v, 1, "secret", 2)
end

local function field_secret(opts, key, fname)
  -- a password/token field: string, Secret, or {env=|file=|prompt=}
  local v = opts[key]
  if v == nil or is_secret(v) or type(v) == "string" then return v end
  if type(v) == "table" and getmetatable(v) == nil then return make_secret(v, 1, fname, 3) end
  argerror(1, fname, string.format("field '%s' must be a string, vguest.Secret or table, got %s",
    key, typename(v)), 3)
end

local function secret_check(v)
  return v == nil or type(v) == "string" or is_secret(v) or (type(v) == "table" and getmetatable(v) == nil),
    "a string, vguest.Secret or table {env=|file=|prompt=}"
end

local cred_spec = { user = "string", password = secret_check, saml_token = secret_check,
  interactive = "boolean" }

--- vg.credentials{ user, password | saml_token, interactive } -> vguest.Credentials.
-- Defaults: VGUEST_GUEST_USER and VGUEST_GUEST_PASSWORD (or `vguest run
-- --sim`'s guest account).
function vg.credentials(opts)
  if is_credentials(opts) then return opts end
  opts = checkopts(opts, cred_spec, 1, "credentials", true, 2)
  local password = field_secret(opts, "password", "credentials")
  local token = field_secret(opts, "saml_token", "credentials")
  local user = opts.user
  if password and token then
    argerror(1, "credentials", "give either 'password' or 'saml_token', not both", 2)
  end
  if not password and not token then
    if defaults.guest_password and (user == nil or user == defaults.guest_user) then
      password = defaults.guest_password
      user = user or defaults.guest_user
    elseif getenv("VGUEST_GUEST_PASSWORD") then
      password = core.secret_env("VGUEST_GUEST_PASSWORD")
    else
      argerror(1, "credentials",
        "no 'password' or 'saml_token' given and VGUEST_GUEST_PASSWORD is not set", 2)
    end
  end
  user = user or defaults.guest_user or getenv("VGUEST_GUEST_USER")
  if password and not user then
    argerror(1, "credentials", "no 'user' given and VGUEST_GUEST_USER is not set", 2)
  end
  if type(password) == "string" then password = core.secret(password) end
  if type(token) == "string" then token = core.secret(token) end
  local ok, c = pcall(core.credentials, { user = user, password = password, saml_token = token,
    interactive = opts.interactive })
  if not ok then argerror(1, "credentials", tostring(c):gsub("^.-%((.*)%)$", "%1"), 2) end
  return c
end

-------------------------------------------------------------------------------
-- Sessions

local protocols = { auto = true, api = true, rest = true, vim25 = true }
local function protocol_check(v)
  return type(v) == "string" and protocols[v] ~= nil, "one of 'auto', 'api', 'rest', 'vim25'"
end

local connect_spec = {
  server = "string", user = "string", password = secret_check, protocol = protocol_check,
  release = "string", ca_file = "string", thumbprint = "string", insecure = "boolean",
  timeout = "positive", max_connections = "integer",
}

local function truthy_env(name)
  local v = getenv(name)
  if not v then return nil end
  v = v:lower()
  return v == "1" or v == "true" or v == "yes" or v == "on"
end

--- vg.connect{ server, user, password, protocol, release, ca_file,
-- thumbprint, insecure, timeout, max_connections } -> Session, logged in.
-- Every field defaults from `vg.defaults` (set by `vguest run --sim`), then
-- the environment: VGUEST_SERVER, VGUEST_USER, VGUEST_PASSWORD (read as a
-- secret, never copied into a Lua string), VGUEST_PROTOCOL, VGUEST_CA_FILE,
-- VGUEST_THUMBPRINT, VGUEST_INSECURE, VGUEST_RELEASE, VGUEST_TIMEOUT,
-- VGUEST_MAX_CONNECTIONS. A wrong password raises here.
function vg.connect(opts)
  opts = checkopts(opts, connect_spec, 1, "connect", true, 2)
  local server = opts.server or defaults.server or getenv("VGUEST_SERVER")
  if not server then argerror(1, "connect", "no 'server' given and VGUEST_SERVER is not set", 2) end
  local user = opts.user or defaults.user or getenv("VGUEST_USER")
  if not user then argerror(1, "connect", "no 'user' given and VGUEST_USER is not set", 2) end
  local password = field_secret(opts, "password", "connect")
  if password == nil then
    if defaults.password then
      password = defaults.password
    elseif getenv("VGUEST_PASSWORD") then
      password = core.secret_env("VGUEST_PASSWORD")
    else
      argerror(1, "connect", "no 'password' given and VGUEST_PASSWORD is not set", 2)
    end
  end
  if type(password) == "string" then password = core.secret(password) end
  local protocol = opts.protocol or defaults.protocol or getenv("VGUEST_PROTOCOL") or "auto"
  if not protocols[protocol] then
    argerror(1, "connect", "protocol must be one of 'auto', 'api', 'rest', 'vim25' (VGUEST_PROTOCOL is '"
      .. tostring(protocol) .. "')", 2)
  end
  local insecure = opts.insecure
  if insecure == nil then insecure = defaults.insecure end
  if insecure == nil then insecure = truthy_env("VGUEST_INSECURE") end
  local function number_env(name)
    local v = getenv(name)
    if v == nil then return nil end
    local n = tonumber(v)
    if not n or n <= 0 then
      argerror(1, "connect", name .. " must be a positive number, got '" .. v .. "'", 3)
    end
    return n
  end
  local ok, cs = pcall(core.session, {
    server = server, user = user, password = password, protocol = protocol,
    release = opts.release or getenv("VGUEST_RELEASE"),
    ca_file = opts.ca_file or defaults.ca_file or getenv("VGUEST_CA_FILE"),
    thumbprint = opts.thumbprint or defaults.thumbprint or getenv("VGUEST_THUMBPRINT"),
    insecure = insecure or false,
    timeout = opts.timeout or number_env("VGUEST_TIMEOUT"),
    max_connections = opts.max_connections or number_env("VGUEST_MAX_CONNECTIONS"),
  })
  if not ok then
    if errors.is_error(cs) then error(cs, 0) end
    argerror(1, "connect", (tostring(cs):gsub("^.-bad argument #%d+ to '%w+' %((.*)%)$", "%1")), 2)
  end
  local s = setmetatable({ _core = cs, _closed = false }, Session)
  local lok, err = pcall(task.await, cs:login())
  if not lok then
    s._closed = true
    pcall(cs.close, cs)
    error(err, 0)
  end
  return s
end

local session_methods = {}

function Session.__index(s, k)
  if k == "protocol" or k == "release" or k == "server" or k == "user" then
    if rawget(s, "_closed") then return nil end
    local info = s._core:info()
    return info[k]
  end
  return session_methods[k]
end

function Session.__tostring(s)
  if rawget(s, "_closed") then return "vguest.Session (closed)" end
  return tostring(s._core)
end

local function live(s, fname)
  checkself(s, Session, fname, 3)
  if s._closed then error("attempt to use a closed vguest.Session", 3) end
  return s._core
end

--- s:info() -> { server, user, protocol, release, logged_in, list_has_exit_codes }
function session_methods:info()
  local cs = live(self, "info")
  local info = cs:info()
  local out = {}
  for k, v in pairs(info) do out[k] = v end
  return out
end

--- s:close(): log out (idempotent). Also run by `<close>` and the GC.
function session_methods:close()
  checkself(self, Session, "close")
  if self._closed then return end
  self._closed = true
  local cs = self._core
  local ok, info = pcall(cs.info, cs)
  if ok and info.logged_in and task.can_wait() then
    pcall(task.await, cs:logout())
  end
  pcall(cs.close, cs)
end

function Session.__close(s) session_methods.close(s) end

function Session.__gc(s)
  if not rawget(s, "_closed") then
    s._closed = true
    pcall(s._core.close, s._core) -- logs out in the background
  end
end

-- Start a core operation; a refusal by the core (a message string) is
-- raised at the caller of the API method, without this file's position.
local function call(cs, name, ...)
  local ok, op = pcall(cs[name], cs, ...)
  if not ok then
    if errors.is_error(op) then error(op, 0) end
    error((tostring(op):gsub("^[^:]*:%d+: ", "")), 3)
  end
  return op
end

local function new_vm(s, t)
  return setmetatable({ id = t.id, name = t.name, power_state = t.power_state, session = s }, VM)
end

local power_states = { POWERED_ON = true, POWERED_OFF = true, SUSPENDED = true }
local vms_spec = { names = "string_array", ids = "string_array", power_state = function(v)
  return power_states[v] ~= nil, "one of 'POWERED_ON', 'POWERED_OFF', 'SUSPENDED'"
end }

--- s:vms{ names = {...}, ids = {...}, power_state = "POWERED_ON" } -> array of VMs
function session_methods:vms(opts)
  local cs = live(self, "vms")
  opts = checkopts(opts, vms_spec, 1, "vms", true, 2)
  local list = task.await(call(cs, "vms", { names = opts.names, ids = opts.ids, power_state = opts.power_state }), 2)
  local out = {}
  for i, t in ipairs(list) do out[i] = new_vm(self, t) end
  return out
end

--- s:vm(name_or_id) -> VM. Ids look like "vm-42". Raises kind "not_found",
-- or "invalid_argument" (listing the ids) when a name is ambiguous.
function session_methods:vm(key)
  local cs = live(self, "vm")
  if type(key) ~= "string" or key == "" then
    argerror(1, "vm", "VM name or id expected, got " .. (key == nil and "no value" or typename(key)), 2)
  end
  local list
  if key:match("^vm%-%d+$") then
    list = task.await(call(cs, "vms", { ids = { key } }), 2)
  end
  if not list or #list == 0 then
    list = task.await(call(cs, "vms", { names = { key } }), 2)
  end
  if #list == 0 then
    errors.raise { kind = "not_found", op = "vm", message = "no VM named or with id '" .. key .. "'" }
  elseif #list > 1 then
    local ids = {}
    for i, t in ipairs(list) do ids[i] = t.id end
    table.sort(ids)
    errors.raise { kind = "invalid_argument", op = "vm",
      message = string.format("%d VMs are named '%s': %s; use an id", #list, key,
        table.concat(ids, ", ")) }
  end
  return new_vm(self, list[1])
end

-------------------------------------------------------------------------------
-- VMs, guests, processes

function VM.__tostring(v)
  return string.format("vguest.VM (%s, %s, %s)", tostring(v.id), tostring(v.name),
    tostring(v.power_state))
end

--- vm:guest(cred) -> Guest: the VM with guest credentials bound.
-- cred: a vguest.Credentials, a table for vg.credentials, or nil for
-- vg.credentials{} (the defaults).
function VM:guest(cred)
  checkself(self, VM, "guest")
  live(self.session, "guest")
  if not is_credentials(cred) then
    if cred == nil or (type(cred) == "table" and getmetatable(cred) == nil) then
      cred = vg.credentials(cred)
    else
      argerror(1, "guest", "vguest.Credentials expected, got " .. typename(cred), 2)
    end
  end
  return setmetatable({ vm = self, session = self.session, credentials = cred }, Guest)
end

function Guest.__tostring(g)
  local ok, user = pcall(function() return g.credentials:user() end)
  return string.format("vguest.Guest (%s, user=%s)", tostring(g.vm.id), ok and tostring(user) or "?")
end

local function gcore(g, fname)
  checkself(g, Guest, fname, 3)
  return live(g.session, fname), g.vm.id, g.credentials
end

local function new_process(g, pid)
  return setmetatable({ pid = pid, vm = g.vm, guest = g }, Process)
end

local create_spec = { path = "string", arguments = "string", working_directory = "string",
  environment = "string_map", start_minimized = "boolean" }
local wait_spec = { timeout = "positive", interval = "positive", max_interval = "positive",
  retry_for = "positive" }
local run_spec = {}
for k, v in pairs(create_spec) do run_spec[k] = v end
for k, v in pairs(wait_spec) do run_spec[k] = v end

local function program(opts, fname)
  if not opts.path then argerror(1, fname, "field 'path' is required", 3) end
  if opts.path == "" then argerror(1, fname, "field 'path' must not be empty", 3) end
  local env
  if opts.environment then
    env = {}
    for k, v in pairs(opts.environment) do env[k] = tostring(v) end
  end
  return { path = opts.path, arguments = opts.arguments, working_directory = opts.working_directory,
    environment = env, start_minimized = opts.start_minimized }
end

--- g:create{ path, arguments, working_directory, environment, start_minimized }
-- -> Process (p.pid, p.vm, p.guest)
function Guest:create(opts)
  local cs, vm, cred = gcore(self, "create")
  opts = checkopts(opts, create_spec, 1, "create", false, 2)
  local pid = task.await(call(cs, "create", vm, cred, program(opts, "create")), 2)
  return new_process(self, pid)
end

local function checkpid(pid, fname)
  if math.type(pid) ~= "integer" then
    if type(pid) == "number" and pid == math.floor(pid) then return math.tointeger(pid) end
    argerror(1, fname, "pid (integer) expected, got " .. (pid == nil and "no value" or typename(pid)), 3)
  end
  return pid
end

--- g:get(pid) -> info { pid, name, owner, command, started, finished?, exit_code? }
function Guest:get(pid)
  local cs, vm, cred = gcore(self, "get")
  pid = checkpid(pid, "get")
  return task.await(call(cs, "get", vm, cred, pid), 2)
end

--- g:delete(pid): terminate the process (TERM, then KILL).
function Guest:delete(pid)
  local cs, vm, cred = gcore(self, "delete")
  pid = checkpid(pid, "delete")
  return task.await(call(cs, "delete", vm, cred, pid), 2)
end

--- g:list([pids]) -> array of info tables
function Guest:list(pids)
  local cs, vm, cred = gcore(self, "list")
  if pids ~= nil then
    local ok = type(pids) == "table"
    if ok then for _, p in pairs(pids) do if math.type(p) ~= "integer" then ok = false end end end
    if not ok then argerror(1, "list", "array of pids expected, got " .. typename(pids), 2) end
  end
  return task.await(call(cs, "list", vm, cred, pids), 2)
end

--- g:env([names]) -> { NAME = value } (guest environment variables)
function Guest:env(names)
  local cs, vm, cred = gcore(self, "env")
  if names ~= nil then
    if type(names) == "string" then names = { names } end
    errors.checkarg(names, "string_array", 1, "env", 2)
  end
  return task.await(call(cs, "env", vm, cred, names), 2)
end

--- g:process(pid) -> Process for a pid started earlier (no I/O).
function Guest:process(pid)
  gcore(self, "process")
  return new_process(self, checkpid(pid, "process"))
end

--- g:run{ path, ..., timeout, interval, max_interval } -> info: create, then wait.
function Guest:run(opts)
  gcore(self, "run")
  opts = checkopts(opts, run_spec, 1, "run", false, 2)
  local copts, wopts = {}, {}
  for k, v in pairs(opts) do
    if create_spec[k] then copts[k] = v else wopts[k] = v end
  end
  local cs, vm, cred = gcore(self, "run")
  local pid = task.await(call(cs, "create", vm, cred, program(copts, "run")), 2)
  return poller.wait(cs, vm, cred, pid, wopts, 2)
end

function Process.__tostring(p)
  return string.format("vguest.Process (pid %s on %s)", tostring(p.pid), tostring(p.vm.id))
end

local function pcore(p, fname)
  checkself(p, Process, fname, 3)
  local g = p.guest
  return live(g.session, fname), g.vm.id, g.credentials
end

--- p:get() -> info
function Process:get()
  local cs, vm, cred = pcore(self, "get")
  return task.await(call(cs, "get", vm, cred, self.pid), 2)
end

--- p:delete(): terminate it.
function Process:delete()
  local cs, vm, cred = pcore(self, "delete")
  return task.await(call(cs, "delete", vm, cred, self.pid), 2)
end

--- p:wait{ timeout = nil, interval = 0.05, max_interval = 1.0, retry_for = 60 } -> info
-- Returns the info table once the process has finished (a non-zero exit
-- code is data, not an error). Polls with a back-off: the first look comes
-- after `interval` seconds, the interval doubles up to `max_interval`.
-- Processes waited on in one VM with the same credentials share one poll
-- (see vguest.poller). `timeout` (seconds) defaults to none: wait until the
-- process ends or the wait is canceled (Ctrl-C, t:cancel()); at the
-- deadline it raises kind "timed_out" (the process keeps running).
-- Polls that fail with a retryable error (busy, unavailable, a dead
-- connection) are repeated; once they have failed for `retry_for` seconds
-- in a row the wait raises the last of those errors.
function Process:wait(opts)
  local cs, vm, cred = pcore(self, "wait")
  opts = checkopts(opts, wait_spec, 1, "wait", true, 2)
  return poller.wait(cs, vm, cred, self.pid, opts, 2)
end

-------------------------------------------------------------------------------
-- Tasks

--- vg.spawn(fn, ...) -> Task; fn(...) starts at once and runs until its
-- first wait; t:wait() returns its results or re-raises its error.
function vg.spawn(fn, ...)
  if type(fn) ~= "function" then
    argerror(1, "spawn", "function expected, got " .. (fn == nil and "no value" or typename(fn)), 2)
  end
  return task.spawn(fn, ...)
end

--- vg.sleep(seconds)
function vg.sleep(seconds)
  if type(seconds) ~= "number" or seconds < 0 then
    argerror(1, "sleep", "non-negative number expected, got " .. typename(seconds), 2)
  end
  return task.sleep(seconds)
end

local function cancel_all(ts)
  return setmetatable({}, { __close = function()
    for _, t in ipairs(ts) do
      if t.state == "running" then t:cancel() end
    end
  end })
end

--- vg.wait_all(tasks) -> results, errors: results[i] is the first result of
-- tasks[i], errors[i] its error (or nil).
function vg.wait_all(ts)
  errors.checkarg(ts, "table", 1, "wait_all", 2)
  local results, errs = {}, {}
  for i, t in ipairs(ts) do
    if getmetatable(t) ~= task.Task then
      argerror(1, "wait_all", "element " .. i .. " is not a vguest.Task", 2)
    end
  end
  for i, t in ipairs(ts) do
    local r = table.pack(t:result())
    if r[1] then results[i] = r[2] else errs[i] = r[2] end
  end
  return results, errs
end

--- vg.parallel(items, fn, { limit = 64 }) -> results, errors
-- Calls fn(item, i) for every item, at most `limit` at a time, each in its
-- own task. results[i] is fn's first result, errors[i] its error object (or
-- message) or nil; both are indexed like items. Never raises for fn's
-- failures; canceling the caller cancels the workers.
function vg.parallel(items, fn, opts)
  errors.checkarg(items, "table", 1, "parallel", 2)
  if type(fn) ~= "function" then
    argerror(2, "parallel", "function expected, got " .. (fn == nil and "no value" or typename(fn)), 2)
  end
  opts = checkopts(opts, { limit = "integer" }, 3, "parallel", true, 2)
  local n = #items
  local limit = math.min(opts.limit or 64, n)
  local results, errs = {}, {}
  local next_i = 0
  local function worker()
    while next_i < n do
      next_i = next_i + 1
      local i = next_i
      local ok, r = pcall(fn, items[i], i)
      if ok then results[i] = r else errs[i] = r end
    end
  end
  local ts = {}
  local guard <close> = cancel_all(ts)
  for k = 1, limit do ts[k] = task.spawn(worker) end
  for _, t in ipairs(ts) do
    local ok, err = t:result()
    if not ok then error(err, 0) end
  end
  return results, errs
end

return vg
