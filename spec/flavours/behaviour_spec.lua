-- One behaviour suite, parametrized over the flavours api, rest and vim25:
-- every primitive of the friendly API, every error kind the simulator
-- produces, concurrency and batching, and wire checks counted with the
-- simulator's GET /sim/stats (logins per flavour, processes started,
-- requests per operation): which flavour `auto` picks, session expiry in
-- the middle of a playbook, a create whose answer was lost, and an expired
-- session told apart from a wrong guest password.
local vg = require "vguest"
local helper = require "spec.helper"

local FLAVOURS = { "api", "rest", "vim25" }

local err_of, assert_kind, no_secret = helper.err_of, helper.assert_kind, helper.no_secret

-- Start a program and wait for it: the process primitives every flavour
-- has (g:run captures output through guest files: spec/flavours/run_spec.lua).
local function exec(g, opts, timeout)
  return g:create(opts):wait { timeout = timeout or 30 }
end

for _, flavour in ipairs(FLAVOURS) do
  describe("vguest API (" .. flavour .. ")", function()
    local sim, s, g, cred

    setup(function()
      sim = helper.sim()
      s = helper.connect(flavour)
      cred = helper.credentials()
      g = s:vm("web-01"):guest(cred)
    end)
    teardown(function()
      if s then s:close() end
      helper.assert_loop_empty()
    end)
    after_each(helper.assert_loop_empty)

    describe("sessions", function()
      it("reports the flavour it speaks", function()
        assert.are.equal(flavour, s.protocol)
        local info = s:info()
        assert.are.equal(flavour, info.protocol)
        assert.are.equal(sim.user, info.user)
        assert.is_true(info.logged_in)
        assert.are.equal(flavour ~= "api", info.list_has_exit_codes)
      end)

      it("raises unauthenticated (session) at connect for a wrong password", function()
        local err = err_of(helper.connect, flavour, { password = "wrong-" .. sim.password })
        assert_kind("unauthenticated", err)
        assert.are.equal("session", err.auth)
        assert.is_nil(tostring(err):find("wrong-", 1, true))
        no_secret(tostring(err))
      end)

      it("raises transport for a server that is not there", function()
        local err = err_of(vg.connect, { server = "https://127.0.0.1:1", user = "u", password = "p",
          protocol = flavour, timeout = 5 })
        assert_kind("transport", err)
      end)

      it("raises timed_out when the server answers later than timeout", function()
        local quick <close> = helper.connect(flavour, { timeout = 0.3 })
        local qg = quick:vm("web-01"):guest(cred)
        sim:control { latency_ms = 1000 }
        local err = err_of(qg.list, qg)
        sim:control { latency_ms = 0 }
        assert_kind("timed_out", err)
        assert.is_true(err.retryable)
      end)

      it("raises tls without the simulator's CA", function()
        local err = err_of(vg.connect, { server = sim.url, user = sim.user, password = sim.password,
          protocol = flavour, ca_file = "/etc/ssl/certs/ca-certificates.crt" })
        assert_kind("tls", err)
      end)

      it("closes idempotently, and a closed session refuses use", function()
        local c = helper.connect(flavour)
        c:close()
        c:close()
        assert.are.equal("vguest.Session (closed)", tostring(c))
        assert.has_error(function() c:vm("web-01") end, "attempt to use a closed vguest.Session")
        assert.has_error(function() c:info() end, "attempt to use a closed vguest.Session")
      end)

      it("closes on leaving a <close> scope", function()
        local seen
        do
          local c <close> = helper.connect(flavour)
          seen = c
          assert.is_true(c:info().logged_in)
        end
        assert.are.equal("vguest.Session (closed)", tostring(seen))
      end)

      it("re-establishes an expired session and retries", function()
        local before = sim:stats().logins[flavour]
        sim:control { expire_sessions = true }
        local vm = s:vm("web-02")
        assert.are.equal("vm-43", vm.id)
        assert.is_true(sim:stats().logins[flavour] > before)
      end)
    end)

    describe("VMs", function()
      it("finds a VM by name and by id", function()
        local a = s:vm("web-01")
        assert.are.equal("vm-42", a.id)
        assert.are.equal("web-01", a.name)
        assert.are.equal("POWERED_ON", a.power_state)
        assert.are.equal(s, a.session)
        local b = s:vm("vm-43")
        assert.are.equal("web-02", b.name)
        assert.are.equal("vguest.VM (vm-43, web-02, POWERED_ON)", tostring(b))
      end)

      it("raises not_found for an unknown VM", function()
        assert_kind("not_found", err_of(s.vm, s, "no-such-vm"))
        assert_kind("not_found", err_of(s.vm, s, "vm-999"))
      end)

      it("raises invalid_argument naming the ids for an ambiguous name", function()
        local err = err_of(s.vm, s, "dup")
        assert_kind("invalid_argument", err)
        assert.matches("vm%-50", err.message)
        assert.matches("vm%-51", err.message)
      end)

      it("lists VMs with filters", function()
        local on = s:vms { power_state = "POWERED_ON" }
        assert.is_true(#on >= 4)
        for _, v in ipairs(on) do assert.are.equal("POWERED_ON", v.power_state) end
        local two = s:vms { names = { "web-01", "web-02" } }
        local names = {}
        for _, v in ipairs(two) do names[#names + 1] = v.name end
        table.sort(names)
        assert.are.same({ "web-01", "web-02" }, names)
        local byid = s:vms { ids = { "vm-44" } }
        assert.are.equal("web-03", byid[1].name)
        assert.is_true(#s:vms() >= 8)
      end)
    end)

    describe("processes", function()
      it("creates, waits and reads an exit code (non-zero is data)", function()
        local p = g:create { path = "/bin/sh", arguments = "-c 'exit 3'" }
        assert.are.equal("number", type(p.pid))
        assert.are.equal("vm-42", p.vm.id)
        assert.are.equal(g, p.guest)
        local info = p:wait { timeout = 30 }
        assert.are.equal(3, info.exit_code)
        assert.are.equal(p.pid, info.pid)
        assert.is_string(info.finished)
      end)

      it("passes arguments, working directory and environment", function()
        local info = exec(g, { path = "/bin/sh",
          arguments = "-c 'test \"$K\" = \"v w\" && test \"$(pwd)\" = /tmp'",
          working_directory = "/tmp", environment = { K = "v w" } })
        assert.are.equal(0, info.exit_code)
      end)

      it("gets and lists a running process, then deletes it", function()
        local p = g:create { path = "/bin/sleep", arguments = "30" }
        local info = p:get()
        assert.are.equal(p.pid, info.pid)
        assert.is_nil(info.exit_code)
        assert.is_string(info.started)
        local same = g:get(p.pid)
        assert.are.equal(p.pid, same.pid)
        local found = false
        for _, i in ipairs(g:list()) do if i.pid == p.pid then found = true end end
        assert.is_true(found)
        local only = g:list { p.pid }
        assert.are.equal(1, #only)
        p:delete()
        local done = p:wait { timeout = 30 }
        assert.is_string(done.finished)
      end)

      it("raises timed_out at the wait deadline; the process keeps running", function()
        local p = g:create { path = "/bin/sleep", arguments = "30" }
        local err = err_of(p.wait, p, { timeout = 0.3 })
        assert_kind("timed_out", err)
        assert.are.equal(p.pid, err.pid)
        assert.is_nil(p:get().exit_code)
        g:delete(p.pid)
      end)

      it("terminates the process at the wait deadline with kill = true", function()
        local p = g:create { path = "/bin/sleep", arguments = "30" }
        local err = err_of(p.wait, p, { timeout = 0.3, kill = true })
        assert_kind("timed_out", err)
        assert.are.equal(p.pid, err.pid)
        assert.matches("it was terminated", err.message)
        -- terminated before the wait raised: the guest reports it ended
        -- (with the exit code Linux Tools give a killed process: 0)
        local info = p:wait { timeout = 30 }
        assert.is_string(info.finished)
        assert.is_not_nil(info.exit_code)
        assert.is_false(helper.alive(p.pid))
      end)

      it("terminates with kill = true even when terminates are lost or refused at first", function()
        -- the first terminate never reaches the guest (the connection
        -- closes before the server takes it: the answer is lost), the
        -- next one is refused as busy; the wait sends it again
        local p = g:create { path = "/bin/sleep", arguments = "30" }
        sim:control { drop_next = { count = 1, when = "before", ops = { "delete" } } }
        local err = err_of(p.wait, p, { timeout = 0.3, kill = true })
        assert_kind("timed_out", err)
        assert.are.equal("wait", err.op)
        assert.matches("it was terminated", err.message)
        local info = p:wait { timeout = 30 }
        assert.is_string(info.finished)
        p = g:create { path = "/bin/sleep", arguments = "30" }
        sim:control { fail_next = { count = 2, kind = "busy", ops = { "delete" } } }
        err = err_of(p.wait, p, { timeout = 0.3, kill = true })
        assert_kind("timed_out", err)
        assert.matches("it was terminated", err.message)
        info = p:wait { timeout = 30 }
        assert.is_string(info.finished)
        assert.is_false(helper.alive(p.pid))
      end)

      it("is retryable when its session is refused again and again though logins work", function()
        -- a create refused at every re-login (1 + 3 tries) never ran:
        -- another try may go through, and says so
        local before = sim:stats()
        sim:control { fail_next = { count = 4, kind = "unauthenticated", ops = { "create" } } }
        local err = err_of(g.create, g, { path = "/bin/true" })
        assert_kind("unauthenticated", err)
        assert.are.equal("session", err.auth)
        assert.is_true(err.retryable)
        assert.is_false(err.maybe_done)
        assert.are.equal(before.creates, sim:stats().creates)
        -- a wait rides out polls refused as often (two polls' worth)
        local p = g:create { path = "/bin/sh", arguments = "-c 'sleep 0.2; exit 5'" }
        sim:control { fail_next = { count = 8, kind = "unauthenticated", ops = { "get", "list" } } }
        local info = p:wait { timeout = 30, retry_for = 30 }
        assert.are.equal(5, info.exit_code)
        assert.are.equal(before.injected.failed + 12, sim:stats().injected.failed)
      end)

      it("reads one guest variable with getenv, all of them with environment", function()
        local env = g:environment()
        assert.are.equal("table", type(env))
        assert.is_string(env.PATH)
        assert.are.equal(env.PATH, g:getenv("PATH"))
        assert.is_nil(g:getenv("VGUEST_SURELY_NOT_SET_IN_THE_GUEST"))
      end)

      it("reads guest environment variables", function()
        local env = g:env()
        assert.are.equal("table", type(env))
        local some = next(env)
        if some then
          local one = g:env { some }
          assert.are.equal(env[some], one[some])
        end
      end)

      it("raises not_found for an unknown program and an unknown pid", function()
        assert_kind("not_found", err_of(g.create, g, { path = "/no/such/program" }))
        assert_kind("not_found", err_of(g.get, g, 999999))
        assert_kind("not_found", err_of(g.delete, g, 999999))
        local gone = setmetatable({ id = "vm-999", name = "gone", session = s }, vg.VM):guest(cred)
        local err = err_of(gone.create, gone, { path = "/bin/true" })
        assert_kind("not_found", err)
        assert.are.equal("vm-999", err.vm)
      end)

      it("raises invalid_argument for start_minimized on a Linux guest", function()
        assert_kind("invalid_argument", err_of(g.create, g, { path = "/bin/true", start_minimized = true }))
      end)

      it("raises invalid_argument for a working directory that is missing or a file", function()
        -- one kind on every flavour (vim25's NotADirectory, /api's
        -- INVALID_ARGUMENT with its NOT_A_DIRECTORY reason)
        assert_kind("invalid_argument",
          err_of(g.create, g, { path = "/bin/true", working_directory = "/no/such/dir" }))
        assert_kind("invalid_argument",
          err_of(g.create, g, { path = "/bin/true", working_directory = "/bin/true" }))
      end)

      it("raises unauthorized for a program the guest user may not run", function()
        local path = os.tmpname() -- mode 0600: not executable
        local err = err_of(g.create, g, { path = path })
        os.remove(path)
        assert_kind("unauthorized", err)
        assert.are.equal("create", err.op)
      end)

      it("raises unauthenticated (guest) for a wrong guest password", function()
        local bad = s:vm("web-01"):guest(vg.credentials { user = sim.guest_user, password = "nope" })
        local err = err_of(bad.create, bad, { path = "/bin/true" })
        assert_kind("unauthenticated", err)
        assert.are.equal("guest", err.auth)
        no_secret(tostring(err))
      end)

      it("raises not_allowed_in_current_state on a powered-off VM", function()
        local off = s:vm("db-01"):guest(cred)
        assert_kind("not_allowed_in_current_state", err_of(off.create, off, { path = "/bin/true" }))
      end)

      it("raises service_unavailable where VMware Tools are not running", function()
        local nt = s:vm("app-01"):guest(cred)
        assert_kind("service_unavailable", err_of(nt.create, nt, { path = "/bin/true" }))
      end)

      it("raises injected resource_busy and service_unavailable, marked retryable", function()
        local p = g:create { path = "/bin/true" }
        sim:control { fail_next = { count = 1, kind = "busy", ops = { "get", "list" } } }
        local err = err_of(p.get, p)
        assert_kind("resource_busy", err)
        assert.is_true(err.retryable)
        sim:control { fail_next = { count = 1, kind = "unavailable", ops = { "get", "list" } } }
        err = err_of(p.get, p)
        assert_kind("service_unavailable", err)
        assert.is_true(err.retryable)
        assert.are.equal(0, p:wait { timeout = 30 }.exit_code)
      end)

      it("waits through injected busy answers", function()
        local p = g:create { path = "/bin/true" }
        sim:control { fail_next = { count = 2, kind = "busy", ops = { "get", "list" } } }
        assert.are.equal(0, p:wait { timeout = 30 }.exit_code)
      end)

      it("gives up a wait whose polls keep failing for retry_for seconds", function()
        local p = g:create { path = "/bin/true" }
        sim:control { fail_next = { count = 100000, kind = "unavailable", ops = { "get", "list" } } }
        local err = err_of(p.wait, p, { retry_for = 1, interval = 0.05, max_interval = 0.2 })
        sim:control { fail_next = { count = 0, kind = "unavailable" } }
        assert_kind("service_unavailable", err)
        assert.is_true(err.retryable)
        assert.are.equal(0, p:wait().exit_code) -- the server is back
      end)

      it("marks a create whose answer was lost as maybe done", function()
        sim:control { drop_next_create_response = true }
        local err = err_of(g.create, g, { path = "/bin/true" })
        assert.is_true(vg.is_error(err))
        assert.is_true(err.maybe_done, tostring(err))
      end)

      it("follows VM state changes", function()
        sim:control { set_vm = { id = "vm-44", power_state = "POWERED_OFF" } }
        local g3 = s:vm("vm-44"):guest(cred)
        local ok, err = pcall(g3.create, g3, { path = "/bin/true" })
        sim:control { set_vm = { id = "vm-44", power_state = "POWERED_ON", tools = "running" } }
        assert.is_false(ok)
        assert_kind("not_allowed_in_current_state", err)
      end)
    end)

    describe("tasks", function()
      it("lets one task run while another waits", function()
        local log = {}
        local long = g:create { path = "/bin/sleep", arguments = "30" }
        local slow = vg.spawn(function()
          log[#log + 1] = "slow started"
          long:wait()
          log[#log + 1] = "slow done"
        end)
        local fast = vg.spawn(function()
          for i = 1, 3 do
            exec(g, { path = "/bin/true" })
            log[#log + 1] = "fast " .. i
          end
          long:delete() -- the only way the slow task's process ends
        end)
        fast:wait()
        slow:wait()
        assert.are.same({ "slow started", "fast 1", "fast 2", "fast 3", "slow done" }, log)
      end)

      it("cancels a task waiting for a process", function()
        local p = g:create { path = "/bin/sleep", arguments = "30" }
        local t = vg.spawn(function() return p:wait() end)
        vg.sleep(0.1)
        assert.is_true(t:cancel())
        assert_kind("canceled", err_of(t.wait, t))
        p:delete()
      end)

      it("shares one poll per tick among waiters in one VM", function()
        local before = sim:stats().by_op
        local procs = {}
        for i = 1, 10 do procs[i] = g:create { path = "/bin/sleep", arguments = "1" } end
        local results = vg.parallel(procs, function(p) return p:wait { timeout = 30 }.exit_code end)
        for i = 1, 10 do assert.are.equal(0, results[i]) end
        local after = sim:stats().by_op
        local gets, lists = after.get - before.get, after.list - before.list
        if flavour == "api" then
          assert.are.equal(0, lists)
          assert.is_true(gets >= 10, "gets: " .. gets)
        else
          -- one list per tick for all ten: fewer lists than waiters
          assert.are.equal(0, gets)
          assert.is_true(lists >= 1 and lists < 10, "lists: " .. lists)
        end
      end)

      it("runs vg.parallel over VMs with results and errors indexed like items", function()
        local vms = s:vms { names = { "web-01", "web-02", "db-01" } }
        table.sort(vms, function(a, b) return a.name < b.name end)
        local results, errors = vg.parallel(vms, function(v)
          return exec(v:guest(cred), { path = "/bin/sh", arguments = "-c 'exit 7'" }).exit_code
        end, { limit = 2 })
        assert.are.equal("db-01", vms[1].name)
        assert.is_nil(results[1])
        assert_kind("not_allowed_in_current_state", errors[1])
        assert.are.equal(7, results[2])
        assert.are.equal(7, results[3])
        assert.is_nil(errors[2])
        assert.is_nil(errors[3])
      end)

      it("waits for tasks with vg.wait_all", function()
        local ts = {
          vg.spawn(function() return exec(g, { path = "/bin/true" }).exit_code end),
          vg.spawn(function() return exec(g, { path = "/bin/false" }).exit_code end),
          vg.spawn(function() error("boom", 0) end),
        }
        local r, e = vg.wait_all(ts)
        assert.are.equal(0, r[1])
        assert.are.equal(1, r[2])
        assert.are.equal("boom", e[3])
      end)
    end)

    describe("on the wire", function()
      local function stats() return sim:stats() end
      local function delta(before, after)
        return { creates = after.creates - before.creates,
          create_requests = after.by_op.create - before.by_op.create,
          logins = after.logins[flavour] - before.logins[flavour] }
      end

      it("loses nothing and starts nothing twice when the session expires mid-playbook", function()
        local before = stats()
        local p1 = g:create { path = "/bin/sh", arguments = "-c 'sleep 0.2; exit 2'" }
        sim:control { expire_sessions = true }
        -- a create on an expired session: re-login, then the create (rejected
        -- before it ran, so sending it again is safe)
        local p2 = g:create { path = "/bin/sh", arguments = "-c 'exit 3'" }
        local ts = {
          vg.spawn(function() return p1:wait { timeout = 30 }.exit_code end),
          vg.spawn(function() return p2:wait { timeout = 30 }.exit_code end),
          vg.spawn(function() return exec(g, { path = "/bin/sh", arguments = "-c 'exit 4'" }).exit_code end),
        }
        -- expire again while those waits and that create are in flight
        sim:control { expire_sessions = true }
        local r, e = vg.wait_all(ts)
        assert.are.same({}, e)
        assert.are.same({ 2, 3, 4 }, r)
        assert.are.equal("vm-43", s:vm("web-02").id)
        local d = delta(before, stats())
        assert.are.equal(3, d.creates)          -- three processes started, none twice
        assert.are.equal(3, d.create_requests)  -- no create accepted twice
        assert.is_true(d.logins >= 2, "logins: " .. d.logins)
      end)

      it("raises maybe_done for a create whose answer was lost, and never sends it again", function()
        local before = stats()
        sim:control { drop_next_create_response = true }
        local err = err_of(g.create, g, { path = "/bin/sh", arguments = "-c 'exit 6'" })
        assert.is_true(vg.is_error(err), tostring(err))
        assert.is_true(err.maybe_done, tostring(err))
        assert.are.equal("create", err.op)
        local after = stats()
        local d = delta(before, after)
        assert.are.equal(1, d.creates, "processes started")
        assert.are.equal(1, d.create_requests, "create requests")
        assert.are.equal(0, d.logins)
        -- the process did run: it is the simulator's last one
        local last = after.processes[#after.processes]
        assert.are.equal("vm-42", last.vm)
        assert.are.equal(6, g:process(last.pid):wait { timeout = 30 }.exit_code)
      end)

      it("tells an expired session (re-login, success) from a wrong guest password", function()
        local before = stats()
        sim:control { expire_sessions = true }
        assert.are.equal(0, exec(g, { path = "/bin/true" }).exit_code)
        local mid = stats()
        local d = delta(before, mid)
        assert.are.equal(1, d.logins, "re-login after expiry")
        assert.are.equal(1, d.creates)

        local bad = s:vm("web-01"):guest(vg.credentials { user = sim.guest_user, password = "nope" })
        local err = err_of(bad.create, bad, { path = "/bin/true" })
        assert_kind("unauthenticated", err)
        assert.are.equal("guest", err.auth)
        err = err_of(bad.list, bad)
        assert_kind("unauthenticated", err)
        assert.are.equal("guest", err.auth)
        d = delta(mid, stats())
        assert.are.equal(0, d.logins, "a wrong guest password is no reason to log in again")
        assert.are.equal(0, d.creates)
        assert.is_true(s:info().logged_in)
      end)
    end)
  end)
end

describe("flavour choice with protocol = 'auto'", function()
  after_each(helper.assert_loop_empty)

  local cases = {
    { served = { "api", "rest", "vim25" }, picks = "api" },
    { served = { "vim25", "rest" }, picks = "vim25" },
    { served = { "rest" }, picks = "rest" },
  }
  for _, case in ipairs(cases) do
    local served = table.concat(case.served, ",")
    it("picks " .. case.picks .. " when the server speaks " .. served, function()
      local sim = helper.sim { flavours = case.served }
      local before = sim:stats().logins
      local s <close> = helper.connect("auto", { sim = sim })
      assert.are.equal(case.picks, s.protocol)
      assert.are.equal(case.picks, s:info().protocol)
      local after = sim:stats().logins
      for _, f in ipairs(FLAVOURS) do
        assert.are.equal(f == case.picks and 1 or 0, after[f] - before[f], "logins on " .. f)
      end
      local g = s:vm("web-01"):guest(helper.credentials())
      assert.are.equal(0, exec(g, { path = "/bin/true" }).exit_code)
    end)
  end

  it("raises an error object for a flavour the server does not serve", function()
    local sim = helper.sim { flavours = { "rest" } }
    for _, f in ipairs { "api", "vim25" } do
      local err = err_of(helper.connect, f, { sim = sim })
      assert.is_true(vg.is_error(err), tostring(err))
      assert.are.equal(0, sim:stats().logins[f])
    end
  end)
end)
