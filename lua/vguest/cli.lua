--- The `vguest` command line: `vguest run`, `vguest repl`, --help, --version.
--
-- The host program (bindings/main.c) calls `require("vguest.cli").main(arg)`
-- and exits with the status it returns: 0 on success, 1 with a one-line
-- message on stderr ("vguest: ...") otherwise, 130 after Ctrl-C.
local task = require "vguest.task"
local errors = require "vguest.errors"
local repl = require "vguest.repl"
local commands = require "vguest.commands"
local protocol_words = commands.protocol_words

local M = {}

M.usage = [[
usage: vguest run [options] FILE [ARGS...]   run a Lua playbook (FILE "-": stdin);
                                             ARGS are in the table `arg`, arg[0] = FILE
       vguest FILE [ARGS...]                 the same as run: what a script starting
                                             with "#!/usr/bin/env vguest" runs
       vguest -e STAT [options] [FILE ...]   run the statement(s), then FILE if given
       vguest repl [options]                 interactive REPL (vg = require "vguest")
       vguest                                the REPL when stdin is a terminal,
                                             else run stdin as a playbook
       vguest thumbprint [URL]                print the SHA-256 fingerprint of the server's
                                             certificate (URL: else VGUEST_SERVER), the
                                             value thumbprint = pins
       vguest --help | --version | help COMMAND

fleet commands (vguest help COMMAND for each):
]] .. commands.list_text() .. "\n" .. [[

options for run and repl:
  --sim           start a simulator (vguest-sim) on a free loopback port; vg.connect{}
                  and vg.credentials{} default to it and its first accounts; it is
                  stopped when vguest exits
  --progress, --no-progress
                  show (or not) a live status line for vg.parallel work on
                  stderr; by default it is shown when stderr is a terminal
  --protocol P    default protocol for vg.connect: ]] .. protocol_words .. [[

  --profile NAME  use profile NAME of the config file (also VGUEST_PROFILE; see
                  vguest help config)
  --traceback     print a traceback with a runtime error (also VGUEST_TRACEBACK=1)
  -e STAT         run the Lua statement STAT first (e.g. -e '_PROMPT=""')

environment: VGUEST_SERVER, VGUEST_USER, VGUEST_PASSWORD, VGUEST_PROTOCOL,
  VGUEST_CA_FILE, VGUEST_THUMBPRINT, VGUEST_INSECURE, VGUEST_RELEASE,
  VGUEST_TIMEOUT, VGUEST_MAX_CONNECTIONS, VGUEST_TRANSFER_THUMBPRINT,
  VGUEST_INSECURE_TRANSFERS, VGUEST_GUEST_USER, VGUEST_GUEST_PASSWORD
  (defaults of vg.connect and vg.credentials), VGUEST_SIM (simulator
  binary), VGUEST_SIM_INVENTORY, VGUEST_TRACEBACK

exit status: 0 on success, 1 on failure (one line on stderr), 2 on a usage
  error, 130 on Ctrl-C
  (a g:run in progress is stopped first: its guest process terminated, its
  temp files removed; a second Ctrl-C leaves that to the background)
]]

-- vguest help TOPIC for what is not a fleet command
M.topics = {
  run = function() return M.usage end,
  repl = function() return M.usage end,
  config = function() return require("vguest.config").help end,
}

