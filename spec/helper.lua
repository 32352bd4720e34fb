-- Shared fixtures for the Lua and CLI specs (busted --helper).
--
-- helper.sim{ flavours = {...}, args = {...} }  one simulator per suite
--     (per options), started on first use: { url, ca_file, user, password,
--     guest_user, guest_password, vm, inventory, transfer_*, control(),
--     stats(), stop() }. The binary comes from $VGUEST_SIM (see
--     vguest.sim); its TMPDIR is the suite's own (helper.sim_tmpdir()).
-- helper.connect(flavour [, opts])  vg.connect to that simulator (opts.sim:
--     another simulator from helper.sim{...}; other opts go to vg.connect).
-- helper.err_of(f, ...)  the error f(...) raises (asserts that it raises).
-- helper.assert_kind(kind, err)  err is an error object of that kind.
-- helper.no_secret(text)  neither simulator password appears in text.
-- helper.assert_loop_empty()  after each spec: no op in flight, no task
--     alive (background logouts get a moment to finish first).
-- helper.run(args, stdin)  run the `vguest` binary ($VGUEST_BIN) with piped
--     stdin; returns stdout, stderr, exit status.
-- helper.noting(marker, rest), helper.noted(marker)  a guest command that
--     writes its shell's pid and its g:run temp directory to a local file
--     (the simulator's guest is this machine), and reading that file.
-- helper.alive(pid), helper.exists(path)  on this machine.
local helper = {}
local assert = require "luassert"

local sims = {}

-- The simulators' TMPDIR, apart from every other suite's (their guest
-- temporary directory is in it), removed when the Lua state closes.
local tmpdir
local function sim_tmpdir()
  if not tmpdir then
    local base = os.getenv("TMPDIR")
    if not base or base == "" then base = "/tmp" end
    -- mktemp: busted may seed math.random alike in every file, and each
    -- file has its own instance of this module (and its own directory)
    local p = assert(io.popen("mktemp -d '" .. base .. "/vguest-spec-sims-XXXXXX'"))
    tmpdir = p:read("l")
    p:close()
    assert(tmpdir and tmpdir ~= "", "mktemp -d failed")
    helper._tmpdir_guard = setmetatable({}, { __gc = function()
      os.execute("rm -rf '" .. tmpdir .. "'")
    end })
  end
  return tmpdir
end
helper.sim_tmpdir = sim_tmpdir

function helper.sim(opts)
  opts = opts or {}
  local key = table.concat(opts.flavours or {}, ",") .. "|" .. table.concat(opts.args or {}, " ") ..
    "|" .. (opts.inventory or "")
  if not sims[key] then
    local o = { tmpdir = sim_tmpdir() }
    for k, v in pairs(opts) do o[k] = v end
    sims[key] = require("vguest.sim").start(o)
  end
  return sims[key]
end

function helper.connect(flavour, opts)
  local vg = require "vguest"
  local sim = opts and opts.sim or helper.sim()
  local o = { server = sim.url, user = sim.user, password = sim.password, ca_file = sim.ca_file,
    protocol = flavour or "auto" }
  for k, v in pairs(opts or {}) do
    if k ~= "sim" then o[k] = v end
  end
  return vg.connect(o)
end

function helper.err_of(f, ...)
  local ok, err = pcall(f, ...)
  assert.is_false(ok, "expected an error")
  return err
end

function helper.assert_kind(kind, err)
  local vg = require "vguest"
  assert.is_true(vg.is_error(err), "expected an error object, got " .. tostring(err))
  assert.are.equal(kind, err.kind, tostring(err))
end

function helper.no_secret(text)
  local sim = helper.sim()
  text = tostring(text)
  assert.is_nil(text:find(sim.password, 1, true), "vCenter password in: " .. text)
  assert.is_nil(text:find(sim.guest_password, 1, true), "guest password in: " .. text)
end

function helper.credentials()
  local vg = require "vguest"
  local sim = helper.sim()
  return vg.credentials { user = sim.guest_user, password = sim.guest_password }
end

function helper.assert_loop_empty()
  local task = require "vguest.task"
  task.drain(100, 50)
  assert.are.equal(0, task.core().pending(), "operations still in flight after the spec")
  -- under `vguest run busted` (sanitizer builds) the runner itself is a task
  local alive = {}
  for _, t in ipairs(task.live()) do
    if t ~= task.current() then alive[#alive + 1] = t end
  end
  assert.are.same({}, alive, "tasks still alive after the spec")
  task.take_unobserved()
end

local function quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
helper.quote = quote

local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local s = f:read("a")
  f:close()
  return s
end

-- A fresh local path: unique even across spec files, which each get their
-- own instance of this module and may see math.random seeded alike.
function helper.tmpname(suffix)
  local placeholder = os.tmpname() -- mkstemp: unique while it exists
  local name = placeholder .. "-vguest-spec" .. (suffix or "")
  os.remove(placeholder)
  return name
end

function helper.write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  return path
end

-- The shell line running `vguest` with args, env prepended, stdin from a
-- file; returns the line and the three file names.
local function vguest_line(args, stdin, env)
  local bin = os.getenv("VGUEST_BIN") or "vguest"
  local inp = helper.write(helper.tmpname(".in"), stdin or "")
  local out, err = helper.tmpname(".out"), helper.tmpname(".err")
  local cmd = {}
  for k, v in pairs(env or {}) do cmd[#cmd + 1] = k .. "=" .. quote(v) end
  cmd[#cmd + 1] = quote(bin)
  for _, a in ipairs(args or {}) do cmd[#cmd + 1] = quote(a) end
  local line = table.concat(cmd, " ") .. " <" .. quote(inp) .. " >" .. quote(out) .. " 2>" .. quote(err)
  return line, inp, out, err
end

-- Runs a shell line made by vguest_line; returns stdout, stderr, status.
local function execute(sh, inp, out, err)
  local _, how, code = os.execute(sh)
  local o, e = slurp(out), slurp(err)
  os.remove(inp)
  os.remove(out)
  os.remove(err)
  if how == "signal" then code = 128 + code end
  return o, e, code
end

--- A shell command for g:run{ command = ... } that writes, atomically,
-- its shell's pid and the run's temp directory (where its stdout goes) to
-- the local file `marker`, then runs `rest`.
function helper.noting(marker, rest)
  local m = quote(marker)
  -- the directory is read before the marker's own redirection
  return string.format('d=$(dirname "$(readlink /proc/$$/fd/1)"); { echo $$; echo "$d"; } > %s.tmp' ..
    ' && mv %s.tmp %s; %s', m, m, m, rest)
end

--- The pid and temp directory a helper.noting command wrote, or nil while
-- it has not run yet.
function helper.noted(marker)
  local f = io.open(marker, "r")
  if not f then return nil end
  local pid, dir = f:read("a"):match("^(%d+)\n(.-)\n")
  f:close()
  return pid and math.tointeger(tonumber(pid)), dir
end

--- A live process on this machine (not a zombie).
function helper.alive(pid)
  local f = io.open("/proc/" .. math.tointeger(pid) .. "/stat", "r")
  if not f then return false end
  local st = f:read("a")
  f:close()
  local state = st:match("^%d+ %b() (%u)")
  return state ~= nil and state ~= "Z"
end

function helper.exists(path)
  return os.execute("test -e " .. quote(path)) == true
end

--- Runs a pseudo-terminal script of spec/cli/pty_drive.py ({argv, env,
-- steps}); returns its result table {ok, output, status, error}.
function helper.pty_drive(script)
  local cjson = require "cjson"
  local f = helper.write(helper.tmpname(".json"), cjson.encode(script))
  local p = assert(io.popen("python3 spec/cli/pty_drive.py " .. quote(f)))
  local out = p:read("a")
  p:close()
  os.remove(f)
  return cjson.decode(out)
end

--- Run `vguest` with args (array) and stdin text; env (table) is prepended.
function helper.run(args, stdin, env)
  local line, inp, out, err = vguest_line(args, stdin, env)
  return execute(line, inp, out, err)
end

--- Like helper.run, but sends SIGINT once stdout contains `marker`
-- (polled; the interrupt follows an event, not a delay).
function helper.run_interrupted(args, stdin, marker, env)
  local line, inp, out, err = vguest_line(args, stdin, env)
  local sh = line .. " & p=$!; i=0; while ! grep -q " .. quote(marker) .. " " .. quote(out) ..
      " 2>/dev/null && [ $i -lt 300 ]; do sleep 0.05; i=$((i+1)); done; kill -INT $p; wait $p"
  return execute(sh, inp, out, err)
end

return helper
