-- Shared helpers of the spec/core suites (the vguest.core C module used
-- directly). Loaded with dofile by each spec, so it needs no path setup.
local core = require "vguest.core"

local H = { core = core }

-- A distinctive string used as every secret in these specs: no tostring,
-- error message or error table may ever contain it.
H.SECRET = "Xyzzy-s3cr3t-42!"

--- Run the loop until op is done; returns the ops reported meanwhile.
function H.wait(op, max_steps)
  local seen = {}
  for _ = 1, max_steps or 10000 do
    if op:status() ~= "pending" then return seen end
    local done = core.step(1000)
    for _, o in ipairs(done) do seen[#seen + 1] = o end
  end
  error("operation did not complete: " .. tostring(op), 2)
end

--- Start, wait, and return op:result().
function H.run(op)
  H.wait(op)
  return op:result()
end

--- Run the loop until nothing is in flight (detached logouts included);
-- the loop must be empty after every test (luv's "unclosed handles").
function H.drain(limit_ms)
  local deadline = os.clock() + (limit_ms or 5000) / 1000
  local reported = {}
  while core.pending() > 0 do
    for _, o in ipairs(core.step(50)) do reported[#reported + 1] = o end
    if os.clock() > deadline then break end
  end
  return reported
end

--- The message raised by f(...), or nil when it did not raise.
function H.raises(f, ...)
  local ok, err = pcall(f, ...)
  if ok then return nil end
  return tostring(err)
end

function H.collect()
  collectgarbage()
  collectgarbage()
end

--- Whether a value (recursively, for tables) mentions the secret.
function H.mentions_secret(v, seen)
  seen = seen or {}
  if type(v) == "string" then return v:find(H.SECRET, 1, true) ~= nil end
  if type(v) == "table" then
    if seen[v] then return false end
    seen[v] = true
    for k, x in pairs(v) do
      if H.mentions_secret(k, seen) or H.mentions_secret(x, seen) then return true end
    end
    return false
  end
  if type(v) == "userdata" then return H.mentions_secret(tostring(v), seen) end
  return false
end

--- A simulator for the specs that need one, or nil (then they are skipped
-- with a pending() note). Uses lua/vguest/sim.lua.
local sim, sim_error
function H.sim()
  if sim or sim_error then return sim, sim_error end
  local bin = os.getenv("VGUEST_SIM")
  if not bin or bin == "" then
    sim_error = "VGUEST_SIM is not set"
    return nil, sim_error
  end
  local ok, mod = pcall(require, "vguest.sim")
  if not ok then
    sim_error = "vguest.sim not available: " .. tostring(mod)
    return nil, sim_error
  end
  -- a TMPDIR of its own: the guest's temporary directory is in it, apart
  -- from other suites that count what is left in theirs
  local p = assert(io.popen("mktemp -d '" .. ((os.getenv("TMPDIR") or "") ~= "" and
    os.getenv("TMPDIR") or "/tmp") .. "/vguest-core-sim-XXXXXX'"))
  local tmp = p:read("l")
  p:close()
  H._tmp_guard = setmetatable({}, { __gc = function() os.execute("rm -rf '" .. tmp .. "'") end })
  local ok2, s = pcall(mod.start, { binary = bin, lifetime = 600, tmpdir = tmp })
  if not ok2 then
    sim_error = tostring(s)
    return nil, sim_error
  end
  sim = s
  return sim
end

function H.stop_sim()
  if sim then sim:stop() end
  sim = nil
end

--- A session on the simulator (not logged in yet).
function H.session(s, opts)
  local o = {
    server = s.url,
    user = s.user or "administrator@vsphere.local",
    password = core.secret(s.password or "VMware1!"),
    ca_file = s.ca_file,
  }
  for k, v in pairs(opts or {}) do o[k] = v end
  return core.session(o)
end

function H.guest(s)
  return core.credentials {
    user = s.guest_user or "root",
    password = core.secret(s.guest_password or "guest-secret"),
  }
end

return H
