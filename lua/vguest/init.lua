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
local glob = require "vguest.glob"

local checkopts, argerror, checkself = errors.checkopts, errors.argerror, errors.checkself
local typename = errors.typename

local vg = {}
vg.version = core.version -- VG_VERSION (vguest.h), project() VERSION
vg.is_error = errors.is_error
vg.Error = errors.Error
vg.defaults = defaults
local progress = require "vguest.progress"

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
-- Who checks what. The C module checks every value that reaches C (types,
-- option keys, ranges, names, pids, closed objects passed in) and is passed
-- the name of the user's call as its last argument, so its message names
-- that call and argument and is only re-raised at the user's line (`call`,
-- `core_call`). This file checks what exists only here: self (including the
-- session and credentials a VM or Guest is bound to), the forms of a secret
-- (string, vguest.Secret, {env=|file=|prompt=}), the defaults it fills in,
-- the wait and task options, VM lookup by name or id.

local reraise, describe, typeof = errors.reraise, errors.describe, errors.typeof

-- Start a core operation (or make a core object) on behalf of the user's
-- call: a refusal is raised at the user's line, `level` frames up.
local function core_call(level, f, ...)
  local ok, r = pcall(f, ...)
  if not ok then
    -- a failure the C module saw before any I/O (a local file that cannot
    -- be opened) is an error table: an error object like the others
    if type(r) == "table" then error(errors.wrap(r), 0) end
    reraise(r, level + 1)
  end
  return r
end

-------------------------------------------------------------------------------
-- Secrets and credentials

-- (userdata: a table can claim any __name, it has no closed method)
local function is_secret(v) return type(v) == "userdata" and typename(v) == "vguest.Secret" end
local function is_credentials(v) return type(v) == "userdata" and typename(v) == "vguest.Credentials" end
local function is_plain(v) return type(v) == "table" and getmetatable(v) == nil end

local secret_spec = { env = "nonempty_string", file = "nonempty_string", prompt = "string",
  allow_empty = "boolean" }
local secret_forms = "string, vguest.Secret or table {env=|file=|prompt=}"

-- A Secret read from a source table {env=|file=|prompt=}, for argument n of
-- fname; `prefix` names the field holding it. `level` as for argerror.
local function from_source(v, n, fname, level, prefix)
  checkopts(v, secret_spec, n, fname, false, level + 1, prefix)
  local count = (v.env and 1 or 0) + (v.file and 1 or 0) + (v.prompt and 1 or 0)
  if count ~= 1 then argerror(n, fname, prefix .. "exactly one of 'env', 'file', 'prompt' expected", level + 1) end
  if v.allow_empty ~= nil and not v.prompt then
    argerror(n, fname, prefix .. "'allow_empty' goes with 'prompt'", level + 1)
  end
  local ok, s
  if v.env then
    ok, s = pcall(core.secret_env, v.env)
  elseif v.file then
    ok, s = pcall(core.secret_file, v.file)
  else
    ok, s = pcall(core.secret_prompt, v.prompt, { allow_empty = v.allow_empty or false })
  end
  if not ok then
    if errors.is_error(s) then error(s, 0) end
    argerror(n, fname, prefix .. tostring(s), level + 1) -- not set, unreadable: no position
  end
  return s
end

--- vg.secret("literal") or vg.secret{ env = NAME | file = PATH | prompt = TEXT }
-- -> vguest.Secret (its tostring is "vguest.Secret (***)"). s:close() (also
-- `<close>` and the collector) wipes it.
function vg.secret(v)
  if is_secret(v) then
    if v:closed() then argerror(1, "secret", "vguest.Secret is closed", 2) end
    return v
  end
  if type(v) == "string" then return core.secret(v) end
  if is_plain(v) then return (from_source(v, 1, "secret", 2, "")) end
  argerror(1, "secret", secret_forms .. " expected, got " .. typeof(v), 2)
end

-- The value of a password/token field of argument 1 of fname, made a
-- Secret; a Secret (even a closed one: the C module refuses it) or nil is
-- left as it is.
local function field_secret(opts, key, fname, level)
  local v = opts[key]
  if v == nil or is_secret(v) then return v end
  if type(v) == "string" then return core.secret(v) end
  if is_plain(v) then return (from_source(v, 1, fname, level + 1, "field '" .. key .. "': ")) end
  argerror(1, fname, string.format("field '%s' must be a %s, got %s", key, secret_forms, typeof(v)),
    level + 1)
end

local function option_table(opts, fname, expected, level)
  if opts ~= nil and not is_plain(opts) then
    argerror(1, fname, expected .. " expected, got " .. typeof(opts), level + 1)
  end
  return opts or {}
end

local function copy(t)
  local o = {}
  for k, v in pairs(t) do o[k] = v end
  return o
end

-- The Secret of a profile's password source (vguest.config: {env=},
-- {file=}, {plain=}), or nil when the profile has none. `what` names the
-- setting in messages.
local function profile_secret(src, what, level)
  if src == nil then return nil end
  local prof = defaults.profile
  local where = string.format("profile '%s' (%s:%d)", tostring(prof._name), tostring(prof._path),
    src.line or 0)
  local ok, sec
  if src.env then
    if not core.has_secret_env(src.env) then
      argerror(1, what == "password" and "connect" or "credentials", string.format(
        "%s_env of %s names %s, which is not set", what, where, src.env), level + 1)
    end
    ok, sec = pcall(core.secret_env, src.env)
  elseif src.file then
    ok, sec = pcall(core.secret_file, src.file)
  else
    ok, sec = pcall(core.secret, src.plain)
  end
  if not ok then
    error(string.format("vguest: %s of %s: %s", what, where, tostring(sec)), level + 1)
  end
  return sec
end

-- Asks for a password on the terminal when the vguest program may
-- (vg.defaults.prompt: stdin is a terminal); nil otherwise.
local function prompt_secret(text)
  if not defaults.prompt then return nil end
  return core.secret_prompt(text)
end

