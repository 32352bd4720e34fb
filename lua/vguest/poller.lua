--- Waiting for guest processes to finish: one poller per (session, VM,
-- credentials).
--
-- Design note. `p:wait()` does not poll on its own. It registers a *waiter*
-- with the poller of its (session, VM, credentials); the poller runs on
-- core timers and completion handlers (no task of its own):
--
--   * When the flavour's process list returns exit codes
--     (`Session:info().list_has_exit_codes`: rest, vim25), each tick sends
--     ONE `poll_list(vm, cred, pids)` for every pid being waited on, however many
--     waiters there are; a pid missing from the answer fails its waiters
--     with kind "not_found".
--   * Otherwise ("api"), each tick sends one `poll` (a get) per waited pid that is
--     due, and only for those.
--
-- Back-off: a waiter's interval starts at `interval` (default 0.05 s: the
-- first look happens within about 50 ms) and doubles after every poll, up
-- to `max_interval` (default 1 s); each waiter is next due one interval
-- after its last poll was answered. A tick comes when the earliest waiter
-- is due (a new waiter with an earlier due time restarts the timer). On a
-- batching flavour the tick's one list covers every pid of the VM, so the
-- back-off is the VM's: it polls as often as its most eager waiter, and
-- every waiter's interval grows with each list. On api a tick gets only
-- the pids whose waiters are due (within SLACK), so a process long waited
-- on is not asked about at the pace of one just started beside it.
-- Polling is idempotent, so a retryable failure (busy, unavailable,
-- transport) is ignored and polling goes on until the polls of a waiter
-- have failed for its `retry_for` seconds in a row (a vCenter that is gone
-- must not keep a wait spinning forever); any other failure ends every
-- waiter of that poll with the error. Each waiter's deadline is its own
-- core timer, so a deadline is exact without a clock in Lua.
local task = require "vguest.task"
local errors = require "vguest.errors"
local clock = require("vguest.core").clock

-- waiters due within this many seconds of a tick join it
local SLACK = 0.01

local M = {}

-- registry: core session -> vm id -> credentials -> poller (weak keys)
local registry = setmetatable({}, { __mode = "k" })

local Poller = {}
Poller.__index = Poller

local function batch_mode(csession)
  local ok, info = pcall(csession.info, csession)
  return ok and info.list_has_exit_codes and true or false
end

local function get_poller(csession, vm, cred)
  local by_vm = registry[csession]
  if not by_vm then
    by_vm = {}
    registry[csession] = by_vm
  end
  local by_cred = by_vm[vm]
  if not by_cred then
    by_cred = setmetatable({}, { __mode = "k" })
    by_vm[vm] = by_cred
  end
  local p = by_cred[cred]
  if not p then
    p = setmetatable({ session = csession, vm = vm, cred = cred, waiters = {}, count = 0,
      inflight = {} }, Poller)
    by_cred[cred] = p
  end
  return p
end

-- The earliest time (core.clock) a waiter is due.
function Poller:next_due()
  local m
  for _, ws in pairs(self.waiters) do
    for w in pairs(ws) do
      if not m or w.due < m then m = w.due end
    end
  end
  return m
end

function Poller:cancel_timer()
  if self.timer then
    task.forget(self.timer)
    self.timer:cancel()
    self.timer, self.timer_at = nil, nil
  end
end

function Poller:arm()
  if self.count == 0 or next(self.inflight) then return end
  local due = self:next_due()
  if self.timer and self.timer_at <= due then return end
  self:cancel_timer()
  local ms = math.max(0, math.ceil((due - clock()) * 1000))
  local op = task.core().timer(ms)
  self.timer, self.timer_at = op, due
  task.on_complete(op, function()
    self.timer, self.timer_at = nil, nil
    self:tick()
  end)
end

function Poller:remove(w)
  local ws = self.waiters[w.pid]
  if ws and ws[w] then
    ws[w] = nil
    self.count = self.count - 1
    if next(ws) == nil then self.waiters[w.pid] = nil end
  end
  if w.deadline then
    task.forget(w.deadline)
    w.deadline:cancel()
    w.deadline = nil
  end
  if self.count == 0 then
    self:cancel_timer()
    for op in pairs(self.inflight) do
      task.forget(op)
      op:cancel()
    end
    self.inflight = {}
  end
end

function Poller:wake_pid(pid, ...)
  local ws = self.waiters[pid]
  if not ws then return end
  for w in pairs(ws) do
    self:remove(w)
    w.wake(...)
  end
end

