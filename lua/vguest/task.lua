--- Tasks: coroutines on the vguest event loop.
--
-- Design note. The C core (`vguest.core`) knows nothing of coroutines: it
-- starts operations (`Op`s) and `core.step()` reports the ones that
-- completed. This module turns that into waits that never block other work:
--
--   * Inside a task (a coroutine made by `spawn`), a wait registers a wake-up
--     and yields a private sentinel to the scheduler.
--   * Outside any task (the main coroutine: a script's top level before it is
--     wrapped, busted, a C host), the same wait runs the loop (`pump`) until
--     its own completion, resuming every task whose operation completed
--     meanwhile, so background tasks keep going.
--   * From a coroutine this module did not create, a wait raises instead of
--     yielding into someone else's resume.
--
-- Every wait goes through `suspend(register)`: `register(wake)` arranges for
-- `wake(...)` to be called later (from the scheduler, never from C) and
-- returns an `unwait` function undoing the arrangement; `suspend` returns
-- wake's arguments. Canceling a task calls its `unwait` (which cancels the
-- pending Op) and closes the coroutine with `coroutine.close`, so its
-- `<close>` variables run. Ctrl-C makes `core.step` return `interrupted`;
-- the foreground wait then undoes itself and raises kind "canceled".
--
-- An Op that has guest state to clean up (a run: its process and temp
-- files) is not just canceled: its unwait calls `op:stop()` and then
-- waits for the Op to complete, which it does only once the guest is
-- clean. That wait happens where the cancel was asked for: the canceling
-- task yields, the top level (or a task being canceled, from its own
-- `<close>` handlers) runs the loop. A second Ctrl-C during that wait, or
-- a place that can neither yield nor run the loop, gives up waiting: the
-- Op is canceled and the runtime finishes the clean-up in the background.
--
-- Reentrancy. A finalizer runs wherever Lua allocates, and one that waits
-- on the main coroutine (vg.sleep(0) in a __gc) runs the loop in the
-- middle of the scheduler's own work. So the scheduler keeps no state in
-- locals across an allocation: the ready queue is one FIFO whose items
-- are taken off before they are resumed, a task whose last resume is
-- still being looked at is not resumed again (its wake-up is parked until
-- then), and a step that reports nothing is a deadlock only when no
-- nested run of the loop did anything meanwhile.
local errors = require "vguest.errors"

local M = {}

local core
--- The C module (overridable for unit tests of the scheduler).
function M.core()
  if not core then core = require "vguest.core" end
  return core
end
function M.set_core(c) core = c end

local YIELD = setmetatable({}, { __name = "vguest.yield" })
local handlers = {}                         -- Op -> function(op): completion
local tasks = setmetatable({}, { __mode = "k" }) -- coroutine -> Task
local live = {}                             -- unfinished Task -> true
local ready, rhead, rtail = {}, 1, 0        -- FIFO of { task, n, ... } to resume
local progress = 0                          -- bumped by every wake-up and completion
local failed = {}                           -- failed tasks, for take_unobserved

local Task = { __name = "vguest.Task" }
Task.__index = Task
M.Task = Task

function Task.__tostring(t)
  return string.format("vguest.Task (%s)", t.state)
end

--- The task running now (or nil), whether we are on the main coroutine.
function M.current()
  local co, main = coroutine.running()
  return tasks[co], main
end

-- Queues item (the arguments of a resume of item.task, or of a call of
-- item.call) at the end of the ready FIFO.
local function enqueue(item)
  rtail = rtail + 1
  ready[rtail] = item
  progress = progress + 1
end

local function schedule(t, ...)
  local item = table.pack(...) -- allocates: before the queue is touched
  item.task = t
  enqueue(item)
end

--- Register a completion handler for an Op started elsewhere. A loop run
-- by a finalizer (at any allocation since the op was started) may already
-- have reported it, with no handler to give it to: then fn(op) is called
-- from the scheduler, soon, as a dispatch would have.
function M.on_complete(op, fn)
  handlers[op] = fn
  -- after registering: the status call itself may run such a finalizer
  if op:status() ~= "pending" and handlers[op] == fn then
    handlers[op] = nil
    local item = table.pack(op)
    item.call = fn
    enqueue(item)
  end
end
function M.forget(op) handlers[op] = nil end