-- vg.credentials for argument 1 of `fname` ("credentials", "guest").
local function make_credentials(opts, fname, level)
  if is_credentials(opts) then
    if opts:closed() then argerror(1, fname, "vguest.Credentials is closed", level + 1) end
    return opts
  end
  opts = option_table(opts, fname, fname == "guest" and "vguest.Credentials" or "table", level + 1)
  local o = copy(opts) -- every key: the C module reports unknown ones
  o.password = field_secret(opts, "password", fname, level + 1)
  o.saml_token = field_secret(opts, "saml_token", fname, level + 1)
  if o.password == nil and o.saml_token == nil then
    if defaults.guest_password and (o.user == nil or o.user == defaults.guest_user) then
      o.password = defaults.guest_password
      o.user = o.user or defaults.guest_user
    elseif core.has_secret_env("VGUEST_GUEST_PASSWORD") then
      o.password = core.secret_env("VGUEST_GUEST_PASSWORD")
    end
  end
  local prof = defaults.profile or {}
  if o.user == nil then o.user = defaults.guest_user or getenv("VGUEST_GUEST_USER") or prof.guest_user end
  if o.password == nil and o.saml_token == nil and prof.guest_password and
      (opts.user == nil or opts.user == prof.guest_user) then
    o.password = profile_secret(prof.guest_password, "guest_password", level + 1)
  end
  if o.password == nil and o.saml_token == nil and o.user ~= nil then
    o.password = prompt_secret("vguest: guest password for " .. tostring(o.user) .. ": ")
  end
  return (core_call(level + 1, core.credentials, o, fname))
end

