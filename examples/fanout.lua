-- fanout.lua: run the same program on every powered-on VM at once through
-- vg.parallel, then print a summary table. A VM that fails (VMware Tools not
-- running, a wrong password, ...) shows its error kind; the others still run.
--
--   vguest run --sim examples/fanout.lua [--protocol api|rest|vim25] [--limit N]
local vg = require "vguest"

local protocol, limit = nil, 64
local i = 1
while arg and arg[i] do
  if arg[i] == "--protocol" then
    protocol = arg[i + 1]
  elseif arg[i] == "--limit" then
    limit = math.tointeger(tonumber(arg[i + 1]))
  else
    error("usage: fanout.lua [--protocol P] [--limit N]", 0)
  end
  i = i + 2
end

local s <close> = vg.connect { protocol = protocol }
local cred = vg.credentials {}
local vms = s:vms { power_state = "POWERED_ON" }
table.sort(vms, function(a, b) return a.id < b.id end)
print(string.format("running `uname -s; sleep 1` on %d VMs (protocol %s, at most %d at a time)",
  #vms, s.protocol, limit))

-- create + wait: the process primitives of every flavour (g:run, which
-- captures output, needs guest files: see collect.lua)
local results, errors = vg.parallel(vms, function(vm)
  local p = vm:guest(cred):create { path = "/bin/sh", arguments = "-c 'uname -s >/dev/null; sleep 1'" }
  return p:wait { timeout = 120 }.exit_code
end, { limit = limit })

print(string.format("%-8s %-10s %s", "ID", "NAME", "RESULT"))
local ok, failed = 0, 0
for k, vm in ipairs(vms) do
  local result
  if errors[k] then
    failed = failed + 1
    result = vg.is_error(errors[k]) and ("error: " .. errors[k].kind) or ("error: " .. tostring(errors[k]))
  else
    ok = ok + 1
    result = "exit " .. tostring(results[k])
  end
  print(string.format("%-8s %-10s %s", vm.id, vm.name, result))
end
print(string.format("%d ran, %d failed", ok, failed))
