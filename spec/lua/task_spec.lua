-- The scheduler (vguest.task) against a deterministic fake loop: ordering,
-- not timing, shows that a waiting task never blocks another.
local task = require "vguest.task"
local errors = require "vguest.errors"
local F = require "spec.lua.fakecore"

describe("vguest.task", function()
  setup(function() task.set_core(F) end)
  teardown(function() task.set_core(nil) end)
  before_each(function() F.reset() end)
  after_each(function()
    assert.are.equal(0, F.pending())
    assert.are.same({}, task.live())
    task.take_unobserved()
  end)

  it("starts a task at once and runs it until its first wait", function()
    local log = {}
    local t = task.spawn(function()
      log[#log + 1] = "started"
      task.await(F.op(10, "v"))
      log[#log + 1] = "resumed"
      return 1, nil, 3
    end)
    assert.are.same({ "started" }, log)
    assert.is_false(t:done())
    local r = table.pack(t:wait())
    assert.are.same({ "started", "resumed" }, log)
    assert.are.same({ n = 3, 1, nil, 3 }, r)
    assert.are.equal("ok", t:status())
  end)

  it("lets one task run while another waits", function()
    local log = {}
    local slow = task.spawn(function()
      log[#log + 1] = "slow: waiting"
      local v = task.await(F.op(1000, "late"))
      log[#log + 1] = "slow: got " .. v
    end)
    local fast = task.spawn(function()
      for i = 1, 3 do
        task.await(F.timer(10))
        log[#log + 1] = "fast: " .. i
      end
    end)
    slow:wait()
    fast:wait()
    assert.are.same({ "slow: waiting", "fast: 1", "fast: 2", "fast: 3", "slow: got late" }, log)
  end)

  it("resumes background tasks while the top level waits", function()
    local log = {}
    local t = task.spawn(function()
      task.await(F.timer(5))
      log[#log + 1] = "background"
    end)
    task.await(F.timer(50))
    log[#log + 1] = "top level"
    assert.are.same({ "background", "top level" }, log)
    assert.is_true(t:done())
  end)

  it("re-raises a task's error object from wait, and result() reports it", function()
    local t = task.spawn(function()
      task.await(F.op(5, nil, { kind = "not_found", message = "no such process", op = "get", pid = 7 }))
    end)
    local ok, err = pcall(t.wait, t)
    assert.is_false(ok)
    assert.is_true(errors.is_error(err))
    assert.are.equal("not_found", err.kind)
    assert.are.equal(7, err.pid)
    local ok2, err2 = t:result()
    assert.is_false(ok2)
    assert.are.equal(err, err2)
    assert.are.equal("failed", t:status())
    assert.matches("stack traceback", t.traceback)
  end)

  it("re-raises a string error unchanged", function()
    local t = task.spawn(function() error("boom", 0) end)
    local ok, err = pcall(t.wait, t)
    assert.is_false(ok)
    assert.are.equal("boom", err)
  end)

  it("cancels a task: its op is canceled and its <close> variables run", function()
    local closed = false
    local t = task.spawn(function()
      local guard <close> = setmetatable({}, { __close = function() closed = true end })
      task.await(F.op(1000, true))
      error("not reached")
    end)
    assert.are.equal(1, F.pending())
    assert.is_true(t:cancel())
    assert.are.equal(0, F.pending())
    assert.is_true(closed)
    assert.are.equal("canceled", t:status())
    local ok, err = pcall(t.wait, t)
    assert.is_false(ok)
    assert.are.equal("canceled", err.kind)
    assert.is_false(t:cancel())
  end)

  it("cancels a task waiting for another task", function()
    local inner = task.spawn(function() task.await(F.timer(100)) return "inner" end)
    local outer = task.spawn(function() return inner:wait() end)
    outer:cancel()
    assert.are.equal("inner", inner:wait())
  end)

  it("wakes every task waiting for the same task", function()
    local t = task.spawn(function() task.await(F.timer(10)) return 42 end)
    local a = task.spawn(function() return t:wait() + 1 end)
    local b = task.spawn(function() return t:wait() + 2 end)
    assert.are.equal(43, a:wait())
    assert.are.equal(44, b:wait())
  end)

  it("refuses a wait from a coroutine it did not create", function()
    local co = coroutine.create(function() return task.await(F.timer(1)) end)
    local ok, err = coroutine.resume(co)
    assert.is_false(ok)
    assert.matches("foreign coroutine; use vg.spawn", err)
    F.reset()
  end)

  it("fails a task that calls coroutine.yield itself", function()
    local t = task.spawn(function() coroutine.yield(1) end)
    local ok, err = t:result()
    assert.is_false(ok)
    assert.matches("attempt to yield from a vguest task", err)
  end)

  it("refuses to let a task wait for itself", function()
    local t
    t = task.spawn(function()
      task.await(F.timer(1))
      return pcall(t.wait, t)
    end)
    local ok, err = t:wait()
    assert.is_false(ok)
    assert.matches("cannot wait for itself", err)
  end)

  it("turns Ctrl-C into a canceled error at the top level and cancels the op", function()
    F.interrupt_at = 20
    local op = F.op(100, true)
    local ok, err = pcall(task.await, op)
    assert.is_false(ok)
    assert.are.equal("canceled", err.kind)
    assert.are.equal(0, F.pending())
  end)

  it("detects a deadlock instead of hanging", function()
    local a, b
    a = task.spawn(function() task.await(F.timer(1)) return b:wait() end)
    b = task.spawn(function() task.await(F.timer(1)) return a:wait() end)
    local ok, err = pcall(a.wait, a)
    assert.is_false(ok)
    assert.matches("deadlock", err)
    a:cancel()
    b:cancel()
  end)

  it("reports failed tasks nobody waited for once", function()
    local t = task.spawn(function() error("lost", 0) end)
    local lost = task.take_unobserved()
    assert.are.equal(1, #lost)
    assert.are.equal(t, lost[1])
    assert.are.same({}, task.take_unobserved())
  end)

  it("sleeps inside tasks without blocking others", function()
    local log = {}
    local a = task.spawn(function() task.sleep(0.2) log[#log + 1] = "a" end)
    local b = task.spawn(function() task.sleep(0.1) log[#log + 1] = "b" end)
    task.run_all()
    assert.are.same({ "b", "a" }, log)
    assert.is_true(a:done() and b:done())
  end)

  it("checks self", function()
    local t = task.spawn(function() end)
    assert.has_error(function() t.wait({}) end,
      "calling 'wait' on bad self (vguest.Task expected, got table); use ':' to call methods")
  end)
end)
