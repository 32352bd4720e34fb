-- collect.lua: gather `uname -a` and `df -h` from every powered-on VM, all
-- at once (vg.parallel), into one table: VM name -> { uname =, df = }, then
-- print it. A VM that fails (VMware Tools not running, ...) shows its error
-- kind and the others still report. The legacy /rest API has no guest
-- files, hence no output capture: there every VM says "unsupported" and the
-- playbook fails with one line saying so.
--
--   vguest run --sim examples/collect.lua [--protocol api|rest|vim25] [--limit N]
local vg = require "vguest"

local protocol, limit = nil, 64
local i = 1
while arg and arg[i] do
  if arg[i] == "--protocol" then
    protocol = arg[i + 1]
  elseif arg[i] == "--limit" then
    limit = math.tointeger(tonumber(arg[i + 1]))
  else
    error("usage: collect.lua [--protocol P] [--limit N]", 0)
  end
  i = i + 2
end

local s <close> = vg.connect { protocol = protocol }
local cred = vg.credentials {}
local vms = s:vms { power_state = "POWERED_ON" }
table.sort(vms, function(a, b) return a.id < b.id end)

local facts, errors = vg.parallel(vms, function(vm)
  local g = vm:guest(cred)
  -- check = true: a command that fails raises, with the end of its stderr
  local uname = g:run { "uname", "-a", timeout = 60, check = true }
  local df = g:run { "df", "-h", timeout = 60, check = true }
  return { uname = (uname.stdout:gsub("\n$", "")), df = df.stdout }
end, { limit = limit })

-- The one table.
local collected, failures = {}, {}
for k, vm in ipairs(vms) do
  if facts[k] then
    collected[vm.name] = facts[k]
  else
    failures[vm.name] = errors[k]
  end
end

print(string.format("collected from %d VMs (protocol %s)", #vms, s.protocol))
local n, unsupported = 0, 0
for _, vm in ipairs(vms) do
  local f = collected[vm.name]
  if f then
    n = n + 1
    print(string.format("== %s (%s)", vm.name, vm.id))
    print("uname: " .. f.uname)
    io.write((f.df:gsub("[^\n]+", "  %0")))
  else
    local e = failures[vm.name]
    local kind = vg.is_error(e) and e.kind or "error"
    if kind == "unsupported" then unsupported = unsupported + 1 end
    print(string.format("== %s (%s): %s: %s", vm.name, vm.id, kind,
      vg.is_error(e) and e.message or tostring(e)))
  end
end
print(string.format("%d of %d VMs collected", n, #vms))
if n == 0 and #vms > 0 then
  if unsupported == #vms then
    error(string.format("collect.lua: unsupported: the %s API cannot capture a guest's output " ..
      "(vCenter 7.0.3 and later: --protocol api; 8.0U1 and later: vim25)", s.protocol), 0)
  end
  error("collect.lua: nothing collected", 0)
end
