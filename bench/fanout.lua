-- Fan-out: /bin/true in every VM of the inventory, all at once through
-- vg.parallel (no limit below the number of VMs: the session's
-- max_connections bounds what is in flight), each created with g:create,
-- waited on with p:wait and its exit code read. Run by bench/run with the
-- simulator in VGUEST_SERVER…; the session and the VM list are made before
-- the clock starts. Prints one JSON line.
local vg = require "vguest"
local cjson = require "cjson"
local clock = require "benchclock"

local s <close> = vg.connect{}
local cred = vg.credentials{}
local vms = s:vms{}

local t0, c0 = clock.monotonic(), clock.cpu()
local codes, errs = vg.parallel(vms, function(vm)
  return vm:guest(cred):create{ path = "/bin/true" }:wait().exit_code
end, { limit = #vms })
local wall, cpu = clock.monotonic() - t0, clock.cpu() - c0

local failed, nonzero, first = 0, 0, nil
for i = 1, #vms do
  if errs[i] then
    failed = failed + 1
    first = first or tostring(errs[i])
  elseif codes[i] ~= 0 then
    nonzero = nonzero + 1
  end
end
print(cjson.encode{ wall = wall, cpu = cpu, n = #vms, failed = failed, nonzero = nonzero,
  error = first, connections = tonumber(os.getenv("VGUEST_MAX_CONNECTIONS")) })
