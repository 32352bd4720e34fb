--- Start and stop a vguest-sim simulator from Lua (`vguest run --sim`, the
-- spec helper). Pure Lua: io.popen and lua-cjson, no vguest.core.
--
--   local sim = require("vguest.sim").start{ flavours = { "api" } }
--   sim.url, sim.ca_file, sim.flavours, sim.pid, sim.transfer_url,
--   sim.transfer_ca_file, sim.transfer_cert_file (the ESXi host's)
--   sim.user, sim.password           -- first vCenter account (strings)
--   sim.guest_user, sim.guest_password, sim.vm  -- first guest account of the
--                                    -- first powered-on VM with tools running
--   sim.inventory                    -- the decoded inventory
--   sim:control{ fail_next = { count = 1, kind = "busy" } } ; sim:stats()
--   sim:stop()
--
-- The binary: opts.binary, else $VGUEST_SIM, else `sim/vguest-sim` in the
-- build tree of the running `vguest` executable (or beside it when
-- installed), else `vguest-sim` on PATH. The inventory: opts.inventory, else
-- $VGUEST_SIM_INVENTORY, else the installed share/vguest/inventory.json,
-- else sim/inventory.json of the source tree.
local cjson = require "cjson.safe"

local M = {}
local Sim = {}
Sim.__index = Sim
Sim.__name = "vguest.Sim"

function Sim.__tostring(s)
  return string.format("vguest.Sim (%s, pid %s%s)", tostring(s.url), tostring(math.tointeger(s.pid) or s.pid),
    s.stopped and ", stopped" or "")
end

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
M.quote = quote

local function exists(path)
  local f = io.open(path, "r")
  if f then f:close() return true end
  return false
end

local function dirname(p) return (p:match("^(.*)/[^/]*$")) or "." end

local function self_exe()
  -- io.popen runs `sh -c`: the shell's $PPID is this process
  local ph = io.popen("readlink /proc/$PPID/exe 2>/dev/null")
  if not ph then return nil end
  local exe = ph:read("l")
  ph:close()
  return exe
end

function M.find_binary(opts)
  opts = opts or {}
  if opts.binary then return opts.binary end
  local env = os.getenv("VGUEST_SIM")
  if env and env ~= "" then return env end
  local exe = self_exe()
  if exe and exe:match("/vguest$") then
    local dir = dirname(exe)
    for _, cand in ipairs { dir .. "/sim/vguest-sim", dir .. "/../sim/vguest-sim", dir .. "/vguest-sim" } do
      if exists(cand) then return cand end
    end
  end
  return "vguest-sim"
end

function M.find_inventory(opts)
  opts = opts or {}
  if opts.inventory then return opts.inventory end
  local env = os.getenv("VGUEST_SIM_INVENTORY")
  if env and env ~= "" then return env end
  local src = debug.getinfo(1, "S").source
  if src:sub(1, 1) == "@" then
    -- installed: P/share/lua/5.4/vguest/sim.lua -> P/share/vguest/inventory.json
    local lua_dir = dirname(dirname(src:sub(2)))
    for _, cand in ipairs { dirname(dirname(lua_dir)) .. "/vguest/inventory.json",
                            dirname(lua_dir) .. "/sim/inventory.json" } do
      if exists(cand) then return cand end
    end
  end
  return nil
end

local function read_json(path)
  local f, err = io.open(path, "r")
  if not f then return nil, err end
  local text = f:read("a")
  f:close()
  local v, jerr = cjson.decode(text)
  if v == nil then return nil, path .. ": " .. tostring(jerr) end
  return v
end

--- Start a simulator; returns a Sim or raises a message string.
-- opts: binary, inventory, flavours (array or "api,rest"), lifetime
-- (seconds, default 3600), retention, args (extra arguments array), tmpdir
-- (the simulator's TMPDIR: its guest temporary directory is
-- TMPDIR/vmware-USER, so specs can keep theirs apart).
function M.start(opts)
  opts = opts or {}
  local bin = M.find_binary(opts)
  local inv_path = M.find_inventory(opts)
  local cmd = { quote(bin), "--port", "0", "--lifetime", tostring(opts.lifetime or 3600) }
  if inv_path then cmd[#cmd + 1] = "--inventory " .. quote(inv_path) end
  if opts.flavours then
    local fl = type(opts.flavours) == "table" and table.concat(opts.flavours, ",") or opts.flavours
    cmd[#cmd + 1] = "--flavours " .. quote(fl)
  end
  if opts.retention then cmd[#cmd + 1] = "--retention " .. tostring(opts.retention) end
  for _, a in ipairs(opts.args or {}) do cmd[#cmd + 1] = quote(a) end
  -- its stderr: VGUEST_SIM_LOG, else a file read only when it fails to
  -- start (its own message says why), removed once it has started
  local log = os.getenv("VGUEST_SIM_LOG")
  local errfile = not (log and log ~= "") and os.tmpname() or nil
  cmd[#cmd + 1] = "2>>" .. quote(errfile or log)
  -- `exec` so the simulator is our child (it exits when its parent dies);
  -- `setsid` puts it in a session of its own, so a Ctrl-C typed at the
  -- REPL interrupts vguest's wait, not the simulator
  local env = opts.tmpdir and ("env TMPDIR=" .. quote(opts.tmpdir) .. " ") or ""
  local h = io.popen("exec " .. env .. "setsid " .. table.concat(cmd, " "), "r")
  if not h then error("cannot start " .. bin, 0) end
  local line = h:read("l")
  if not line then
    local _, how, code = h:close()
    local why = ""
    if errfile then
      local f = io.open(errfile, "r")
      why = f and f:read("a") or ""
      if f then f:close() end
      os.remove(errfile)
      why = why:gsub("%s+$", ""):gsub("\n", "; ")
    end
    local status = how == "signal" and ("killed by signal " .. tostring(code)) or
      ("exit status " .. tostring(code))
    error(string.format("the simulator did not start (%s, %s)%s", bin, status,
      why ~= "" and (": " .. why) or (log and log ~= "" and ("; see " .. log) or
        "; set VGUEST_SIM to its path")), 0)
  end
  if errfile then os.remove(errfile) end
  local ready = cjson.decode(line)
  if type(ready) ~= "table" or not ready.url then
    h:close()
    error("unexpected first line from the simulator: " .. line, 0)
  end
  local s = setmetatable({ url = ready.url, ca_file = ready.ca_file, flavours = ready.flavours,
    pid = ready.pid, handle = h, binary = bin, inventory_path = inv_path,
    transfer_url = ready.transfer_url, transfer_ca_file = ready.transfer_ca_file,
    transfer_cert_file = ready.transfer_cert_file, tmpdir = opts.tmpdir }, Sim)
  if inv_path then
    local inv = read_json(inv_path)
    if inv then
      s.inventory = inv
      local u = inv.users and inv.users[1]
      if u then s.user, s.password = u.user, u.password end
      for _, vm in ipairs(inv.vms or {}) do
        if vm.power_state == "POWERED_ON" and (vm.tools == nil or vm.tools == "running")
            and vm.accounts and vm.accounts[1] then
          s.vm = vm
          s.guest_user, s.guest_password = vm.accounts[1].user, vm.accounts[1].password
          break
        end
      end
    end
  end
  return s
end

--- Stop the simulator (idempotent).
function Sim:stop()
  if self.stopped then return end
  self.stopped = true
  if self.pid then os.execute("kill " .. math.tointeger(self.pid) .. " 2>/dev/null") end
  if self.handle then
    self.handle:close()
    self.handle = nil
  end
end
Sim.__gc = Sim.stop
Sim.__close = Sim.stop

local function curl(self, method, path, body)
  local cmd = "curl -sS --max-time 10 --cacert " .. quote(self.ca_file) .. " -X " .. method ..
      " -H 'Content-Type: application/json'"
  if body then cmd = cmd .. " --data-binary " .. quote(body) end
  cmd = cmd .. " " .. quote(self.url .. path) .. " 2>&1"
  local h = io.popen(cmd, "r")
  local out = h:read("a")
  h:close()
  local v = cjson.decode(out)
  if v == nil then error("simulator " .. path .. ": " .. out, 2) end
  return v
end

--- POST /sim/control with a table body; returns the decoded answer.
function Sim:control(body)
  local v = curl(self, "POST", "/sim/control", cjson.encode(body))
  if v.error then error("simulator control: " .. tostring(v.error), 2) end
  return v
end

--- GET /sim/stats -> table
function Sim:stats()
  return curl(self, "GET", "/sim/stats")
end

return M
