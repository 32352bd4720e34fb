-- g:run on every flavour that has guest files (api, vim25): argument
-- vectors quoted for the guest, raw shell text, g:create's path+arguments
-- form, cwd, env (merge and replace), stdin, timeout, check, max_output,
-- stdout_file/stderr_file, both streams kept apart and byte for byte (NUL,
-- binary, UTF-8, 10 MB), the exit codes the guest reports. And nothing
-- left behind: after a timeout, an error, a canceled task and an interrupt
-- the guest process is gone and the run's temp directory too — checked
-- through the API (the guest's process list, a stat and a listing of the
-- temp directory) and on this machine, which is the simulator's guest.
-- On rest, g:run raises "unsupported".
local vg = require "vguest"
local core = require "vguest.core"
local task = require "vguest.task"
local helper = require "spec.helper"

local err_of, assert_kind = helper.err_of, helper.assert_kind

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local alive, exists, noting = helper.alive, helper.exists, helper.noting

local function dirname(p) return (p:match("^(.*)/[^/]*$")) end
local function basename(p) return (p:match("([^/]*)$")) end

-- Waits (on the vguest loop: other tasks go on) until a helper.noting
-- command has run; returns its shell's pid and the run's temp directory.
local function where(marker)
  for _ = 1, 2000 do
    local pid, dir = helper.noted(marker)
    if pid then
      os.remove(marker)
      return pid, dir
    end
    vg.sleep(0.01)
  end
  error("the command never started: no " .. marker)
end

-- Nothing is left of a run: its process (the API's pid, and the shell on
-- this machine) has ended, its temp directory is gone.
local function assert_clean(g, api_pid, shell_pid, dir)
  assert.matches("/vguest%-run%-[^/]+$", dir)
  assert.is_not_nil(g:get(api_pid).exit_code, "the guest process " .. api_pid .. " still runs")
  assert.is_false(alive(shell_pid), "process " .. shell_pid .. " still runs on the guest")
  local err = err_of(g.stat, g, dir)
  assert_kind("not_found", err)
  for _, f in ipairs(g:list_files(dirname(dir))) do
    assert.are_not.equal(basename(dir), f.name, "the run's temp directory is still listed")
  end
  assert.is_false(exists(dir), dir .. " still exists")
end

