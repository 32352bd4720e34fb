-- vguest.core against a simulator: sessions, guest operations, result
-- conversion, error tables, closing with work in flight. Skipped (pending)
-- when $VGUEST_SIM is not set.
local H = dofile((debug.getinfo(1, "S").source:match("^@(.-)[^/]*$") or "./") .. "helper.lua")
local core = H.core

local sim, why = H.sim()

local function finished(sess, vm, cred, pid)
  for _ = 1, 200 do
    local info, err = H.run(sess:get(vm, cred, pid))
    assert(info, err and err.message)
    if info.finished then return info end
    H.run(core.timer(25))
  end
  error("process " .. pid .. " did not finish")
end

local function ok(v, err)
  if v == nil then error("unexpected error: " .. require("cjson").encode(err), 2) end
  return v
end

describe("vguest.core sessions", function()
  if not sim then
    pending("no simulator: " .. tostring(why))
    return
  end
  teardown(function() H.stop_sim() end)
  after_each(function()
    collectgarbage()
    H.drain()
    assert.equal(0, core.pending())
  end)

  for _, protocol in ipairs { "api", "rest", "vim25" } do
    describe("over " .. protocol, function()
      local sess, cred, vm
      before_each(function()
        sess = H.session(sim, { protocol = protocol })
        cred = H.guest(sim)
        vm = "vm-42"
      end)
      after_each(function() sess:close() end)

      it("logs in and out", function()
        assert.is_true(ok(H.run(sess:login())))
        local info = sess:info()
        assert.equal(protocol, info.protocol)
        assert.is_true(info.logged_in)
        assert.equal(sim.url, info.server)
        assert.matches("protocol=" .. protocol .. ", logged in%)$", tostring(sess))
        assert.is_true(ok(H.run(sess:logout())))
        assert.is_false(sess:info().logged_in)
      end)

      it("lists VMs, with filters", function()
        local vms = ok(H.run(sess:vms()))
        assert.is_true(#vms >= 8)
        local byname = {}
        for _, v in ipairs(vms) do
          assert.is_string(v.id)
          assert.is_string(v.power_state)
          byname[v.name] = v
        end
        assert.equal("vm-42", byname["web-01"].id)
        assert.equal("POWERED_OFF", byname["db-01"].power_state)
        local one = ok(H.run(sess:vms { names = { "web-01" } }))
        assert.same({ { id = "vm-42", name = "web-01", power_state = "POWERED_ON" } }, one)
        local two = ok(H.run(sess:vms { ids = { "vm-43", "vm-44" } }))
        assert.equal(2, #two)
        local off = ok(H.run(sess:vms { power_state = "POWERED_OFF" }))
        for _, v in ipairs(off) do assert.equal("POWERED_OFF", v.power_state) end
      end)

      it("creates, gets, lists and deletes processes", function()
        local pid = ok(H.run(sess:create(vm, cred, {
          path = "/bin/sh", arguments = "-c 'exit 3'", working_directory = "/tmp",
          environment = { VGUEST_X = "1", N = 5 } })))
        assert.is_true(math.type(pid) == "integer" and pid > 0)
        local info = finished(sess, vm, cred, pid)
        assert.equal(pid, info.pid)
        assert.is_string(info.started)
        assert.is_string(info.finished)
        assert.equal(3, info.exit_code)

        local sleeper = ok(H.run(sess:create(vm, cred, { path = "/bin/sleep", arguments = "30" })))
        local running = ok(H.run(sess:get(vm, cred, sleeper)))
        assert.is_nil(running.finished)
        assert.is_nil(running.exit_code)
        local all = ok(H.run(sess:list(vm, cred)))
        local found = {}
        for _, p in ipairs(all) do found[p.pid] = p end
        assert.is_table(found[pid])
        assert.is_table(found[sleeper])
        local some = ok(H.run(sess:list(vm, cred, { sleeper })))
        assert.equal(1, #some)
        assert.equal(sleeper, some[1].pid)
        -- a waiter's requests: false while running, the info once ended
        assert.is_false(ok(H.run(sess:poll(vm, cred, sleeper))))
        local ended = ok(H.run(sess:poll(vm, cred, pid)))
        assert.equal(3, ended.exit_code)
        assert.equal(pid, ended.pid)
        local polled = ok(H.run(sess:poll_list(vm, cred, { sleeper, pid })))
        assert.is_false(polled[sleeper])
        if sess:info().list_has_exit_codes then
          assert.equal(3, polled[pid].exit_code)
        else
          assert.is_not_nil(polled[pid]) -- api lists carry no ends
        end
        assert.is_true(ok(H.run(sess:delete(vm, cred, sleeper))))
        local gone = finished(sess, vm, cred, sleeper)
        assert.is_string(gone.finished)
      end)

      it("reads the guest environment", function()
        local env = ok(H.run(sess:env(vm, cred)))
        assert.is_table(env)
        local some = ok(H.run(sess:env(vm, cred, { "PATH" })))
        for k in pairs(some) do assert.equal("PATH", k) end
      end)

      it("returns error tables without secrets", function()
        local bad = core.credentials { user = "root", password = core.secret(H.SECRET) }
        local v, err = H.run(sess:create(vm, bad, { path = "/bin/true" }))
        assert.is_nil(v)
        assert.equal("unauthenticated", err.kind)
        assert.equal("guest", err.auth)
        assert.equal("create", err.op)
        assert.equal(vm, err.vm)
        assert.is_string(err.message)
        assert.is_boolean(err.retryable)
        assert.is_boolean(err.maybe_done)
        assert.is_false(H.mentions_secret(err))

        v, err = H.run(sess:get("vm-999", cred, 1))
        assert.is_nil(v)
        assert.equal("not_found", err.kind)
        assert.equal("get", err.op)

        v, err = H.run(sess:get(vm, cred, 999999))
        assert.is_nil(v)
        assert.equal("not_found", err.kind)
        assert.equal(999999, err.pid)

        v, err = H.run(sess:create("vm-46", cred, { path = "/bin/true" })) -- powered off
        assert.is_nil(v)
        assert.is_string(err.kind)
        assert.not_equal("ok", err.kind)

        local wrong = H.session(sim, { protocol = protocol, password = core.secret(H.SECRET) })
        v, err = H.run(wrong:login())
        assert.is_nil(v)
        assert.equal("unauthenticated", err.kind)
        assert.equal("session", err.auth)
        assert.is_false(H.mentions_secret(err))
        assert.is_false(H.mentions_secret(tostring(wrong)))
        assert.is_false(H.mentions_secret(wrong:info()))
        wrong:close()
      end)
    end)
  end

  it("probes the protocol with auto", function()
    local sess <close> = H.session(sim)
    assert.is_true(ok(H.run(sess:login())))
    assert.equal("api", sess:info().protocol)
  end)

  it("the first op logs in by itself", function()
    local sess <close> = H.session(sim, { protocol = "api" })
    local vms = ok(H.run(sess:vms { names = { "web-02" } }))
    assert.equal("vm-43", vms[1].id)
    assert.is_true(sess:info().logged_in)
  end)

  it("closing a session cancels its pending ops", function()
    sim:control { latency_ms = 300 }
    local sess = H.session(sim, { protocol = "api" })
    local op = sess:vms()
    core.step(0)
    sess:close()
    local seen = H.wait(op)
    sim:control { latency_ms = 0 }
    assert.equal(op, seen[1])
    local v, err = op:result()
    assert.is_nil(v)
    assert.equal("canceled", err.kind)
    assert.equal("canceled", op:status())
  end)

  it("an op canceled in flight is not reported", function()
    sim:control { latency_ms = 200 }
    local sess <close> = H.session(sim, { protocol = "rest" })
    local a, b = sess:vms(), sess:vms { names = { "web-01" } }
    assert.is_true(a:cancel())
    local seen = H.wait(b)
    sim:control { latency_ms = 0 }
    for _, o in ipairs(seen) do assert.not_equal(a, o) end
    assert.equal("ok", b:status())
  end)

  it("collecting a logged-in session logs out in the background", function()
    local sess = H.session(sim, { protocol = "vim25" })
    assert.is_true(ok(H.run(sess:login())))
    local w = setmetatable({ sess }, { __mode = "v" })
    sess = nil
    H.collect()
    assert.is_nil(w[1])
    assert.same({}, H.drain()) -- the detached logout is never reported
    assert.equal(0, core.pending())
  end)

  it("many ops on one session complete, each reported once", function()
    local sess <close> = H.session(sim, { protocol = "api" })
    local cred = H.guest(sim)
    local ops, count = {}, 0
    for i = 1, 20 do ops[i] = sess:create("vm-4" .. (2 + i % 3), cred, { path = "/bin/true" }) end
    local seen = {}
    while count < 20 do
      for _, o in ipairs(core.step(1000)) do
        assert.is_nil(seen[o])
        seen[o] = true
        count = count + 1
      end
    end
    for i = 1, 20 do
      assert.equal("ok", ops[i]:status())
      assert.is_true(math.type(ops[i]:result()) == "integer")
    end
  end)
end)
