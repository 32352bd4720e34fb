-- The scheduler (vguest.task) on the real vguest.core loop. Core timers
-- complete in deadline order, so ordering (never elapsed time) shows that a
-- waiting task never blocks another: where two timers race, their deadlines
-- are far apart (10 ms against 300 ms or more) so a slow machine cannot swap
-- them. Errors coming from real operations use the simulator.
local vg = require "vguest"
local task = require "vguest.task"
local errors = require "vguest.errors"
local core = require "vguest.core"
local helper = require "spec.helper"

local function timer(ms) return core.timer(ms) end

describe("vguest.task", function()
  after_each(helper.assert_loop_empty)

  it("uses the real vguest.core", function()
    assert.are.equal(core, task.core())
  end)

  it("starts a task at once and runs it until its first wait", function()
    local log = {}
    local t = task.spawn(function()
      log[#log + 1] = "started"
      local v = task.await(timer(10))
      log[#log + 1] = "resumed"
      return v, nil, 3
    end)
    assert.are.same({ "started" }, log)
    assert.is_false(t:done())
    assert.are.equal("running", t:status())
    local r = table.pack(t:wait())
    assert.are.same({ "started", "resumed" }, log)
    assert.are.same({ n = 3, true, nil, 3 }, r)
    assert.are.equal("ok", t:status())
  end)

  it("lets one task run while another waits", function()
    local log = {}
    local slow = task.spawn(function()
      log[#log + 1] = "slow: waiting"
      task.await(timer(500))
      log[#log + 1] = "slow: done"
    end)
    local fast = task.spawn(function()
      for i = 1, 3 do
        task.await(timer(10))
        log[#log + 1] = "fast: " .. i
      end
    end)
    slow:wait()
    fast:wait()
    assert.are.same({ "slow: waiting", "fast: 1", "fast: 2", "fast: 3", "slow: done" }, log)
  end)

  it("resumes background tasks while the top level waits", function()
    local log = {}
    local t = task.spawn(function()
      task.await(timer(10))
      log[#log + 1] = "background"
    end)
    task.await(timer(300))
    log[#log + 1] = "top level"
    assert.are.same({ "background", "top level" }, log)
    assert.is_true(t:done())
  end)

  it("finishes sleeping tasks in deadline order", function()
    local log = {}
    local a = vg.spawn(function() vg.sleep(0.05) log[#log + 1] = "a" end)
    local b = vg.spawn(function() vg.sleep(0.01) log[#log + 1] = "b" end)
    local c = vg.spawn(function() vg.sleep(0.3) log[#log + 1] = "c" end)
    vg.wait_all({ a, b, c })
    assert.are.same({ "b", "a", "c" }, log)
    assert.is_true(a:done() and b:done() and c:done())
  end)

  describe("with a simulator", function()
    local s, g
    setup(function()
      s = helper.connect("api")
      g = s:vm("web-01"):guest(helper.credentials())
    end)
    teardown(function()
      s:close()
      helper.assert_loop_empty()
    end)

    it("re-raises a task's error object from wait, and result() reports it", function()
      local t = task.spawn(function() return g:get(999999) end)
      assert.is_false(t:done())
      local ok, err = pcall(t.wait, t)
      assert.is_false(ok)
      assert.is_true(errors.is_error(err))
      assert.are.equal("not_found", err.kind)
      assert.are.equal(999999, err.pid)
      local ok2, err2 = t:result()
      assert.is_false(ok2)
      assert.are.equal(err, err2)
      assert.are.equal("failed", t:status())
      assert.matches("stack traceback", t.traceback)
    end)

    it("lets a short process finish while a longer one still runs", function()
      local long = g:create { path = "/bin/sleep", arguments = "30" }
      local a = task.spawn(function() return long:wait() end)
      local b = task.spawn(function() return g:run { path = "/bin/sh", arguments = "-c 'exit 4'" } end)
      assert.are.equal(4, b:wait().exit_code)
      -- the long process cannot end before it is deleted
      assert.is_false(a:done())
      long:delete()
      assert.is_string(a:wait().finished)
    end)
  end)

  it("re-raises a string error unchanged", function()
    local t = task.spawn(function() error("boom", 0) end)
    local ok, err = pcall(t.wait, t)
    assert.is_false(ok)
    assert.are.equal("boom", err)
  end)

  it("cancels a task: its op is canceled and its <close> variables run", function()
    local before = core.pending()
    local closed = false
    local op
    local t = task.spawn(function()
      local guard <close> = setmetatable({}, { __close = function() closed = true end })
      op = timer(60000)
      task.await(op)
      error("not reached")
    end)
    assert.are.equal(before + 1, core.pending())
    assert.is_true(t:cancel())
    assert.are.equal(before, core.pending())
    assert.are.equal("canceled", op:status())
    assert.is_true(closed)
    assert.are.equal("canceled", t:status())
    local ok, err = pcall(t.wait, t)
    assert.is_false(ok)
    assert.are.equal("canceled", err.kind)
    assert.is_false(t:cancel())
  end)

  it("cancels a task waiting for another task", function()
    local inner = task.spawn(function() task.await(timer(50)) return "inner" end)
    local outer = task.spawn(function() return inner:wait() end)
    assert.is_true(outer:cancel())
    assert.are.equal("canceled", outer:status())
    assert.are.equal("inner", inner:wait())
  end)

  it("wakes every task waiting for the same task", function()
    local t = task.spawn(function() task.await(timer(10)) return 42 end)
    local a = task.spawn(function() return t:wait() + 1 end)
    local b = task.spawn(function() return t:wait() + 2 end)
    assert.are.equal(43, a:wait())
    assert.are.equal(44, b:wait())
  end)

  it("refuses a wait from a coroutine it did not create", function()
    local op = timer(60000)
    local co = coroutine.create(function() return task.await(op) end)
    local ok, err = coroutine.resume(co)
    assert.is_false(ok)
    assert.matches("foreign coroutine; use vg.spawn", err)
    assert.is_true(op:cancel())
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
      task.await(timer(1))
      return pcall(t.wait, t)
    end)
    local ok, err = t:wait()
    assert.is_false(ok)
    assert.matches("cannot wait for itself", err)
  end)

  it("turns Ctrl-C (core.interrupt) into a canceled error at the top level and cancels the op", function()
    -- under `vguest run busted` (sanitizer builds) the runner is the
    -- foreground task, and Ctrl-C rightly cancels the whole run
    if task.current() then return pending("runs at top level only") end
    local before = core.pending()
    local op = timer(60000)
    -- the interrupt comes from a task while the top level waits
    local t = task.spawn(function()
      task.await(timer(10))
      core.interrupt()
    end)
    local ok, err = pcall(task.await, op)
    assert.is_false(ok)
    assert.is_true(errors.is_error(err))
    assert.are.equal("canceled", err.kind)
    assert.are.equal("canceled", op:status())
    assert.is_true(t:done())
    assert.are.equal(before, core.pending())
  end)

  it("turns an interrupt pending before the wait into canceled", function()
    -- under `vguest run busted` (sanitizer builds) the runner is the
    -- foreground task, and Ctrl-C rightly cancels the whole run
    if task.current() then return pending("runs at top level only") end
    core.interrupt()
    local err = select(2, pcall(vg.sleep, 60))
    assert.are.equal("canceled", err.kind)
  end)

  it("detects a deadlock instead of hanging", function()
    -- at top level the waiting call raises; under `vguest run busted` the
    -- runner is itself a blocked task and the run as a whole reports it
    if task.current() then return pending("runs at top level only") end
    local a, b
    a = task.spawn(function() task.await(timer(1)) return b:wait() end)
    b = task.spawn(function() task.await(timer(1)) return a:wait() end)
    local ok, err = pcall(a.wait, a)
    assert.is_false(ok)
    assert.matches("deadlock", err)
    a:cancel()
    b:cancel()
  end)

  it("reports failed tasks nobody waited for once", function()
    task.take_unobserved()
    local t = task.spawn(function() error("lost", 0) end)
    local lost = task.take_unobserved()
    assert.are.equal(1, #lost)
    assert.are.equal(t, lost[1])
    assert.are.same({}, task.take_unobserved())
  end)

  it("reports vg.parallel's progress to on_progress", function()
    local items = {}
    for i = 1, 6 do items[i] = i end
    local seen = {}
    vg.parallel(items, function(i)
      vg.sleep(0.01)
      if i == 2 then error("two", 0) end
    end, { limit = 2, on_progress = function(p)
      seen[#seen + 1] = { done = p.done, failed = p.failed, running = p.running, total = p.total,
        finished = p.finished, elapsed = p.elapsed, rate = p.rate }
    end })
    local first, last = seen[1], seen[#seen]
    assert.are.same({ 0, 0, 0, 6, false }, { first.done, first.failed, first.running, first.total, first.finished })
    assert.are.same({ 6, 1, 0, true }, { last.done, last.failed, last.running, last.finished })
    local max_running = 0
    for k, p in ipairs(seen) do
      if p.running > max_running then max_running = p.running end
      assert.is_true(p.elapsed >= 0 and p.rate >= 0)
      if k > 1 then assert.is_true(p.done >= seen[k - 1].done) end
    end
    assert.are.equal(2, max_running)
    -- one call at the start, one per start and end of each item, one at the end
    assert.are.equal(1 + 2 * 6 + 1, #seen)
    assert.has_error(function() vg.parallel({}, function() end, { on_progress = 1 }) end,
      "bad argument #3 to 'parallel' (field 'on_progress' must be a function, got number)")
  end)

  it("honours vg.parallel's limit (counted, not timed)", function()
    local items = {}
    for i = 1, 12 do items[i] = i end
    local active, max_active, started = 0, 0, {}
    local results, errs = vg.parallel(items, function(i)
      active = active + 1
      if active > max_active then max_active = active end
      started[#started + 1] = i
      vg.sleep(0.01 * (i % 3 + 1))
      active = active - 1
      if i == 5 then error("five", 0) end
      return i * 10
    end, { limit = 3 })
    assert.are.equal(3, max_active)
    assert.are.equal(12, #started)
    for i = 1, 12 do
      if i == 5 then
        assert.is_nil(results[i])
        assert.are.equal("five", errs[i])
      else
        assert.are.equal(i * 10, results[i])
        assert.is_nil(errs[i])
      end
    end
  end)

  it("runs every item at once when the limit allows it", function()
    local items, active, max_active = {}, 0, 0
    for i = 1, 8 do items[i] = i end
    vg.parallel(items, function()
      active = active + 1
      if active > max_active then max_active = active end
      vg.sleep(0.01)
      active = active - 1
    end)
    assert.are.equal(8, max_active)
  end)

  it("cancels vg.parallel's workers with the task running it", function()
    local closed = 0
    local t = vg.spawn(function()
      return vg.parallel({ 1, 2, 3 }, function()
        local guard <close> = setmetatable({}, { __close = function() closed = closed + 1 end })
        vg.sleep(60)
      end, { limit = 2 })
    end)
    vg.sleep(0.01)
    assert.is_true(t:cancel())
    assert.are.equal(2, closed)
    local others = {}
    for _, x in ipairs(task.live()) do
      if x ~= task.current() then others[#others + 1] = x end
    end
    assert.are.same({}, others)
  end)

  it("checks self", function()
    local t = task.spawn(function() end)
    assert.has_error(function() t.wait({}) end,
      "calling 'wait' on bad self (vguest.Task expected, got table); use ':' to call methods")
  end)
end)