for _, flavour in ipairs { "api", "vim25" } do
  describe("g:run (" .. flavour .. ")", function()
    local sim, s, g

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

    describe("what it returns", function()
      it("returns exit code, stdout, stderr, pid and times", function()
        local r = g:run { command = "printf out; printf err >&2; exit 3" }
        assert.are.equal(3, r.exit_code)
        assert.are.equal("out", r.stdout)
        assert.are.equal("err", r.stderr)
        assert.are.equal("integer", math.type(r.pid))
        assert.is_string(r.started)
        assert.is_string(r.finished)
        assert.is_nil(r.stdout_truncated)
        assert.is_nil(r.stderr_truncated)
      end)

      it("runs the program with no descriptor of the server's open", function()
        -- as under Tools: only the redirected 0, 1 and 2
        local r = g:run { command = "ls /proc/$$/fd" }
        assert.are.equal("0\n1\n2\n", r.stdout)
      end)

      it("quotes an argument vector for the guest: each argument comes back as it was", function()
        local args = { "it's", "", "two words", "\"double\"", "$HOME", "`id`", "back\\slash",
          "new\nline", "tab\there", "*", "UTF-8: é ✓ 日本", "-n" }
        local argv = { "/usr/bin/printf", "[%s]" }
        for _, a in ipairs(args) do argv[#argv + 1] = a end
        local r = g:run(argv)
        local want = {}
        for _, a in ipairs(args) do want[#want + 1] = "[" .. a .. "]" end
        assert.are.equal(table.concat(want), r.stdout)
        assert.are.equal(0, r.exit_code)
        assert.are.equal("it's\n", g:run { "/usr/bin/printf", "%s\n", "it's" }.stdout)
      end)

      it("looks a program without a slash up in the guest's PATH", function()
        assert.are.equal("found\n", g:run { "echo", "found" }.stdout)
      end)

      it("passes command text to the shell untouched", function()
        local r = g:run { command = "x=$((40 + 2)); echo \"$x\" | tr 4 y; echo 'single quoted' >&2" }
        assert.are.equal("y2\n", r.stdout)
        assert.are.equal("single quoted\n", r.stderr)
      end)

      it("keeps g:create's form: a path and a raw arguments string", function()
        local r = g:run { path = "/bin/sh", arguments = "-c 'exit 5'" }
        assert.are.equal(5, r.exit_code)
        r = g:run { path = "/usr/bin/printf", arguments = "'%s|' a 'b c'", working_directory = "/tmp",
          environment = { K = "v" } }
        assert.are.equal("a|b c|", r.stdout)
        assert.are.equal(0, g:run { path = "/bin/true" }.exit_code)
        assert.are.equal(7, g:run { path = "/bin/sh", arguments = "-c 'exit 7'", os = "posix" }.exit_code)
      end)

      it("reports exit codes 0, 1, 255 and a killed process as the guest does", function()
        local cases = {
          { { "/bin/true" }, 0 }, { { "/bin/false" }, 1 }, { { command = "exit 255" }, 255 },
          -- killed by a signal: whatever the guest reports (Linux Tools: the
          -- shell around the command, or 0 for a process a signal ended)
          { { command = "kill -9 $$" } }, { { command = "kill $$" } },
        }
        for _, c in ipairs(cases) do
          local r = g:run(c[1])
          if c[2] then assert.are.equal(c[2], r.exit_code) end
          assert.are.equal("integer", math.type(r.exit_code))
          assert.are.equal(g:get(r.pid).exit_code, r.exit_code, "not what the guest reports")
        end
      end)

      it("keeps stdout and stderr apart: a program that writes stderr only", function()
        local r = g:run { command = "echo to-stderr >&2; exit 2" }
        assert.are.equal("", r.stdout)
        assert.are.equal("to-stderr\n", r.stderr)
        assert.are.equal(2, r.exit_code)
      end)

      it("returns NUL, binary and UTF-8 bytes byte for byte", function()
        local r = g:run { "/usr/bin/printf", "a\\0b\\377\\001\\n\\r\\200" }
        assert.are.equal("a\0b\255\1\n\r\128", r.stdout)
        assert.are.equal(8, #r.stdout)
        r = g:run { command = "printf 'x\\0y' >&2" }
        assert.are.equal("x\0y", r.stderr)
        assert.are.equal("é ✓ 日本\n", g:run { "/bin/echo", "é ✓ 日本" }.stdout)
      end)

      it("returns a 10 MB output whole", function()
        local copy = helper.tmpname(".bin")
        local r = g:run { command = "head -c 10485760 /dev/urandom | tee " .. helper.quote(copy) }
        assert.are.equal(0, r.exit_code)
        assert.are.equal(10485760, #r.stdout)
        assert.is_true(r.stdout == slurp(copy), "the 10 MB came back changed")
        assert.is_nil(r.stdout_truncated)
        os.remove(copy)
      end)

      it("keeps max_output bytes of each stream and says it cut them", function()
        local r = g:run { command = "head -c 1000 /dev/zero; printf 12345 >&2", max_output = 100 }
        assert.are.equal(string.rep("\0", 100), r.stdout)
        assert.is_true(r.stdout_truncated)
        assert.are.equal("12345", r.stderr)
        assert.is_nil(r.stderr_truncated)
      end)

      it("streams the output into local files with stdout_file and stderr_file", function()
        local out, errf = helper.tmpname(".out"), helper.tmpname(".err")
        local r = g:run { command = "head -c 200000 /dev/zero | tr '\\0' o; echo problem >&2",
          stdout_file = out, stderr_file = errf }
        assert.are.equal(0, r.exit_code)
        assert.are.equal(string.rep("o", 200000), slurp(out))
        assert.are.equal("problem\n", slurp(errf))
        assert.are.equal("", r.stdout)
        assert.are.equal("", r.stderr)
        os.remove(out)
        os.remove(errf)
      end)
    end)

    describe("its options", function()
      it("runs in cwd", function()
        assert.are.equal("/tmp\n", g:run { "/bin/pwd", cwd = "/tmp" }.stdout)
        assert.are.equal("/\n", g:run { "/bin/pwd", working_directory = "/" }.stdout)
      end)

      it("merges env into the guest's environment by default", function()
        local path = g:getenv("PATH")
        assert.is_string(path)
        local r = g:run { command = 'printf "%s|%s" "$K" "$PATH"', env = { K = "v w", N = 42 } }
        assert.are.equal("v w|" .. path, r.stdout)
        -- env overrides a guest variable
        r = g:run { command = 'printf "%s" "$PATH"', env = { PATH = "/bin:/usr/bin:/only" } }
        assert.are.equal("/bin:/usr/bin:/only", r.stdout)
      end)

      it("replaces the environment with env_mode = 'replace'", function()
        local r = g:run { "/usr/bin/env", env = { K = "v" }, env_mode = "replace" }
        local vars = {}
        for name, value in r.stdout:gmatch("([^=\n]+)=([^\n]*)") do vars[name] = value end
        assert.are.equal("v", vars.K)
        assert.is_nil(vars.PATH, "PATH came from the guest's environment: " .. r.stdout)
      end)

      it("feeds stdin from a string, any bytes", function()
        local data = "line 1\nline 2\n\0\255 binary\r\n"
        local r = g:run { "/bin/cat", stdin = data }
        assert.are.equal(data, r.stdout)
        assert.are.equal("", g:run { "/bin/cat", stdin = "" }.stdout)
        assert.are.equal("", g:run { "/bin/cat" }.stdout) -- no stdin: nothing to read
      end)

      it("feeds stdin from a local file", function()
        local bytes = {}
        for i = 0, 255 do bytes[#bytes + 1] = string.char(i) end
        local data = string.rep(table.concat(bytes), 4096) -- 1 MiB
        local path = helper.write(helper.tmpname(".in"), data)
        local r = g:run { "/bin/cat", stdin = { file = path } }
        os.remove(path)
        assert.is_true(r.stdout == data, "stdin came back changed")
      end)

      it("raises not_found for a stdin file that is not there, before any I/O", function()
        local before = sim:stats().creates
        local err = err_of(g.run, g, { "/bin/cat", stdin = { file = "/no/such/stdin" } })
        assert_kind("not_found", err)
        assert.matches("/no/such/stdin", err.message)
        -- and for an output file it cannot create (never "no output")
        err = err_of(g.run, g, { "/bin/echo", "lost?", stdout_file = "/no/such/dir/out" })
        assert_kind("not_found", err)
        assert.matches("cannot write local file '/no/such/dir/out'", err.message, 1, true)
        assert.are.equal(before, sim:stats().creates)
      end)

      it("raises command_failed with check = true, the end of stderr in its message", function()
        assert.are.equal("ok\n", g:run { "/bin/echo", "ok", check = true }.stdout)
        local err = err_of(g.run, g, { command = "echo partial; echo 'disk full' >&2; exit 3", check = true })
        assert_kind("command_failed", err)
        assert.are.equal(3, err.exit_code)
        assert.are.equal("partial\n", err.stdout)
        assert.are.equal("disk full\n", err.stderr)
        assert.is_true(err.pid > 0)
        assert.matches("exited with code 3: disk full", err.message)
        assert.matches("^vguest: command_failed: run pid %d+ on web%-01 %(vm%-42%): ", tostring(err))
        err = err_of(g.run, g, { "/bin/false", check = true })
        assert.are.equal("'/bin/false' exited with code 1", err.message)
        err = err_of(g.run, g, { path = "/bin/sh", arguments = "-c 'exit 4'", check = true })
        assert.are.equal("'/bin/sh' exited with code 4", err.message)
        -- the command text itself (it may hold a secret) is never in the message
        err = err_of(g.run, g, { command = "exit 9 # s3cr3t", check = true })
        assert.are.equal("the command exited with code 9", err.message)
      end)

      it("raises not_found for a program that is not there", function()
        -- a path is the process the guest starts: the guest refuses it
        assert_kind("not_found", err_of(g.run, g, { "/no/such/program" }))
        -- through a shell, the shell reports it (127 and a message)
        local r = g:run { command = "/no/such/program" }
        assert.are.equal(127, r.exit_code)
        assert.matches("/no/such/program", r.stderr)
      end)
    end)

    describe("under faults", function()
      it("rides out busy and unavailable answers once its command has started", function()
        -- the output downloads refused twice, and taken again: the
        -- command ran once, its exit code and output are not lost
        local before = sim:stats()
        sim:control { fail_next = { count = 2, kind = "unavailable", ops = { "transfer" } } }
        local r = g:run { command = "printf out; printf err >&2; exit 4" }
        assert.are.equal(4, r.exit_code)
        assert.are.equal("out", r.stdout)
        assert.are.equal("err", r.stderr)
        local after = sim:stats()
        assert.are.equal(before.injected.failed + 2, after.injected.failed)
        assert.are.equal(before.creates + 1, after.creates)
      end)

      it("fails at once, retryable, when refused before its command started", function()
        -- the temp directory, then the create: nothing ran, the caller
        -- may run it again
        for _, ops in ipairs { { "files" }, { "create" } } do
          local before = sim:stats()
          sim:control { fail_next = { count = 1, kind = "unavailable", ops = ops } }
          local err = err_of(g.run, g, { command = "exit 4" })
          assert_kind("service_unavailable", err)
          assert.is_true(err.retryable, ops[1])
          assert.is_false(err.maybe_done, ops[1])
          assert.are.equal(before.creates, sim:stats().creates, ops[1])
        end
        assert.are.equal(4, g:run { command = "exit 4" }.exit_code)
      end)

      it("terminates at its timeout even when the terminate is refused at first", function()
        local marker = helper.tmpname(".where")
        local shell, dir
        local watcher = vg.spawn(function() shell, dir = where(marker) end)
        sim:control { fail_next = { count = 2, kind = "busy", ops = { "delete" } } }
        local err = err_of(g.run, g, { command = noting(marker, "exec sleep 60"), timeout = 1 })
        watcher:wait()
        assert_kind("timed_out", err)
        assert_clean(g, err.pid, shell, dir)
      end)

      it("says maybe_done when its command ran (or may have), never retryable then", function()
        -- a poll that cannot be read ends the run after its command started
        sim:control { malform_next = { count = 1, how = "not_json", ops = { "get", "list" } } }
        local err = err_of(g.run, g, { command = "sleep 0.2; exit 3" })
        assert_kind("protocol", err)
        assert.is_true(err.maybe_done)
        assert.is_false(err.retryable)
        -- a create answer lost: it may have run
        sim:control { drop_next_create_response = true }
        err = err_of(g.run, g, { command = "exit 3" })
        assert_kind("transport", err)
        assert.is_true(err.maybe_done)
        assert.is_false(err.retryable)
        -- a temp directory that cannot be made: nothing ran
        local before = sim:stats()
        sim:control { malform_next = { count = 1, how = "not_json", ops = { "files" } } }
        err = err_of(g.run, g, { command = "exit 3" })
        assert_kind("protocol", err)
        assert.is_false(err.maybe_done)
        assert.are.equal(before.creates, sim:stats().creates)
      end)
    end)

    describe("leaves nothing behind", function()
      it("on timeout: terminated, output so far attached, temp files gone", function()
        local marker = helper.tmpname(".where")
        local shell, dir
        local watcher = vg.spawn(function() shell, dir = where(marker) end)
        local err = err_of(g.run, g, { command = noting(marker, "echo before; echo err >&2; exec sleep 60"),
          timeout = 1 })
        watcher:wait()
        assert_kind("timed_out", err)
        assert.are.equal("before\n", err.stdout)
        assert.are.equal("err\n", err.stderr)
        assert.is_true(err.pid > 0)
        assert.is_nil(err.exit_code)
        assert_clean(g, err.pid, shell, dir)
      end)

      it("on an error in the middle of the run", function()
        local marker = helper.tmpname(".where")
        local t = vg.spawn(function() return g:run { command = noting(marker, "exec sleep 60") } end)
        local shell, dir = where(marker)
        -- the run's next poll gets an answer that does not parse (not
        -- retryable: the run ends there)
        sim:control { malform_next = { count = 1, how = "not_json", ops = { "get", "list" } } }
        local ok, err = t:result()
        assert.is_false(ok)
        assert_kind("protocol", err)
        assert.is_true(err.pid > 0)
        assert_clean(g, err.pid, shell, dir)
      end)

      it("on a canceled task: cancel returns once the guest is clean", function()
        local marker = helper.tmpname(".where")
        local t = vg.spawn(function() return g:run { command = noting(marker, "exec sleep 60") } end)
        local shell, dir = where(marker)
        local pids = {}
        for _, p in ipairs(g:list()) do
          if p.exit_code == nil then pids[#pids + 1] = p.pid end
        end
        assert.is_true(t:cancel())
        assert_kind("canceled", select(2, t:result()))
        -- the API's process of the run is among those that ran, and now every one has ended
        local api_pid
        for _, p in ipairs(g:list(pids)) do
          if (p.command or ""):find(marker, 1, true) then api_pid = p.pid end
        end
        assert.is_not_nil(api_pid, "the run's process is not in the guest's list")
        assert_clean(g, api_pid, shell, dir)
      end)

      it("when the session closes under a run of another task", function()
        local marker = helper.tmpname(".where")
        local other = helper.connect(flavour)
        local og = other:vm("web-01"):guest(helper.credentials())
        local t = vg.spawn(function() return og:run { command = noting(marker, "exec sleep 60") } end)
        local shell, dir = where(marker)
        other:close()
        -- close returned: the run was stopped and the guest cleaned first
        assert.is_false(alive(shell), "the run's process outlived its session")
        assert.is_false(exists(dir), dir .. " outlived its session")
        local ok, err = t:result()
        assert.is_false(ok)
        assert_kind("canceled", err)
        assert.is_true(err.pid > 0)
        assert_clean(g, err.pid, shell, dir)
      end)

      it("when a task fails and its <close> handler cancels the task running the command", function()
        local marker = helper.tmpname(".where")
        local shell, dir, worker
        local t = vg.spawn(function()
          worker = vg.spawn(function() return g:run { command = noting(marker, "exec sleep 60") } end)
          local _ <close> = setmetatable({}, { __close = function() worker:cancel() end })
          shell, dir = where(marker)
          error("boom", 0)
        end)
        local ok, err = t:result()
        assert.is_false(ok)
        assert.are.equal("boom", err)
        assert.are.equal("canceled", worker:status())
        assert.is_false(alive(shell))
        assert.is_false(exists(dir))
        assert_kind("not_found", err_of(g.stat, g, dir))
      end)

      it("on an interrupt (Ctrl-C) at the top level", function()
        if task.current() then return pending("runs at top level only") end
        local marker = helper.tmpname(".where")
        local shell, dir
        local t = vg.spawn(function()
          shell, dir = where(marker)
          core.interrupt()
        end)
        local err = err_of(g.run, g, { command = noting(marker, "exec sleep 60") })
        assert_kind("canceled", err)
        assert.is_true(t:done())
        assert.matches("/vguest%-run%-[^/]+$", dir)
        assert.is_false(alive(shell))
        assert_kind("not_found", err_of(g.stat, g, dir))
        assert.is_false(exists(dir))
      end)
    end)

    describe("transfers and TLS", function()
      it("verifies the ESXi host with ca_file, and refuses a wrong transfer_thumbprint", function()
        local pinned <close> = helper.connect(flavour, { transfer_thumbprint = string.rep("00", 32) })
        local pg = pinned:vm("web-01"):guest(helper.credentials())
        assert.are.equal("web-01", pinned:vm("web-01").name) -- the vCenter itself is fine
        local err = err_of(pg.run, pg, { "/bin/true" })
        assert_kind("tls", err)
      end)
    end)
  end)
end

describe("g:run's guest family", function()
  -- a simulator with a Windows VM: its family is reported, and vg_run
  -- goes through cmd.exe there (which this machine does not have)
  local sim
  setup(function()
    local cjson = require "cjson"
    local inv = cjson.decode(slurp(os.getenv("VGUEST_SIM_INVENTORY") or "sim/inventory.json"))
    local linux = inv.vms[1]
    inv.vms[#inv.vms + 1] = { id = "vm-60", name = "win-01", power_state = "POWERED_ON", tools = "running",
      os = "windows", cpu_count = 2, memory_size_MiB = 4096, accounts = linux.accounts }
    local path = helper.write(helper.tmpname(".json"), cjson.encode(inv))
    sim = helper.sim { inventory = path }
  end)
  after_each(helper.assert_loop_empty)

  for _, flavour in ipairs { "api", "vim25" } do
    it("is asked from the VM with os = 'auto' (" .. flavour .. ")", function()
      local s <close> = helper.connect(flavour, { sim = sim })
      local win = s:vm("win-01"):guest(helper.credentials())
      for _, spec in ipairs { { "whoami" }, { command = "ver" }, { path = "C:\\x.exe" } } do
        local err = err_of(win.run, win, spec)
        assert_kind("not_found", err)
        assert.matches("cmd.exe", err.message, 1, true)
      end
      -- said outright, the family is not asked: this guest is really this machine
      assert.are.equal("ok\n", win:run { "/bin/echo", "ok", os = "posix" }.stdout)
      local lin = s:vm("web-01"):guest(helper.credentials())
      assert.are.equal("ok\n", lin:run { "/bin/echo", "ok" }.stdout)
    end)
  end
end)

describe("g:run (rest)", function()
  local s, g
  setup(function()
    s = helper.connect("rest")
    g = s:vm("web-01"):guest(helper.credentials())
  end)
  teardown(function()
    if s then s:close() end
    helper.assert_loop_empty()
  end)

  it("raises unsupported, naming the missing API, and starts nothing", function()
    local before = helper.sim():stats().creates
    for _, spec in ipairs { { "/bin/true" }, { command = "true" }, { path = "/bin/true" } } do
      local err = err_of(g.run, g, spec)
      assert_kind("unsupported", err)
      assert.matches("rest", err.message)
      assert.matches("filesystem", err.message)
    end
    assert.are.equal(before, helper.sim():stats().creates)
  end)
end)
