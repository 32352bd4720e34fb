-- Giving up a wait on an Op that has guest state to clean up (a run):
-- vguest.task stops it (op:stop()) and waits until it completes, wherever
-- the wait is given up — a canceled task, a task canceling another, the
-- top level on Ctrl-C, the <close> handlers of a canceled task (vg.parallel's
-- workers) — and cancels it at once only where nothing can wait, or on a
-- second Ctrl-C. The core is a fake whose ops complete in the order of
-- their due "ticks", so the order of events is exact and no time passes.
local task = require "vguest.task"
local vg = require "vguest"

-- Under `vguest run busted` (sanitizer builds) the runner is itself a task
-- driven by the real core's loop, which a fake core cannot stand in for.
-- The same paths run on the real core in spec/flavours/run_spec.lua.
if task.current() then
  describe("giving up a wait on a run", function()
    pending("runs at top level only (the fake core cannot drive the runner's own task)")
  end)
  return
end

-- A fake vguest.core: step() completes the pending op due first (one per
-- step); a stopped op completes `cleanup` ticks later, canceled.
local function fake_core(log)
  local C = { now = 0, ops = {}, interrupts = 0 }
  local Op = {}
  Op.__index = Op
  function Op:status() return self.st end
  function Op:result()
    if self.st == "ok" then return self.value end
    return nil, { kind = self.st, message = self.st, op = "run" }
  end
  function Op:cancel()
    if self.st ~= "pending" then return false end
    self.st = "canceled"
    self.canceled_at_once = true
    log[#log + 1] = self.name .. " canceled at once"
    return true
  end
  function Op:stop()
    if self.st ~= "pending" or not self.stoppable then return false end
    if not self.stopping then
      self.stopping = true
      self.due = C.now + (self.cleanup or 3)
      log[#log + 1] = self.name .. " stopping"
    end
    return true
  end
  function C.op(name, due, stoppable)
    local op = setmetatable({ name = name, st = "pending", due = C.now + due, stoppable = stoppable,
      value = name }, Op)
    C.ops[#C.ops + 1] = op
    return op
  end
  function C.pending()
    local n = 0
    for _, op in ipairs(C.ops) do if op.st == "pending" then n = n + 1 end end
    return n
  end
  function C.step()
    if C.interrupts > 0 then
      C.interrupts = C.interrupts - 1
      return {}, true
    end
    local first
    for _, op in ipairs(C.ops) do
      if op.st == "pending" and (not first or op.due < first.due) then first = op end
    end
    if not first then return {} end
    C.now = first.due
    first.st = first.stopping and "canceled" or "ok"
    log[#log + 1] = first.name .. (first.stopping and " cleaned up" or " done")
    return { first }
  end
  return C
end

local function closer(log, text)
  return setmetatable({}, { __close = function() log[#log + 1] = text end })
end

describe("giving up a wait on a run", function()
  local log, C, real
  before_each(function()
    real = task.core()
    log = {}
    C = fake_core(log)
    task.set_core(C)
  end)
  after_each(function() task.set_core(real) end)

  it("a canceled task returns from cancel only once its run is cleaned up", function()
    local run = C.op("run", 100, true)
    local t = task.spawn(function()
      local _ <close> = closer(log, "task closed")
      task.await(run)
      log[#log + 1] = "not reached"
    end)
    local other = C.op("other", 2)
    local bystander = task.spawn(function()
      task.await(other)
      log[#log + 1] = "bystander went on"
    end)
    assert.is_true(t:cancel())
    log[#log + 1] = "cancel returned"
    assert.are.same({ "run stopping", "other done", "bystander went on", "run cleaned up",
      "task closed", "cancel returned" }, log)
    assert.is_nil(run.canceled_at_once)
    assert.are.equal("canceled", t:status())
    assert.are.equal("canceled", select(2, t:result()).kind)
    assert.is_true(bystander:done())
  end)

  it("a task canceling another waits (yielding) for the clean-up", function()
    local run = C.op("run", 100, true)
    local t = task.spawn(function() task.await(run) end)
    local canceler = task.spawn(function()
      log[#log + 1] = "canceling"
      t:cancel()
      log[#log + 1] = "canceled"
    end)
    -- the canceler yielded: the top level goes on meanwhile
    log[#log + 1] = "top level"
    canceler:wait()
    assert.are.same({ "canceling", "run stopping", "top level", "run cleaned up", "canceled" }, log)
    assert.are.equal("canceled", t:status())
  end)

  it("Ctrl-C at the top level stops the run and raises canceled after its clean-up", function()
    if task.current() then return pending("runs at top level only") end
    local run = C.op("run", 100, true)
    C.interrupts = 1
    local ok, err = pcall(task.await, run)
    log[#log + 1] = "raised " .. err.kind
    assert.is_false(ok)
    assert.are.same({ "run stopping", "run cleaned up", "raised canceled" }, log)
  end)

  it("a second Ctrl-C gives up waiting: the run is left to the runtime", function()
    if task.current() then return pending("runs at top level only") end
    local run = C.op("run", 100, true)
    C.interrupts = 2
    local ok, err = pcall(task.await, run)
    assert.is_false(ok)
    assert.are.equal("canceled", err.kind)
    assert.are.same({ "run stopping", "run canceled at once" }, log)
  end)

  it("an op that cannot be stopped is canceled at once", function()
    local timer = C.op("timer", 100, false)
    local t = task.spawn(function() task.await(timer) end)
    assert.is_true(t:cancel())
    assert.are.same({ "timer canceled at once" }, log)
  end)

  it("where nothing can wait (inside a C call of a task) the run is canceled at once", function()
    local run = C.op("run", 100, true)
    local t = task.spawn(function() task.await(run) end)
    local canceler = task.spawn(function()
      task.await(C.op("tick", 1))
      -- table.sort's comparator runs inside a C function: no yield here
      table.sort({ 2, 1 }, function(a, b)
        if t:status() == "running" then t:cancel() end
        return a < b
      end)
    end)
    canceler:wait()
    assert.are.same({ "tick done", "run stopping", "run canceled at once" }, log)
    assert.are.equal("canceled", t:status())
  end)

  it("never resumes a task being canceled, even when its run ends meanwhile", function()
    local run = C.op("run", 100, true)
    run.cleanup = 0
    local t = task.spawn(function()
      task.await(run)
      log[#log + 1] = "resumed after cancel"
    end)
    t:cancel()
    assert.are.same({ "run stopping", "run cleaned up" }, log)
    assert.are.equal("canceled", t:status())
  end)

  it("lets a failed task's <close> handlers wait for a run's clean-up", function()
    local run = C.op("run", 100, true)
    local worker = task.spawn(function() task.await(run) end)
    local t = task.spawn(function()
      local _ <close> = setmetatable({}, { __close = function()
        worker:cancel()
        log[#log + 1] = "worker canceled"
      end })
      task.await(C.op("tick", 1))
      error("boom", 0)
    end)
    local ok, err = t:result()
    assert.is_false(ok)
    assert.are.equal("boom", err)
    assert.are.same({ "tick done", "run stopping", "run cleaned up", "worker canceled" }, log)
  end)

  it("settles ops without taking their completions from their tasks", function()
    local run = C.op("run", 100, true)
    local t = task.spawn(function() return task.await(run) end)
    assert.is_true(run:stop())
    assert.is_true(task.settle { run })
    assert.are.equal("canceled", run:status())
    -- the task awaiting it got its completion: it failed with canceled
    local ok, err = t:result()
    assert.is_false(ok)
    assert.are.equal("canceled", err.kind)
    assert.are.same({ "run stopping", "run cleaned up" }, log)
  end)

  it("cancels vg.parallel's workers from the canceled task's <close>, waiting for each clean-up", function()
    local runs = { C.op("run1", 100, true), C.op("run2", 100, true) }
    local outer = task.spawn(function()
      return vg.parallel(runs, function(op) return task.await(op) end)
    end)
    assert.is_true(outer:cancel())
    log[#log + 1] = "cancel returned"
    assert.are.same({ "run1 stopping", "run1 cleaned up", "run2 stopping", "run2 cleaned up",
      "cancel returned" }, log)
  end)
end)
