-- vguest.core: reentrancy. Lua code can run in the middle of any binding
-- call that allocates: a finalizer of some garbage object runs at the
-- allocation that steps the collector. Such a finalizer may step the loop
-- (vg.sleep(0) at top level does), cancel ops, close sessions. None of it
-- may reach freed memory (ASan runs this suite), lose a completion or
-- report one twice.
--
-- The collector is made to start a new cycle as soon as one ends and to do
-- much work at every allocation (a cycle every few hundred allocations),
-- and garbage with finalizers is made all along, so finalizers run inside
-- core.step while it converts results, and inside Op:cancel. Each test also checks that
-- this did happen (`nested > 0`): a test that never ran a finalizer at the
-- moment it is about would prove nothing.
local H = dofile((debug.getinfo(1, "S").source:match("^@(.-)[^/]*$") or "./") .. "helper.lua")
local core = H.core

local sim, why = H.sim()

-- Where in a burst of allocations a collection cycle ends depends on
-- the collector's parameters: each round runs under other ones, all of
-- them eager (a new cycle at once, much work at every allocation). 0 would
-- mean "unchanged": pause 1%, steps of 2 bytes. A full collection after
-- each change makes the next cycle's threshold follow the new pause.
local MODES = { { 1, 100, 1 }, { 1, 200, 1 }, { 1, 400, 1 }, { 50, 200, 8 }, { 1, 1000, 1 } }
local function eager_gc(rounds, fn)
  local ok, err = pcall(function()
    for r = 1, rounds do
      collectgarbage("incremental", table.unpack(MODES[(r - 1) % #MODES + 1]))
      collectgarbage()
      fn(r)
    end
  end)
  collectgarbage("incremental", 200, 100, 13) -- Lua's defaults
  collectgarbage()
  if not ok then error(err, 0) end
end

-- A counter of reports, core.step wrapped to know when we are in it, and
-- a supply of finalizers: T.arm(n, react) makes n garbage objects whose
-- finalizer steps the loop (and calls react() when it runs inside a step)
-- and makes a new one, so that some finalizer runs at the end of every
-- collection cycle until T.disarm().
local function tracker()
  local T = { seen = {}, depth = 0, nested = 0, runs = 0 }
  function T.count(done)
    for _, op in ipairs(done) do T.seen[op] = (T.seen[op] or 0) + 1 end
  end
  function T.step(ms)
    T.depth = T.depth + 1
    local ok, done = pcall(core.step, ms)
    T.depth = T.depth - 1
    if not ok then error(done, 0) end
    T.count(done)
  end
  local mt = {}
  mt.__gc = function()
    T.runs = T.runs + 1
    if T.depth > 0 then
      T.nested = T.nested + 1
      if T.react then T.react() end
    end
    T.step(0)
    if T.armed then setmetatable({}, mt) end
  end
  function T.arm(n, react)
    T.armed, T.react = true, react
    for _ = 1, n do setmetatable({}, mt) end
  end
  function T.disarm()
    T.armed, T.react = false, nil
    collectgarbage()
    collectgarbage()
  end
  -- every op reported exactly once, except those canceled[op] (never)
  function T.check(ops, canceled)
    canceled = canceled or {}
    local lost, twice, both = 0, 0, 0
    for _, op in ipairs(ops) do
      local n = T.seen[op] or 0
      if canceled[op] then
        if n > 0 then both = both + 1 end
      elseif n == 0 then
        lost = lost + 1
      elseif n > 1 then
        twice = twice + 1
      end
    end
    assert.same({ lost = 0, twice = 0, canceled_but_reported = 0 },
      { lost = lost, twice = twice, canceled_but_reported = both })
  end
  return T
end

describe("vguest.core reentrancy", function()
  after_each(function()
    collectgarbage()
    H.drain()
    assert.equal(0, core.pending())
  end)

  it("reports failing ops once while finalizers step, cancel and close", function()
    -- nothing listens on port 1: every op fails at once, each with an
    -- error table to build (allocations: finalizers run in the middle)
    local cred = core.credentials { user = "root", password = core.secret(H.SECRET) }
    local T = tracker()
    local ops, canceled = {}, {}
    eager_gc(20, function()
      local a = core.session { server = "https://127.0.0.1:1", user = "a", password = core.secret(H.SECRET) }
      local b = core.session { server = "https://127.0.0.1:1", user = "a", password = core.secret(H.SECRET) }
      local these = {}
      for i = 1, 40 do
        local op = (i % 2 == 0 and a or b):get("vm-42", cred, i)
        ops[#ops + 1] = op
        these[#these + 1] = op
      end
      local k = 0
      T.arm(10, function()
        k = k + 1
        local op = these[(k * 7) % #these + 1]
        if op:cancel() then canceled[op] = true end
        if k % 5 == 0 then b:close() end
      end)
      while core.pending() > 0 do T.step(20) end
      T.step(0)
      T.disarm()
      a:close()
      b:close()
    end)
    H.drain()
    T.step(0)
    assert.is_true(T.nested > 0, "no finalizer ran inside core.step")
    T.check(ops, canceled)
    for _, op in ipairs(ops) do
      local v, err = op:result()
      assert.is_nil(v)
      assert.is_table(err)
      assert.is_string(err.kind)
      if canceled[op] then assert.equal("canceled", err.kind) end
    end
  end)

  it("Op:cancel is not re-entered by a finalizer that cancels the same op", function()
    local ops, trues, nested = {}, {}, 0
    local current
    local mt = {}
    mt.__gc = function()
      if current then
        nested = nested + 1
        if current:cancel() then trues[current] = (trues[current] or 0) + 1 end
      end
      if mt.__gc then setmetatable({}, mt) end
    end
    eager_gc(10, function()
      for _ = 1, 10 do setmetatable({}, mt) end
      for _ = 1, 100 do
        local op = core.timer(60000)
        ops[#ops + 1] = op
        current = op
        if op:cancel() then trues[op] = (trues[op] or 0) + 1 end
        current = nil
      end
    end)
    mt.__gc = nil
    collectgarbage()
    assert.is_true(nested > 0, "no finalizer ran inside Op:cancel")
    for _, op in ipairs(ops) do
      assert.equal(1, trues[op], "cancel said true more or less than once")
      assert.equal("canceled", op:status())
      local v, err = op:result()
      assert.is_nil(v)
      assert.equal("canceled", err.kind)
    end
    local T = tracker()
    T.step(0)
    T.check(ops, trues)
  end)

  -- Every call that takes an option table, with the objects it uses;
  -- built fresh for each use (fresh(): a session, credentials, secret).
  local function calls(o, opts)
    local tmp = os.tmpname()
    return {
      { "session", function() return core.session(opts { server = "https://127.0.0.1:1", user = "a", password = o.secret }) end },
      { "credentials", function() return core.credentials(opts { user = "root", password = o.secret }) end },
      { "vms", function() return o.sess:vms(opts { names = { "x" } }) end },
      { "create", function() return o.sess:create("vm-42", o.cred, opts { path = "/bin/true" }) end },
      { "get", function() return o.sess:get("vm-42", o.cred, 42) end },
      { "list", function() return o.sess:list("vm-42", o.cred, { 42 }) end },
      { "delete", function() return o.sess:delete("vm-42", o.cred, 42) end },
      { "env", function() return o.sess:env("vm-42", o.cred, { "PATH" }) end },
      { "run", function() return o.sess:run("vm-42", o.cred, opts { "/bin/true", env = { A = "b" }, stdin = "x" }) end },
      { "guest_os", function() return o.sess:guest_os("vm-42") end },
      { "mktemp", function() return o.sess:mktemp("vm-42", o.cred, opts { prefix = "p" }) end },
      { "stat", function() return o.sess:stat("vm-42", o.cred, "/tmp") end },
      { "list_files", function() return o.sess:list_files("vm-42", o.cred, "/tmp") end },
      { "mkdir", function() return o.sess:mkdir("vm-42", o.cred, "/tmp/x", opts { parents = true }) end },
      { "remove", function() return o.sess:remove("vm-42", o.cred, "/tmp/x", opts { directory = true }) end },
      { "read_file", function() return o.sess:read_file("vm-42", o.cred, "/tmp/x", opts { max_bytes = 9 }) end },
      { "write_file", function() return o.sess:write_file("vm-42", o.cred, "/tmp/x", "data", opts { mode = 420 }) end },
      { "upload", function() return o.sess:upload("vm-42", o.cred, tmp, "/tmp/x", opts { overwrite = true }) end },
      { "download", function() return o.sess:download("vm-42", o.cred, "/tmp/x", tmp) end },
      { "login", function() return o.sess:login() end },
      { "logout", function() return o.sess:logout() end },
    }, tmp
  end
  local function fresh()
    local secret = core.secret(H.SECRET)
    return {
      secret = secret,
      cred = core.credentials { user = "root", password = core.secret(H.SECRET) },
      sess = core.session { server = "https://127.0.0.1:1", user = "a", password = core.secret(H.SECRET) },
    }
  end
  local function close_all(o)
    o.sess:close()
    o.cred:close()
    o.secret:close()
  end
  -- a call either starts (an Op, a Session, Credentials) or raises that
  -- something it was given is closed
  local function started_or_closed(name, ok, v)
    if ok then
      assert(type(v) == "userdata", name .. " returned " .. tostring(v))
    else
      assert(tostring(v):find("closed", 1, true), name .. ": " .. tostring(v))
    end
  end

  it("reads option tables raw: no __index runs in the middle of a call", function()
    for _, c in ipairs((calls(fresh(), function(t) return t end))) do
      local o = fresh()
      local ran = {}
      local function opts(t)
        return setmetatable(t, { __index = function(_, k)
          ran[#ran + 1] = k
          close_all(o)
        end })
      end
      local list, tmp = calls(o, opts)
      for _, call in ipairs(list) do
        if call[1] == c[1] then
          local ok, v = pcall(call[2])
          assert.same({}, ran, c[1] .. " called __index")
          started_or_closed(c[1], ok, v)
          if ok and v.cancel then v:cancel() end
        end
      end
      close_all(o)
      os.remove(tmp)
    end
  end)

  it("calls whose session, credentials or secret a finalizer closes meanwhile", function()
    -- each call's objects are closed by a finalizer at some allocation of
    -- the call: it starts with what it was given, or says it is closed
    local target, closed = nil, 0
    local mt = {}
    mt.__gc = function()
      if target then
        close_all(target)
        closed = closed + 1
      end
      if mt.__gc then setmetatable({}, mt) end
    end
    local outcomes = {}
    eager_gc(10, function()
      for _ = 1, 10 do setmetatable({}, mt) end
      for _ = 1, 3 do
        local names = {}
        for i, c in ipairs((calls(fresh(), function(t) return t end))) do names[i] = c[1] end
        for i = 1, #names do
          local o = fresh()
          local list, tmp = calls(o, function(t) return t end)
          target = o
          local ok, v = pcall(list[i][2])
          target = nil
          started_or_closed(names[i], ok, v)
          outcomes[ok and "started" or "closed"] = true
          if ok and v.cancel then v:cancel() end
          close_all(o)
          os.remove(tmp)
        end
      end
    end)
    mt.__gc = nil
    collectgarbage()
    assert.is_true(closed > 0, "no finalizer closed anything")
    assert.is_true(outcomes.closed, "no call saw its objects closed")
  end)

  describe("against a simulator", function()
    if not sim then
      pending("no simulator: " .. tostring(why))
      return
    end
    teardown(function() H.stop_sim() end)

    local sess, cred, vm, pids
    before_each(function()
      sess = H.session(sim, { protocol = "api" })
      cred = H.guest(sim)
      vm = sim.vm.id
      assert(H.run(sess:login()))
      -- a few processes, so that every list answer has entries to convert
      pids = {}
      for i = 1, 3 do
        pids[i] = assert(H.run(sess:create(vm, cred, { path = "/bin/sleep", arguments = "30" })))
      end
    end)
    after_each(function()
      for _, pid in ipairs(pids) do H.run(sess:delete(vm, cred, pid)) end
      sess:close()
    end)

    it("reports every list and get once while finalizers step the loop", function()
      local T = tracker()
      local ops = {}
      eager_gc(10, function()
        for i = 1, 40 do
          ops[#ops + 1] = i % 2 == 0 and sess:get(vm, cred, pids[i % 3 + 1]) or sess:list(vm, cred)
        end
        T.arm(10)
        while core.pending() > 0 do T.step(20) end
        T.step(0)
        T.disarm()
      end)
      T.step(0)
      assert.is_true(T.nested > 0, "no finalizer ran inside core.step")
      T.check(ops)
      for _, op in ipairs(ops) do
        local v, err = op:result()
        assert(v, err and err.message)
        if op:name() == "list" then
          assert.is_true(#v >= 3)
          for _, info in ipairs(v) do assert.is_number(info.pid) end
        else
          assert.is_number(v.pid)
          assert.equal("sleep", v.name)
        end
      end
    end)

    it("a session closed by a finalizer in the middle of conversions", function()
      local T = tracker()
      local ops = {}
      eager_gc(10, function()
        local other = H.session(sim, { protocol = "api" })
        for i = 1, 30 do
          ops[#ops + 1] = (i % 3 == 0 and other or sess):list(vm, cred)
        end
        T.arm(10, function() other:close() end)
        while core.pending() > 0 do T.step(20) end
        T.step(0)
        T.disarm()
        other:close()
      end)
      T.step(0)
      assert.is_true(T.nested > 0)
      T.check(ops)
      for _, op in ipairs(ops) do
        local v, err = op:result()
        if v == nil then assert.equal("canceled", err.kind) else assert.is_table(v) end
      end
    end)

    it("vg.sleep(0) in finalizers while many tasks' lists complete", function()
      -- the vguest layer: the issue's reproducer (a finalizer that waits
      -- re-enters the scheduler and core.step)
      local vg = require "vguest"
      local g = vg.connect { server = sim.url, user = sim.user, password = sim.password,
        ca_file = sim.ca_file, protocol = "api" }
      local guest = g:vm(vm):guest(vg.credentials { user = sim.guest_user, password = sim.guest_password })
      local waited, failed = 0, {}
      local mt = {}
      mt.__gc = function()
        local ok, err = pcall(vg.sleep, 0)
        if ok then
          waited = waited + 1
        elseif not tostring(err):find("cannot wait here", 1, true) then
          failed[#failed + 1] = tostring(err)
        end
        if mt.__gc then setmetatable({}, mt) end
      end
      local results = {}
      eager_gc(10, function()
        for _ = 1, 10 do setmetatable({}, mt) end
        local ts = {}
        for i = 1, 20 do
          ts[i] = vg.spawn(function() return #guest:list() end)
        end
        for i = 1, 20 do
          local ok, n = ts[i]:result()
          results[#results + 1] = ok and n or tostring(n)
        end
      end)
      mt.__gc = nil
      collectgarbage()
      g:close()
      assert.same({}, failed)
      assert.is_true(waited > 0, "no finalizer waited")
      assert.equal(200, #results)
      for _, n in ipairs(results) do
        assert.is_number(n, "a task failed: " .. tostring(n))
        assert.is_true(n >= 3)
      end
    end)
  end)
end)
