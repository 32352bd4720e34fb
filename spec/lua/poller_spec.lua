-- The process poller (p:wait) on the real vguest.core loop against the
-- simulator, for each flavour: batching (one list per tick for every waited
-- pid on rest and vim25, one get per pid on api), back-off, deadlines,
-- retryable and final failures, cancelation. Requests are counted with the
-- simulator's GET /sim/stats; no assertion is on elapsed time.
--
-- Counting notes. A core timer never fires before its deadline, so the
-- number of poll ticks within a bounded wait has a hard upper bound given by
-- the intervals; those bounds are exact. A lower bound ("at least so many
-- ticks happened") depends on how fast the machine answers: where one is
-- needed it is kept generous and marked as such.
local vg = require "vguest"
local task = require "vguest.task"
local core = require "vguest.core"
local poller = require "vguest.poller"
local helper = require "spec.helper"

local FLAVOURS = { "api", "rest", "vim25" }

local function err_of(f, ...)
  local ok, err = pcall(f, ...)
  assert.is_false(ok, "expected an error")
  return err
end

--- Wait (outside the vguest loop) until the simulator reports every pid as
-- exited; an event, polled with a generous bound.
local function wait_exited(sim, pids)
  for _ = 1, 500 do
    local exited = {}
    for _, p in ipairs(sim:stats().processes or {}) do
      if p.exited then exited[p.pid] = true end
    end
    local all = true
    for _, pid in ipairs(pids) do if not exited[pid] then all = false end end
    if all then return end
    os.execute("sleep 0.02")
  end
  error("processes did not exit")
end

for _, flavour in ipairs(FLAVOURS) do
  local batch = flavour ~= "api"
  -- the request a poll tick costs on this flavour, and the other one
  local poll_op, other_op = batch and "list" or "get", batch and "get" or "list"

  describe("vguest.poller (" .. flavour .. ")", function()
    local sim, s, g

    local function counts()
      local b = sim:stats().by_op
      return { list = b.list or 0, get = b.get or 0 }
    end
    local function since(before)
      local now = counts()
      return { list = now.list - before.list, get = now.get - before.get }
    end
    local function waiting()
      return poller.waiting(s._core, g.vm.id, g.credentials)
    end

    setup(function()
      sim = helper.sim()
      s = helper.connect(flavour)
      g = s:vm("web-01"):guest(helper.credentials())
    end)
    teardown(function()
      if s then s:close() end
      helper.assert_loop_empty()
    end)
    after_each(helper.assert_loop_empty)

    it("runs on the real core", function()
      assert.are.equal(core, task.core())
      assert.are.equal(batch, s:info().list_has_exit_codes)
    end)

    it("answers every waiter of finished processes with one tick", function()
      local procs, pids = {}, {}
      for i = 1, 10 do
        procs[i] = g:create { path = "/bin/sh", arguments = "-c 'exit " .. i .. "'" }
        pids[i] = procs[i].pid
      end
      wait_exited(sim, pids)
      local before = counts()
      -- two waiters per pid, all registered before the first tick
      local ts = {}
      for i = 1, 10 do
        ts[#ts + 1] = vg.spawn(function() return procs[i]:wait { timeout = 30 } end)
        ts[#ts + 1] = vg.spawn(function() return procs[i]:wait { timeout = 30 } end)
      end
      assert.are.equal(20, waiting())
      for k, t in ipairs(ts) do
        local i = (k + 1) // 2
        local info = t:wait()
        assert.are.equal(pids[i], info.pid)
        assert.are.equal(i, info.exit_code)
      end
      local d = since(before)
      if batch then
        assert.are.same({ list = 1, get = 0 }, d) -- one list for twenty waiters
      else
        assert.are.same({ list = 0, get = 10 }, d) -- one get per pid, not per waiter
      end
      assert.are.equal(0, waiting())
    end)

    it("costs one " .. poll_op .. " per tick (per pid on api), however many wait", function()
      local procs = {}
      for i = 1, 10 do procs[i] = g:create { path = "/bin/sleep", arguments = "30" } end
      local before = counts()
      -- a fixed interval of 0.2 s and a deadline at 0.5 s: at most two ticks
      local results, errs = vg.parallel(procs, function(p)
        return p:wait { timeout = 0.5, interval = 0.2, max_interval = 0.2 }
      end)
      for i = 1, 10 do
        assert.is_nil(results[i])
        assert.are.equal("timed_out", errs[i].kind)
      end
      local d = since(before)
      assert.are.equal(0, d[other_op])
      if batch then
        assert.is_true(d.list >= 1 and d.list <= 2, "lists: " .. d.list) -- not 10 per tick
      else
        assert.is_true(d.get >= 10 and d.get <= 20, "gets: " .. d.get) -- 10 per tick
      end
      for _, p in ipairs(procs) do p:delete() end
    end)

    it("polls a process at its own interval, not at the fastest waiter's", function()
      local slow = g:create { path = "/bin/sleep", arguments = "30" }
      local fast = g:create { path = "/bin/sleep", arguments = "30" }
      local before = counts()
      -- slow: first look after 1 s, so none (or one, at the very deadline)
      -- within this 1 s window; fast: every 0.05 s, at most 20 ticks
      local a = vg.spawn(function()
        return slow:wait { timeout = 1, interval = 1, max_interval = 1 }
      end)
      local err = err_of(fast.wait, fast, { timeout = 1, interval = 0.05, max_interval = 0.05 })
      assert.are.equal("timed_out", err.kind)
      assert.are.equal("timed_out", err_of(a.wait, a).kind)
      local d = since(before)
      if batch then
        assert.is_true(d.list <= 21, "lists: " .. d.list) -- one request covers both
      else
        assert.is_true(d.get <= 22, "gets: " .. d.get) -- not one for slow per fast tick
      end
      slow:delete()
      fast:delete()
    end)

    it("wakes the waiter of a short process while a longer one still runs", function()
      local long = g:create { path = "/bin/sleep", arguments = "30" }
      local short = g:create { path = "/bin/sh", arguments = "-c 'exit 5'" }
      local a = vg.spawn(function() return long:wait() end)
      local b = vg.spawn(function() return short:wait() end)
      assert.are.equal(5, b:wait().exit_code)
      assert.is_false(a:done())
      assert.are.equal(1, waiting())
      long:delete()
      local info = a:wait()
      assert.are.equal(long.pid, info.pid)
      assert.is_string(info.finished)
    end)

    it("backs off: few requests over a bounded wait, many at a fixed interval", function()
      local p = g:create { path = "/bin/sleep", arguments = "30" }
      -- interval 0.05 s doubling (cap 1 s): ticks no earlier than 0.05,
      -- 0.15, 0.35, 0.75, 1.55 s, so at most 4 within a 1 s wait
      local before = counts()
      local err = err_of(p.wait, p, { timeout = 1, interval = 0.05, max_interval = 1 })
      assert.are.equal("timed_out", err.kind)
      local grown = since(before)[poll_op]
      assert.is_true(grown >= 2 and grown <= 4, "requests with back-off: " .. grown)
      -- no growth (max_interval = interval): up to 20 within the same 1 s;
      -- at least 6 is a generous lower bound (a poll answered within ~160 ms)
      before = counts()
      err = err_of(p.wait, p, { timeout = 1, interval = 0.05, max_interval = 0.05 })
      assert.are.equal("timed_out", err.kind)
      local flat = since(before)[poll_op]
      assert.is_true(flat >= 6 and flat <= 20, "requests at a fixed interval: " .. flat)
      p:delete()
    end)

    it("raises timed_out at the deadline and stops polling; the process keeps running", function()
      local p = g:create { path = "/bin/sleep", arguments = "30" }
      local err = err_of(p.wait, p, { timeout = 0.3 })
      assert.are.equal("timed_out", err.kind)
      assert.are.equal(p.pid, err.pid)
      assert.are.equal("vm-42", err.vm)
      assert.are.equal("wait", err.op)
      assert.are.equal(0, waiting())
      assert.is_nil(p:get().exit_code)
      p:delete()
    end)

    it("keeps polling through retryable failures", function()
      local p = g:create { path = "/bin/true" }
      local before = counts()
      sim:control { fail_next = { count = 2, kind = "busy", ops = { "get", "list" } } }
      assert.are.equal(0, p:wait { timeout = 30 }.exit_code)
      -- two busy answers, then the one that saw the exit code
      assert.is_true(since(before)[poll_op] >= 3)
    end)

    it("ends the wait with a non-retryable failure (wrong guest password)", function()
      local p = g:create { path = "/bin/true" }
      local bad = s:vm("web-01"):guest(vg.credentials { user = sim.guest_user, password = "nope" })
      local err = err_of(function() return bad:process(p.pid):wait { timeout = 30 } end)
      assert.are.equal("unauthenticated", err.kind)
      assert.are.equal("guest", err.auth)
      assert.are.equal(0, p:wait().exit_code)
    end)

    it("fails a pid the guest does not know with not_found", function()
      local err = err_of(function() return g:process(999999):wait { timeout = 30 } end)
      assert.are.equal("not_found", err.kind)
      assert.are.equal(999999, err.pid)
    end)

    it("stops polling when the waiting task is canceled", function()
      local p = g:create { path = "/bin/sleep", arguments = "30" }
      local pending = core.pending()
      local t = vg.spawn(function() return p:wait() end)
      assert.are.equal(1, waiting())
      vg.sleep(0.2)
      assert.is_true(t:cancel())
      assert.are.equal(0, waiting())
      assert.are.equal(pending, core.pending())
      local before = counts()
      vg.sleep(0.3)
      assert.are.same({ list = 0, get = 0 }, since(before))
      p:delete()
    end)
  end)
end
