-- Fan-out benchmark through the Lua API (the path a playbook takes):
-- `vguest run --sim bench/fanout.lua [programs-per-VM]`.
-- baseline: one program at a time, create then p:wait(), VM after VM
-- vguest:   vg.parallel over the VMs, every program of a VM waited on at once
-- Prints wall time, requests (from the simulator's counters), Lua memory and
-- the ratios baseline/vguest. Asserts nothing about time.
local vg = require "vguest"
local cjson = require "cjson"
local sim = require("vguest.defaults").sim
assert(sim, "run with: vguest run --sim bench/fanout.lua")

local per_vm = tonumber(arg and arg[1]) or 4
local s <close> = vg.connect{}
local cred = vg.credentials{}
local vms = s:vms{ names = { "web-01", "web-02", "web-03", "web-04" } }
local prog = { path = "/bin/sleep", arguments = "0.2" }

local function now()
  local p = io.popen("date +%s.%N")
  local t = tonumber(p:read("l"))
  p:close()
  return t
end

local function requests()
  local p = io.popen(string.format("curl -s --cacert '%s' '%s/sim/stats'", sim.ca_file, sim.url))
  local st = cjson.decode(p:read("a"))
  p:close()
  return st.requests
end

local function measure(fn)
  collectgarbage("collect")
  local r0, m0, t0 = requests(), collectgarbage("count"), now()
  fn()
  local dt, dm = now() - t0, collectgarbage("count") - m0
  return dt, requests() - r0 - 1, dm
end

local tb, rb, mb = measure(function()
  for _, vm in ipairs(vms) do
    local g = vm:guest(cred)
    for _ = 1, per_vm do g:create(prog):wait() end
  end
end)

local tc, rc, mc = measure(function()
  local _, errs = vg.parallel(vms, function(vm)
    local g = vm:guest(cred)
    local ps = {}
    for i = 1, per_vm do ps[i] = g:create(prog) end
    local ts = {}
    for i, p in ipairs(ps) do ts[i] = vg.spawn(function() return p:wait() end) end
    return vg.wait_all(ts)
  end)
  for _, e in pairs(errs) do error(e) end
end)

print(string.format("fanout (%s): %d VMs x %d programs (sleep 0.2)", s.protocol, #vms, per_vm))
print(string.format("  baseline (one at a time): %7.3f s, %4d requests, %+8.1f KiB Lua heap", tb, rb, mb))
print(string.format("  vguest (vg.parallel):     %7.3f s, %4d requests, %+8.1f KiB Lua heap", tc, rc, mc))
print(string.format("  ratio baseline/vguest: time %.1fx, requests %.1fx", tb / tc, rb / rc))