-- The top-level commands, and the options of run and repl.
M.command_names = { "run", "repl", "thumbprint", "help" }
for _, c in ipairs(commands.order) do M.command_names[#M.command_names + 1] = c end
local run_option_names = { "--sim", "--profile", "--protocol", "--progress", "--no-progress",
  "--traceback", "-e", "--help" }

--- M.completions(cmd) -> the words that may follow `vguest CMD` (nil:
-- the commands and the options of a bare `vguest`).
function M.completions(cmd)
  if cmd == nil or cmd == "" then
    local out = {}
    for _, c in ipairs(M.command_names) do out[#out + 1] = c end
    for _, o in ipairs(run_option_names) do out[#out + 1] = o end
    out[#out + 1] = "--version"
    return out
  elseif commands.spec[cmd] then
    local out = {}
    for _, o in ipairs(commands.options(cmd)) do out[#out + 1] = o[1] end
    out[#out + 1] = "--help"
    return out
  elseif cmd == "run" or cmd == "repl" then
    return run_option_names
  elseif cmd == "help" then
    local out = {}
    for _, c in ipairs(M.command_names) do
      if c ~= "help" then out[#out + 1] = c end
    end
    out[#out + 1] = "config"
    return out
  end
  return {}
end

local Usage = {}
local function usage_error(msg) error(setmetatable({ msg = msg }, Usage), 0) end

-- The options of run and repl, which may also start a command line.
local run_options = { ["--sim"] = true, ["--traceback"] = true, ["--progress"] = true,
  ["--no-progress"] = true, ["--protocol"] = true, ["-e"] = true, ["--profile"] = true }

local function is_file(path)
  local f = io.open(path, "r")
  if not f then return false end
  local ok = f:read(0) ~= nil or f:seek("end") == 0 -- not a directory
  f:close()
  return ok
end

-- The value of option `name` at argv[i]: "--name=VALUE" or "--name VALUE";
-- returns it (nil if missing) and the index of the last word it took.
local function option_value(argv, i, name)
  local v = argv[i]:match("^" .. name:gsub("%-", "%%-") .. "=(.*)$")
  if v then return v, i end
  return argv[i + 1], i + 1
end

local function parse(argv)
  local o = { stats = {} }
  local i = 1
  local cmd = argv[1]
  if cmd == nil then
    o.cmd = "default"
    return o
  elseif cmd == "--help" or cmd == "-h" or cmd == "help" then
    o.cmd = "help"
    o.topic = cmd == "help" and argv[2] or nil
    if o.topic and not (commands.spec[o.topic] or M.topics[o.topic]) then
      usage_error("no help on '" .. o.topic .. "': try run, repl, " ..
        table.concat(commands.order, ", ") .. ", config")
    end
    return o
  elseif cmd == "--version" or cmd == "-v" or cmd == "version" then
    o.cmd = "version"
    return o
  elseif cmd == "run" or cmd == "repl" then
    o.cmd = cmd
    i = 2
  elseif cmd == "__complete" then
    -- for the bash completion: the words that may follow `vguest CMD`
    o.cmd, o.topic = "complete", argv[2]
    return o
  elseif cmd == "thumbprint" then
    o.cmd = "thumbprint"
    o.url = argv[2]
    if argv[2] == "--help" or argv[2] == "-h" then
      o.cmd = "help"
    elseif argv[3] then
      usage_error("thumbprint takes one URL (try vguest --help)")
    end
    return o
  elseif commands.spec[cmd] then
    local c = commands.parse(cmd, argv, 2, usage_error)
    c.stats = {}
    return c
  elseif run_options[cmd] or cmd:match("^%-%-protocol=") then
    -- vguest -e CHUNK [options] [FILE ARGS...]: run's options, and with no
    -- FILE only the chunks
    o.cmd, o.bare = "run", true
  elseif cmd:sub(1, 1) == "-" then
    usage_error("unknown option '" .. cmd .. "' (try vguest --help)")
  elseif is_file(cmd) then
    -- vguest FILE ARGS...: what a "#!/usr/bin/env vguest" line runs
    o.cmd, o.file = "run", cmd
    o.args = table.move(argv, 2, #argv, 1, {})
    return o
  else
    usage_error("unknown command '" .. cmd .. "', and no file of that name (try vguest --help)")
  end
  while argv[i] do
    local a = argv[i]
    if a == "--sim" then
      o.sim = true
    elseif a == "--traceback" then
      o.traceback = true
    elseif a == "--progress" then
      o.progress = true
    elseif a == "--no-progress" then
      o.progress = false
    elseif a == "--protocol" or a:match("^%-%-protocol=") then
      local p
      p, i = option_value(argv, i, "--protocol")
      if not p or commands.protocol_problem(p) then
        usage_error(commands.protocol_problem(p))
      end
      o.protocol = p
    elseif a == "--profile" or a:match("^%-%-profile=") then
      local p
      p, i = option_value(argv, i, "--profile")
      if not p or p == "" then usage_error("--profile needs a NAME") end
      o.profile = p
    elseif a == "-e" then
      i = i + 1
      if not argv[i] then usage_error("-e needs a statement") end
      o.stats[#o.stats + 1] = argv[i]
    elseif a == "--help" or a == "-h" then
      o.cmd = "help"
      return o
    elseif a == "--" then
      i = i + 1
      break
    elseif a == "-" or a:sub(1, 1) ~= "-" then
      break
    else
      usage_error("unknown option '" .. a .. "' for " .. o.cmd .. " (try vguest --help)")
    end
    i = i + 1
  end
  if o.cmd == "run" then
    o.file = argv[i]
    if not o.file and o.bare and #o.stats > 0 then return o end -- only -e
    if not o.file then usage_error("run needs a FILE (try vguest --help)") end
    o.args = table.move(argv, i + 1, #argv, 1, {})
  elseif argv[i] then
    usage_error("unexpected argument '" .. argv[i] .. "' for repl")
  end
  return o
end

local function defaults_profile_server()
  local prof = require("vguest.defaults").profile
  return prof and prof.server
end

local function one_line(err)
  local s = repl.error_text(err)
  if not s:match("^vguest: ") then s = "vguest: " .. s end
  return s
end

-- Apply --sim and --protocol: fill vguest.defaults.
local function setup(o, cleanup)
  local defaults = require "vguest.defaults"
  if o.protocol then defaults.protocol = o.protocol end
  -- live progress of vg.parallel on a terminal, below the playbook's output
  local core = task.core()
  local progress = o.progress
  if progress == nil then progress = o.cmd == "run" and core.isatty and core.isatty(2) or false end
  if progress then defaults.on_progress = require("vguest.progress").terminal(io.stderr) end
  -- the config file's profile (after options and VGUEST_* variables);
  -- --sim leaves it out: the simulator is the server
  local profile = o.profile or os.getenv("VGUEST_PROFILE")
  if profile == "" then profile = nil end
  if not o.sim or profile then
    local prof, name, path = require("vguest.config").load {
      profile = profile, mode = core.file_mode,
      warn = function(msg) io.stderr:write("vguest: warning: ", msg, "\n") end,
    }
    if prof then
      prof._name, prof._path = name, path
      defaults.profile = prof
    end
  end
  defaults.prompt = core.isatty and core.isatty(0) or false
  if o.sim then
    local sim = require("vguest.sim").start { lifetime = 24 * 3600 }
    cleanup[#cleanup + 1] = function() sim:stop() end
    defaults.server, defaults.ca_file = sim.url, sim.ca_file
    defaults.user = sim.user
    defaults.password = sim.password and core.secret(sim.password)
    defaults.guest_user = sim.guest_user
    defaults.guest_password = sim.guest_password and core.secret(sim.guest_password)
    defaults.sim = { url = sim.url, ca_file = sim.ca_file, pid = sim.pid,
      vm = sim.vm and sim.vm.name, flavours = sim.flavours }
    -- keep no plain copy of the simulator's passwords
    sim.password, sim.guest_password, sim.inventory = nil, nil, nil
  end
end

-- Run a chunk as a task; returns nil or an exit status after reporting.
local function run_chunk(chunk, o, args)
  local status, a, b = repl.run_task(chunk, table.unpack(args or {}))
  if status == "interrupted" then
    io.stderr:write("vguest: interrupted\n")
    return 130
  elseif status == "error" then
    io.stderr:write(one_line(a), "\n")
    if o.traceback then
      local tb = repl.clean_traceback(b)
      if tb and tb ~= "" then io.stderr:write(tb, "\n") end
    end
    return 1
  end
  return nil
end

-- After the main chunk: let spawned tasks finish; report unobserved failures.
local function finish_tasks()
  if not task.run_all() then
    for _, t in ipairs(task.live()) do t:cancel() end
    io.stderr:write("vguest: interrupted\n")
    return 130
  end
  local rc = 0
  for _, t in ipairs(task.take_unobserved()) do
    if rawequal(t.err, repl.INTERRUPTED) then
      -- Ctrl-C stopped a task's running code (a loop that never waits)
      io.stderr:write("vguest: interrupted\n")
      return 130
    end
    io.stderr:write(one_line(t.err), " (in a task nobody waited for)\n")
    rc = 1
  end
  return rc
end

local function run(o)
  local chunk, err
  if o.file == "-" then
    chunk, err = load(io.read("a") or "", "=stdin")
  else
    chunk, err = loadfile(o.file)
  end
  if not chunk then
    io.stderr:write(one_line(err), "\n")
    return 1
  end
  _G.arg = { [0] = o.file }
  for k, v in ipairs(o.args or {}) do _G.arg[k] = v end
  local rc = run_chunk(chunk, o, o.args)
  if rc then
    -- the playbook failed: the tasks it left are canceled, so runs they
    -- wait for are stopped and their guests cleaned before vguest exits
    for _, t in ipairs(task.live()) do t:cancel() end
    task.take_unobserved()
    return rc
  end
  return finish_tasks()
end

local function do_main(argv)
  local o = parse(argv)
  if o.cmd == "help" or o.help then
    local topic = o.topic or (o.help and o.cmd)
    io.stdout:write(topic and commands.spec[topic] and commands.help(topic) or
      topic and M.topics[topic] and M.topics[topic]() or M.usage)
    return 0
  elseif o.cmd == "complete" then
    io.stdout:write(table.concat(M.completions(o.topic), "\n"), "\n")
    return 0
  elseif o.cmd == "version" then
    io.stdout:write("vguest ", require("vguest").version, "\n")
    return 0
  end
  local core = task.core()
  if core.catch_interrupts then pcall(core.catch_interrupts, true) end
  if o.cmd == "default" then
    if core.isatty and core.isatty(0) then
      o.cmd = "repl"
    else
      o.cmd, o.file, o.args = "run", "-", {}
    end
  end
  if os.getenv("VGUEST_TRACEBACK") == "1" then o.traceback = true end
  local cleanup = {}
  local ok, rc = pcall(function()
    setup(o, cleanup)
    for _, stat in ipairs(o.stats) do
      local chunk, err = load(stat, "=(command line)")
      if not chunk then
        io.stderr:write(one_line(err), "\n")
        return 1
      end
      local r = run_chunk(chunk, o)
      if r then return r end
    end
    if o.cmd == "run" and not o.file then return 0 end -- vguest -e CHUNK
    if o.cmd == "thumbprint" then
      local url = o.url or os.getenv("VGUEST_SERVER") or (defaults_profile_server())
      if not url or url == "" then
        io.stderr:write("vguest: thumbprint needs a URL (or VGUEST_SERVER, or a profile's server)\n")
        return 2
      end
      return run_chunk(function() print(require("vguest").thumbprint(url)) end, o) or 0
    end
    if commands.spec[o.cmd] then
      local status = 1
      local r = run_chunk(function() status = commands.run(o.cmd, o) end, o)
      return r or status
    end
    if o.cmd == "run" then return run(o) end
    _G.vg = require "vguest"
    local sim = require("vguest.defaults").sim
    local banner = "vguest " .. _G.vg.version .. " (" .. _VERSION .. "); `vg` is loaded."
      .. (sim and ("\nsimulator at " .. sim.url .. ": vg.connect{} and vg.credentials{} use it.")
        or "\nvg.connect{} reads VGUEST_SERVER, VGUEST_USER, VGUEST_PASSWORD.")
      .. "\nTry: s = vg.connect{}  g = s:vm(\"NAME\"):guest(vg.credentials{})  g:run{\"uname\", \"-a\"}"
      .. "\nCtrl-C interrupts a wait, Ctrl-D quits."
    local rc = repl.run { traceback = true, banner = banner }
    -- tasks still running at the end of input are canceled: their runs
    -- stopped and their guests cleaned before vguest exits
    for _, t in ipairs(task.live()) do t:cancel() end
    task.take_unobserved()
    return rc
  end)
  for i = #cleanup, 1, -1 do pcall(cleanup[i]) end
  if not ok then
    io.stderr:write(one_line(rc), "\n")
    return 1
  end
  return rc
end

--- Entry point: returns the exit status.
function M.main(argv)
  local ok, rc = pcall(do_main, argv or {})
  io.stdout:flush()
  if ok then return rc end
  if getmetatable(rc) == Usage then
    io.stderr:write("vguest: ", rc.msg, "\n")
    return 2 -- a usage error, as getopt tools say it
  end
  io.stderr:write(one_line(rc), "\n")
  return 1
end

M.parse = parse
return M
