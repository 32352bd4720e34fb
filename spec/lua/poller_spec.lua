-- The process poller (p:wait) against the fake loop and a fake session:
-- batching (one list per tick for every waited pid), back-off, deadlines,
-- retryable failures.
local task = require "vguest.task"
local poller = require "vguest.poller"
local F = require "spec.lua.fakecore"

local function fake_session(batch)
  local s = { calls = {}, finish_at = {}, fail = {} }
  function s:info() return { list_has_exit_codes = batch, protocol = batch and "rest" or "api" } end
  local function info(pid)
    local at = s.finish_at[pid]
    if at == nil then return nil end
    local t = { pid = pid, name = "p" .. pid, started = "x" }
    if F.now >= at then
      t.finished, t.exit_code = "y", pid % 7
    end
    return t
  end
  function s:list(vm, cred, pids)
    s.calls[#s.calls + 1] = { op = "list", at = F.now, pids = pids }
    local f = table.remove(s.fail, 1)
    if f then return F.op(5, nil, f) end
    local out = {}
    for _, pid in ipairs(pids) do out[#out + 1] = info(pid) end
    return F.op(5, out)
  end
  function s:get(vm, cred, pid)
    s.calls[#s.calls + 1] = { op = "get", at = F.now, pid = pid }
    local f = table.remove(s.fail, 1)
    if f then return F.op(5, nil, f) end
    local i = info(pid)
    if not i then return F.op(5, nil, { kind = "not_found", message = "no such pid", pid = pid }) end
    return F.op(5, i)
  end
  return s
end

local function count(calls, op)
  local n = 0
  for _, c in ipairs(calls) do if c.op == op then n = n + 1 end end
  return n
end

describe("vguest.poller", function()
  setup(function() task.set_core(F) end)
  teardown(function() task.set_core(nil) end)
  before_each(function() F.reset() end)
  after_each(function()
    assert.are.equal(0, F.pending())
    assert.are.same({}, task.live())
  end)

  it("batches every waited pid of a VM into one list per tick", function()
    local s, cred = fake_session(true), {}
    local ts = {}
    for pid = 1, 20 do
      s.finish_at[pid] = 1000 + pid * 10
      ts[pid] = task.spawn(poller.wait, s, "vm-1", cred, pid, {})
    end
    for pid = 1, 20 do
      local info = ts[pid]:wait()
      assert.are.equal(pid, info.pid)
      assert.are.equal(pid % 7, info.exit_code)
    end
    assert.are.equal(0, count(s.calls, "get"))
    -- ~50 ms + back-off to 1 s over ~1.2 s: a handful of lists, not 20 x that
    local lists = count(s.calls, "list")
    assert.is_true(lists >= 3 and lists <= 10, "lists: " .. lists)
    assert.are.equal(20, #s.calls[1].pids)
  end)

  it("looks first after the interval, then backs off to the cap", function()
    local s = fake_session(true)
    s.finish_at[5] = 5000
    poller.wait(s, "vm-1", {}, 5, { interval = 0.05, max_interval = 1 })
    local gaps = {}
    for i, c in ipairs(s.calls) do gaps[i] = c.at - (i > 1 and s.calls[i - 1].at or 0) end
    assert.are.equal(50, gaps[1])
    assert.are.same({ 105, 205, 405, 805, 1005, 1005 }, { table.unpack(gaps, 2, 7) })
  end)

  it("polls get per pid where the list has no exit codes (api)", function()
    local s = fake_session(false)
    s.finish_at[1], s.finish_at[2] = 100, 200
    local a = task.spawn(poller.wait, s, "vm-1", {}, 1, {})
    local b = task.spawn(poller.wait, s, "vm-1", {}, 2, {})
    assert.are.equal(1, a:wait().pid)
    assert.are.equal(2, b:wait().pid)
    assert.are.equal(0, count(s.calls, "list"))
    assert.is_true(count(s.calls, "get") >= 4)
  end)

  it("raises timed_out at the deadline and stops polling", function()
    local s = fake_session(true)
    s.finish_at[9] = 1e9
    local ok, err = pcall(poller.wait, s, "vm-7", {}, 9, { timeout = 0.3 })
    assert.is_false(ok)
    assert.are.equal("timed_out", err.kind)
    assert.are.equal(9, err.pid)
    assert.are.equal("vm-7", err.vm)
    assert.are.equal("wait", err.op)
    assert.are.equal(300, F.now)
  end)

  it("keeps polling through retryable failures", function()
    local s = fake_session(true)
    s.finish_at[3] = 100
    s.fail = { { kind = "resource_busy", message = "busy", retryable = true },
      { kind = "service_unavailable", message = "down", retryable = true } }
    assert.are.equal(3, poller.wait(s, "vm-1", {}, 3, {}).pid)
  end)

  it("ends the wait with a non-retryable failure", function()
    local s = fake_session(true)
    s.finish_at[3] = 100
    s.fail = { { kind = "unauthenticated", message = "bad guest password", auth = "guest" } }
    local ok, err = pcall(poller.wait, s, "vm-1", {}, 3, {})
    assert.is_false(ok)
    assert.are.equal("unauthenticated", err.kind)
  end)

  it("fails a pid the list does not know with not_found", function()
    local s = fake_session(true)
    local ok, err = pcall(poller.wait, s, "vm-1", {}, 77, {})
    assert.is_false(ok)
    assert.are.equal("not_found", err.kind)
    assert.are.equal(77, err.pid)
  end)

  it("stops polling when the waiting task is canceled", function()
    local s = fake_session(true)
    s.finish_at[4] = 1e9
    local cred = {}
    local t = task.spawn(poller.wait, s, "vm-1", cred, 4, {})
    assert.are.equal(1, poller.waiting(s, "vm-1", cred))
    task.sleep(0.2)
    t:cancel()
    local n = #s.calls
    assert.are.equal(0, F.pending())
    assert.are.equal(0, poller.waiting(s, "vm-1", cred))
    assert.is_true(n >= 1)
  end)
end)
