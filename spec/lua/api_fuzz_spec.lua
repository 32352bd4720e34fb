-- Fuzzing of the public Lua API (require "vguest"), against a simulator:
-- many random calls of every module function and every method of its
-- objects (found in their metatables, and checked against a list of the
-- known ones so that a vanished one is noticed), with arguments drawn from
-- a pool of every type (odd numbers and strings, tables with hostile
-- metatables, functions that error, yield or call back into the API,
-- coroutines, foreign userdata, the API's own objects, live, closed and
-- another session's), at top level, inside tasks, inside coroutines vguest
-- did not create and where no wait is possible. Every failure must be an
-- error object of a documented kind or a misuse message naming the call
-- (DESIGN.md, "The Lua API"); anything else (a raw Lua error from inside
-- vguest, a value of another type, a message raised elsewhere than at the
-- caller's line, a task left running, a hang) fails with the seed, the
-- call and its arguments.
--
-- The seed is fixed and printed. Replay or vary a run with
--   VGUEST_FUZZ_SEED=<n>    the seed (default below)
--   VGUEST_FUZZ_ROUNDS=<n>  the number of rounds (each one random call, or
--                           up to three at once in tasks)
--   VGUEST_FUZZ_TRACE=1     print each call before it is made
--   VGUEST_FUZZ_PROFILE=1   time and outcomes per function, slow rounds
--   VGUEST_FUZZ_HANG_MS=<n> the bound past which a call is a hang
-- e.g. VGUEST_FUZZ_SEED=7 ctest --test-dir build -R lua_spec --output-on-failure.
--
-- What it runs in the guest (this machine) is harmless: /bin/true,
-- /bin/false, `sleep 0`, commands that do not exist; guest and local paths
-- it writes, creates or removes are all inside its own directory.
local vg = require "vguest"
local task = require "vguest.task"
local helper = require "spec.helper"

local THIS = debug.getinfo(1, "S").short_src

local function env_int(name, default)
  local v = math.tointeger(tonumber(os.getenv(name) or ""))
  return v or default
end

local SANITIZED = os.getenv("VGUEST_SANITIZED") == "1" -- spec/CMakeLists.txt
local SEED = env_int("VGUEST_FUZZ_SEED", 20240805)
local ROUNDS = env_int("VGUEST_FUZZ_ROUNDS", SANITIZED and 1500 or 3000)
local TRACE = os.getenv("VGUEST_FUZZ_TRACE") == "1"
-- Not a timing assertion: a call that has not returned after this long is
-- reported as a hang (with the call) instead of running into ctest's limit.
local HANG_MS = env_int("VGUEST_FUZZ_HANG_MS", 120000)
local PROFILE = os.getenv("VGUEST_FUZZ_PROFILE") == "1"
local prof = {}

-------------------------------------------------------------------------------
-- A random generator of its own (splitmix64): the sequence depends only on
-- the seed, whatever else uses math.random.

local rng = 0
local function reseed(n) rng = n end
local function rand64()
  rng = rng + 0x9E3779B97F4A7C15
  local z = rng
  z = (z ~ (z >> 30)) * 0xBF58476D1CE4E5B9
  z = (z ~ (z >> 27)) * 0x94D049BB133111EB
  return z ~ (z >> 31)
end
local function rand(n) return (rand64() >> 1) % n + 1 end -- 1..n
local function chance(p) return rand(1000000) <= p * 1000000 end
local function pick(t) return t[rand(#t)] end
local function pickv(...) return (select(rand(select("#", ...)), ...)) end -- nil among them

-------------------------------------------------------------------------------
-- Labels, for reports: every non-scalar value the generators make gets one.

local labels = setmetatable({}, { __mode = "k" })
local function label(v, name)
  if type(v) == "table" or type(v) == "userdata" or type(v) == "function" or type(v) == "thread" then
    labels[v] = labels[v] or name
  end
  return v
end

local function show(v, depth)
  depth = depth or 0
  local t = type(v)
  if t == "string" then
    if #v > 48 then return string.format("<string of %d bytes: %q...>", #v, v:sub(1, 16)) end
    return (string.format("%q", v):gsub("\\\n", "\\n"))
  elseif t == "number" then
    if v ~= v then return "0/0" end
    if v == math.huge then return "math.huge" end
    if v == -math.huge then return "-math.huge" end
    if math.type(v) == "float" then
      if v == 0 and 1 / v < 0 then return "-0.0" end
      return string.format("%.14g", v) .. (v == math.floor(v) and math.abs(v) < 1e15 and ".0" or "")
    end
    if v == math.mininteger then return "math.mininteger" end
    if v == math.maxinteger then return "math.maxinteger" end
    return tostring(v)
  elseif t ~= "table" then
    if labels[v] then return labels[v] end
    return t == "nil" and "nil" or t == "boolean" and tostring(v) or "<" .. t .. ">"
  end
  if labels[v] then return labels[v] end
  if depth >= 2 then return "{...}" end
  local parts, n = {}, 0
  local k, x = next(v)
  while k ~= nil and n < 8 do
    n = n + 1
    if math.type(k) == "integer" and k == n then
      parts[#parts + 1] = show(x, depth + 1)
    elseif type(k) == "string" and k:match("^[%a_][%w_]*$") then
      parts[#parts + 1] = k .. " = " .. show(x, depth + 1)
    else
      parts[#parts + 1] = "[" .. show(k, depth + 1) .. "] = " .. show(x, depth + 1)
    end
    k, x = next(v, k)
  end
  if k ~= nil then parts[#parts + 1] = "..." end
  local mt = getmetatable(v) ~= nil and " (with a metatable)" or ""
  return "{ " .. table.concat(parts, ", ") .. " }" .. mt
end

-------------------------------------------------------------------------------
-- What a failure may be.

-- DESIGN.md's kinds, errors.lua's command_failed, and server_error from the
-- runtime's one status list (vguest.h): an HTTP 500.
local KINDS = {}
for k in ([[unauthenticated unauthorized not_found invalid_argument
  not_allowed_in_current_state resource_busy service_unavailable unsupported
  unable_to_allocate_resource timed_out canceled transport tls protocol
  command_failed server_error]]):gmatch("%S+") do KINDS[k] = true end

-- Messages about the state of things, which name no argument.
local STATE_MESSAGES = {
  "^attempt to use a closed vguest%.%a+$",
  "^vguest call from a foreign coroutine; use vg%.spawn$",
  "^vguest: cannot wait here %(inside a metamethod, finalizer or C call%)$",
  "^a task cannot wait for itself$",
  "^attempt to yield from a vguest task %(use vg%.spawn for concurrency%)$",
}

-- Errors of the fuzzer's own functions and metamethods carry this marker:
-- the API passed them on (a caller's error is the caller's).
local MARK = "fuzz-own-error"
local MARK_OBJ = setmetatable({}, { __tostring = function() return MARK end })
local YIELDED = label({}, "<yielded by the fuzzer>")

local sim

-- nil when err is a failure the API may raise for a call named `name`
-- (its misuse messages name it), else why not.
local function verdict(err, names)
  if vg.is_error(err) then
    if not KINDS[err.kind] then return "an error object of undocumented kind " .. show(err.kind) end
    if type(err.message) ~= "string" then return "an error object without a string message" end
    if type(err.retryable) ~= "boolean" or type(err.maybe_done) ~= "boolean" then
      return "an error object whose retryable/maybe_done are not booleans"
    end
    local ok, text = pcall(tostring, err)
    if not ok or type(text) ~= "string" then return "an error object whose tostring fails" end
    if sim and (text:find(sim.password, 1, true) or text:find(sim.guest_password, 1, true)) then
      return "a password in an error object"
    end
    return nil
  end
  if err == MARK_OBJ then return nil end
  if type(err) ~= "string" then
    return "raised a " .. type(err) .. " that is neither an error object nor a message"
  end
  if err:find(MARK, 1, true) then return nil end
  if sim and (err:find(sim.password, 1, true) or err:find(sim.guest_password, 1, true)) then
    return "a password in a message"
  end
  local msg = err
  if err:sub(1, #THIS + 1) == THIS .. ":" then
    msg = err:match("^[^\n]-:%d+: (.*)$") or err
  elseif err:match("^[^%s]+%.lua:%d+: ") then
    return "raised inside the API, not at the caller's line"
  end
  local _, count = msg:gsub("bad argument", "")
  if count > 1 then return "a message wrapped in another" end
  local fname = msg:match("^bad argument #%d+ to '([^']*)' %(.*%)$") or
      msg:match("^calling '([^']*)' on bad self %(.*%)")
  if fname then
    if names[fname] then return nil end
    return "a misuse message naming '" .. fname .. "', not the call"
  end
  for _, p in ipairs(STATE_MESSAGES) do
    if msg:match(p) then return nil end
  end
  return "not an error object nor a misuse message"
end

local failures, signatures = {}, {}

-- Notes a failure once per kind of message (numbers and addresses aside).
local function fail(where, call, why, err, tb)
  local text = type(err) == "string" and err or ("<" .. type(err) .. "> " .. show(err))
  local sig = why .. "|" .. text:gsub("0x%x+", "0x"):gsub("%d+", "N")
  if signatures[sig] then return end
  signatures[sig] = true
  failures[#failures + 1] = string.format("call %s: %s\n    %s\n    raised: %s%s", where, call, why,
    text:sub(1, 600), tb and ("\n    " .. tb:gsub("\n", "\n    "):sub(1, 1500)) or "")
end

local function check(where, call, names, err, tb)
  local why = verdict(err, names)
  if why then fail(where, call, why, err, tb) end
end

-------------------------------------------------------------------------------
-- The world: the objects calls are made on and with, rebuilt as calls
-- close them.

local W = {}
local SB -- the fuzzer's own directory (guest and local: the same machine)
local BIG = string.rep("A", 1 << 20)
local proc_pool = {} -- recent ones, as self and as arguments
local gpaths = {}    -- guest paths made by mktemp

local function track_proc(p)
  if getmetatable(p) ~= vg.Process then return end
  -- (app-01's Tools are not running: 503, retryable, which p:wait rides
  -- out for its retry_for, 60 s; that is as documented, and slow)
  if p.vm == W.vm_tools or p.vm.id == "vm-47" then return end
  if #proc_pool >= 16 then table.remove(proc_pool, 1) end
  proc_pool[#proc_pool + 1] = p
end

local function session_closed(s) return rawget(s, "_closed") end

-- The objects of one flavour: session, VM, guest, a finished process.
local function build_flavour(flavour, suffix)
  local s = helper.connect(flavour)
  local vm = s:vm("web-01")
  local g = vm:guest(W.cred)
  local old = W["p" .. suffix]
  local p
  if old then
    p = g:process(old.pid) -- the guest keeps its exit code
  else
    p = g:create { path = "/bin/true" }
    p:wait()
  end
  W["s" .. suffix], W["vm" .. suffix], W["g" .. suffix], W["p" .. suffix] = s, vm, g, p
  label(s, "<live " .. flavour .. " session>")
  label(vm, "<VM web-01 of the " .. flavour .. " session>")
  label(g, "<guest of the " .. flavour .. " session>")
  label(p, "<finished process of the " .. flavour .. " session>")
end

local closed_objects = {} -- closed sessions, credentials, secrets seen so far

local function refresh()
  if not W.cred or W.cred:closed() then
    if W.cred then closed_objects[#closed_objects + 1] = W.cred end
    W.cred = label(helper.credentials(), "<credentials>")
    for _, suffix in ipairs { "", "2", "3" } do
      local vm = W["vm" .. suffix]
      if vm and not session_closed(vm.session) then
        W["g" .. suffix] = label(vm:guest(W.cred), labels[W["g" .. suffix]])
      end
    end
    if W.vm_off and not session_closed(W.vm_off.session) then
      W.g_off = label(W.vm_off:guest(W.cred), "<guest of powered-off db-01>")
      W.g_tools = label(W.vm_tools:guest(W.cred), "<guest of app-01, Tools not running>")
    end
    -- the processes, as seen through the new guests (g:process: no I/O)
    for _, suffix in ipairs { "", "2", "3" } do
      local p, g = W["p" .. suffix], W["g" .. suffix]
      if p and g and g.vm == p.vm then W["p" .. suffix] = label(g:process(p.pid), labels[p]) end
    end
    for i, p in ipairs(proc_pool) do
      for _, suffix in ipairs { "", "2", "3" } do
        local g = W["g" .. suffix]
        if g and p.guest.vm == g.vm then proc_pool[i] = g:process(p.pid) end
      end
    end
  end
  for _, f in ipairs { { "", "api" }, { "2", "vim25" }, { "3", "rest" } } do
    local suffix, flavour = f[1], f[2]
    local s = W["s" .. suffix]
    if not s or session_closed(s) then
      if s then closed_objects[#closed_objects + 1] = s end
      build_flavour(flavour, suffix)
      if suffix == "" then
        W.vm_off = label(W.s:vm("db-01"), "<VM db-01, powered off>")
        W.vm_tools = label(W.s:vm("app-01"), "<VM app-01, Tools not running>")
        W.g_off = label(W.vm_off:guest(W.cred), "<guest of powered-off db-01>")
        W.g_tools = label(W.vm_tools:guest(W.cred), "<guest of app-01, Tools not running>")
      end
    end
  end
  if not W.sec or W.sec:closed() then
    if W.sec then closed_objects[#closed_objects + 1] = W.sec end
    W.sec = label(vg.secret("fuzz-secret"), "<secret>")
  end
  while #closed_objects > 12 do table.remove(closed_objects, 1) end
end

local function build_world()
  sim = helper.sim()
  SB = helper.sim_tmpdir() .. "/fuzz"
  os.execute("mkdir -p " .. helper.quote(SB .. "/d/sub"))
  helper.write(SB .. "/f", "fuzz file\n")
  refresh()
  -- closed ones, with what is bound to them
  local sc = helper.connect("api")
  W.vm_closed = label(sc:vm("web-01"), "<VM of a closed session>")
  W.g_closed = label(W.vm_closed:guest(W.cred), "<guest of a closed session>")
  W.p_closed = label(W.g_closed:create { path = "/bin/true" }, "<process of a closed session>")
  W.p_closed:wait()
  sc:close()
  W.s_closed = label(sc, "<closed session>")
  local cc = helper.credentials()
  W.g_credclosed = label(W.vm:guest(cc), "<guest with closed credentials>")
  cc:close()
  W.cred_closed = label(cc, "<closed credentials>")
  W.sec_closed = label(vg.secret("closed"), "<closed secret>")
  W.sec_closed:close()
  W.t_ok = label(vg.spawn(function() return 1 end), "<finished task>")
  W.t_failed = label(vg.spawn(function() error(MARK, 0) end), "<failed task>")
  W.t_failed:result()
  W.t_canceled = label(vg.spawn(function() vg.sleep(10) end), "<canceled task>")
  W.t_canceled:cancel()
  local _, e = pcall(W.g.get, W.g, 999999)
  W.err = label(e, "<error object>")
  local f = io.tmpfile()
  f:close()
  W.closed_file = label(f, "<closed file>")
  W.co_dead = label(coroutine.create(function() end), "<dead coroutine>")
  coroutine.resume(W.co_dead)
  W.co_suspended = label(coroutine.create(function() coroutine.yield() end), "<suspended coroutine>")
  coroutine.resume(W.co_suspended)
  track_proc(W.p)
  track_proc(W.p2)
  track_proc(W.p3)
end

-------------------------------------------------------------------------------
-- Functions the fuzzer passes: they error, yield, call back into the API.
-- Their own calls into the API are checked like the fuzzer's.

local function own_call(name, f, ...)
  local ok, err = pcall(f, ...)
  if not ok then check("callback", name, { [name] = true }, err) end
  return ok, err
end

-- Under `vguest run busted` (the sanitizer builds) busted itself runs in
-- a task: a yield there would end it (as it ends any task that yields).
local RUNNER = task.current()

local function yield_fn(...)
  if RUNNER and task.current() == RUNNER then
    error(MARK .. ": not yielding the task that runs busted", 0)
  end
  local ok, r = pcall(coroutine.yield, YIELDED)
  if not ok then error(MARK .. ": " .. tostring(r), 0) end
  return r
end

local fns = {
  label(function() end, "<function returning nothing>"),
  label(function(...) return ... end, "<function returning its arguments>"),
  label(function() error(MARK .. ": boom", 0) end, "<function that errors>"),
  label(function() error(MARK_OBJ) end, "<function that errors with a table>"),
  label(yield_fn, "<function that yields>"),
  label(function() own_call("sleep", vg.sleep, 0) end, "<function calling vg.sleep(0)>"),
  label(function() return own_call("list", W.g.list, W.g, { W.p.pid }) end, "<function calling g:list>"),
  label(function()
    local ok, p = own_call("create", W.g.create, W.g, { path = "/bin/true" })
    if ok then
      track_proc(p)
      own_call("wait", p.wait, p)
    end
  end, "<function creating and waiting for /bin/true>"),
  label(function()
    local t = task.current()
    if t then t:cancel() end
  end, "<function canceling its own task>"),
  label(function() collectgarbage() end, "<function collecting garbage>"),
}

-------------------------------------------------------------------------------
-- Values

local HOSTILE_NAMES = { "an __index that errors", "an __index that yields", "a __tostring that errors",
  "a __tostring returning a number", "a __len that errors", "a __len returning a string",
  "a __pairs that errors", "a number __name", "a vguest __name", "a __metatable field",
  "an __eq that errors", "a __call", "an __index table", "a __newindex that errors",
  "a __close that errors", "a __gc calling the API" }
local HOSTILE_KINDS = #HOSTILE_NAMES

local function hostile(kind)
  local mt
  if kind == 1 then
    mt = { __index = function() error(MARK .. ": __index", 0) end }
  elseif kind == 2 then
    mt = { __index = function() return yield_fn() end }
  elseif kind == 3 then
    mt = { __tostring = function() error(MARK .. ": __tostring", 0) end }
  elseif kind == 4 then
    mt = { __tostring = function() return 42 end }
  elseif kind == 5 then
    mt = { __len = function() error(MARK .. ": __len", 0) end }
  elseif kind == 6 then
    mt = { __len = function() return "many" end }
  elseif kind == 7 then
    mt = { __pairs = function() error(MARK .. ": __pairs", 0) end }
  elseif kind == 8 then
    mt = { __name = 42 }
  elseif kind == 9 then
    mt = { __name = pick { "vguest.Secret", "vguest.Credentials", "vguest.Session", "vguest.Task" } }
  elseif kind == 10 then
    mt = { __metatable = pick { 42, false, "locked" } }
  elseif kind == 11 then
    mt = { __eq = function() error(MARK .. ": __eq", 0) end, __lt = function() error(MARK, 0) end }
  elseif kind == 12 then
    mt = { __call = function(...) return ... end }
  elseif kind == 13 then
    mt = { __index = { path = "/bin/true", user = "root", env = "PATH" } }
  elseif kind == 14 then
    mt = { __newindex = function() error(MARK .. ": __newindex", 0) end }
  elseif kind == 15 then
    mt = { __close = function() error(MARK .. ": __close", 0) end,
      __concat = function() error(MARK .. ": __concat", 0) end }
  else
    -- a finalizer that calls into the API, wherever Lua happens to
    -- collect it (the design allows it: spec/core/reentrancy_spec.lua)
    local sleep = chance(0.5) -- (not in __gc: when it runs is not the seed's)
    mt = { __gc = function()
      if sleep then own_call("sleep", vg.sleep, 0) else own_call("list", W.g.list, W.g, { W.p.pid }) end
    end }
  end
  local t = setmetatable(chance(0.5) and { "/bin/true", path = "/bin/true" } or {}, mt)
  return label(t, "<table with " .. HOSTILE_NAMES[kind] .. ">")
end

local function deep(n)
  local t = {}
  local root = t
  for _ = 1, n do
    t[1] = {}
    t = t[1]
  end
  return label(root, "<table nested " .. n .. " deep>")
end

local function cyclic()
  local t = { "/bin/true" }
  t.t, t[2] = t, t
  return label(t, "<cyclic table>")
end

local strings = { "", "x", " ", "0", "%s%n%d%%", "a\0b", "\0", "\xff\xfe\xc3\x28", "/bin/true",
  "web-01", "vm-42", "PATH", "POWERED_ON", "api", "\n", "'\"$`\\", "=", "é", BIG, MARK }

local numbers = { 0, -1, 1, math.maxinteger, math.mininteger, 1 << 31, 1 << 53, 0 / 0, math.huge,
  -math.huge, -0.0, 1e308, 0.25, 1e-300, 2.0 ^ 63, -1.5 }

local function objects()
  local t = { W.s, W.s2, W.s3, W.s_closed, W.vm, W.vm2, W.vm_off, W.vm_closed, W.g, W.g2, W.g3, W.g_off,
    W.g_closed, W.g_credclosed, W.p, W.p2, W.p_closed, W.cred, W.cred_closed, W.sec, W.sec_closed,
    W.t_ok, W.t_failed, W.t_canceled, W.err, io.stdout, W.closed_file, W.co_dead, W.co_suspended,
    W.g_tools, W.p3, vg, vg.Session, vg.Guest, vg.Error }
  for _, o in ipairs(closed_objects) do t[#t + 1] = o end
  return t
end

local function any()
  local r = rand(100)
  if r <= 6 then return nil
  elseif r <= 10 then return r <= 8
  elseif r <= 26 then return pick(numbers)
  elseif r <= 44 then return pick(strings)
  elseif r <= 54 then
    return pick { label({}, "{}"), label({ 1, 2, 3 }, "{ 1, 2, 3 }"), { "/bin/true" }, { path = "/bin/true" },
      { 1, nil, 3 }, { [0] = 1 }, { [1.5] = 1 }, { [true] = 1 }, { [label({}, "{}")] = 1 }, { x = 1 },
      label({ { { {} } } }, "{ { { {} } } }") }
  elseif r <= 58 then
    local n = pick { 1000, 20000 }
    local t = {}
    for i = 1, n do t[i] = 1 end
    return label(t, "<array of " .. n .. " ones>")
  elseif r <= 60 then return deep(pick { 50, 5000 })
  elseif r <= 62 then return cyclic()
  elseif r <= 72 then return hostile(rand(HOSTILE_KINDS))
  elseif r <= 80 then return pick(fns)
  else return pick(objects())
  end
end

-- Slot generators: most of the time a value of the kind the argument
-- takes (right or subtly wrong), else anything.
local S = {}
local function mix(p, f) return function() if chance(p) then return any() end return f() end end

-- A value that is not a string (paths: no random string may name a file).
local function any_but_string()
  local v = any()
  while type(v) == "string" do v = any() end
  return v
end

local function pid()
  local p = pick(proc_pool)
  return pick { p and p.pid or 1, W.p.pid, W.p2.pid, 1, 0, -1, 1.5, math.maxinteger, 2.0 ^ 63, "12",
    0 / 0, 999999, math.mininteger }
end
S.pid = mix(0.25, pid)

local function gpath()
  local r = rand(20)
  if r <= 2 then return any_but_string() end
  if r <= 4 and #gpaths > 0 then return pick(gpaths) end
  if r <= 12 then return pick { SB .. "/f", SB .. "/d", SB .. "/new", SB .. "/d/new", SB .. "/d/sub" } end
  return pick { SB .. "/f", SB .. "/d", SB .. "/d/sub", SB, SB .. "/missing/x", SB .. "/%s%n",
    SB .. "/\xff\xfe", SB .. "/a b'c", SB .. "/new", SB .. "/d/new", "", "a\0b", SB .. "/x\0y", BIG }
end
S.gpath = gpath

local function lpath() -- a local file written to
  if chance(0.1) then return any_but_string() end
  return pick { SB .. "/local-out", SB .. "/missing/out", SB, SB .. "/d", "", "a\0b", BIG, SB .. "/f" }
end
local function lread() -- a local file read
  if chance(0.1) then return any_but_string() end
  return pick { "/etc/hostname", SB .. "/f", "/nonexistent", SB, "", "a\0b", "/dev/null", BIG }
end
S.lpath, S.lread = lpath, lread

S.data = mix(0.2, function() return pick { "", "hello\n", "a\0b", BIG, "\xff\xfe", string.rep("x", 70000) } end)
S.vmkey = mix(0.2, function()
  return pick { "web-01", "vm-42", "dup", "db-01", "app-01", "nope", "vm-999", "", "a\0b", "%s%n", BIG,
    "vm-" .. string.rep("9", 40), "web-02" }
end)
local function seconds()
  return pick { 0, 1e-3, 0.01, 0.05, -1, 0 / 0, math.huge, 1e308, "1", -0.0, 2147484, 1e-300, 0.2 }
end
S.seconds = mix(0.2, seconds)
local function func() return chance(0.8) and pick(fns) or any() end
S.func = func
S.any = any

local function envtable()
  if chance(0.5) then return pick { { K = "V" }, { PATH = "/bin:/usr/bin", N = 1 }, {} } end
  return pick { { K = "V" }, { ["A=B"] = "c" }, { [""] = "x" }, { K = 1 }, { K = {} }, { K = "a\0b" },
    { 1, 2 }, { PATH = "/bin" }, { K = true }, { ["a\0b"] = "x" }, {}, "A=B" }
end

local function secretish()
  local r = rand(16)
  if r <= 2 then return any() end
  return pick { "fuzz-literal", "", BIG, "a\0b", W.sec, W.sec_closed, { env = "PATH" },
    { env = "VGUEST_FUZZ_SURELY_UNSET" }, { file = "/etc/hostname" }, { file = "/nonexistent" },
    { file = SB }, { env = "", file = "" }, { prompt = 1 }, { prompt = "x", env = "PATH" }, { nev = "x" },
    { env = 1 }, { file = "a\0b" }, hostile(9), setmetatable({ env = "PATH" }, {}) }
end
S.secretish = secretish

local function progs()
  return pick { "/bin/true", "/bin/false", "/bin/sleep", "/no/such/program", "true", "", "a\0b",
    "%s%n", BIG, "/tmp", "C:\\a\nb.exe" }
end
local function argstr() return pick { "0", "", "x", "-c", "%s%n", "a\0b", BIG, "'", " 0" } end

-- Values of option fields, by name.
-- Mostly a right value (the call then goes further), else a wrong one.
local function vi(valid, invalid)
  return function() if chance(0.65) then return pick(valid) end return pick(invalid) end
end
local yes_no = vi({ true, false }, { 1, "yes" })

-- Values of option fields, by name.
local K = {
  path = progs, arguments = argstr,
  working_directory = function() return chance(0.65) and SB or pick { "", "/nonexistent", "a\0b" } end,
  environment = envtable, start_minimized = yes_no,
  names = vi({ { "web-01" }, { "web-01", "dup" }, {} }, { { "" }, { 1 }, { "a\0b" }, "web-01", { a = "x" } }),
  ids = vi({ { "vm-42" }, {}, { "vm-999" } }, { { 42 }, "vm-42" }),
  power_state = vi({ "POWERED_ON", "POWERED_OFF", "SUSPENDED" }, { "ON", 1 }),
  timeout = seconds, interval = seconds, max_interval = seconds, retry_for = seconds, kill = yes_no,
  cwd = function() return chance(0.65) and SB or pick { "", "/nonexistent", "a\0b" } end,
  env = envtable, env_mode = vi({ "merge", "replace" }, { "append", 1 }),
  stdin = vi({ "", "data\n", "a\0b", { file = "/etc/hostname" } }, { { file = "/nonexistent" }, { file = 1 }, 1, { x = 1 } }),
  check = yes_no,
  max_output = vi({ 1, 10, math.maxinteger }, { 0, -1, 1.5, 0 / 0 }),
  stdout_file = lpath, stderr_file = lpath,
  os = vi({ "auto", "posix", "windows" }, { "dos", 1 }),
  command = vi({ "true", "exit 3", "echo hi; echo err >&2", "sleep 0", "%s%n" }, { "", "a\0b" }),
  mode = vi({ 420, "0644", 4095, "0" }, { "rw-", -1, 1 << 20, "0999", 1.5, "" }),
  owner = vi({ 0 }, { -1, 1.5, "wheel", math.maxinteger }),
  group = vi({ 0 }, { -1, "wheel", 1 << 40 }),
  overwrite = yes_no,
  max_bytes = vi({ 1, 1 << 26, math.maxinteger }, { 0, -1, 1.5 }),
  prefix = vi({ "vguest-", "", "%s%n", "x y" }, { "a\0b", BIG }),
  suffix = vi({ ".txt", "", "%s" }, { "a\0b" }),
  dir = function() return chance(0.65) and pick { SB, SB .. "/d" } or pick { SB .. "/missing", "", "a\0b" } end,
  directory = yes_no, parents = yes_no, recursive = yes_no,
  limit = vi({ 1, 2, 64, math.maxinteger }, { 0, -1, 1.5 }),
  on_progress = func,
  user = function() return chance(0.65) and sim.guest_user or pick { "", "nobody", 1, "a\0b", BIG } end,
  password = secretish, saml_token = secretish,
  interactive = yes_no,
}

-- Fields that name a file written to, locally or in the guest: never a
-- random string (it would be a file in the current directory).
local PATH_FIELDS = { stdout_file = true, stderr_file = true, dir = true, cwd = true,
  working_directory = true }

local function opts_of(keys, p_any)
  return function()
    if chance(p_any or 0.1) then return any() end
    if chance(0.2) then return nil end
    local t = {}
    for _ = 1, rand(4) - 1 do
      local k = chance(0.92) and pick(keys) or pick { "bogus", 1, true, 1.5 }
      local gen = K[k]
      t[k] = (gen and chance(0.8)) and gen() or PATH_FIELDS[k] and any_but_string() or any()
    end
    if chance(0.04) then setmetatable(t, debug.getmetatable(hostile(rand(HOSTILE_KINDS)))) end
    return t
  end
end

local create_keys = { "path", "arguments", "working_directory", "environment", "start_minimized" }
local run_keys = { "timeout", "cwd", "working_directory", "env", "environment", "env_mode", "stdin",
  "check", "max_output", "stdout_file", "stderr_file", "os", "command", "path", "arguments" }
local attr_keys = { "mode", "owner", "group", "overwrite" }
local wait_keys = { "timeout", "interval", "max_interval", "retry_for", "kill" }

-- vm:wait_ready's options, always with a deadline when they are a plain
-- table: without one it waits (rightly) for as long as Tools stay down
local function ready_opts()
  local t = opts_of({ "timeout", "interval", "max_interval" }, 0.1)()
  if t == nil or (type(t) == "table" and debug.getmetatable(t) == nil and rawget(t, "timeout") == nil) then
    t = type(t) == "table" and t or {}
    t.timeout = 0.1
  end
  return t
end

-- (raw: the table may have a hostile metatable)
local function create_spec()
  if chance(0.15) then return any() end
  local t = opts_of(create_keys, 0)() or {}
  if chance(0.8) then
    rawset(t, "path", chance(0.7) and pick { "/bin/true", "/bin/false", "/bin/sleep" } or progs())
  end
  if rawget(t, "path") == "/bin/sleep" then rawset(t, "arguments", "0") end
  return t
end

local function run_spec()
  if chance(0.1) then return any() end
  local t = opts_of(run_keys, 0)() or {}
  local r = rand(5)
  if r == 1 then rawset(t, 1, "/bin/true")
  elseif r == 2 then rawset(t, 1, "/bin/echo"); rawset(t, 2, pick(strings):sub(1, 100))
  elseif r == 3 then rawset(t, 1, progs()); rawset(t, 2, pick { "0", 42, "", {} })
  elseif r == 4 and rawget(t, "command") == nil then rawset(t, "command", K.command())
  end
  if rawget(t, "path") == "/bin/sleep" then rawset(t, "arguments", "0") end
  if rawget(t, 1) == "/bin/sleep" then rawset(t, 2, "0") end
  return t
end

local function connect_opts()
  if chance(0.1) then return any() end
  local t = { server = sim.url, user = sim.user, password = sim.password, ca_file = sim.ca_file }
  local gens = {
    server = function() return pick { sim.url, "", "ftp://x", "https://127.0.0.1:1", "a\0b", 42, {}, W.sec,
      "https://user:pw@127.0.0.1:1", sim.url .. "/%s%n", (sim.url:gsub("^https://", "")) } end,
    user = function() return pick { sim.user, "", "nobody", 1, "a\0b", BIG } end,
    password = function() return pick { sim.password, "wrong", W.sec, W.sec_closed, 12, secretish() } end,
    protocol = function() return pick { "api", "rest", "vim25", "auto", "soap", 1 } end,
    release = function() return pick { "8.0.1.0", "", "%s", 1, "a\0b" } end,
    ca_file = function() return pick { sim.ca_file, "", "/nonexistent", "/etc/hostname", 1 } end,
    thumbprint = function() return pick { "zz", string.rep("a", 40), string.rep("A", 64), 1, "" } end,
    insecure = function() return pick { false, 1, "yes" } end,
    timeout = function() return pick { 1e-3, 5, -1, 0 / 0, 1e16, "30", math.maxinteger, 0 } end,
    max_connections = function() return pick { 1, 0, 1.5, 65537, math.maxinteger, -1 } end,
    transfer_thumbprint = function() return pick { "zz", { ["esx-01"] = "zz" }, { [1] = "x" }, true, {},
      { [""] = "x" }, { ["a=b"] = "x" }, string.rep("a", 40) } end,
    insecure_transfers = function() return pick { false, 1 } end,
    timout = function() return 3 end,
    [1] = function() return 2 end,
  }
  local keys = {}
  for k in pairs(gens) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  for _ = 1, rand(3) do
    local k = pick(keys)
    t[k] = chance(0.85) and gens[k]() or any()
  end
  if chance(0.1) then t[pick { "server", "user", "password" }] = nil end
  return t
end

local function cred_opts()
  if chance(0.1) then return any() end
  local t = { user = sim.guest_user, password = sim.guest_password }
  for _ = 1, rand(3) - 1 do
    local k = pick { "user", "password", "saml_token", "interactive", "pasword" }
    t[k] = K[k] and chance(0.8) and K[k]() or any()
  end
  return t
end
local function credish()
  return pickv(W.cred, W.cred_closed, cred_opts(), cred_opts(), nil, hostile(9), any())
end

-- (never many: fn runs once per item)
local function items()
  local r = rand(10)
  if r == 1 then return cyclic() end
  if r == 2 then return hostile(pick { 1, 2, 5, 6, 8, 10 }) end
  if r == 3 then
    local v = any()
    if type(v) ~= "table" or rawlen(v) > 8 then v = nil end
    return v
  end
  return pick { {}, { 1, 2, 3 }, { W.g, W.g2 }, { "a", "b", "c", "d", "e", "f", "g", "h" }, { n = 1 } }
end

local function tasks()
  local r = rand(9)
  if r == 1 then return { vg.spawn(pick(fns)), vg.spawn(pick(fns)) } end
  if r == 2 then return any() end
  if r == 3 then return hostile(rand(HOSTILE_KINDS)) end
  return pick { { W.t_ok, W.t_failed }, {}, { 1 }, { W.t_ok, "x" }, { W.t_canceled }, { W.t_ok } }
end

-------------------------------------------------------------------------------
-- The API: what is called, with which arguments.

-- Argument slots of every known function and method (after self).
local SIGS = {
  vg = {
    connect = { connect_opts }, secret = { secretish }, credentials = { cred_opts },
    spawn = { func, any, any }, sleep = { S.seconds }, wait_all = { tasks },
    parallel = { items, func, opts_of { "limit", "on_progress" } }, is_error = { any },
  },
  Session = { info = {}, close = {}, vms = { opts_of { "names", "ids", "power_state" } }, vm = { S.vmkey } },
  VM = { guest = { credish }, guest_info = {}, wait_ready = { ready_opts } },
  Guest = {
    create = { create_spec }, get = { S.pid }, delete = { S.pid },
    list = { function() return pickv(nil, { W.p.pid }, {}, { 0 }, { 1.5 }, "1", { a = 1 }, any()) end },
    env = { function() return pickv(nil, { "PATH" }, "PATH", {}, { "" }, { 1 }, 42, "", any()) end },
    getenv = { function() return pick { "PATH", "HOME", "", "a\0b", "NO_SUCH_VAR_X", 42, any() } end },
    environment = {},
    write_file = { gpath, S.data, opts_of(attr_keys, 0.2) },
    read_file = { gpath, opts_of({ "max_bytes" }, 0.2) },
    upload = { lread, gpath, opts_of(attr_keys, 0.2) },
    download = { gpath, lpath },
    mktemp = { opts_of({ "prefix", "suffix", "dir", "directory" }, 0.2) },
    mkdir = { gpath, opts_of({ "parents" }, 0.2) },
    stat = { gpath }, list_files = { gpath },
    remove = { gpath, opts_of({ "recursive" }, 0.2) },
    process = { S.pid }, run = { run_spec },
  },
  Process = { get = {}, delete = {}, wait = { opts_of(wait_keys, 0.1) } },
  Secret = { len = {}, close = {}, closed = {} },
  Credentials = { user = {}, type = {}, interactive = {}, close = {}, closed = {} },
  Task = { done = {}, status = {}, wait = {}, result = {}, cancel = {} },
  Error = {},
}

-- The methods in a metatable: its __index table, or the tables of
-- functions its __index function reads (Session's).
local function methods_of(mt)
  local out = {}
  local function add(t)
    for k, v in pairs(t) do
      if type(k) == "string" and type(v) == "function" and not k:match("^__") then out[k] = v end
    end
  end
  if type(mt.__index) == "table" then add(mt.__index) end
  if type(mt.__index) == "function" then
    for i = 1, 255 do
      local n, v = debug.getupvalue(mt.__index, i)
      if n == nil then break end
      if type(v) == "table" and n ~= "_ENV" then add(v) end
    end
  end
  return out
end

local function classes()
  return {
    Session = getmetatable(W.s), VM = vg.VM, Guest = vg.Guest, Process = vg.Process,
    Secret = getmetatable(W.sec), Credentials = getmetatable(W.cred), Task = getmetatable(W.t_ok),
    Error = vg.Error,
  }
end

-- The public functions: { holder, name, class, sig } for every module
-- function and method found (unknown ones get any arguments).
local function targets()
  local out = {}
  for k, v in pairs(vg) do
    if type(v) == "function" then
      out[#out + 1] = { class = "vg", name = k, holder = vg, sig = SIGS.vg[k] }
    end
  end
  for cname, mt in pairs(classes()) do
    local ms = methods_of(mt)
    for k in pairs(ms) do
      out[#out + 1] = { class = cname, name = k, methods = ms, sig = SIGS[cname] and SIGS[cname][k] }
    end
  end
  table.sort(out, function(a, b) return a.class .. "." .. a.name < b.class .. "." .. b.name end)
  return out
end

local function selves(class)
  if class == "Session" then return { W.s, W.s2, W.s3, W.s_closed }
  elseif class == "VM" then return { W.vm, W.vm2, W.vm3, W.vm_off, W.vm_closed }
  elseif class == "Guest" then
    return { W.g, W.g, W.g, W.g2, W.g2, W.g3, W.g_off, W.g_tools, W.g_closed, W.g_credclosed }
  elseif class == "Process" then
    local t = { W.p, W.p2, W.p3, W.p_closed }
    for _, p in ipairs(proc_pool) do
      -- (the closed ones have W.p_closed)
      if not session_closed(p.guest.session) and not p.guest.credentials:closed() then t[#t + 1] = p end
    end
    return t
  elseif class == "Secret" then return { W.sec, W.sec_closed }
  elseif class == "Credentials" then return { W.cred, W.cred_closed }
  elseif class == "Task" then
    return { W.t_ok, W.t_failed, W.t_canceled, label(vg.spawn(pick(fns)), "<new task>") }
  end
  return { any() }
end

-------------------------------------------------------------------------------
-- Making calls

-- Not a tail call: the API's messages are raised at this line.
local function invoke(holder, name, ...)
  local r = table.pack(holder[name](...))
  return r
end

local function describe_call(c)
  local parts = {}
  for i = 1, c.args.n do parts[i] = show(c.args[i]) end
  local head
  if c.class == "vg" then head = "vg." .. c.name
  elseif c.badself then head = c.class .. "." .. c.name
  else head = show(c.self) .. ":" .. c.name end
  return string.format("%s(%s) [%s]", head, table.concat(parts, ", "), c.mode)
end

local function make_call(t)
  local c = { class = t.class, name = t.name, names = { [t.name] = true } }
  local args = {}
  local n = 0
  if t.sig then
    for i, gen in ipairs(t.sig) do args[i] = gen() end
    n = #t.sig
    while n > 0 and args[n] == nil and chance(0.5) do n = n - 1 end -- trailing nils, or none
    if chance(0.05) then
      n = n + 1
      args[n] = any()
    end
  else
    -- (no strings: a method not known yet might write to a path)
    n = rand(4) - 1
    for i = 1, n do args[i] = any_but_string() end
  end
  if t.class == "vg" then
    c.holder = vg
    c.args = table.pack(table.unpack(args, 1, n))
  else
    if chance(0.08) then
      c.badself = true
      c.self = any()
      c.holder = t.methods
    else
      c.self = pick(selves(t.class))
      c.holder = c.self
    end
    c.args = table.pack(table.unpack(args, 1, n))
  end
  return c
end

-- Runs c (a made call) here; fills c.ok, c.results or c.err, c.tb.
local function run_here(c)
  local function handler(e)
    c.tb = debug.traceback(type(e) == "string" and e or "<" .. type(e) .. ">", 2)
    return e
  end
  local r
  if c.class == "vg" then
    r = table.pack(xpcall(invoke, handler, c.holder, c.name, table.unpack(c.args, 1, c.args.n)))
  else
    r = table.pack(xpcall(invoke, handler, c.holder, c.name, c.self, table.unpack(c.args, 1, c.args.n)))
  end
  c.ok = r[1]
  if c.ok then c.results = r[2] else c.err = r[2] end
  c.done = true
end

local function watchdog(what)
  local op = task.core().timer(HANG_MS)
  task.on_complete(op, function()
    error(string.format("fuzz: hang: %s has not returned after %d ms", what, HANG_MS), 0)
  end)
  return op
end
local function unwatch(op)
  task.forget(op)
  op:cancel()
end

local known_tasks = setmetatable({}, { __mode = "k" })

local function settle_tasks(where, call)
  for _ = 1, 3 do
    local live = {}
    for _, t in ipairs(task.live()) do
      if t ~= task.current() then live[#live + 1] = t end
    end
    if #live == 0 then return end
    for _, t in ipairs(live) do
      if not known_tasks[t] then
        fail(where, call, "a task of the API's own left running", tostring(t))
        known_tasks[t] = true
      end
      local ok, err = pcall(t.result, t)
      if not ok then
        fail(where, call, "waiting for a task left running raised", err)
        pcall(t.cancel, t)
      end
    end
  end
end

-- What a call returned: processes to clean up, sessions to close, tasks
-- to wait for, guest paths to reuse.
local function absorb(c)
  if not c.ok then return end
  for i = 1, c.results.n do
    local v = c.results[i]
    local mt = getmetatable(v)
    if mt == vg.Process then
      track_proc(v)
    elseif mt == getmetatable(W.s) and v ~= W.s and v ~= W.s2 and v ~= W.s3 then
      pcall(v.close, v)
    elseif mt == getmetatable(W.t_ok) then
      known_tasks[v] = true
    elseif c.name == "mktemp" and type(v) == "string" and v:sub(1, #SB) == SB and #gpaths < 32 then
      gpaths[#gpaths + 1] = v
    end
  end
end

local outcomes = {}
local function note(where, c)
  if PROFILE and c.done then
    local o = c.ok and "ok" or vg.is_error(c.err) and ("E:" .. tostring(c.err.kind)) or
        type(c.err) == "string" and (c.err:find("bad argument", 1, true) and "misuse" or
        c.err:find("bad self", 1, true) and "badself" or c.err:find(MARK, 1, true) and "own" or "state") or "other"
    local k = c.class .. "." .. c.name
    outcomes[k] = outcomes[k] or {}
    outcomes[k][o] = (outcomes[k][o] or 0) + 1
  end
  if c.done and not c.ok then check(where, describe_call(c), c.names, c.err, c.tb) end
  if c.done and c.ok and c.name == "is_error" and type(c.results[1]) ~= "boolean" then
    fail(where, describe_call(c), "vg.is_error returned a non-boolean", show(c.results[1]))
  end
end

-- Modes: at top level; in 1 to 3 concurrent tasks; in a coroutine vguest
-- did not create; inside a task where no wait is possible (a __tostring).
local calls_made = 0
local round_
-- One task per call of the batch, each known to the leak check.
local function spawn_batch(batch)
  local ts = {}
  for k, c in ipairs(batch) do
    ts[k] = vg.spawn(run_here, c)
    known_tasks[ts[k]] = true
  end
  return ts
end

local function round(i, all)
  if not PROFILE then return round_(i, all) end
  local clock = require("vguest.core").clock
  local t0 = clock()
  local r = table.pack(round_(i, all))
  local key = prof.last or "?"
  prof[key] = (prof[key] or 0) + (clock() - t0)
  if clock() - t0 > 2 then io.stderr:write(string.format("slow round #%d (%.1f s): %s\n", i, clock() - t0, prof.calls)) end
  return table.unpack(r, 1, r.n)
end
round_ = function(i, all)
  local mode = rand(100)
  local batch = {}
  local count = mode > 55 and mode <= 82 and rand(3) or 1
  for k = 1, count do
    calls_made = calls_made + 1
    local c = make_call(pick(all))
    c.mode = mode <= 55 and "top" or mode <= 75 and "task" or mode <= 82 and "task canceled" or
        mode <= 91 and "foreign coroutine" or "no wait possible"
    batch[k] = c
    -- tasks the generators made (vg.spawn in tasks()) are the fuzzer's
    for _, t in ipairs(task.live()) do known_tasks[t] = true end
  end
  local where = string.format("#%d (seed %d)", i, SEED)
  prof.last = batch[1].class .. "." .. batch[1].name .. " " .. batch[1].mode
  if PROFILE then
    local d = {}
    for k, c in ipairs(batch) do d[k] = describe_call(c) end
    prof.calls = table.concat(d, " || ")
  end
  if TRACE then
    for _, c in ipairs(batch) do io.stderr:write(where, ": ", describe_call(c), "\n") end
  end
  local dog = watchdog(describe_call(batch[1]))
  local ok, err = pcall(function()
    if batch[1].mode == "top" then
      run_here(batch[1])
    elseif batch[1].mode == "task" then
      local ts = spawn_batch(batch)
      for k, t in ipairs(ts) do
        local tok, terr = t:result()
        if not tok and not batch[k].done then
          -- the task ended without the call returning: its error is the call's
          batch[k].done, batch[k].ok, batch[k].err = true, false, terr
        end
      end
    elseif batch[1].mode == "task canceled" then
      -- canceled a moment after it started (or once it is done)
      local ts = spawn_batch(batch)
      vg.sleep(pick { 0, 0, 0.001, 0.005, 0.02 })
      for k, t in ipairs(ts) do
        local cok, cerr = pcall(t.cancel, t)
        if not cok then check(where, "t:cancel() of " .. describe_call(batch[k]), { cancel = true }, cerr) end
      end
    elseif batch[1].mode == "foreign coroutine" then
      local c = batch[1]
      local co = coroutine.create(run_here)
      local rok, rerr = coroutine.resume(co, c)
      if not rok then
        fail(where, describe_call(c), "the coroutine raised past xpcall", rerr)
      elseif coroutine.status(co) == "suspended" then
        if rerr ~= YIELDED then
          fail(where, describe_call(c), "the API yielded into a coroutine it did not create", show(rerr))
        end
        coroutine.close(co)
      end
    else
      local c = batch[1]
      local t = vg.spawn(function()
        return tostring(setmetatable({}, { __tostring = function()
          run_here(c)
          return ""
        end }))
      end)
      known_tasks[t] = true
      local tok, terr = t:result()
      if not tok and not c.done then c.done, c.ok, c.err = true, false, terr end
    end
    for _, c in ipairs(batch) do absorb(c) end
    settle_tasks(where, describe_call(batch[1]))
  end)
  unwatch(dog)
  local hung = not ok and type(err) == "string" and err:find("fuzz: hang", 1, true)
  for _, c in ipairs(batch) do
    if type(c.err) == "string" and c.err:find("fuzz: hang", 1, true) then
      hung = true
      fail(where, describe_call(c), "a hang", c.err, c.tb)
    else
      note(where, c)
    end
  end
  if not ok then
    fail(where, describe_call(batch[1]), hung and "a hang" or "the fuzzer's own frame raised", err)
  end
  if hung then return false end -- the loop's state is lost: stop here
  refresh()
  for _, c in ipairs(batch) do
    if c.name == "remove" then
      local d = io.open(SB .. "/d/sub") -- (a directory opens, and reads fail)
      if d then d:close() else os.execute("mkdir -p " .. helper.quote(SB .. "/d/sub")) end
      local f = io.open(SB .. "/f")
      if f then f:close() else helper.write(SB .. "/f", "fuzz file\n") end
    end
  end
  if i % 200 == 0 then collectgarbage() end
  return true
end

-- Everything the fuzzer started is waited for or killed, every session
-- closed; a process still running in the guest is reported.
local function clean_up()
  settle_tasks("clean-up", "waiting for tasks")
  -- every session's processes are the guest's: one list has them all
  -- (vim25: its list has the exit codes; every session's processes are the VM's)
  local s <close> = helper.connect("vim25")
  local g = s:vm("web-01"):guest(helper.credentials())
  local function running()
    local out = {}
    for _, info in ipairs(g:list()) do
      if info.exit_code == nil and info.finished == nil then out[#out + 1] = info end
    end
    return out
  end
  for _, info in ipairs(running()) do
    local p = g:process(info.pid)
    pcall(p.wait, p, { timeout = 10, kill = true })
  end
  for _, info in ipairs(running()) do
    fail("clean-up", "g:list()", "a guest process still running after the fuzz (waited, killed)",
      tostring(info.pid) .. " " .. tostring(info.command))
  end
  for _, k in ipairs { "s", "s2", "s3" } do
    if W[k] then W[k]:close() end
  end
end

-------------------------------------------------------------------------------

describe("API fuzz", function()
  setup(function()
    reseed(SEED)
    build_world()
  end)
  teardown(function()
    for _, k in ipairs { "s", "s2", "s3" } do
      if W[k] then pcall(W[k].close, W[k]) end
    end
    helper.assert_loop_empty()
    collectgarbage()
    collectgarbage()
  end)
  after_each(helper.assert_loop_empty)

  it("covers every known function and method, none vanished", function()
    local found = {}
    for _, t in ipairs(targets()) do found[t.class .. "." .. t.name] = t end
    local vanished, new = {}, {}
    for cname, ms in pairs(SIGS) do
      for name in pairs(ms) do
        if not found[cname .. "." .. name] then vanished[#vanished + 1] = cname .. "." .. name end
      end
    end
    for key, t in pairs(found) do
      if not t.sig then new[#new + 1] = key end
    end
    table.sort(vanished)
    table.sort(new)
    if #new > 0 then
      io.stdout:write("# api_fuzz: not in the known list (fuzzed with any arguments): ",
        table.concat(new, ", "), "\n")
    end
    assert.are.same({}, vanished, "known functions or methods no longer found")
  end)

  it("random calls raise only error objects and misuse messages", function()
    io.stdout:write(string.format("# api_fuzz: seed %d, %d rounds (replay: VGUEST_FUZZ_SEED=%d " ..
      "VGUEST_FUZZ_ROUNDS=%d)\n", SEED, ROUNDS, SEED, ROUNDS))
    local all = targets()
    local clock = require("vguest.core").clock
    local t0 = clock()
    for i = 1, ROUNDS do
      if not round(i, all) then break end
    end
    local t1 = clock()
    io.stdout:write(string.format("# api_fuzz: %d calls in %.1f s\n", calls_made, t1 - t0))
    clean_up()
    if PROFILE then
      io.stderr:write(string.format("calls %.1f s, clean-up %.1f s\n", t1 - t0, clock() - t1))
      local ks = {}
      for k in pairs(outcomes) do ks[#ks + 1] = k end
      table.sort(ks)
      for _, k in ipairs(ks) do
        local parts = {}
        for o, n in pairs(outcomes[k]) do parts[#parts + 1] = o .. "=" .. n end
        table.sort(parts)
        io.stderr:write(string.format("  %-22s %s\n", k, table.concat(parts, " ")))
      end
    end
    if PROFILE then
      local keys = {}
      for k, v in pairs(prof) do if type(v) == "number" then keys[#keys + 1] = k end end
      table.sort(keys, function(a, b) return prof[a] > prof[b] end)
      for i2 = 1, math.min(25, #keys) do io.stderr:write(string.format("%8.3f %s\n", prof[keys[i2]], keys[i2])) end
    end
    collectgarbage()
    collectgarbage()
    if #failures > 0 then
      error(string.format("api fuzz, seed %d (VGUEST_FUZZ_SEED=%d VGUEST_FUZZ_ROUNDS=%d): %d failure(s)\n%s",
        SEED, SEED, ROUNDS, #failures, table.concat(failures, "\n", 1, math.min(#failures, 40))), 0)
    end
  end)
end)

-- What the fuzz found, kept as fixed cases (each with the seed's call it
-- came from reduced to its cause).
describe("API fuzz findings", function()
  local s, g, p
  setup(function()
    sim = helper.sim()
    s = helper.connect("api")
    g = s:vm("web-01"):guest(helper.credentials())
    p = g:create { path = "/bin/true" }
    p:wait()
  end)
  teardown(function()
    s:close()
    helper.assert_loop_empty()
  end)
  after_each(helper.assert_loop_empty)

  -- f(...) raises a misuse message naming `fname` at this file's line.
  local function misuse(fname, want, f, ...)
    local ok, err = pcall(f, ...)
    assert.is_false(ok, fname .. ": expected an error")
    assert.is_nil(verdict(err, { [fname] = true }), tostring(err))
    assert.are.equal("string", type(err))
    assert.truthy(err:find(want, 1, true), "expected " .. want .. " in: " .. err)
  end

  it("a table claiming to be a vguest.Secret or Credentials (__name) is misuse", function()
    -- seed 20240805, call #12: vm:guest(<table with __name vguest.Credentials>)
    -- raised "init.lua:140: attempt to call a nil value (method 'closed')"
    local fake_cred = setmetatable({}, { __name = "vguest.Credentials" })
    local fake_secret = setmetatable({}, { __name = "vguest.Secret" })
    misuse("guest", "vguest.Credentials expected, got vguest.Credentials", g.vm.guest, g.vm, fake_cred)
    misuse("credentials", "table expected, got vguest.Credentials", vg.credentials, fake_cred)
    misuse("secret", "expected, got vguest.Secret", vg.secret, fake_secret)
    misuse("credentials", "field 'password' must be a string, vguest.Secret or table",
      vg.credentials, { user = "root", password = fake_secret })
  end)

  it("an option table whose __metatable is not a table is a table", function()
    -- errors.checkopts indexed getmetatable(opts): "attempt to index a
    -- number value" for p:wait, g:remove, vg.parallel options
    for _, locked in ipairs { 42, false } do
      local opts = setmetatable({}, { __metatable = locked })
      assert.is_table(p:wait(opts))
      helper.assert_kind("not_found", helper.err_of(g.remove, g, "/nonexistent/x", opts))
      assert.are.same({}, (vg.parallel({}, print, opts)))
    end
  end)

  it("vg.parallel refuses items whose length is not an integer", function()
    -- seed 20240805, call #346: a __len returning a string raised
    -- "attempt to compare string with number" from math.min
    local function items(n) return setmetatable({}, { __len = function() return n end }) end
    misuse("parallel", "the length of items must be an integer, got string", vg.parallel, items("many"), print)
    misuse("parallel", "the length of items must be an integer, got 2.5", vg.parallel, items(2.5), print)
    assert.are.same({ 1, 2 }, (vg.parallel(items(2), function(_, i) return i end)))
  end)

  it("a string for vCenter that is not UTF-8 is misuse; local file names take any bytes", function()
    -- seed 20240805, call #261: g:remove(".../fuzz/\xff\xfe") raised
    -- "stat: out of memory" (jansson refuses the string; the runtime took
    -- that for no memory), g:run an error object of kind out_of_memory
    local bad = "\xff\xfe"
    local nu = "not valid UTF-8"
    local vm = g.vm
    misuse("vm", nu, s.vm, s, bad)
    misuse("vms", nu, s.vms, s, { names = { bad } })
    misuse("vms", nu, s.vms, s, { ids = { "vm-4" .. bad } })
    misuse("create", nu, g.create, g, { path = "/bin/" .. bad })
    misuse("create", nu, g.create, g, { path = "/bin/true", arguments = bad })
    misuse("create", nu, g.create, g, { path = "/bin/true", working_directory = "/" .. bad })
    misuse("create", nu, g.create, g, { path = "/bin/true", environment = { [bad] = "x" } })
    misuse("create", nu, g.create, g, { path = "/bin/true", environment = { K = bad } })
    misuse("env", nu, g.env, g, { bad })
    misuse("getenv", nu, g.getenv, g, bad)
    misuse("run", nu, g.run, g, { "/bin/echo", bad })
    misuse("run", nu, g.run, g, { command = "echo " .. bad })
    misuse("run", nu, g.run, g, { "/bin/true", cwd = "/" .. bad })
    misuse("run", nu, g.run, g, { "/bin/true", env = { K = bad } })
    misuse("run", nu, g.run, g, { path = "/bin/" .. bad })
    misuse("run", nu, g.run, g, { path = "/bin/echo", arguments = bad })
    misuse("stat", nu, g.stat, g, "/tmp/" .. bad)
    misuse("remove", nu, g.remove, g, "/tmp/" .. bad)
    misuse("mktemp", nu, g.mktemp, g, { prefix = bad })
    misuse("mktemp", nu, g.mktemp, g, { dir = "/" .. bad })
    misuse("write_file", nu, g.write_file, g, "/tmp/" .. bad, "x")
    misuse("upload", nu, g.upload, g, "/etc/hostname", "/tmp/" .. bad)
    misuse("download", nu, g.download, g, "/tmp/" .. bad, "/tmp/x")
    misuse("credentials", nu, vg.credentials, { user = bad, password = "x" })
    misuse("guest", nu, vm.guest, vm, { user = bad, password = "x" })
    misuse("connect", nu, helper.connect, "api", { user = bad })
    -- overlong forms and surrogates are not UTF-8 either; "é" is
    misuse("stat", nu, g.stat, g, "/tmp/\xc0\xaf")
    misuse("stat", nu, g.stat, g, "/tmp/\xed\xa0\x80")
    helper.assert_kind("not_found", helper.err_of(g.stat, g, "/nonexistent/\xc3\xa9"))
    -- local file names are this machine's: any bytes
    local dir = helper.sim_tmpdir()
    g:write_file(dir .. "/utf8-src", "bytes")
    g:download(dir .. "/utf8-src", dir .. "/local-" .. bad)
    g:upload(dir .. "/local-" .. bad, dir .. "/utf8-back")
    assert.are.equal("bytes", g:read_file(dir .. "/utf8-back"))
    local r = g:run { "/bin/echo", "out", stdout_file = dir .. "/out-" .. bad }
    assert.are.equal(0, r.exit_code)
    local f = assert(io.open(dir .. "/out-" .. bad, "rb"))
    assert.are.equal("out\n", f:read("a"))
    f:close()
  end)

  it("a name, path or user name too long for a request line is invalid_argument", function()
    -- seed 20240805, call #419: s:vm(<1 MiB string>) failed with kind
    -- out_of_memory: libcurl's word for a request line and headers over
    -- its 1 MiB (in the api flavour names and paths go in the URL)
    local big = string.rep("A", 1 << 20)
    for _, err in ipairs {
      helper.err_of(s.vm, s, big),
      helper.err_of(g.stat, g, "/" .. big),
      helper.err_of(helper.connect, "api", { user = big }),
    } do
      helper.assert_kind("invalid_argument", err)
      assert.truthy(err.message:find("over the 1 MiB libcurl sends", 1, true), err.message)
      assert.is_false(err.retryable)
    end
  end)

  it("a wait refused inside the API's own calls is raised at the caller's line", function()
    -- seed 1, call #642, and seed 2, call #1179: vg.parallel, vg.wait_all
    -- (their t:result()) and p:wait (a level that did not count its
    -- pcall) raised "cannot wait here" / "foreign coroutine" at
    -- init.lua:837, :794, :730; vg.connect with no position at all
    local sim_ = helper.sim()
    local calls = {
      wait = function() local r = p:wait(); return r end,
      wait_all = function() local r = vg.wait_all { vg.spawn(vg.sleep, 0.01) }; return r end,
      parallel = function() local r = vg.parallel({ 1 }, function() vg.sleep(0.01) end); return r end,
      connect = function()
        local r = vg.connect { server = sim_.url, user = sim_.user, password = sim_.password, ca_file = sim_.ca_file }
        return r
      end,
    }
    local function at_this_line(what, err)
      assert.are.equal("string", type(err), what)
      assert.truthy(err:find("^" .. THIS:gsub("%p", "%%%0") .. ":%d+: "), what .. ": " .. err)
    end
    for name, f in pairs(calls) do
      local err
      local t = vg.spawn(function()
        tostring(setmetatable({}, { __tostring = function()
          err = select(2, pcall(f))
          return ""
        end }))
      end)
      t:wait()
      at_this_line(name .. " in a metamethod", err)
      assert.truthy(err:find("cannot wait here", 1, true), err)
      local co = coroutine.create(function() return pcall(f) end)
      local _, _, ferr = coroutine.resume(co)
      at_this_line(name .. " in a foreign coroutine", ferr)
      assert.truthy(ferr:find("foreign coroutine", 1, true), ferr)
    end
    vg.sleep(0.05) -- the tasks spawned for wait_all end
  end)
end)
