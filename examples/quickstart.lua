-- quickstart.lua: find a VM, run a command in it and print what it wrote
-- and its exit code; then start a long-running program and delete
-- (terminate) it.
--
--   vguest run --sim examples/quickstart.lua [--protocol api|rest|vim25] [VM]
--
-- Without --sim, vg.connect{} and vg.credentials{} take their settings from
-- VGUEST_SERVER, VGUEST_USER, VGUEST_PASSWORD, VGUEST_GUEST_USER and
-- VGUEST_GUEST_PASSWORD.
local vg = require "vguest"

local protocol, vm_name = nil, "web-01"
local i = 1
while arg and arg[i] do
  if arg[i] == "--protocol" then
    protocol = arg[i + 1]
    i = i + 2
  else
    vm_name = arg[i]
    i = i + 1
  end
end

local s <close> = vg.connect { protocol = protocol }
print(string.format("connected to %s as %s (protocol %s)", s.server, s.user, s.protocol))

local vm = s:vm(vm_name)
print(string.format("found VM %s (%s), %s", vm.name, vm.id, vm.power_state))

local g = vm:guest(vg.credentials {})

-- A short command, its output captured: g:run returns its exit code,
-- stdout and stderr (a non-zero exit code is data, not an error).
local ok, r = pcall(g.run, g, { "/bin/sh", "-c", "echo hello from the guest; uname -s; exit 3",
  cwd = "/tmp", timeout = 60 })
if ok then
  io.write("the guest said:\n", r.stdout)
  print(string.format("pid %d finished with exit code %d", r.pid, r.exit_code))
elseif vg.is_error(r) and r.kind == "unsupported" then
  -- The legacy /rest API has no guest files, so no output capture: start
  -- the program, wait for it and read its exit code.
  print("no output capture here: " .. r.message)
  local p = g:create { path = "/bin/sh", arguments = "-c 'echo hello from the guest; exit 3'",
    working_directory = "/tmp" }
  print(string.format("started /bin/sh as pid %d", p.pid))
  local info = p:wait { timeout = 60 }
  print(string.format("pid %d finished with exit code %d", info.pid, info.exit_code))
else
  error(r, 0)
end

-- A long program: start it, look at it, then terminate it.
local long = g:create { path = "/bin/sleep", arguments = "600" }
local running = long:get()
print(string.format("started %s as pid %d (running: %s)", running.name or "sleep", long.pid,
  tostring(running.exit_code == nil)))
long:delete()
local ended = long:wait { timeout = 60 }
print(string.format("deleted pid %d (finished: %s)", long.pid, tostring(ended.finished ~= nil)))
