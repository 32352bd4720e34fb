-- Per-call cost from Lua: CALLS (arg 1, default 5000) sequential p:get()
-- of one finished /bin/true process in the first VM, one at a time. The
-- process is created and waited on before the clock starts. Prints one
-- JSON line.
local vg = require "vguest"
local cjson = require "cjson"
local clock = require "benchclock"

local calls = math.tointeger(tonumber(arg[1])) or 5000
local s <close> = vg.connect{}
local cred = vg.credentials{}
local p = s:vms{}[1]:guest(cred):create{ path = "/bin/true" }
p:wait()

local failed = 0
local t0, c0 = clock.monotonic(), clock.cpu()
for _ = 1, calls do
  if p:get().exit_code == nil then failed = failed + 1 end
end
local wall, cpu = clock.monotonic() - t0, clock.cpu() - c0
print(cjson.encode{ wall = wall, cpu = cpu, n = calls, failed = failed })