local function finish(t, state, results, err, tb)
  t.state = state
  t.results = results
  t.err = err
  t.traceback = tb
  live[t] = nil
  if state == "failed" then failed[#failed + 1] = t end
  local ws = t.waiters
  t.waiters = {}
  for _, w in ipairs(ws) do w() end
end

local resume_now

local function resume(t, ...)
  if t.state ~= "running" or t.canceling then return end
  if t.resuming then
    -- we run inside its last resume (a finalizer or a nested loop): it
    -- gets this wake-up once that resume is dealt with
    local item = table.pack(...)
    local parked = t.parked
    parked[#parked + 1] = item
    return
  end
  t.resuming = true
  local ok, err = pcall(resume_now, t, ...)
  t.resuming = false
  local parked = t.parked
  if #parked > 0 then
    t.parked = {}
    for _, p in ipairs(parked) do schedule(t, table.unpack(p, 1, p.n)) end
  end
  if not ok then error(err, 0) end
end

-- (the body of resume)
resume_now = function(t, ...)
  local co = t.co
  -- core.resume is coroutine.resume making co the target of a Ctrl-C
  -- while it runs (bindings/l_break.h: Ctrl-C stops running Lua code)
  local r = table.pack((M.core().resume or coroutine.resume)(co, ...))
  if coroutine.status(co) == "dead" then
    if r[1] then
      finish(t, "ok", table.pack(table.unpack(r, 2, r.n)))
    else
      local err = r[2]
      local tb = debug.traceback(co)
      -- an error does not unwind: run <close> variables, which may wait
      -- for a run's clean-up (the task is never resumed again)
      t.canceling = true
      coroutine.close(co)
      finish(t, "failed", nil, err, tb)
    end
  elseif r[2] ~= YIELD then
    -- the task body called coroutine.yield itself
    local tb = debug.traceback(co)
    t.unwait = nil
    t.canceling = true
    coroutine.close(co)
    finish(t, "failed", nil, "attempt to yield from a vguest task (use vg.spawn for concurrency)", tb)
  end
end

-- Hands each completed op to the handler registered for it.
local function dispatch(done)
  for _, op in ipairs(done) do
    progress = progress + 1
    local h = handlers[op]
    if h then
      handlers[op] = nil
      h(op)
    end
  end
end

local function drain_ready()
  while rhead <= rtail do
    local item = ready[rhead]
    ready[rhead] = nil
    rhead = rhead + 1
    if item.call then
      item.call(table.unpack(item, 1, item.n))
    else
      resume(item.task, table.unpack(item, 1, item.n))
    end
  end
end

--- Run the loop until pred() is true. Returns true when pred became true,
-- false when Ctrl-C interrupted the loop first. Raises when nothing is left
-- that could ever make pred true (a deadlock).
function M.pump(pred)
  local c = M.core()
  while true do
    drain_ready()
    if pred() then return true end
    local wait = -1
    if c.pending() == 0 then
      -- an op that completed outside a step (at its start, or stopped)
      -- is no longer pending but still to be reported: one step that does
      -- not wait delivers it; nothing at all means a deadlock
      wait = 0
    end
    local before = progress
    local done, interrupted = c.step(wait)
    -- (a finalizer may have run the loop during that step: then it is
    -- not a deadlock, and pred is to be looked at again)
    if wait == 0 and #done == 0 and not interrupted and progress == before and
        rhead > rtail and c.pending() == 0 then
      error("vguest: deadlock: waiting for something that can never happen " ..
        "(no operation in flight)", 0)
    end
    dispatch(done)
    if interrupted then
      drain_ready()
      return false
    end
  end
end

--- Whether the caller may wait (yield in a task, or run the loop at top
-- level) right now.
function M.can_wait()
  local t, main = M.current()
  if t then return coroutine.isyieldable() end
  return main
end

--- Suspend the caller until the `wake` passed to `register` is called;
-- returns wake's arguments. See the design note above.
function M.suspend(register, level)
  level = (level or 1) + 1
  local t, main = M.current()
  local fired = false
  if t then
    if not coroutine.isyieldable() then
      error("vguest: cannot wait here (inside a metamethod, finalizer or C call)", level)
    end
    local unwait = register(function(...)
      if fired then return end
      fired = true
      schedule(t, ...)
    end)
    t.unwait = unwait
    local r = table.pack(coroutine.yield(YIELD))
    t.unwait = nil
    return table.unpack(r, 1, r.n)
  elseif main then
    local vals
    local unwait = register(function(...)
      if fired then return end
      fired = true
      vals = table.pack(...)
    end)
    if not vals and not M.pump(function() return vals ~= nil end) then
      if unwait then unwait() end
      errors.raise { kind = "canceled", message = "interrupted" }
    end
    return table.unpack(vals, 1, vals.n)
  else
    error("vguest call from a foreign coroutine; use vg.spawn", level)
  end
end

-- Whether the caller may run the loop without yielding: the main
-- coroutine, or a task being canceled (its own <close> handlers run while
-- it is closed; the scheduler never resumes it again).
local function can_block()
  local t, main = M.current()
  if main then return true end
  return t ~= nil and t.canceling == true
end

--- Give up waiting for op: a run is stopped and waited for until its
-- clean-up in the guest is done (see the design note); anything else is
-- canceled at once.
function M.abandon(op)
  handlers[op] = nil
  if not op:stop() then
    op:cancel()
    return
  end
  local function register(wake)
    M.on_complete(op, wake)
    return function()
      handlers[op] = nil
      op:cancel() -- given up again: the runtime cleans up in the background
    end
  end
  local t = M.current()
  if t and not t.canceling and coroutine.isyieldable() then
    pcall(M.suspend, register)
  elseif can_block() then
    local done = false
    local unwait = register(function() done = true end)
    if not M.pump(function() return done end) then unwait() end
  else
    handlers[op] = nil
    op:cancel()
  end
end

--- Wait until none of ops is pending any more, without taking their
-- completions from whoever awaits them: runs the loop where the caller may
-- block (see can_block), polls on a timer in a task that can yield, and
-- returns at once anywhere else. Returns false when Ctrl-C stopped it.
function M.settle(ops)
  local function settled()
    for _, op in ipairs(ops) do
      if op:status() == "pending" then return false end
    end
    return true
  end
  if settled() then return true end
  local t = M.current()
  if t and not t.canceling and coroutine.isyieldable() then
    while not settled() do
      if not pcall(M.await, M.core().timer(20)) then return false end
    end
    return true
  elseif can_block() then
    return M.pump(settled)
  end
  return false
end

--- Wait for an Op and return its result, or raise its error object.
function M.await(op, level)
  M.suspend(function(wake)
    M.on_complete(op, wake)
    return function() M.abandon(op) end
  end, (level or 1) + 1)
  local v, err = op:result()
  if err ~= nil then
    err = errors.wrap(err)
    if M.on_error then M.on_error(op, err) end -- (vguest names the VM)
    error(err, 0)
  end
  return v
end

--- Start fn(...) as a task; it runs at once until its first wait.
function M.spawn(fn, ...)
  local t = setmetatable({ state = "running", waiters = {}, parked = {} }, Task)
  t.co = coroutine.create(function(...) return fn(...) end)
  tasks[t.co] = t
  live[t] = true
  resume(t, ...)
  return t
end

function Task:done()
  errors.checkself(self, Task, "done")
  return self.state ~= "running"
end

function Task:status()
  errors.checkself(self, Task, "status")
  return self.state
end

local function wait_done(t, fname)
  if t.state == "running" then
    if M.current() == t then error("a task cannot wait for itself", 3) end
    M.suspend(function(wake)
      local ws = t.waiters
      ws[#ws + 1] = wake
      -- it may have finished since the check above (a finalizer that ran
      -- the loop): its waiters were called already
      if t.state ~= "running" then wake() end
      return function()
        for i = #ws, 1, -1 do if ws[i] == wake then table.remove(ws, i) end end
      end
    end, 3)
  end
end

--- Wait for the task: its results, or re-raise its error.
function Task:wait()
  errors.checkself(self, Task, "wait")
  self.observed = true
  wait_done(self, "wait")
  if self.state == "ok" then return table.unpack(self.results, 1, self.results.n) end
  error(self.err, 0)
end

--- Like pcall around Task:wait(): true, results... or false, err.
function Task:result()
  errors.checkself(self, Task, "result")
  self.observed = true
  wait_done(self, "result")
  if self.state == "ok" then return true, table.unpack(self.results, 1, self.results.n) end
  return false, self.err
end

--- Cancel the task: its pending operation is canceled and its coroutine
-- closed (its `<close>` variables run). Returns true when it was running.
function Task:cancel()
  errors.checkself(self, Task, "cancel")
  if self.state ~= "running" then return false end
  if M.current() == self then
    errors.raise { kind = "canceled", message = "task canceled itself" }
  end
  if self.canceling then return false end
  -- from here on the scheduler never resumes it (a pending resume is
  -- skipped), while its wait is undone (a run's clean-up may take a few
  -- requests) and its <close> handlers run
  self.canceling = true
  local unwait = self.unwait
  self.unwait = nil
  if unwait then unwait() end
  local ok, err = coroutine.close(self.co)
  finish(self, "canceled", nil,
    ok and errors.new { kind = "canceled", message = "task canceled" } or err)
  self.observed = true
  return true
end

--- Unfinished tasks (array).
function M.live()
  local out = {}
  for t in pairs(live) do out[#out + 1] = t end
  return out
end

--- Failed tasks whose error nobody has looked at (t:wait, t:result) since
-- the last call; the list is cleared.
function M.take_unobserved()
  local out = {}
  for _, t in ipairs(failed) do
    if not t.observed then out[#out + 1] = t end
  end
  failed = {}
  return out
end

--- Run the loop until every task has finished.
function M.run_all()
  return M.pump(function() return next(live) == nil end)
end

--- Run the loop (dispatching completions) until no operation is in flight
-- or `max_steps` steps of at most `step_ms` have passed; for detached work
-- such as background logouts. Returns core.pending().
function M.drain(max_steps, step_ms)
  local c = M.core()
  for _ = 1, max_steps or 100 do
    drain_ready()
    if c.pending() == 0 then break end
    local done = c.step(step_ms or 50)
    dispatch(done)
  end
  drain_ready()
  return c.pending()
end

--- Sleep for `seconds` (yields inside a task; runs the loop outside).
function M.sleep(seconds)
  local ms = math.floor(seconds * 1000 + 0.5)
  M.await(M.core().timer(ms), 2)
end

return M
