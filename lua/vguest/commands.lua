--- The fleet commands of the `vguest` program: exec, ps, kill, upload,
-- download, vms. Each selects VMs as `s:vms{}` does (patterns on names, the
-- server-side filters), works on all of them at once through vg.parallel,
-- prints one block (or prefixed lines, or one JSON object) per VM as it
-- finishes, then a summary line on stderr.
--
-- M.spec[cmd] declares a command's options; cli.lua parses them with the
-- rest of the command line (M.parse) and calls M.run(cmd, o), which
-- returns the exit status: 0 when every VM succeeded, 1 when any failed
-- (or a command exited non-zero), 2 for usage errors (raised by M.parse).
local json = require "vguest.json"

local M = {}

-- The flavour names, from the runtime's one registry (core.protocols).
local protocol_list = require("vguest.task").core().protocols
local protocol_set = {}
for _, name in ipairs(protocol_list) do protocol_set[name] = true end

--- The flavour names as a phrase: "auto, api, rest or vim25".
M.protocol_words = table.concat(protocol_list, ", ", 1, #protocol_list - 1) ..
  " or " .. protocol_list[#protocol_list]

--- nil when p names a flavour, else the usage message saying so.
function M.protocol_problem(p)
  if protocol_set[p] then return nil end
  return "--protocol needs one of " .. table.concat(protocol_list, ", ")
end

-- Options every fleet command takes: the connection and the selection.
-- kind: "flag" (no value), "value" (one), "list" (repeatable).
local common = {
  { "--sim", "flag", "start a simulator and use it" },
  { "--profile", "value", "NAME", "use profile NAME of the config file (also VGUEST_PROFILE)" },
  { "--server", "value", "URL", "vCenter URL (VGUEST_SERVER)" },
  { "--user", "value", "USER", "vCenter user (VGUEST_USER)" },
  { "--protocol", "value", "P", M.protocol_words .. " (VGUEST_PROTOCOL)" },
  { "--vm", "list", "PATTERN", "VM name, glob (web-*, db-0[1-3]) or id; repeatable" },
  { "--folder", "list", "F", "VMs directly in VM folder F (by name; not its subfolders); repeatable" },
  { "--datacenter", "list", "D", "VMs in datacenter D" },
  { "--cluster", "list", "C", "VMs in cluster C" },
  { "--host", "list", "H", "VMs on ESXi host H" },
  { "--resource-pool", "list", "P", "VMs in resource pool P" },
  { "--power-state", "value", "S", "POWERED_ON, POWERED_OFF or SUSPENDED" },
  { "--all", "flag", "every VM (when no other selection is given)" },
  { "--json", "flag", "one JSON object per VM per line on stdout" },
  { "--limit", "value", "N", "at most N VMs at a time (default 64)" },
  { "--traceback", "flag", "print a traceback with a runtime error" },
}

local guest_opts = {
  { "--guest-user", "value", "USER", "guest user (VGUEST_GUEST_USER)" },
}

M.spec = {
  exec = {
    synopsis = "vguest exec SELECTION [options] -- PROGRAM [ARGS...]\n" ..
      "       vguest exec SELECTION [options] --shell 'COMMAND LINE'",
    summary = "run one command on every selected VM at once",
    notes = [[
output: each VM's stdout as a block under "=== NAME (ID): exit N" (its stderr on
  stderr), as each VM finishes; with --prefix, every line as "NAME: line"; with
  --json, one object per VM per line: name, id, exit_code, stdout, stderr, error,
  kind, pid, started, finished. A summary line goes to stderr at the end.]],
    operands = "argv",
    options = {
      { "--shell", "value", "CMD", "run CMD through the guest's shell (sh -c, cmd.exe /c) untouched" },
      { "--timeout", "value", "S", "stop a command still running after S seconds (it fails)" },
      { "--cwd", "value", "DIR", "working directory in the guest" },
      { "--env", "list", "K=V", "set an environment variable; repeatable" },
      { "--prefix", "flag", "prefix every output line with the VM's name instead of blocks" },
      { "--os", "value", "OS", "linux or windows: how to quote (default: ask the VM)" },
    },
  },
  ps = {
    synopsis = "vguest ps SELECTION [options]",
    summary = "list the guest processes of the selected VMs",
    operands = "none",
    options = {},
  },
  kill = {
    synopsis = "vguest kill SELECTION [options] PID...",
    summary = "terminate guest processes (TERM, then KILL)",
    operands = "pids",
    options = {},
  },
  upload = {
    synopsis = "vguest upload SELECTION [options] LOCAL GUEST_PATH",
    summary = "copy a local file to GUEST_PATH in every selected VM",
    operands = "two",
    options = {
      { "--mode", "value", "MODE", "the file's permissions in the guest, octal (e.g. 0755)" },
    },
  },
  download = {
    synopsis = "vguest download SELECTION [options] GUEST_PATH LOCAL",
    summary = "copy GUEST_PATH from the selected VMs to LOCAL ({vm} in LOCAL: the VM's name)",
    operands = "two",
    options = {},
  },
  vms = {
    synopsis = "vguest vms [SELECTION] [options]",
    summary = "list VMs: name, id, power state, guest OS, Tools, IP address, host",
    operands = "none",
    options = {
      { "--brief", "flag", "only name, id and power state (one request, no per-VM lookups)" },
    },
    selection_optional = true,
  },
}

M.order = { "exec", "ps", "kill", "upload", "download", "vms" }

--- M.list_text() -> "  exec      run one command ...\n..." for the usage text.
function M.list_text()
  local lines = {}
  for _, cmd in ipairs(M.order) do
    lines[#lines + 1] = string.format("  %-9s %s", cmd, M.spec[cmd].summary)
  end
  return table.concat(lines, "\n")
end

local function option_table(cmd)
  local t = {}
  local function add(list, guest)
    for _, o in ipairs(list) do t[o[1]] = { kind = o[2], guest = guest } end
  end
  add(common)
  if cmd ~= "vms" then add(guest_opts) end
  add(M.spec[cmd].options)
  return t
end

--- M.options(cmd) -> the list of {name, kind, metavar, help} of cmd, for
-- help texts and completion.
function M.options(cmd)
  local out = {}
  for _, o in ipairs(common) do out[#out + 1] = o end
  if cmd ~= "vms" then
    for _, o in ipairs(guest_opts) do out[#out + 1] = o end
  end
  for _, o in ipairs(M.spec[cmd].options) do out[#out + 1] = o end
  return out
end

--- M.help(cmd) -> the help text of cmd (`vguest help CMD`, `vguest CMD --help`).
function M.help(cmd)
  local spec = M.spec[cmd]
  local lines = { "usage: " .. spec.synopsis, "", spec.summary .. ".", "" }
  local function add(o)
    local left = "  " .. o[1] .. (o[2] ~= "flag" and (" " .. o[3]) or "")
    local help = o[2] ~= "flag" and o[4] or o[3]
    if #left > 22 then
      lines[#lines + 1] = left
      left = ""
    end
    lines[#lines + 1] = left .. string.rep(" ", 24 - #left) .. help
  end
  lines[#lines + 1] = "options:"
  for _, o in ipairs(M.options(cmd)) do add(o) end
  lines[#lines + 1] = ""
  lines[#lines + 1] = M.selection_help
  if M.spec[cmd].notes then lines[#lines + 1] = M.spec[cmd].notes end
  lines[#lines + 1] = M.exit_help
  return table.concat(lines, "\n") .. "\n"
end

M.selection_help = [[
SELECTION: --vm PATTERN (repeatable: any may match), --folder, --datacenter, --cluster,
  --host, --resource-pool (by name, repeatable: any may match), --power-state; the
  kinds combine (a VM must match each kind given). --all selects every VM.
  A pattern matches a VM's name (* ? [a-z] [!x], \ quotes) or is its id (vm-42).
connection: vguest connects as `vg.connect{}` does: --server, --user, --protocol,
  then VGUEST_* variables, then the profile of the config file
  ($XDG_CONFIG_HOME/vguest/config; --profile NAME or VGUEST_PROFILE); the guest
  user and password come from --guest-user, VGUEST_GUEST_USER,
  VGUEST_GUEST_PASSWORD or the profile. A missing password is asked for on a terminal.]]

M.exit_help = [[
exit status: 0 when it succeeded on every VM (exec: every command exited 0), 1 when
  any failed, 2 on a usage error, 130 on Ctrl-C (commands in flight are stopped).]]

local selectors = { vm = true, folder = true, datacenter = true, cluster = true, host = true,
  resource_pool = true, power_state = true }

-- "--resource-pool" -> "resource_pool"
local function key_of(name) return (name:sub(3):gsub("%-", "_")) end

--- M.parse(cmd, argv, i, usage_error) -> options table o: o[key] for each
-- option, o.operands (the rest). Raises usage_error(msg) on bad input.
function M.parse(cmd, argv, i, usage_error)
  local spec = M.spec[cmd]
  local known = option_table(cmd)
  local o = { cmd = cmd, operands = {} }
  while argv[i] do
    local a = argv[i]
    if a == "--" then
      table.move(argv, i + 1, #argv, #o.operands + 1, o.operands)
      break
    elseif a == "--help" or a == "-h" then
      o.help = true
      return o
    elseif a:sub(1, 2) == "--" then
      local name, value = a:match("^(%-%-[^=]+)=(.*)$")
      name = name or a
      local opt = known[name]
      if not opt then usage_error("unknown option '" .. name .. "' for " .. cmd .. " (try vguest help " .. cmd .. ")") end
      local key = key_of(name)
      if opt.kind == "flag" then
        if value then usage_error(name .. " takes no value") end
        o[key] = true
      else
        if not value then
          i = i + 1
          value = argv[i]
          if value == nil then usage_error(name .. " needs a value") end
        end
        if opt.kind == "list" then
          o[key] = o[key] or {}
          table.insert(o[key], value)
        else
          o[key] = value
        end
      end
    elseif a:sub(1, 1) == "-" and a ~= "-" and not a:match("^%-%d+$") then
      usage_error("unknown option '" .. a .. "' for " .. cmd .. " (try vguest help " .. cmd .. ")")
    else
      o.operands[#o.operands + 1] = a
    end
    i = i + 1
  end
  if o.help then return o end
  -- the operands
  local n = #o.operands
  if spec.operands == "argv" then
    if o.shell and n > 0 then usage_error("exec takes --shell or a PROGRAM with ARGS, not both") end
    if not o.shell and n == 0 then
      usage_error("exec needs a command: vguest exec --vm PATTERN -- PROGRAM [ARGS...] or --shell 'CMD'")
    end
  elseif spec.operands == "none" and n > 0 then
    usage_error("unexpected argument '" .. o.operands[1] .. "' for " .. cmd)
  elseif spec.operands == "pids" then
    if n == 0 then usage_error("kill needs at least one PID") end
    for k, p in ipairs(o.operands) do
      local pid = math.tointeger(tonumber(p))
      if not pid or pid <= 0 or not p:match("^%d+$") then usage_error("kill: '" .. p .. "' is not a PID") end
      o.operands[k] = pid
    end
  elseif spec.operands == "two" and n ~= 2 then
    usage_error(cmd .. " needs two paths: " .. spec.synopsis:match("%] (.*)$"))
  end
  -- the values
  local some = false
  for k in pairs(selectors) do
    if o[k] then some = true end
  end
  if o.all and some then usage_error("--all selects every VM: give it alone, or a selection") end
  if not some and not o.all and not spec.selection_optional then
    usage_error(cmd .. " needs a selection: --vm PATTERN (e.g. --vm 'web-*'), --folder, " ..
      "--datacenter, --cluster, --host, --resource-pool, --power-state or --all")
  end
  if o.power_state then
    local ps = o.power_state:upper():gsub("%-", "_")
    local ok = { POWERED_ON = 1, POWERED_OFF = 1, SUSPENDED = 1, ON = "POWERED_ON", OFF = "POWERED_OFF" }
    if not ok[ps] then usage_error("--power-state needs POWERED_ON, POWERED_OFF or SUSPENDED, got '" .. o.power_state .. "'") end
    o.power_state = ok[ps] == 1 and ps or ok[ps]
  end
  if o.limit then
    local n = math.tointeger(tonumber(o.limit))
    if not n or n < 1 then usage_error("--limit needs a positive integer, got '" .. o.limit .. "'") end
    o.limit = n
  end
  if o.timeout then
    local t = tonumber(o.timeout)
    if not t or not (t > 0) then usage_error("--timeout needs a positive number of seconds, got '" .. o.timeout .. "'") end
    o.timeout = t
  end
  if o.protocol and M.protocol_problem(o.protocol) then usage_error(M.protocol_problem(o.protocol)) end
  if o.os and o.os ~= "linux" and o.os ~= "windows" then
    usage_error("--os needs linux or windows, got '" .. o.os .. "'")
  end
  if o.env then
    local env = {}
    for _, kv in ipairs(o.env) do
      local k, v = kv:match("^([^=]+)=(.*)$")
      if not k then usage_error("--env needs NAME=VALUE, got '" .. kv .. "'") end
      env[k] = v
    end
    o.env = env
  end
  if o.mode then
    if not o.mode:match("^0?[0-7]+$") or tonumber(o.mode, 8) > 4095 then
      usage_error("--mode needs octal permissions such as 0644, got '" .. o.mode .. "'")
    end
    o.mode = tonumber(o.mode, 8)
  end
  if cmd == "download" and o.operands[2] and not o.operands[2]:find("{vm}", 1, true) then
    o.one_vm_only = true -- more than one VM needs {vm} in LOCAL: checked once they are known
  end
  return o
end

-------------------------------------------------------------------------------
-- Output

local out, errout = io.stdout, io.stderr

local function write_block_header(vm, status)
  out:write("=== ", vm.name, " (", vm.id, "): ", status, "\n")
end

-- text, with a newline at its end if it has none
local function lines_of(text)
  if text == "" then return "" end
  if text:sub(-1) ~= "\n" then return text .. "\n" end
  return text
end

local function prefixed(name, text)
  if text == "" then return "" end
  return (lines_of(text):gsub("[^\n]*\n", function(l) return name .. ": " .. l end))
end

local function error_message(err)
  if type(err) == "table" and err.message then return err.message end
  return tostring(err)
end

local function kind_of(err)
  return type(err) == "table" and err.kind or nil
end

--- One VM's result of exec: r (g:run's table) or err.
local function report_exec(o, vm, r, err)
  local stdout = r and r.stdout or (type(err) == "table" and err.stdout) or ""
  local stderr = r and r.stderr or (type(err) == "table" and err.stderr) or ""
  if o.json then
    local so, so_ok = json.text(stdout)
    local se, se_ok = json.text(stderr)
    local fields = {
      { "name", vm.name }, { "id", vm.id }, { "exit_code", r and r.exit_code },
      { "stdout", so }, { "stderr", se },
      { "error", err and error_message(err) }, { "kind", kind_of(err) },
      { "pid", r and r.pid or type(err) == "table" and err.pid or nil },
      { "started", r and r.started }, { "finished", r and r.finished },
    }
    if not so_ok then fields[#fields + 1] = { "stdout_lossy", true } end
    if not se_ok then fields[#fields + 1] = { "stderr_lossy", true } end
    if r and r.stdout_truncated then fields[#fields + 1] = { "stdout_truncated", true } end
    if r and r.stderr_truncated then fields[#fields + 1] = { "stderr_truncated", true } end
    out:write(json.object(fields), "\n")
    out:flush()
    return
  end
  local status = r and ("exit " .. tostring(r.exit_code)) or ("error: " .. error_message(err))
  if o.prefix then
    out:write(prefixed(vm.name, stdout))
    out:flush()
    errout:write(prefixed(vm.name, stderr))
    if not (r and r.exit_code == 0) then errout:write(vm.name, ": ", status, "\n") end
    errout:flush()
    return
  end
  write_block_header(vm, status)
  out:write(lines_of(stdout))
  out:flush()
  if stderr ~= "" then
    errout:write("--- ", vm.name, " stderr\n", lines_of(stderr))
    errout:flush()
  end
end

-- "3 VMs: 2 ok, 1 exit 1 (web-02), 1 error (db-01) in 0.8 s"
local function summary(total, ok, codes, failed, elapsed, what)
  local parts = { string.format("%d VM%s: %d %s", total, total == 1 and "" or "s", ok, what or "ok") }
  local keys = {}
  for code in pairs(codes) do keys[#keys + 1] = code end
  table.sort(keys)
  for _, code in ipairs(keys) do
    local names = codes[code]
    table.sort(names)
    parts[#parts + 1] = string.format("%d exit %d (%s)", #names, code, table.concat(names, ", "))
  end
  if #failed > 0 then
    table.sort(failed)
    parts[#parts + 1] = string.format("%d failed (%s)", #failed, table.concat(failed, ", "))
  end
  return string.format("vguest: %s in %.1f s", table.concat(parts, ", "), elapsed)
end

-------------------------------------------------------------------------------
-- Connecting and selecting

local function connect(vg, o)
  local opts = {}
  if o.server then opts.server = o.server end
  if o.user then opts.user = o.user end
  if o.protocol then opts.protocol = o.protocol end
  return vg.connect(opts)
end

local function selection(o)
  return { patterns = o.vm, folder = o.folder, datacenter = o.datacenter, cluster = o.cluster,
    host = o.host, resource_pool = o.resource_pool, power_state = o.power_state }
end

-- "--vm 'web-*' --folder web"
local function describe_selection(o)
  local parts = {}
  for _, name in ipairs { "vm", "folder", "datacenter", "cluster", "host", "resource_pool" } do
    for _, v in ipairs(o[name] or {}) do
      parts[#parts + 1] = "--" .. name:gsub("_", "-") .. " '" .. v .. "'"
    end
  end
  if o.power_state then parts[#parts + 1] = "--power-state " .. o.power_state end
  return table.concat(parts, " ")
end

local function select_vms(s, o, details)
  local sel = selection(o)
  sel.details = details
  local vms = s:vms(sel)
  if #vms == 0 then
    if o.all then error("the server lists no VMs", 0) end
    error("no VM matches " .. describe_selection(o), 0)
  end
  table.sort(vms, function(a, b)
    if a.name ~= b.name then return a.name < b.name end
    return a.id < b.id
  end)
  return vms
end

local function guest_credentials(vg, o)
  return vg.credentials { user = o.guest_user }
end

-- Does a VM's power state let guest operations run? (nil, or the reason)
local function not_running(vm)
  if vm.power_state ~= "POWERED_ON" then
    return { kind = "not_allowed_in_current_state",
      message = "the VM is " .. vm.power_state:lower():gsub("_", " ") .. ": guest operations need it powered on" }
  end
end

-- Runs fn(vm) on every VM, at most o.limit at a time; fn returns a result
-- or raises. report(vm, r, err) is called as each finishes.
local function on_each(vg, vms, o, fn, report)
  local ok_count, failed = 0, {}
  vg.parallel(vms, function(vm)
    local why = not_running(vm)
    local ok, r
    if why then
      ok, r = false, why
    else
      ok, r = pcall(fn, vm)
    end
    if ok then
      ok_count = ok_count + 1
      report(vm, r, nil)
    else
      failed[#failed + 1] = vm.name
      report(vm, nil, r)
    end
    return ok
  end, { limit = o.limit or 64, on_progress = function() end })
  return ok_count, failed
end

-------------------------------------------------------------------------------
-- The commands

local commands = {}

function commands.exec(vg, s, o, clock)
  local vms = select_vms(s, o)
  local cred = guest_credentials(vg, o)
  local spec = { timeout = o.timeout, cwd = o.cwd, env = o.env, os = o.os }
  if o.shell then
    spec.command = o.shell
  else
    for k, a in ipairs(o.operands) do spec[k] = a end
  end
  local ok_count, codes, failed = 0, {}, {}
  on_each(vg, vms, o, function(vm)
    return vm:guest(cred):run(spec)
  end, function(vm, r, err)
    report_exec(o, vm, r, err)
    if r and r.exit_code == 0 then
      ok_count = ok_count + 1
    elseif r then
      codes[r.exit_code] = codes[r.exit_code] or {}
      table.insert(codes[r.exit_code], vm.name)
    else
      failed[#failed + 1] = vm.name
    end
  end)
  errout:write(summary(#vms, ok_count, codes, failed, clock()), "\n")
  return (ok_count == #vms) and 0 or 1
end

local function fmt_table(rows, header)
  local widths = {}
  for _, row in ipairs({ header, table.unpack(rows) }) do
    for i, cell in ipairs(row) do
      widths[i] = math.max(widths[i] or 0, utf8.len(cell) or #cell)
    end
  end
  local lines = {}
  for _, row in ipairs({ header, table.unpack(rows) }) do
    local cells = {}
    for i, cell in ipairs(row) do
      cells[i] = i < #row and cell .. string.rep(" ", widths[i] - (utf8.len(cell) or #cell)) or cell
    end
    lines[#lines + 1] = table.concat(cells, "  ")
  end
  return table.concat(lines, "\n") .. "\n"
end

local function report_error(o, vm, err)
  if o.json then
    out:write(json.object { { "name", vm.name }, { "id", vm.id }, { "error", error_message(err) },
      { "kind", kind_of(err) } }, "\n")
  else
    errout:write("vguest: ", vm.name, " (", vm.id, "): ", error_message(err), "\n")
  end
end

function commands.ps(vg, s, o, clock)
  local vms = select_vms(s, o)
  local cred = guest_credentials(vg, o)
  local rows = {}
  local ok_count, failed = on_each(vg, vms, o, function(vm)
    return vm:guest(cred):list()
  end, function(vm, list, err)
    if err then return report_error(o, vm, err) end
    table.sort(list, function(a, b) return a.pid < b.pid end)
    for _, p in ipairs(list) do
      if o.json then
        out:write(json.object { { "name", vm.name }, { "id", vm.id }, { "pid", p.pid },
          { "owner", p.owner }, { "command", p.command }, { "started", p.started },
          { "finished", p.finished }, { "exit_code", p.exit_code } }, "\n")
      else
        rows[#rows + 1] = { vm.name, tostring(p.pid), p.owner or "", p.started or "",
          p.exit_code and ("exit " .. p.exit_code) or "running", p.command or p.name or "" }
      end
    end
  end)
  if not o.json and #rows > 0 then
    table.sort(rows, function(a, b)
      if a[1] ~= b[1] then return a[1] < b[1] end
      return tonumber(a[2]) < tonumber(b[2])
    end)
    out:write(fmt_table(rows, { "VM", "PID", "OWNER", "STARTED", "STATE", "COMMAND" }))
  end
  errout:write(summary(#vms, ok_count, {}, failed, clock(), "listed"), "\n")
  return #failed == 0 and 0 or 1
end

function commands.kill(vg, s, o, clock)
  local vms = select_vms(s, o)
  local cred = guest_credentials(vg, o)
  local ok_count, failed = on_each(vg, vms, o, function(vm)
    local g = vm:guest(cred)
    local errs = {}
    for _, pid in ipairs(o.operands) do
      local ok, err = pcall(g.delete, g, pid)
      if not ok then errs[#errs + 1] = string.format("pid %d: %s", pid, error_message(err)) end
    end
    if #errs > 0 then error(table.concat(errs, "; "), 0) end
    return true
  end, function(vm, _, err)
    if err then return report_error(o, vm, err) end
    if o.json then
      out:write(json.object { { "name", vm.name }, { "id", vm.id }, { "killed", o.operands } }, "\n")
    end
  end)
  errout:write(summary(#vms, ok_count, {}, failed, clock(), "terminated"), "\n")
  return #failed == 0 and 0 or 1
end

local function report_transfer(o, verb)
  return function(vm, r, err)
    if err then return report_error(o, vm, err) end
    if o.json then
      out:write(json.object { { "name", vm.name }, { "id", vm.id }, { "path", r } }, "\n")
    else
      out:write(vm.name, ": ", verb, " ", r, "\n")
    end
  end
end

function commands.upload(vg, s, o, clock)
  local src, dst = o.operands[1], o.operands[2]
  local f = io.open(src, "rb")
  if not f then error("cannot read " .. src, 0) end
  f:close()
  local vms = select_vms(s, o)
  local cred = guest_credentials(vg, o)
  local ok_count, failed = on_each(vg, vms, o, function(vm)
    vm:guest(cred):upload(src, dst, { mode = o.mode })
    return dst
  end, report_transfer(o, "wrote"))
  errout:write(summary(#vms, ok_count, {}, failed, clock(), "uploaded"), "\n")
  return #failed == 0 and 0 or 1
end

function commands.download(vg, s, o, clock)
  local src, dst = o.operands[1], o.operands[2]
  local vms = select_vms(s, o)
  if #vms > 1 and o.one_vm_only then
    error(string.format("%d VMs are selected: put {vm} in LOCAL (e.g. '%s.{vm}') so that " ..
      "each gets its own file", #vms, dst), 0)
  end
  local cred = guest_credentials(vg, o)
  local ok_count, failed = on_each(vg, vms, o, function(vm)
    local path = dst:gsub("{vm}", (vm.name:gsub("[/%c]", "_")))
    vm:guest(cred):download(src, path)
    return path
  end, report_transfer(o, "saved"))
  errout:write(summary(#vms, ok_count, {}, failed, clock(), "downloaded"), "\n")
  return #failed == 0 and 0 or 1
end

function commands.vms(vg, s, o, clock)
  local details = not o.brief
  local vms = {}
  if next(selection(o)) and not o.all then
    vms = select_vms(s, o, details) -- none is an error: the selection says what was meant
  else
    local sel = selection(o)
    sel.details = details
    vms = s:vms(sel)
    table.sort(vms, function(a, b) return a.name < b.name or (a.name == b.name and a.id < b.id) end)
  end
  local rows = {}
  for _, vm in ipairs(vms) do
    if o.json then
      local fields = { { "name", vm.name }, { "id", vm.id }, { "power_state", vm.power_state } }
      if details then
        for _, k in ipairs { "guest_family", "tools_running", "ip_address", "host" } do
          fields[#fields + 1] = { k, vm[k] }
        end
      end
      out:write(json.object(fields), "\n")
    else
      local row = { vm.name, vm.id, vm.power_state }
      if details then
        row[4] = vm.guest_family or "-"
        row[5] = vm.tools_running == nil and "-" or (vm.tools_running and "running" or "not running")
        row[6] = vm.ip_address or "-"
        row[7] = vm.host or "-"
      end
      rows[#rows + 1] = row
    end
  end
  if not o.json and #rows > 0 then
    out:write(fmt_table(rows, details and { "NAME", "ID", "POWER", "OS", "TOOLS", "IP", "HOST" }
      or { "NAME", "ID", "POWER" }))
  end
  errout:write(string.format("vguest: %d VM%s in %.1f s\n", #vms, #vms == 1 and "" or "s", clock()))
  return 0
end

--- M.run(cmd, o) -> exit status. Runs inside a task (cli.lua's run_chunk).
function M.run(cmd, o)
  local vg = require "vguest"
  local core = require("vguest.task").core()
  local t0 = core.clock()
  local function clock() return core.clock() - t0 end
  local s <close> = connect(vg, o)
  return commands[cmd](vg, s, o, clock)
end

return M
