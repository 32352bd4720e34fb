-- vguest.core: guest files, transfers and runs. Argument checks of every
-- new call (each message names the call and the argument), the quoting of
-- argument vectors (core.command_line) round-tripped through this
-- machine's /bin/sh, the transfer options of core.session, Op:stop, and
-- the lifetime of a pending run. Against the simulator: the shape of a
-- run's result and of its error, and Op:stop's clean-up.
local H = dofile((debug.getinfo(1, "S").source:match("^@(.-)[^/]*$") or "./") .. "helper.lua")
local core = H.core

local function expect(msg, f)
  local err = H.raises(f)
  assert(err, "expected an error containing: " .. msg)
  if not err:find(msg, 1, true) then
    error(string.format("expected an error containing\n  %s\ngot\n  %s", msg, err), 2)
  end
  assert.is_false(H.mentions_secret(err))
end

local function shell_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

describe("vguest.core files and runs", function()
  local secret, cred, sess
  before_each(function()
    secret = core.secret(H.SECRET)
    cred = core.credentials { user = "root", password = secret }
    sess = core.session { server = "https://127.0.0.1:1", user = "admin", password = secret }
  end)
  after_each(function()
    sess:close()
    H.drain()
  end)

  describe("argument checks", function()
    it("run", function()
      local function run(spec) sess:run("vm-42", cred, spec) end
      expect("bad argument #3 to 'run' (table expected, got no value)", function() sess:run("vm-42", cred) end)
      expect("bad argument #1 to 'run' (VM id must be a non-empty string, got number)",
        function() sess:run(42, cred, { "/bin/true" }) end)
      expect("bad argument #2 to 'run' (vguest.Credentials expected, got string)",
        function() sess:run("vm-42", "root", { "/bin/true" }) end)
      local cases = {
        { "a program is required: {program, arguments...} or field 'command'", {} },
        { "an argument vector and field 'command' are exclusive", { "/bin/true", command = "true" } },
        { "unknown option 'timout'", { "/bin/true", timout = 1 } },
        { "unknown option 'path'", { path = "/bin/true" } },
        { "option names must be strings, got boolean", { "/bin/true", [true] = 1 } },
        { "the argument vector must be an array (keys 1..n), got key 3", { "/bin/true", [3] = "x" } },
        { "argument vector element 2 must be a string, got number", { "/bin/echo", 5 } },
        { "argument vector element 2 contains a NUL byte", { "/bin/echo", "a\0b" } },
        { "argument vector element 1 (the program) must not be empty", { "" } },
        { "field 'command' must not be empty", { command = "" } },
        { "field 'command' must be a string, got table", { command = {} } },
        { "field 'os' must be one of 'auto', 'posix', 'windows', got 'dos'", { "/bin/true", os = "dos" } },
        { "field 'cwd' must not be empty", { "/bin/true", cwd = "" } },
        { "fields 'cwd' and 'working_directory' are exclusive", { "/bin/true", cwd = "/", working_directory = "/" } },
        { "field 'working_directory' must be a string, got number", { "/bin/true", working_directory = 1 } },
        { "fields 'env' and 'environment' are exclusive", { "/bin/true", env = {}, environment = {} } },
        { "field 'env' must be a table, got string", { "/bin/true", env = "A=B" } },
        { "environment name \"A=B\" contains '='", { "/bin/true", env = { ["A=B"] = "c" } } },
        { "field 'environment' must map names to strings, got number = string", { "/bin/true", environment = { "x" } } },
        { "field 'env_mode' must be one of 'merge', 'replace', got 'add'", { "/bin/true", env_mode = "add" } },
        { "field 'stdin' must be a string or a table {file=...}, got number", { "/bin/true", stdin = 1 } },
        { "field 'stdin': unknown option 'path'", { "/bin/true", stdin = { path = "/x" } } },
        { "field 'stdin': field 'file' must be a non-empty string (a local path), got nil",
          { "/bin/true", stdin = {} } },
        { "field 'timeout' must be a positive number of seconds, got 0", { "/bin/true", timeout = 0 } },
        { "field 'timeout' must be a number, got string", { "/bin/true", timeout = "1" } },
        { "field 'timeout' must be at most 31536000 seconds, got 1e+16", { "/bin/true", timeout = 1e16 } },
        { "field 'max_output' must be a positive integer, got 0", { "/bin/true", max_output = 0 } },
        { "field 'max_output' must be a positive integer, got 1.5", { "/bin/true", max_output = 1.5 } },
        { "field 'stdout_file' must not be empty", { "/bin/true", stdout_file = "" } },
        { "field 'stderr_file' must be a string, got boolean", { "/bin/true", stderr_file = true } },
      }
      for _, c in ipairs(cases) do
        expect("bad argument #3 to 'run' (" .. c[1] .. ")", function() run(c[2]) end)
      end
      -- the caller's call name and numbering
      expect("bad argument #1 to 'deploy' (unknown option 'x')",
        function() sess:run("vm-42", cred, { "/bin/true", x = 1 }, "deploy") end)
      expect("calling 'deploy' on bad self (vguest.Credentials expected, got no value)",
        function() sess:run("vm-42", nil, { "/bin/true" }, "deploy") end)
      assert.equal(0, core.pending()) -- nothing was started
    end)

    it("a missing stdin file is an error table naming the file, before any I/O", function()
      local ok, err = pcall(sess.run, sess, "vm-42", cred, { "/bin/cat", stdin = { file = "/no/such/file" } })
      assert.is_false(ok)
      assert.are.equal("table", type(err))
      assert.are.equal("not_found", err.kind)
      assert.are.equal("run", err.op)
      assert.matches("cannot open local file '/no/such/file'", err.message)
      assert.equal(0, core.pending())
    end)

    it("guest_os and command_line", function()
      expect("bad argument #1 to 'guest_os' (VM id must be a non-empty string, got no value)",
        function() sess:guest_os() end)
      expect("bad argument #1 to 'command_line' (string expected, got no value)",
        function() core.command_line() end)
      expect("bad argument #1 to 'command_line' (guest family must be 'posix' or 'windows')",
        function() core.command_line("auto", { "x" }) end)
      expect("bad argument #2 to 'command_line' (table expected, got string)",
        function() core.command_line("posix", "x") end)
      expect("bad argument #2 to 'command_line' (the argument vector is empty)",
        function() core.command_line("posix", {}) end)
      expect("bad argument #2 to 'command_line' (argument vector element 1 (the program) must not be empty)",
        function() core.command_line("posix", { "" }) end)
      expect("bad argument #2 to 'command_line' (an argument holds a line break, which cmd.exe cannot carry)",
        function() core.command_line("windows", { "x", "a\nb" }) end)
    end)

    it("file calls", function()
      local function path_cases(m, n)
        expect("bad argument #" .. n .. " to '" .. m .. "' (path must be a non-empty string, got no value)",
          function() sess[m](sess, "vm-42", cred) end)
        expect("bad argument #" .. n .. " to '" .. m .. "' (path must be a non-empty string, got number)",
          function() sess[m](sess, "vm-42", cred, 5) end)
        expect("bad argument #" .. n .. " to '" .. m .. "' (path must be a non-empty string, got an empty string)",
          function() sess[m](sess, "vm-42", cred, "") end)
        expect("bad argument #" .. n .. " to '" .. m .. "' (path must be a non-empty string, got a string with a NUL byte)",
          function() sess[m](sess, "vm-42", cred, "/tmp/a\0b") end)
      end
      for _, m in ipairs { "stat", "list_files", "mkdir", "remove", "read_file", "write_file" } do
        path_cases(m, 4)
      end
      expect("bad argument #3 to 'mktemp' (unknown option 'prefx')",
        function() sess:mktemp("vm-42", cred, { prefx = "a" }) end)
      expect("bad argument #3 to 'mktemp' (field 'dir' must not be empty)",
        function() sess:mktemp("vm-42", cred, { dir = "" }) end)
      expect("bad argument #3 to 'mktemp' (field 'directory' must be a boolean, got number)",
        function() sess:mktemp("vm-42", cred, { directory = 1 }) end)
      expect("bad argument #4 to 'mkdir' (field 'parents' must be a boolean, got string)",
        function() sess:mkdir("vm-42", cred, "/tmp/x", { parents = "yes" }) end)
      expect("bad argument #4 to 'remove' (field 'recursive' needs 'directory')",
        function() sess:remove("vm-42", cred, "/tmp/x", { recursive = true }) end)
      expect("bad argument #4 to 'remove' (unknown option 'force')",
        function() sess:remove("vm-42", cred, "/tmp/x", { force = true }) end)
      expect("bad argument #4 to 'read_file' (field 'max_bytes' must be a positive integer, got -1)",
        function() sess:read_file("vm-42", cred, "/tmp/x", { max_bytes = -1 }) end)
      expect("bad argument #4 to 'write_file' (string expected, got no value)",
        function() sess:write_file("vm-42", cred, "/tmp/x") end)
      expect("bad argument #4 to 'write_file' (string expected, got number)",
        function() sess:write_file("vm-42", cred, "/tmp/x", 42) end)
      local function attrs(a) sess:write_file("vm-42", cred, "/tmp/x", "data", a) end
      local cases = {
        { "unknown option 'owner_name'", { owner_name = "root" } },
        { "field 'overwrite' must be a boolean, got string", { overwrite = "yes" } },
        { "field 'mode' must be an integer in 0..4095 (07777) or a string of octal digits, got -1", { mode = -1 } },
        { "field 'mode' must be an integer in 0..4095 (07777) or a string of octal digits, got 4096", { mode = 4096 } },
        { "field 'mode' must be an integer in 0..4095 (07777) or a string of octal digits, got 1.5", { mode = 1.5 } },
        { "field 'mode' must be an integer or a string of octal digits (\"0644\"), got a string that is neither", { mode = "rw-r--r--" } },
        { "field 'mode' must be an integer or a string of octal digits (\"0644\"), got a string that is neither", { mode = "0689" } },
        { "field 'mode' must be at most 07777 (4095)", { mode = "17777" } },
        { "field 'owner' must be a non-negative integer (a numeric id), got string", { owner = "root" } },
        { "field 'group' must be a non-negative integer (a numeric id), got -1", { group = -1 } },
      }
      for _, c in ipairs(cases) do
        expect("bad argument #5 to 'write_file' (" .. c[1] .. ")", function() attrs(c[2]) end)
      end
      expect("bad argument #3 to 'upload' (local path must be a non-empty string, got no value)",
        function() sess:upload("vm-42", cred) end)
      expect("bad argument #4 to 'upload' (guest path must be a non-empty string, got number)",
        function() sess:upload("vm-42", cred, "/etc/hostname", 1) end)
      expect("bad argument #5 to 'upload' (field 'mode' must be at most 07777 (4095))",
        function() sess:upload("vm-42", cred, "/etc/hostname", "/tmp/x", { mode = "77777" }) end)
      expect("bad argument #3 to 'download' (guest path must be a non-empty string, got boolean)",
        function() sess:download("vm-42", cred, true, "/tmp/x") end)
      expect("bad argument #4 to 'download' (local path must be a non-empty string, got no value)",
        function() sess:download("vm-42", cred, "/etc/hostname") end)
      -- a caller's call name
      expect("bad argument #1 to 'read_file' (path must be a non-empty string, got no value)",
        function() sess:read_file("vm-42", cred, nil, nil, "read_file") end)
      expect("bad argument #2 to 'write_file' (string expected, got no value)",
        function() sess:write_file("vm-42", cred, "/tmp/x", nil, nil, "write_file") end)
      assert.equal(0, core.pending()) -- nothing was started
    end)

    it("a local file that cannot be opened for upload is an error table", function()
      local ok, err = pcall(sess.upload, sess, "vm-42", cred, "/no/such/file", "/tmp/x")
      assert.is_false(ok)
      assert.are.equal("not_found", err.kind)
      assert.are.equal("upload", err.op)
      assert.matches("cannot open local file '/no/such/file': No such file or directory", err.message)
      assert.equal(0, core.pending())
    end)

    it("a local file that cannot be written is an error table, before any I/O", function()
      local cases = {
        { function() return sess:download("vm-42", cred, "/etc/hostname", "/no/such/dir/out") end,
          "download", "not_found", "cannot write local file '/no/such/dir/out': No such file or directory" },
        { function() return sess:download("vm-42", cred, "/etc/hostname", "/tmp") end,
          "download", "invalid_argument", "cannot write local file '/tmp': Is a directory" },
        { function() return sess:run("vm-42", cred, { "/bin/true", stdout_file = "/no/such/dir/out" }) end,
          "run", "not_found", "cannot write local file '/no/such/dir/out'" },
        { function() return sess:run("vm-42", cred, { "/bin/true", stderr_file = "/tmp" }) end,
          "run", "invalid_argument", "cannot write local file '/tmp': Is a directory" },
        { function() return sess:upload("vm-42", cred, "/tmp", "/tmp/x") end,
          "upload", "invalid_argument", "cannot open local file '/tmp': Is a directory" },
      }
      for _, c in ipairs(cases) do
        local ok, err = pcall(c[1])
        assert.is_false(ok)
        assert.are.equal("table", type(err), tostring(err))
        assert.are.equal(c[2], err.op)
        assert.are.equal(c[3], err.kind)
        assert.are.equal(c[4], err.message:sub(1, #c[4]))
      end
      assert.equal(0, core.pending())
    end)

    it("a closed session refuses every new method", function()
      sess:close()
      local closed = "attempt to use a closed vguest.Session"
      expect(closed, function() sess:run("vm-42", cred, { "/bin/true" }) end)
      expect(closed, function() sess:guest_os("vm-42") end)
      expect(closed, function() sess:mktemp("vm-42", cred) end)
      expect(closed, function() sess:stat("vm-42", cred, "/tmp") end)
      expect(closed, function() sess:list_files("vm-42", cred, "/tmp") end)
      expect(closed, function() sess:mkdir("vm-42", cred, "/tmp/x") end)
      expect(closed, function() sess:remove("vm-42", cred, "/tmp/x") end)
      expect(closed, function() sess:read_file("vm-42", cred, "/tmp/x") end)
      expect(closed, function() sess:write_file("vm-42", cred, "/tmp/x", "") end)
      expect(closed, function() sess:upload("vm-42", cred, "/etc/hostname", "/tmp/x") end)
      expect(closed, function() sess:download("vm-42", cred, "/tmp/x", "/tmp/y") end)
    end)

    it("session transfer options", function()
      local function opts(extra)
        local o = { server = "https://127.0.0.1:1", user = "admin", password = secret }
        for k, v in pairs(extra) do o[k] = v end
        return o
      end
      local function session(o) core.session(o) end
      local tp = string.rep("ab", 32)
      local cases = {
        { "field 'insecure_transfers' must be a boolean, got number", opts { insecure_transfers = 1 } },
        { "field 'transfer_thumbprint' must be a string or a table mapping host names to thumbprints, got number",
          opts { transfer_thumbprint = 1 } },
        { "field 'transfer_thumbprint' must be a string or a table mapping host names to thumbprints, got number = string",
          opts { transfer_thumbprint = { tp } } },
        { "field 'transfer_thumbprint' has a host name that is empty or holds '=' or a NUL byte",
          opts { transfer_thumbprint = { ["a=b"] = tp } } },
        { "field 'transfer_thumbprint' contains a NUL byte", opts { transfer_thumbprint = "ab\0cd" } },
      }
      for _, c in ipairs(cases) do
        expect("bad argument #1 to 'session' (" .. c[1] .. ")", function() session(c[2]) end)
      end
      -- the runtime's own check of a pin, with its reason
      expect("bad argument #1 to 'session' (transfer_thumbprint must be a SHA-1 (40) or SHA-256 (64) hex digest)",
        function() session(opts { transfer_thumbprint = "zz" }) end)
      expect("bad argument #1 to 'session' (a transfer pin must be a SHA-1 (40) or SHA-256 (64) hex digest)",
        function() session(opts { transfer_thumbprint = { esx1 = "zz" } }) end)
      core.session(opts { transfer_thumbprint = tp }):close()
      core.session(opts { transfer_thumbprint = { esx1 = tp, ["esx2.example.com"] = string.rep("CD", 20) } }):close()
    end)
  end)

  describe("command_line", function()
    -- Each argument must come back to the program byte for byte.
    local vectors = {
      { "it's", "" },
      { "two words", "tab\there", "new\nline", "cr\rlf" },
      { "$HOME", "`id`", "$(id)", "\\", "\\\\", "\"", "'", "''", "*", "?", "[a]", "~", "#", ";", "&", "|", "<", ">" },
      { "UTF-8: é ✓ 日本", "-n", "-e", "--", "%s", "!" },
    }
    for i, args in ipairs(vectors) do
      it("quotes for /bin/sh (vector " .. i .. ")", function()
        local argv = { "/usr/bin/printf", "[%s]" }
        for _, a in ipairs(args) do argv[#argv + 1] = a end
        local line = core.command_line("posix", argv)
        local p = assert(io.popen("/bin/sh -c " .. shell_quote(line), "r"))
        local out = p:read("a")
        p:close()
        local want = {}
        for _, a in ipairs(args) do want[#want + 1] = "[" .. a .. "]" end
        assert.are.equal(table.concat(want), out)
      end)
    end

    it("quotes for cmd.exe: spaces, quotes and metacharacters", function()
      assert.are.equal('^"C:\\Program Files\\x.exe^" a ^"b c^" ^"d\\^"e^" ^&^|^<^>',
        core.command_line("windows", { "C:\\Program Files\\x.exe", "a", "b c", 'd"e', "&|<>" }))
    end)
  end)

  describe("Op:stop", function()
    it("is false for an op that is not a run, and for a finished one", function()
      local t = core.timer(60000)
      assert.is_false(t:stop())
      assert.are.equal("pending", t:status())
      assert.is_true(t:cancel())
      local done = core.timer(0)
      H.wait(done)
      assert.is_false(done:stop())
      expect("bad argument #1 to 'stop' (vguest.Op expected, got number)",
        function() getmetatable(done).__index.stop(1) end)
    end)

    it("keeps the Session of a pending run alive; the run completes after a stop", function()
      local op = sess:run("vm-42", cred, { "/bin/true" })
      local weak = setmetatable({ sess }, { __mode = "v" })
      sess = nil
      H.collect()
      assert.is_not_nil(weak[1], "the session was collected under a pending run")
      assert.is_true(op:stop())
      H.wait(op)
      assert.are_not.equal("ok", op:status())
      local v, err = op:result()
      assert.is_nil(v)
      assert.are.equal("table", type(err))
      assert.are.equal("run", err.op)
      assert.is_nil(err.stdout) -- no process was started: no output attached
      sess = weak[1]
    end)

    it("a pending run is anchored, and closing its Session completes it canceled", function()
      local op = sess:run("vm-42", cred, { "/bin/true" })
      local weak = setmetatable({ op }, { __mode = "v" })
      op = nil
      H.collect()
      assert.is_not_nil(weak[1], "a pending run was collected")
      sess:close()
      -- completed by the close, reported by the next step
      local reported = core.step(0)
      for _, o in ipairs(H.drain()) do reported[#reported + 1] = o end
      assert.are.equal(1, #reported)
      assert.are.equal(weak[1], reported[1])
      assert.are.equal("canceled", reported[1]:status())
    end)
  end)
end)

describe("vguest.core runs and files against the simulator", function()
  local sim, skip, sess, cred
  setup(function()
    sim, skip = H.sim()
    if sim then
      sess = H.session(sim, { protocol = "api" })
      cred = H.guest(sim)
    end
  end)
  teardown(function()
    if sess then sess:close() end
    H.drain()
    H.stop_sim()
  end)

  it("returns the result of a run: exit code, both streams, pid, times", function()
    if not sim then return pending(skip) end
    local r, err = H.run(sess:run("vm-42", cred, { command = "printf out; printf err >&2; exit 3" }))
    assert.is_nil(err, err and err.message)
    assert.are.equal(3, r.exit_code)
    assert.are.equal("out", r.stdout)
    assert.are.equal("err", r.stderr)
    assert.are.equal("number", math.type(r.pid) and "number")
    assert.is_string(r.started)
    assert.is_string(r.finished)
    assert.is_nil(r.stdout_truncated)
    assert.is_nil(r.stderr_truncated)
  end)

  it("attaches the output so far to the error of a run that timed out", function()
    if not sim then return pending(skip) end
    local r, err = H.run(sess:run("vm-42", cred, { command = "echo before; exec sleep 60", timeout = 0.5 }))
    assert.is_nil(r)
    assert.are.equal("timed_out", err.kind)
    assert.are.equal("before\n", err.stdout)
    assert.are.equal("", err.stderr)
    assert.is_true(err.pid > 0)
    assert.is_nil(err.exit_code)
  end)

  it("stops a run: it completes canceled after its clean-up", function()
    if not sim then return pending(skip) end
    local marker = os.tmpname()
    os.remove(marker)
    local op = sess:run("vm-42", cred, { command = "echo started > " .. marker .. "; exec sleep 60" })
    -- stop it once the process runs (the guest is this machine: it says so)
    for _ = 1, 1000 do
      core.step(20)
      local f = io.open(marker)
      if f then
        f:close()
        break
      end
    end
    os.remove(marker)
    assert.is_true(op:stop())
    H.wait(op)
    local _, err = op:result()
    assert.are.equal("canceled", err.kind)
    assert.is_true(err.pid > 0)
    local info = H.run(sess:get("vm-42", cred, err.pid))
    assert.is_not_nil(info.exit_code, "the process is still running")
  end)
end)