--- vg.credentials{ user, password | saml_token, interactive } -> vguest.Credentials.
-- Defaults: VGUEST_GUEST_USER and VGUEST_GUEST_PASSWORD (or `vguest run
-- --sim`'s guest account). c:close() (also `<close>`, the collector) wipes
-- them; guests bound to them are unusable after.
function vg.credentials(opts)
  return (make_credentials(opts, "credentials", 2))
end

-------------------------------------------------------------------------------
-- Sessions

-- The flavour names, from the runtime's one registry.
local protocols = {}
for _, name in ipairs(core.protocols) do protocols[name] = true end
local protocol_names = "'" .. table.concat(core.protocols, "', '") .. "'"

local function truthy_env(name)
  local v = getenv(name)
  if not v then return nil end
  v = v:lower()
  return v == "1" or v == "true" or v == "yes" or v == "on"
end

-- VGUEST_TRANSFER_THUMBPRINT: one thumbprint for every transfer host, or
-- "host=thumbprint[,host=thumbprint...]" for a table of pins.
local function transfer_thumbprint_env()
  local v = getenv("VGUEST_TRANSFER_THUMBPRINT")
  if v == nil or not v:find("=", 1, true) then return v end
  local pins = {}
  for item in v:gmatch("[^,%s]+") do
    local host, tp = item:match("^([^=]+)=(.+)$")
    if not host then
      argerror(1, "connect", "VGUEST_TRANSFER_THUMBPRINT must be a thumbprint or " ..
        "host=thumbprint pairs separated by commas, got '" .. v .. "'", 3)
    end
    pins[host] = tp
  end
  return pins
end

-- The connect fields a VGUEST_* variable sets, for messages that name it.
local env_fields = { server = "VGUEST_SERVER", thumbprint = "VGUEST_THUMBPRINT",
  ca_file = "VGUEST_CA_FILE", release = "VGUEST_RELEASE" }

--- vg.connect{ server, user, password, protocol, release, ca_file,
-- thumbprint, insecure, timeout, max_connections, transfer_thumbprint,
-- insecure_transfers } -> Session, logged in.
-- Every field defaults from `vg.defaults` (set by `vguest run --sim`), then
-- the environment: VGUEST_SERVER, VGUEST_USER, VGUEST_PASSWORD (read as a
-- secret, never copied into a Lua string), VGUEST_PROTOCOL, VGUEST_CA_FILE,
-- VGUEST_THUMBPRINT, VGUEST_INSECURE, VGUEST_RELEASE, VGUEST_TIMEOUT,
-- VGUEST_MAX_CONNECTIONS, VGUEST_TRANSFER_THUMBPRINT,
-- VGUEST_INSECURE_TRANSFERS. A wrong password raises here.
--
-- File transfers (g:read_file, g:upload, g:run's output, ...) go to the
-- VM's ESXi host, not to the vCenter: its certificate is verified with
-- ca_file (or the system CAs); `transfer_thumbprint` pins it (a string for
-- every host, or a table host -> thumbprint); `insecure_transfers = true`
-- turns the check off (explicitly; the runtime warns).
function vg.connect(opts)
  opts = option_table(opts, "connect", "table", 2)
  local o = copy(opts) -- every key: the C module checks them all
  local function default(k, v)
    if o[k] == nil then o[k] = v end
  end
  -- a default read from the environment, checked here (the user did not
  -- write it): VGUEST_TIMEOUT, VGUEST_MAX_CONNECTIONS
  local function number_env(name, integer)
    local v = getenv(name)
    if v == nil then return nil end
    local n = tonumber(v)
    if integer then n = math.tointeger(n) end
    if not n or not (n > 0) then
      argerror(1, "connect", string.format("%s must be a positive %s, got '%s'", name,
        integer and "integer" or "number", v), 3)
    end
    return n
  end
  -- VGUEST_SERVER with a password in it is a Secret (the C module took it
  -- from the environment and left the URL there without the password)
  if o.server == nil and defaults.server == nil and core.has_secret_env("VGUEST_SERVER") then
    o.server = core.secret_env("VGUEST_SERVER")
  end
  -- the profile of the config file (vguest.config) comes last
  local prof = defaults.profile or {}
  default("server", defaults.server or getenv("VGUEST_SERVER") or prof.server)
  default("user", defaults.user or getenv("VGUEST_USER") or prof.user)
  o.password = field_secret(opts, "password", "connect", 2)
  if o.password == nil then
    o.password = defaults.password or
      (core.has_secret_env("VGUEST_PASSWORD") and core.secret_env("VGUEST_PASSWORD") or nil)
  end
  if o.password == nil and o.user == prof.user then
    o.password = profile_secret(prof.password, "password", 2)
  end
  if o.protocol == nil then
    local from = defaults.protocol and "vguest.defaults.protocol" or
      getenv("VGUEST_PROTOCOL") and "VGUEST_PROTOCOL" or "the profile's protocol"
    local p = defaults.protocol or getenv("VGUEST_PROTOCOL") or prof.protocol
    if p ~= nil and not protocols[p] then
      argerror(1, "connect", string.format("%s must be one of %s, got '%s'", from, protocol_names,
        tostring(p)), 2)
    end
    o.protocol = p
  end
  default("insecure", defaults.insecure)
  default("insecure", truthy_env("VGUEST_INSECURE"))
  default("release", getenv("VGUEST_RELEASE"))
  default("ca_file", defaults.ca_file or getenv("VGUEST_CA_FILE"))
  default("thumbprint", defaults.thumbprint or getenv("VGUEST_THUMBPRINT"))
  default("timeout", number_env("VGUEST_TIMEOUT"))
  default("max_connections", number_env("VGUEST_MAX_CONNECTIONS", true))
  default("transfer_thumbprint", defaults.transfer_thumbprint or transfer_thumbprint_env())
  default("insecure_transfers", defaults.insecure_transfers)
  default("insecure_transfers", truthy_env("VGUEST_INSECURE_TRANSFERS"))
  local from_profile = {}
  for _, k in ipairs { "insecure", "release", "ca_file", "thumbprint", "timeout",
    "max_connections", "transfer_thumbprint", "insecure_transfers" } do
    if o[k] == nil and prof[k] ~= nil then
      o[k] = prof[k]
      from_profile[k] = true
    end
  end
  if opts.server == nil and defaults.server == nil and getenv("VGUEST_SERVER") == nil and prof.server then
    from_profile.server = true
  end
  if o.password == nil and o.server ~= nil and o.user ~= nil then
    local host = tostring(o.server):match("^%a[%w+.-]*://([^/:]+)") or tostring(o.server)
    o.password = prompt_secret("vguest: password for " .. tostring(o.user) .. " at " .. host .. ": ")
  end
  -- A required field the caller left out, once the C module has checked
  -- every key (a typo is reported as such): say where it can come from.
  local ok, cs = pcall(core.session, o, "connect")
  if not ok and type(cs) == "string" then
    -- a value the C module refused that came from the environment: say
    -- which variable to fix (the server's value is not shown: it may hold
    -- user info)
    local inner = cs:match("^bad argument #%d+ to '[^']*' %((.*)%)$")
    for field in pairs(from_profile) do
      if inner and inner:find(field, 1, true) == 1 then
        argerror(1, "connect", string.format("%s (from profile '%s' in %s)", inner,
          tostring(prof._name), tostring(prof._path)), 2)
      end
    end
    for field, var in pairs(env_fields) do
      if inner and opts[field] == nil and defaults[field] == nil and getenv(var) ~= nil and
          inner:find(field, 1, true) == 1 then
        argerror(1, "connect", inner .. " (" .. var .. " is " .. (field == "server" and
          "set" or string.format("'%s'", getenv(var))) .. ")", 2)
      end
    end
  end
  if not ok then
    local field = type(cs) == "string" and cs:match("field '(%a+)' is required")
    local env = ({ server = "VGUEST_SERVER", user = "VGUEST_USER", password = "VGUEST_PASSWORD" })[field]
    if env then
      argerror(1, "connect", string.format("field '%s' is required: give %s = ... or set %s " ..
        "(or a profile's %s: vguest help config)", field, field, env, field), 2)
    end
    reraise(cs, 2)
  end
  -- _runs: the session's runs in flight (Op -> true), stopped by close
  local s = setmetatable({ _core = cs, _closed = false, _runs = setmetatable({}, { __mode = "k" }) },
    Session)
  local lok, err = pcall(task.await, cs:login())
  if not lok then
    s._closed = true
    pcall(cs.close, cs)
    reraise(err, 2) -- a wait refused here (a metamethod, a foreign coroutine): the user's line
  end
  return s
end

--- vg.thumbprint(server) -> "8A:1F:...:3F": the SHA-256 fingerprint of
-- the server's certificate, the value `thumbprint =` pins (as `govc
-- about.cert -thumbprint` prints it). The handshake is stopped before any
-- request: nothing is sent, no login tried. Check it out of band (the
-- vCenter's console, your PKI) before you pin it.
function vg.thumbprint(server)
  if type(server) ~= "string" or server == "" then
    argerror(1, "thumbprint", "server URL expected, got " .. describe(server), 2)
  end
  -- a pin no certificate has: the handshake fails with the digest in hand
  local ok, cs = pcall(core.session, { server = server, user = "-", password = core.secret("-"),
    protocol = "api", thumbprint = string.rep("0", 64) }, "thumbprint")
  if not ok then reraise(cs, 2) end
  local lok, err = pcall(task.await, cs:login())
  pcall(cs.close, cs)
  if not lok and errors.is_error(err) and err.kind == "tls" and err.thumbprint then
    return (err.thumbprint:upper())
  end
  if lok then error("the server accepted a pin no certificate has", 2) end
  if errors.is_error(err) then err.op = "thumbprint" end
  error(err, 0)
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

-- The core session of s, raising at the user's line (`level` as for
-- argerror) when s is not a live Session.
local function live(s, fname, level)
  checkself(s, Session, fname, level + 1)
  if s._closed then error("attempt to use a closed vguest.Session", level + 1) end
  return s._core
end

--- s:info() -> { server, user, protocol, release, logged_in, list_has_exit_codes }
function session_methods:info()
  local cs = live(self, "info", 2)
  local info = cs:info()
  local out = {}
  for k, v in pairs(info) do out[k] = v end
  return out
end

-- The runs still in flight on a session that closes are stopped first,
-- and waited for where the caller can wait: closing the session under
-- them would leave their processes and temp files in the guests.
local function stop_runs(s)
  local ops = {}
  for op in pairs(s._runs) do
    if op:stop() then ops[#ops + 1] = op end
  end
  if #ops > 0 then task.settle(ops) end
end

--- s:close(): stop the session's runs in flight (their guest processes
-- terminated, temp files removed), then log out (idempotent). Also run by
-- `<close>` and the GC (which cannot wait: the runtime cleans up after
-- runs in the background as long as it can).
function session_methods:close()
  checkself(self, Session, "close")
  if self._closed then return end
  stop_runs(self)
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

-- The VM names a core session has seen (cs -> id -> name), and the core
-- session of each op in flight (op -> cs): an op's error then names its VM
-- by name as well as id (task.on_error).
local vm_names = setmetatable({}, { __mode = "k" })
local op_session = setmetatable({}, { __mode = "k" })
task.on_error = function(op, err)
  local cs = op_session[op]
  if cs and err.vm and err.vm_name == nil then
    err.vm_name = vm_names[cs] and vm_names[cs][err.vm]
  end
end

-- Start core operation `name` for an API method; its arguments end with
-- the method's name, so a refusal names it, raised at the method's caller.
local function call(cs, name, ...)
  local op = core_call(3, cs[name], cs, ...)
  op_session[op] = cs
  return op -- (not a tail call: levels count frames)
end

local function new_vm(s, t)
  local names = vm_names[s._core]
  if not names then
    names = {}
    vm_names[s._core] = names
  end
  names[t.id] = t.name
  return setmetatable({ id = t.id, name = t.name, power_state = t.power_state, session = s }, VM)
end

-- The matchers of s:vms{ patterns = ... } (argument 1 of vms); also the
-- names a server can filter by, when every pattern is a plain name.
local function vm_patterns(pats, level)
  if type(pats) == "string" then pats = { pats } end
  if not is_plain(pats) then
    argerror(1, "vms", "field 'patterns' must be a string or an array of strings, got " ..
      typeof(pats), level + 1)
  end
  local matchers, names = {}, {}
  for i, p in ipairs(pats) do
    if type(p) ~= "string" then
      argerror(1, "vms", string.format("field 'patterns' element %d must be a string, got %s", i,
        typeof(p)), level + 1)
    end
    local m, err = glob.matcher(p)
    if not m then argerror(1, "vms", "field 'patterns': " .. err, level + 1) end
    local literal = glob.literal(p)
    -- a pattern is also the VM's id: "vm-42" selects vm-42 by id
    matchers[i] = function(t) return m(t.name) or t.id == p end
    if names and literal and not literal:match("^vm%-%d+$") then
      names[#names + 1] = literal
    else
      names = nil
    end
  end
  if #pats == 0 then argerror(1, "vms", "field 'patterns' is empty", level + 1) end
  return matchers, names
end

-- The containers VMs are selected by: the option of s:vms, the kind of
-- core inventory, and its core VM filter.
local containers = {
  { "folder", "folders" }, { "datacenter", "datacenters" }, { "cluster", "clusters" },
  { "host", "hosts" }, { "resource_pool", "resource_pools" },
}

-- The values of a container option: a string or an array of strings.
local function container_values(v, key, level)
  if type(v) == "string" then v = { v } end
  if not is_plain(v) or #v == 0 then
    argerror(1, "vms", string.format("field '%s' must be a name, an id or a non-empty array of " ..
      "them, got %s", key, typeof(v)), level + 1)
  end
  for i, x in ipairs(v) do
    if type(x) ~= "string" or x == "" then
      argerror(1, "vms", string.format("field '%s' element %d must be a non-empty string, got %s",
        key, i, describe(x)), level + 1)
    end
  end
  return v
end

-- The ids of the containers named (or given by id) in values, for kind;
-- a value that is neither raises kind "not_found" naming it.
local function container_ids(cs, kind, values, level)
  local list = task.await(call(cs, "inventory", kind, nil, "vms"), level + 1)
  local ids, seen = {}, {}
  for _, v in ipairs(values) do
    local found = false
    for _, o in ipairs(list) do
      if (o.name == v or o.id == v) and not seen[o.id] then
        ids[#ids + 1], seen[o.id] = o.id, true
      end
      found = found or o.name == v or o.id == v
    end
    if not found then
      local names, seen_name = {}, {}
      for _, o in ipairs(list) do
        if not seen_name[o.name] then names[#names + 1], seen_name[o.name] = o.name, true end
      end
      table.sort(names)
      errors.raise { kind = "not_found", op = "vms", message = string.format(
        "no %s named or with id '%s'%s", kind:gsub("_", " "), v,
        #names > 0 and #names <= 20 and " (there are: " .. table.concat(names, ", ") .. ")" or "") }
    end
  end
  return ids
end

local families = { LINUX = "linux", WINDOWS = "windows", OTHER = "other" }

-- What vm_details puts into a VM from a guest info table.
local function set_guest_fields(v, gi)
  v.tools = gi.tools
  v.tools_running = gi.tools == "running"
  v.guest_ops_ready = gi.ops_ready
  v.guest_family = gi.family and (families[gi.family] or gi.family:lower())
  v.ip_address = gi.ip_address
  v.guest_host_name = gi.host_name
  v.host_id = gi.host
end

-- s:vms{ details = true }: each VM's guest info, and its host's name. A
-- VM whose details cannot be read keeps the error in v.details_error.
local function vm_details(s, cs, vms, level)
  vg.parallel(vms, function(v)
    local ok, gi = pcall(task.await, call(cs, "guest_info", v.id, "vms"))
    if ok then set_guest_fields(v, gi) else v.details_error = gi end
  end, { limit = 64, on_progress = function() end })
  local hosts = task.await(call(cs, "inventory", "host", nil, "vms"), level + 1)
  local host_name, need = {}, false
  for _, h in ipairs(hosts) do host_name[h.id] = h.name end
  for _, v in ipairs(vms) do need = need or (v.host_id == nil and not v.details_error) end
  if need then
    -- the flavour does not tell a VM's host (vAPI): ask for each host's VMs
    local by_host = {}
    vg.parallel(hosts, function(h)
      for _, t in ipairs(task.await(call(cs, "vms", { hosts = { h.id } }, "vms"))) do
        by_host[t.id] = h.id
      end
    end, { limit = 16, on_progress = function() end })
    for _, v in ipairs(vms) do v.host_id = v.host_id or by_host[v.id] end
  end
  for _, v in ipairs(vms) do v.host = v.host_id and host_name[v.host_id] end
  return s
end

local vms_spec = { names = "any", ids = "any", power_state = "any", patterns = "any",
  details = "boolean", folder = "any", datacenter = "any", cluster = "any", host = "any",
  resource_pool = "any" }

--- s:vms{ names = {...}, ids = {...}, power_state = "POWERED_ON",
-- patterns = { "web-*", "db-0[1-3]", "vm-42" }, folder = "web",
-- datacenter = "DC1", cluster = "Prod", host = "esx-01",
-- resource_pool = "batch", details = true } -> array of VMs.
-- Every field given must match (an array: any of it). A pattern is a
-- shell-style glob on the name (vguest.glob) or an id; the containers are
-- names (or ids) of VM folders (the VMs directly in one, not in its
-- subfolders, as vCenter's own filter has it), or of datacenters,
-- clusters, hosts or resource pools (at any depth below them), resolved
-- by the server (an unknown one raises kind "not_found"). With details = true each VM also has
-- guest_family ("linux", "windows", "other"), tools ("running",
-- "not_running", "starting"), tools_running, guest_ops_ready, ip_address,
-- guest_host_name, host (the ESXi host's name) and host_id; these take
-- one request per VM (vAPI: two) and are what Tools report now.
function session_methods:vms(opts)
  local cs = live(self, "vms", 2)
  local matchers, details
  if is_plain(opts) then
    checkopts(opts, vms_spec, 1, "vms", false, 2) -- (the C module checks the core fields)
    local o = {}
    for k, v in pairs(opts) do o[k] = v end
    if opts.patterns ~= nil then
      local names
      matchers, names = vm_patterns(opts.patterns, 2)
      o.patterns = nil
      -- plain names the server can filter by (one VM's list, not the fleet's)
      if names and o.names == nil and o.ids == nil then o.names = names end
    end
    for _, c in ipairs(containers) do
      local key, filter = c[1], c[2]
      if opts[key] ~= nil then
        o[filter] = container_ids(cs, key, container_values(opts[key], key, 2), 2)
        o[key] = nil
      end
    end
    details = opts.details
    o.details = nil
    opts = o
  end
  local list = task.await(call(cs, "vms", opts, "vms"), 2)
  local out = {}
  for _, t in ipairs(list) do
    local keep = not matchers
    for _, m in ipairs(matchers or {}) do
      if m(t) then
        keep = true
        break
      end
    end
    if keep then out[#out + 1] = new_vm(self, t) end
  end
  if details and #out > 0 then vm_details(self, cs, out, 2) end
  return out
end

--- s:vm(name_or_id) -> VM. Ids look like "vm-42". Raises kind "not_found",
-- or "invalid_argument" (listing the ids) when a name is ambiguous.
function session_methods:vm(key)
  local cs = live(self, "vm", 2)
  if type(key) ~= "string" then argerror(1, "vm", "VM name or id expected, got " .. typeof(key), 2) end
  if key == "" then argerror(1, "vm", "VM name or id must not be empty", 2) end
  local list
  if key:match("^vm%-%d+$") then
    list = task.await(call(cs, "vms", { ids = { key } }, "vm"), 2)
  end
  if not list or #list == 0 then
    list = task.await(call(cs, "vms", { names = { key } }, "vm"), 2)
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

--- vm:guest_info() -> { tools, tools_running, guest_ops_ready,
-- guest_family, ip_address, guest_host_name, host_id }: what VMware
-- Tools report of the VM now (see s:vms{ details = true }). Its fields are
-- also set on vm.
function VM:guest_info()
  checkself(self, VM, "guest_info")
  local cs = live(self.session, "guest_info", 2)
  local gi = task.await(call(cs, "guest_info", self.id, "guest_info"), 2)
  set_guest_fields(self, gi)
  local out = {}
  set_guest_fields(out, gi)
  return out
end

local ready_spec = { timeout = "seconds", interval = "seconds", max_interval = "seconds" }

--- vm:wait_ready{ timeout = nil, interval = 0.5, max_interval = 5 } -> info
-- Waits until guest operations can run in the VM (after a power-on or a
-- reboot: Tools up and ready), polling with a back-off; returns
-- vm:guest_info()'s table. At the deadline it raises kind "timed_out"
-- saying what Tools last reported. Polls that fail with a retryable
-- error (busy, unavailable, a dead connection) are repeated.
function VM:wait_ready(opts)
  checkself(self, VM, "wait_ready")
  local cs = live(self.session, "wait_ready", 2)
  opts = checkopts(opts, ready_spec, 1, "wait_ready", true, 2)
  local core_clock = core.clock
  local deadline = opts.timeout and core_clock() + opts.timeout
  local interval = opts.interval or 0.5
  local max_interval = math.max(opts.max_interval or 5, interval)
  local last
  while true do
    local ok, gi = pcall(task.await, call(cs, "guest_info", self.id, "wait_ready"), 3)
    if ok then
      last = gi
      if gi.ops_ready then
        set_guest_fields(self, gi)
        local out = {}
        set_guest_fields(out, gi)
        return out
      end
    elseif not (errors.is_error(gi) and gi.retryable) then
      error(gi, 0) -- (a wait refused here is raised at the caller's line)
    end
    local now = core_clock()
    if deadline and now >= deadline then
      errors.raise { kind = "timed_out", op = "wait_ready", vm = self.id, vm_name = self.name,
        message = string.format("guest operations were not ready within %g s (Tools: %s)",
          opts.timeout, last and last.tools:gsub("_", " ") or "not known") }
    end
    task.sleep(deadline and math.min(interval, math.max(0, deadline - now)) or interval)
    interval = math.min(interval * 2, max_interval)
  end
end

--- vm:guest(cred) -> Guest: the VM with guest credentials bound.
-- cred: a vguest.Credentials, a table for vg.credentials, or nil for
-- vg.credentials{} (the defaults).
function VM:guest(cred)
  checkself(self, VM, "guest")
  live(self.session, "guest", 2)
  cred = make_credentials(cred, "guest", 2)
  return setmetatable({ vm = self, session = self.session, credentials = cred }, Guest)
end

function Guest.__tostring(g)
  local ok, user = pcall(function() return g.credentials:user() end)
  return string.format("vguest.Guest (%s, user=%s)", tostring(g.vm.id), ok and tostring(user) or "?")
end

-- The core session, VM id and credentials of a Guest (or a Process's
-- guest), raising at the user's line when any is closed: they are self.
local function bound(g, fname, level)
  local cs = live(g.session, fname, level + 1)
  if g.credentials:closed() then error("attempt to use a closed vguest.Credentials", level + 1) end
  return cs, g.vm.id, g.credentials
end

local function gcore(g, fname)
  checkself(g, Guest, fname, 3)
  local cs, vm, cred = bound(g, fname, 3) -- no tail call: levels count frames
  return cs, vm, cred
end

local function new_process(g, pid)
  return setmetatable({ pid = pid, vm = g.vm, guest = g }, Process)
end

local wait_spec = { timeout = "seconds", interval = "seconds", max_interval = "seconds",
  retry_for = "positive", kill = "boolean" }

--- g:create{ path, arguments, working_directory, environment, start_minimized }
-- -> Process (p.pid, p.vm, p.guest)
function Guest:create(opts)
  local cs, vm, cred = gcore(self, "create")
  local pid = task.await(call(cs, "create", vm, cred, opts, "create"), 2)
  return new_process(self, pid)
end

--- g:get(pid) -> info { pid, name, owner, command, started, finished?, exit_code? }
function Guest:get(pid)
  local cs, vm, cred = gcore(self, "get")
  return task.await(call(cs, "get", vm, cred, pid, "get"), 2)
end

--- g:delete(pid): terminate the process (TERM, then KILL).
function Guest:delete(pid)
  local cs, vm, cred = gcore(self, "delete")
  return task.await(call(cs, "delete", vm, cred, pid, "delete"), 2)
end

--- g:list([pids]) -> array of info tables
function Guest:list(pids)
  local cs, vm, cred = gcore(self, "list")
  return task.await(call(cs, "list", vm, cred, pids, "list"), 2)
end

--- g:env([names]) -> { NAME = value } (guest environment variables); names
-- may be one name.
function Guest:env(names)
  local cs, vm, cred = gcore(self, "env")
  if type(names) == "string" then names = { names } end
  return task.await(call(cs, "env", vm, cred, names, "env"), 2)
end

--- g:getenv(name) -> the value of one guest environment variable, or nil.
function Guest:getenv(name)
  local cs, vm, cred = gcore(self, "getenv")
  if type(name) ~= "string" or name == "" then
    argerror(1, "getenv", "variable name must be a non-empty string, got " .. describe(name), 2)
  end
  local env = task.await(call(cs, "env", vm, cred, { name }, "getenv"), 2)
  return env[name]
end

--- g:environment() -> { NAME = value }: the guest's whole environment.
function Guest:environment()
  local cs, vm, cred = gcore(self, "environment")
  return task.await(call(cs, "env", vm, cred, nil, "environment"), 2)
end

-------------------------------------------------------------------------------
-- Guest files. Paths are the guest's own; local paths are this machine's.
-- The bytes go through the VM's ESXi host (see vg.connect for its TLS).

-- write_file and upload replace an existing file unless overwrite = false.
local function with_overwrite(opts)
  if opts == nil then return { overwrite = true } end
  if is_plain(opts) and opts.overwrite == nil then
    opts = copy(opts)
    opts.overwrite = true
  end
  return opts
end

--- g:write_file(path, data, { mode, owner, group, overwrite = true }):
-- data (a string, any bytes) becomes the guest file. mode: permission
-- bits, an integer (420) or an octal string ("0644"); owner, group:
-- numeric ids.
function Guest:write_file(path, data, opts)
  local cs, vm, cred = gcore(self, "write_file")
  return task.await(call(cs, "write_file", vm, cred, path, data, with_overwrite(opts),
    "write_file"), 2)
end

--- g:read_file(path [, { max_bytes = 64 MiB }]) -> the bytes of a guest
-- file (a larger file raises; use g:download for those).
function Guest:read_file(path, opts)
  local cs, vm, cred = gcore(self, "read_file")
  return task.await(call(cs, "read_file", vm, cred, path, opts, "read_file"), 2)
end

--- g:upload(local_path, guest_path, { mode, owner, group, overwrite = true }):
-- a local file of any size, streamed.
function Guest:upload(local_path, guest_path, opts)
  local cs, vm, cred = gcore(self, "upload")
  return task.await(call(cs, "upload", vm, cred, local_path, guest_path, with_overwrite(opts),
    "upload"), 2)
end

--- g:download(guest_path, local_path): a guest file of any size, streamed
-- into a local file (created or replaced).
function Guest:download(guest_path, local_path)
  local cs, vm, cred = gcore(self, "download")
  return task.await(call(cs, "download", vm, cred, guest_path, local_path, "download"), 2)
end

--- g:mktemp{ prefix = "vguest-", suffix = "", dir = nil, directory = false }
-- -> the absolute path of a new temporary file (or directory), in the
-- guest's temporary directory unless dir is given.
function Guest:mktemp(opts)
  local cs, vm, cred = gcore(self, "mktemp")
  return task.await(call(cs, "mktemp", vm, cred, opts, "mktemp"), 2)
end

--- g:mkdir(path, { parents = false })
function Guest:mkdir(path, opts)
  local cs, vm, cred = gcore(self, "mkdir")
  return task.await(call(cs, "mkdir", vm, cred, path, opts, "mkdir"), 2)
end

--- g:stat(path) -> { type = "file"|"directory"|"symlink", size, mode, owner,
-- group, modified, symlink_target } (mode, owner, group: POSIX guests).
-- A missing path raises kind "not_found".
function Guest:stat(path)
  local cs, vm, cred = gcore(self, "stat")
  return task.await(call(cs, "stat", vm, cred, path, "stat"), 2)
end

--- g:list_files(dir) -> array of stat tables, each with its `name`.
function Guest:list_files(dir)
  local cs, vm, cred = gcore(self, "list_files")
  return task.await(call(cs, "list_files", vm, cred, dir, "list_files"), 2)
end

--- g:remove(path, { recursive = false }): a file, a symbolic link, or a
-- directory (which must be empty unless recursive). A stat tells which.
function Guest:remove(path, opts)
  local cs, vm, cred = gcore(self, "remove")
  opts = checkopts(opts, { recursive = "boolean" }, 2, "remove", true, 2)
  local info = task.await(call(cs, "stat", vm, cred, path, "remove"), 2)
  local dir = info.type == "directory"
  return task.await(call(cs, "remove", vm, cred, path,
    { directory = dir, recursive = dir and opts.recursive or nil }, "remove"), 2)
end

--- g:process(pid) -> Process for a pid started earlier (no I/O).
function Guest:process(pid)
  checkself(self, Guest, "process")
  local n = type(pid) == "number" and math.tointeger(pid)
  if not n or n < 1 then
    argerror(1, "process", "pid must be a positive integer, got " .. describe(pid), 2)
  end
  return new_process(self, n)
end

-- g:run's guest family for the legacy form: asked from the VM as vg_run
-- would, and a VM that cannot tell taken for POSIX (as vg_run does: the
-- run itself then reports what is wrong).
local function guest_family(cs, vm, level)
  local ok, os_or_err = pcall(task.await, call(cs, "guest_os", vm, "run"), level + 1)
  if ok then return os_or_err end
  if errors.is_error(os_or_err) and os_or_err.kind == "canceled" then error(os_or_err, 0) end
  return "posix"
end

local families = { posix = true, windows = true }

-- The message of a command that failed (check = true): the program (never
-- the whole command line, which may hold a secret) and the end of stderr.
local function failure_message(r, spec)
  local prog = spec[1] or spec.path
  local what = type(prog) == "string" and ("'" .. prog .. "'") or "the command"
  local msg = string.format("%s exited with code %d", what, r.exit_code)
  local tail = (r.stderr or ""):gsub("%s+$", "")
  if #tail > 400 then tail = "..." .. tail:sub(-400) end
  tail = tail:match("([^\n]*\n?[^\n]*\n?[^\n]*)$") or tail
  if tail ~= "" then msg = msg .. ": " .. tail:gsub("%s*\n%s*", " | ") end
  return msg
end

--- g:run{ "/usr/bin/printf", "%s\n", "it's", timeout = 30 } ->
-- { exit_code, stdout, stderr, pid, started, finished } (+ stdout_truncated
-- / stderr_truncated when max_output cut a stream).
-- The argument vector is quoted for the guest's family (os = "auto" asks
-- the VM; "posix", "windows"); `command = "shell text"` goes to /bin/sh -c
-- (cmd.exe /c) untouched; `path` + `arguments` (g:create's form) is the
-- quoted path followed by the raw arguments string. Options: cwd, env
-- (merged into the guest's environment; env_mode = "replace" replaces it),
-- stdin (a string, or { file = local_path }), timeout (seconds: then the
-- process is terminated and kind "timed_out" raised with err.stdout,
-- err.stderr, err.pid), max_output (bytes kept per stream), stdout_file /
-- stderr_file (local paths the streams go to instead), check = true (a
-- non-zero exit raises kind "command_failed"). `working_directory` and
-- `environment` are accepted for cwd and env. Whatever ends the call (an
-- error, the timeout, Ctrl-C, a canceled task), the process is not left
-- running and the guest's temp files are gone when it returns.
function Guest:run(opts)
  local cs, vm, cred = gcore(self, "run")
  local spec, check = opts, false
  if is_plain(opts) then
    spec = copy(opts)
    check = opts.check
    if check ~= nil and type(check) ~= "boolean" then
      argerror(1, "run", "field 'check' must be a boolean, got " .. typeof(check), 2)
    end
    spec.check = nil
    if opts.path ~= nil or opts.arguments ~= nil then
      -- g:create's form: the quoted path, then the raw arguments string
      local path, args = opts.path, opts.arguments
      if path == nil then argerror(1, "run", "field 'path' is required with 'arguments'", 2) end
      if type(path) ~= "string" then
        argerror(1, "run", "field 'path' must be a string, got " .. typeof(path), 2)
      end
      if path == "" then argerror(1, "run", "field 'path' must not be empty", 2) end
      if path:find("\0", 1, true) then argerror(1, "run", "field 'path' contains a NUL byte", 2) end
      if not utf8.len(path) then argerror(1, "run", "field 'path' is not valid UTF-8", 2) end
      if args ~= nil and type(args) ~= "string" then
        argerror(1, "run", "field 'arguments' must be a string, got " .. typeof(args), 2)
      end
      if args and not utf8.len(args) then argerror(1, "run", "field 'arguments' is not valid UTF-8", 2) end
      if opts[1] ~= nil then
        argerror(1, "run", "field 'path' and an argument vector are exclusive", 2)
      end
      if opts.command ~= nil then argerror(1, "run", "fields 'path' and 'command' are exclusive", 2) end
      spec.path, spec.arguments = nil, nil
      local family = spec.os
      if family == nil or family == "auto" then family = guest_family(cs, vm, 2) end
      if families[family] then
        spec.os = family
        local qok, line = pcall(core.command_line, family, { path })
        if not qok then
          argerror(1, "run", "field 'path' holds a line break, which cmd.exe cannot carry", 2)
        end
        spec.command = line
      else
        spec.command = path -- any os the C module refuses: it says so
      end
      if args and args ~= "" then spec.command = spec.command .. " " .. args end
    end
  end
  local op = call(cs, "run", vm, cred, spec, "run")
  local runs = self.session._runs
  runs[op] = true
  local _ <close> = setmetatable({}, { __close = function() runs[op] = nil end })
  local r = task.await(op, 2)
  if check and r.exit_code ~= 0 then
    local e = { kind = "command_failed", op = "run", vm = vm, vm_name = self.vm.name,
      message = failure_message(r, opts) }
    for k, v in pairs(r) do e[k] = v end
    errors.raise(e)
  end
  return r
end

function Process.__tostring(p)
  return string.format("vguest.Process (pid %s on %s)", tostring(p.pid), tostring(p.vm.id))
end

local function pcore(p, fname)
  checkself(p, Process, fname, 3)
  local cs, vm, cred = bound(p.guest, fname, 3)
  return cs, vm, cred
end

--- p:get() -> info
function Process:get()
  local cs, vm, cred = pcore(self, "get")
  return task.await(call(cs, "get", vm, cred, self.pid, "get"), 2)
end

--- p:delete(): terminate it.
function Process:delete()
  local cs, vm, cred = pcore(self, "delete")
  return task.await(call(cs, "delete", vm, cred, self.pid, "delete"), 2)
end

--- p:wait{ timeout = nil, interval = 0.05, max_interval = 1.0, retry_for = 60 } -> info
-- Returns the info table once the process has finished (a non-zero exit
-- code is data, not an error). Polls with a back-off: the first look comes
-- after `interval` seconds, the interval doubles up to `max_interval`.
-- Processes waited on in one VM with the same credentials share one poll
-- (see vguest.poller). `timeout` (seconds) defaults to none: wait until the
-- process ends or the wait is canceled (Ctrl-C, t:cancel()); at the
-- deadline it raises kind "timed_out" and the process keeps running,
-- unless `kill = true`: then it is terminated before the wait raises (a
-- terminate refused for a while or whose answer is lost is sent again,
-- for `retry_for` seconds like the polls).
-- Polls that fail with a retryable error (busy, unavailable, a dead
-- connection) are repeated; once they have failed for `retry_for` seconds
-- in a row the wait raises the last of those errors.
function Process:wait(opts)
  local cs, vm, cred = pcore(self, "wait")
  opts = checkopts(opts, wait_spec, 1, "wait", true, 2)
  local ok, r = pcall(poller.wait, cs, vm, cred, self.pid, opts, 3) -- (pcall is a frame)
  if ok then return r end
  if opts.kill and errors.is_error(r) and r.kind == "timed_out" then
    -- A terminate that failed for a reason that passes (busy, Tools
    -- unavailable, an answer lost or late, which may or may not have
    -- taken effect) is sent again, with the polls' back-off, for as long
    -- as they would ride it out: a second terminate of a process that
    -- ended is not found, which is what was asked for.
    local since, interval = os.time(), opts.interval or 0.05
    while true do
      local dok, derr = pcall(task.await, call(cs, "delete", vm, cred, self.pid, "wait"), 3)
      if dok or (errors.is_error(derr) and derr.kind == "not_found") then break end
      if not (errors.is_error(derr) and (derr.retryable or derr.maybe_done)) or
          os.time() - since >= (opts.retry_for or 60) then
        error(derr, 0)
      end
      task.sleep(interval)
      interval = math.min(interval * 2, math.max(opts.max_interval or 1.0, interval))
    end
    r.message = string.format("process %d did not finish within %g s; it was terminated",
      self.pid, opts.timeout)
  end
  if errors.is_error(r) and r.vm == self.vm.id and r.vm_name == nil then r.vm_name = self.vm.name end
  error(r, 0)
end

-------------------------------------------------------------------------------
-- Tasks

--- vg.spawn(fn, ...) -> Task; fn(...) starts at once and runs until its
-- first wait; t:wait() returns its results or re-raises its error.
function vg.spawn(fn, ...)
  if type(fn) ~= "function" then
    argerror(1, "spawn", "function expected, got " .. typeof(fn), 2)
  end
  return task.spawn(fn, ...)
end

--- vg.sleep(seconds)
function vg.sleep(seconds)
  if type(seconds) ~= "number" or not (seconds >= 0 and seconds <= errors.MAX_SECONDS) then
    argerror(1, "sleep", "non-negative number of seconds expected, got " .. describe(seconds), 2)
  end
  return task.sleep(seconds)
end

-- t:result() for a wait of the API's own (vg.wait_all, vg.parallel): a
-- wait refused there (a metamethod, a foreign coroutine) is raised at the
-- user's line, `level` as for argerror.
local function result_of(t, level)
  local r = table.pack(pcall(t.result, t))
  if not r[1] then reraise(r[2], level + 1) end
  return table.unpack(r, 2, r.n)
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
    local r = table.pack(result_of(t, 2))
    if r[1] then results[i] = r[2] else errs[i] = r[2] end
  end
  return results, errs
end

--- vg.parallel(items, fn, { limit = 64 }) -> results, errors
-- Calls fn(item, i) for every item, at most `limit` at a time, each in its
-- own task. results[i] is fn's first result, errors[i] its error object (or
-- message) or nil; both are indexed like items. Never raises for fn's
-- failures; canceling the caller cancels the workers. opts.on_progress(p)
-- (else vg.defaults.on_progress, which `vguest run` sets on a terminal) is
-- told how the work goes: p.total, p.done, p.failed, p.running, p.elapsed,
-- p.rate, p.finished (see vguest.progress).
function vg.parallel(items, fn, opts)
  errors.checkarg(items, "table", 1, "parallel", 2)
  if type(fn) ~= "function" then
    argerror(2, "parallel", "function expected, got " .. typeof(fn), 2)
  end
  opts = checkopts(opts, { limit = "integer", on_progress = "function" }, 3, "parallel", true, 2)
  local n = #items
  if math.type(n) ~= "integer" then -- (a __len may return anything)
    argerror(1, "parallel", "the length of items must be an integer, got " .. describe(n), 2)
  end
  local limit = math.min(opts.limit or 64, n)
  local results, errs = {}, {}
  local next_i = 0
  local tracker = progress.tracker(n, opts.on_progress or defaults.on_progress)
  local function worker()
    while next_i < n do
      next_i = next_i + 1
      local i = next_i
      tracker:start()
      local ok, r = pcall(fn, items[i], i)
      if ok then results[i] = r else errs[i] = r end
      tracker:finish(ok)
    end
  end
  local ts = {}
  local guard <close> = cancel_all(ts)
  local done <close> = setmetatable({}, { __close = function() tracker:close() end })
  for k = 1, limit do ts[k] = task.spawn(worker) end
  for _, t in ipairs(ts) do
    local ok, err = result_of(t, 2)
    if not ok then error(err, 0) end
  end
  return results, errs
end

return vg
