-- vguest.core: timers, core.step, core.pending, cancel, interrupts.
local H = dofile((debug.getinfo(1, "S").source:match("^@(.-)[^/]*$") or "./") .. "helper.lua")
local core = H.core

local function mypid()
  local f = assert(io.open("/proc/self/stat"))
  local pid = f:read("n")
  f:close()
  return math.tointeger(pid)
end

describe("vguest.core loop", function()
  after_each(function()
    H.drain()
    assert.equal(0, core.pending())
  end)

  it("completes timers in order of their delays", function()
    local t3 = core.timer(60)
    local t1 = core.timer(0)
    local t2 = core.timer(30)
    assert.equal(3, core.pending())
    local order = {}
    while #order < 3 do
      for _, op in ipairs(core.step(1000)) do order[#order + 1] = op end
    end
    assert.equal(t1, order[1])
    assert.equal(t2, order[2])
    assert.equal(t3, order[3])
    assert.equal(0, core.pending())
    for _, op in ipairs(order) do
      assert.equal("ok", op:status())
      assert.is_true(op:result())
      assert.is_true(op:result()) -- cached: may be asked again
    end
  end)

  it("counts pending ops", function()
    assert.equal(0, core.pending())
    local a, b = core.timer(10), core.timer(20)
    assert.equal(2, core.pending())
    H.wait(a)
    assert.equal(1, core.pending())
    H.wait(b)
    assert.equal(0, core.pending())
  end)

  it("reports each op once", function()
    local t = core.timer(0)
    local first = H.wait(t)
    assert.same({ t }, first)
    assert.same({}, core.step(0))
  end)

  it("step(0) does not wait", function()
    local t = core.timer(10000)
    local done, intr = core.step(0)
    assert.same({}, done) -- had it waited, the timer would be in `done`
    assert.is_nil(intr)
    assert.equal("pending", t:status())
    t:cancel()
  end)

  it("raises on the result of a pending op", function()
    local t = core.timer(10000)
    assert.equal("pending", t:status())
    assert.matches("vguest.Op %(timer%) is still pending", H.raises(t.result, t))
    t:cancel()
  end)

  it("cancels: not reported, status canceled, error table", function()
    local t = core.timer(20)
    local other = core.timer(40)
    assert.is_true(t:cancel())
    assert.is_false(t:cancel()) -- idempotent
    assert.equal("canceled", t:status())
    local v, err = t:result()
    assert.is_nil(v)
    assert.equal("canceled", err.kind)
    assert.equal("timer", err.op)
    assert.is_false(err.retryable)
    assert.is_false(err.maybe_done)
    assert.equal(1, core.pending())
    local seen = H.wait(other)
    for _, op in ipairs(seen) do assert.not_equal(t, op) end
    assert.is_false(other:cancel()) -- already done
    assert.equal("ok", other:status())
  end)

  it("core.interrupt wakes a blocked step, which says so", function()
    local t = core.timer(10000)
    core.interrupt()
    local c0 = os.time()
    local done, intr = core.step(5000)
    assert.same({}, done)
    assert.is_true(intr)
    assert.is_true(os.time() - c0 <= 2)
    t:cancel()
  end)

  it("catches SIGINT: sets the flag and interrupts the step", function()
    core.interrupted(true)
    assert.is_false(core.interrupted())
    core.catch_interrupts(true)
    local t = core.timer(10000)
    -- The signal must land while the step waits: under `vguest run` a
    -- Ctrl-C in running code stops that code instead (l_break.c). So the
    -- sender waits until this process sleeps, which between popen and
    -- the step's poll it cannot (no blocking call in between).
    local pid = mypid()
    local p = assert(io.popen("timeout 20 sh -c 'while read -r _ _ s _ < /proc/" .. pid ..
      "/stat; [ \"$s\" != S ]; do :; done; kill -INT " .. pid .. "'"))
    local done, intr = core.step(5000)
    p:close()
    core.catch_interrupts(false)
    assert.same({}, done)
    assert.is_true(intr)
    assert.is_true(core.interrupted())
    assert.is_true(core.interrupted(true)) -- read and clear
    assert.is_false(core.interrupted())
    t:cancel()
  end)

  it("step accepts nil, negative, fractional timeouts", function()
    local t = core.timer(1)
    local done = {}
    while #done == 0 do done = core.step(0.5) end
    assert.equal(t, done[1])
    t = core.timer(1)
    assert.equal(t, core.step(-1)[1])
    t = core.timer(1)
    assert.equal(t, core.step()[1])
  end)
end)
