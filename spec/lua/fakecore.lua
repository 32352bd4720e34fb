-- A deterministic stand-in for vguest.core's loop (timers only, a virtual
-- clock), for unit specs of the scheduler: no network, no real time.
local F = {}

local Op = {}
Op.__index = Op
Op.__name = "vguest.Op"

function Op:status()
  if self.state == "pending" then return "pending" end
  return self.err and self.err.kind or "ok"
end
function Op:result()
  assert(self.state ~= "pending", "vguest.Op is still pending")
  if self.err then return nil, self.err end
  return self.value
end
function Op:cancel()
  if self.state ~= "pending" then return false end
  self.state = "canceled"
  self.err = { kind = "canceled", message = "canceled" }
  F.ops[self] = nil
  return true
end

function F.reset()
  F.now, F.ops, F.interrupt_at, F.steps = 0, {}, nil, 0
end
F.reset()

--- An op completing at now + ms with value (or failing with err).
function F.op(ms, value, err)
  local o = setmetatable({ state = "pending", due = F.now + ms, value = value, err = err,
    seq = F.steps }, Op)
  F.ops[o] = true
  return o
end

function F.timer(ms) return F.op(ms, true) end

function F.pending()
  local n = 0
  for _ in pairs(F.ops) do n = n + 1 end
  return n
end

function F.step(timeout)
  F.steps = F.steps + 1
  local due
  for o in pairs(F.ops) do
    if not due or o.due < due then due = o.due end
  end
  if F.interrupt_at and (not due or F.interrupt_at <= due) then
    F.now = math.max(F.now, F.interrupt_at)
    F.interrupt_at = nil
    return {}, true
  end
  if not due then return {} end
  if timeout and timeout >= 0 and due > F.now + timeout then
    F.now = F.now + timeout
    return {}
  end
  F.now = math.max(F.now, due)
  local done = {}
  for o in pairs(F.ops) do
    if o.due <= F.now then done[#done + 1] = o end
  end
  table.sort(done, function(a, b) return a.due < b.due end)
  for _, o in ipairs(done) do
    F.ops[o] = nil
    o.state = "done"
  end
  return done
end

return F