function Poller:after_poll()
  if next(self.inflight) then return end
  local now = clock()
  for _, ws in pairs(self.waiters) do
    for w in pairs(ws) do
      if w.polled then
        w.polled = nil
        w.interval = math.min(w.interval * 2, w.max_interval)
        w.due = now + w.interval
      end
    end
  end
  self:arm()
end

local function failed(self, pids, err)
  err = errors.wrap(err)
  if not err.retryable then
    for _, pid in ipairs(pids) do self:wake_pid(pid, nil, err) end
    return
  end
  local now = os.time()
  for _, pid in ipairs(pids) do
    for w in pairs(self.waiters[pid] or {}) do
      w.failing_since = w.failing_since or now
      if now - w.failing_since >= w.retry_for then
        self:remove(w)
        w.wake(nil, err)
      end
    end
  end
end

-- A poll answered for pid: its waiters' failure streak ends.
function Poller:answered(pid)
  for w in pairs(self.waiters[pid] or {}) do w.failing_since = nil end
end

function Poller:tick()
  if self.count == 0 then return end
  local pids, by = {}, clock() + SLACK
  for pid, ws in pairs(self.waiters) do
    local due = self.batch -- one list covers every pid anyway
    if not due then
      for w in pairs(ws) do
        if w.due <= by then
          due = true
          break
        end
      end
    end
    if due then
      pids[#pids + 1] = pid
      for w in pairs(ws) do w.polled = true end
    end
  end
  if #pids == 0 then return self:arm() end
  table.sort(pids)
  local s = self.session
  if self.batch then
    local ok, op = pcall(s.poll_list, s, self.vm, self.cred, pids, "wait")
    if not ok then return failed(self, pids, errors.new { kind = "canceled", message = tostring(op), op = "wait", vm = self.vm }) end
    self.inflight[op] = true
    task.on_complete(op, function()
      self.inflight[op] = nil
      local seen, err = op:result() -- pid -> false (running) | info (ended)
      if err then
        failed(self, pids, err)
      else
        for _, pid in ipairs(pids) do
          local info = seen[pid]
          if info == nil then
            self:wake_pid(pid, nil, errors.new { kind = "not_found", op = "wait", vm = self.vm,
              pid = pid, message = "process " .. pid .. " is not known to the guest" })
          else
            self:answered(pid)
            if info then self:wake_pid(pid, info) end
          end
        end
      end
      self:after_poll()
    end)
  else
    for _, pid in ipairs(pids) do
      local ok, op = pcall(s.poll, s, self.vm, self.cred, pid, "wait")
      if not ok then
        failed(self, { pid }, errors.new { kind = "canceled", message = tostring(op), op = "wait", vm = self.vm })
      else
        self.inflight[op] = true
        task.on_complete(op, function()
          self.inflight[op] = nil
          local info, err = op:result()
          if err then
            failed(self, { pid }, err)
          else
            self:answered(pid)
            if info then self:wake_pid(pid, info) end -- false: still running
          end
          self:after_poll()
        end)
      end
    end
  end
end

--- Wait until process `pid` in `vm` finishes; returns its info table or
-- raises an error object ("timed_out" at the deadline).
-- opts: timeout (seconds or nil for none), interval, max_interval,
-- retry_for (seconds of failing polls in a row before giving up, 60).
function M.wait(csession, vm, cred, pid, opts, level)
  local p = get_poller(csession, vm, cred)
  p.batch = batch_mode(csession)
  local info, err = task.suspend(function(wake)
    local w = { pid = pid, interval = opts.interval or 0.05,
      max_interval = math.max(opts.max_interval or 1.0, opts.interval or 0.05),
      retry_for = opts.retry_for or 60, wake = wake }
    w.due = clock() + w.interval
    local ws = p.waiters[pid]
    if not ws then
      ws = {}
      p.waiters[pid] = ws
    end
    ws[w] = true
    p.count = p.count + 1
    if opts.timeout then
      local op = task.core().timer(math.floor(opts.timeout * 1000 + 0.5))
      w.deadline = op
      task.on_complete(op, function()
        w.deadline = nil
        p:remove(w)
        wake(nil, errors.new { kind = "timed_out", op = "wait", vm = vm, pid = pid,
          message = string.format("process %d still running after %g s", pid, opts.timeout) })
      end)
    end
    p:arm()
    return function() p:remove(w) end
  end, (level or 1) + 1)
  if err then error(err, 0) end
  return info
end

--- For specs: the number of waiters registered for (session, vm, cred).
function M.waiting(csession, vm, cred)
  local p = get_poller(csession, vm, cred)
  return p.count
end

return M
