-- Waiting: PER_VM (arg 1) processes in every VM, running PATH (arg 2) with
-- ARGUMENTS (arg 3), each created and waited on in a task of its own, so
-- that every process is waited on at once. With "pairs" (arg 4) it records,
-- for each process, the simulator's `finished` timestamp and the realtime
-- clock when p:wait returned; bench/run turns them into exit-to-return
-- latencies. PER_VM = 0 does nothing past connecting and listing the VMs
-- (the memory row's baseline). Prints one JSON line; `at_once` is how many
-- processes had been created when the first wait returned, `created_s` the
-- seconds until the last create was answered; it also prints "created"
-- then, for bench/run to open the gate the processes of the memory row wait
-- on.
local vg = require "vguest"
local cjson = require "cjson"
local clock = require "benchclock"

local per_vm = math.tointeger(tonumber(arg[1])) or 10
local path, arguments = arg[2] or "/bin/sleep", arg[3] or "20"
local keep = arg[4] == "pairs"

local s <close> = vg.connect{}
local cred = vg.credentials{}
local vms = s:vms{}
local n = #vms * per_vm

local created, tried, at_once, failed, first, created_s = 0, 0, nil, 0, nil, nil
local pairs_out = {}
local function fail(err)
  failed = failed + 1
  first = first or tostring(err)
end
local t0, c0 = clock.monotonic(), clock.cpu()
vg.parallel(vms, function(vm)
  local g = vm:guest(cred)
  local ts = {}
  for k = 1, per_vm do
    ts[k] = vg.spawn(function()
      local ok, p = pcall(g.create, g, { path = path, arguments = arguments })
      tried = tried + 1
      if tried == n then
        -- every create answered: bench/run may let the processes end now
        created_s = clock.monotonic() - t0
        io.stdout:write("created\n")
        io.stdout:flush()
      end
      if not ok then return fail(p) end
      created = created + 1
      local wok, info = pcall(p.wait, p)
      if not wok then return fail(info) end
      local back = clock.realtime()
      at_once = at_once or created
      if keep then pairs_out[#pairs_out + 1] = { info.finished, back } end
    end)
  end
  vg.wait_all(ts)
end, { limit = math.max(#vms, 1) })
local wall, cpu = clock.monotonic() - t0, clock.cpu() - c0
print(cjson.encode{ wall = wall, cpu = cpu, n = n, failed = failed, error = first,
  at_once = at_once or created, created_s = created_s, pairs = keep and pairs_out or nil })
