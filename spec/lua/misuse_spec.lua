-- Misuse of every public call of the friendly API (require "vguest"):
-- wrong types, unknown option keys, wrong element types, empty strings,
-- negative or fractional numbers where integers are expected, closed
-- objects. Each message must
--   * be raised at the caller's line (this file), as luaL_argerror does,
--   * name the call the user wrote and the argument ("bad argument #1 to
--     'create' (...)"), never '?', never another layer's function name,
--   * say "bad argument" once: no message wrapped inside another.
local vg = require "vguest"
local helper = require "spec.helper"

local THIS = debug.getinfo(1, "S").short_src

-- The message f raises; asserts the properties above. `n` is the argument
-- number (nil for messages about self or a closed object), `want` a plain
-- substring the message must contain.
local function misuse(call, n, want, f)
  local ok, err = pcall(f)
  assert(not ok, string.format("%s: expected an error containing %q", call, want))
  assert(type(err) == "string", call .. ": misuse must raise a string, got " .. tostring(err))
  local where = string.format("%s:%%d+: ", THIS:gsub("%p", "%%%0"))
  if not err:match("^" .. where) then
    error(string.format("%s: not raised at the caller's line:\n  %s", call, err), 2)
  end
  if n then
    local head = string.format("bad argument #%d to '%s' (", n, call)
    if not err:find(head, 1, true) then
      error(string.format("expected\n  %s...\ngot\n  %s", head, err), 2)
    end
  end
  if not err:find(want, 1, true) then
    error(string.format("expected an error containing\n  %s\ngot\n  %s", want, err), 2)
  end
  assert(not err:find("'?'", 1, true), "a message naming '?': " .. err)
  assert(not err:find("vguest.core", 1, true), "a message naming the C module: " .. err)
  local _, count = err:gsub("bad argument", "")
  assert(count <= 1, "a wrapped message: " .. err)
  helper.no_secret(err)
  return err
end

describe("misuse of the friendly API", function()
  local sim, s, vm, cred, g, p
  local function conn(extra)
    local o = { server = sim.url, user = sim.user, password = sim.password, ca_file = sim.ca_file }
    for k, v in pairs(extra) do o[k] = v end
    return o
  end

  setup(function()
    sim = helper.sim()
    s = helper.connect("api")
    vm = s:vm("web-01")
    cred = helper.credentials()
    g = vm:guest(cred)
    p = g:create { path = "/bin/true" }
    p:wait()
  end)
  teardown(function()
    s:close()
    helper.assert_loop_empty()
  end)
  after_each(helper.assert_loop_empty)

  it("vg.connect", function()
    misuse("connect", 1, "table expected, got string", function() vg.connect "x" end)
    misuse("connect", 1, "unknown option 'timout'", function() vg.connect(conn { timout = 3 }) end)
    misuse("connect", 1, "option names must be strings, got number",
      function() vg.connect(conn { [1] = 2 }) end)
    misuse("connect", 1, "field 'server' must be a string, got number",
      function() vg.connect(conn { server = 1 }) end)
    misuse("connect", 1, "server is required", function() vg.connect(conn { server = "" }) end)
    misuse("connect", 1, "server must be an https:// URL or a host name",
      function() vg.connect(conn { server = "ftp://x" }) end)
    misuse("connect", 1, "user is required", function() vg.connect(conn { user = "" }) end)
    misuse("connect", 1, "field 'protocol' must be one of 'auto', 'api', 'rest', 'vim25', got 'soap'",
      function() vg.connect(conn { protocol = "soap" }) end)
    misuse("connect", 1, "field 'protocol' must be a string, got number",
      function() vg.connect(conn { protocol = 1 }) end)
    misuse("connect", 1, "field 'timeout' must be a positive number of seconds, got -1",
      function() vg.connect(conn { timeout = -1 }) end)
    misuse("connect", 1, "field 'timeout' must be a number, got string",
      function() vg.connect(conn { timeout = "30" }) end)
    misuse("connect", 1, "field 'timeout' must be at most 31536000 seconds, got 1e+16",
      function() vg.connect(conn { timeout = 1e16 }) end)
    misuse("connect", 1, "field 'max_connections' must be a positive integer, got 0",
      function() vg.connect(conn { max_connections = 0 }) end)
    misuse("connect", 1, "field 'max_connections' must be a positive integer, got 1.5",
      function() vg.connect(conn { max_connections = 1.5 }) end)
    misuse("connect", 1, "field 'insecure' must be a boolean, got number",
      function() vg.connect(conn { insecure = 1 }) end)
    misuse("connect", 1, "field 'ca_file' must not be empty", function() vg.connect(conn { ca_file = "" }) end)
    misuse("connect", 1, "thumbprint must be a SHA-1 (40) or SHA-256 (64) hex digest",
      function() vg.connect(conn { thumbprint = "zz" }) end)
    misuse("connect", 1, "field 'release' must be a string, got table",
      function() vg.connect(conn { release = {} }) end)
    misuse("connect", 1, "field 'password' must be a string, vguest.Secret or table",
      function() vg.connect(conn { password = 12 }) end)
    misuse("connect", 1, "field 'password': unknown option 'nev'",
      function() vg.connect(conn { password = { nev = "X" } }) end)
    misuse("connect", 1, "field 'server' contains a NUL byte",
      function() vg.connect(conn { server = "https://a\0b" }) end)
  end)

  it("vg.secret", function()
    misuse("secret", 1, "string, vguest.Secret or table {env=|file=|prompt=} expected, got number",
      function() vg.secret(42) end)
    misuse("secret", 1, "expected, got no value", function() vg.secret() end)
    misuse("secret", 1, "exactly one of 'env', 'file', 'prompt' expected", function() vg.secret {} end)
    misuse("secret", 1, "unknown option 'nev'", function() vg.secret { nev = "A" } end)
    misuse("secret", 1, "field 'env' must be a non-empty string, got number", function() vg.secret { env = 3 } end)
    misuse("secret", 1, "field 'env' must be a non-empty string, got an empty string",
      function() vg.secret { env = "" } end)
    misuse("secret", 1, "environment variable VGUEST_SPEC_SURELY_UNSET is not set",
      function() vg.secret { env = "VGUEST_SPEC_SURELY_UNSET" } end)
    misuse("secret", 1, "cannot read secret file '/nonexistent/x'",
      function() vg.secret { file = "/nonexistent/x" } end)
  end)

  it("vg.credentials", function()
    misuse("credentials", 1, "table expected, got string", function() vg.credentials "x" end)
    misuse("credentials", 1, "unknown option 'pasword'",
      function() vg.credentials { user = "root", pasword = "x" } end)
    misuse("credentials", 1, "field 'user' must be a string, got number",
      function() vg.credentials { user = 1, password = "x" } end)
    misuse("credentials", 1, "a user is required with a password",
      function() vg.credentials { user = "", password = "x" } end)
    misuse("credentials", 1, "field 'password' must be a string, vguest.Secret or table",
      function() vg.credentials { user = "root", password = 3 } end)
    misuse("credentials", 1, "fields 'password' and 'saml_token' are exclusive",
      function() vg.credentials { user = "root", password = "x", saml_token = "y" } end)
    misuse("credentials", 1, "field 'interactive' must be a boolean, got number",
      function() vg.credentials { user = "root", password = "x", interactive = 1 } end)
    misuse("credentials", 1, "interactive sessions need a password, not a SAML token",
      function() vg.credentials { user = "root", saml_token = "x", interactive = true } end)
  end)

  it("session methods", function()
    misuse("vms", 1, "table expected, got string", function() s:vms "web-01" end)
    misuse("vms", 1, "unknown option 'name'", function() s:vms { name = { "x" } } end)
    misuse("vms", 1, "field 'names' must be an array of strings, got string",
      function() s:vms { names = "x" } end)
    misuse("vms", 1, "field 'names' must be an array of non-empty strings, got number at index 1",
      function() s:vms { names = { 1 } } end)
    misuse("vms", 1, "field 'names' must be an array of non-empty strings, got an empty string at index 1",
      function() s:vms { names = { "" } } end)
    misuse("vms", 1, "field 'ids' must be an array of strings, got a table with key 'a'",
      function() s:vms { ids = { a = "x" } } end)
    misuse("vms", 1, "field 'power_state' must be one of 'POWERED_ON', 'POWERED_OFF', 'SUSPENDED', got 'ON'",
      function() s:vms { power_state = "ON" } end)
    misuse("vm", 1, "VM name or id expected, got number", function() s:vm(42) end)
    misuse("vm", 1, "VM name or id expected, got no value", function() s:vm() end)
    misuse("vm", 1, "VM name or id must not be empty", function() s:vm("") end)
    misuse("vm", nil, "calling 'vm' on bad self", function() s.vm("web-01") end)
    misuse("info", nil, "calling 'info' on bad self", function() s.info(1) end)
    misuse("close", nil, "calling 'close' on bad self", function() s.close(1) end)
  end)

  it("vm:guest", function()
    misuse("guest", 1, "vguest.Credentials expected, got number", function() vm:guest(42) end)
    misuse("guest", 1, "unknown option 'usr'", function() vm:guest { usr = "x", password = "y" } end)
    misuse("guest", 1, "field 'user' must be a string, got boolean",
      function() vm:guest { user = true, password = "y" } end)
    misuse("guest", nil, "calling 'guest' on bad self", function() vm.guest(cred) end)
  end)

  it("g:create", function()
    misuse("create", 1, "table expected, got no value", function() g:create() end)
    misuse("create", 1, "table expected, got string", function() g:create "/bin/true" end)
    misuse("create", 1, "unknown option 'pth'", function() g:create { pth = "/bin/true" } end)
    misuse("create", 1, "field 'path' is required", function() g:create {} end)
    misuse("create", 1, "field 'path' must not be empty", function() g:create { path = "" } end)
    misuse("create", 1, "field 'path' must be a string, got number", function() g:create { path = 1 } end)
    misuse("create", 1, "field 'path' contains a NUL byte", function() g:create { path = "/bin/\0true" } end)
    misuse("create", 1, "field 'arguments' must be a string, got number",
      function() g:create { path = "/bin/true", arguments = 1 } end)
    misuse("create", 1, "field 'working_directory' must not be empty",
      function() g:create { path = "/bin/true", working_directory = "" } end)
    misuse("create", 1, "field 'start_minimized' must be a boolean, got string",
      function() g:create { path = "/bin/true", start_minimized = "no" } end)
    misuse("create", 1, "field 'environment' must be a table, got string",
      function() g:create { path = "/bin/true", environment = "A=B" } end)
    misuse("create", 1, "environment name \"A=B\" contains '='",
      function() g:create { path = "/bin/true", environment = { ["A=B"] = "c" } } end)
    misuse("create", 1, "environment name is empty",
      function() g:create { path = "/bin/true", environment = { [""] = "c" } } end)
    misuse("create", 1, "field 'environment' must map names to strings, got number = string",
      function() g:create { path = "/bin/true", environment = { "A=B" } } end)
    misuse("create", 1, "field 'environment' must map names to strings, got string = table",
      function() g:create { path = "/bin/true", environment = { K = {} } } end)
    misuse("create", 1, "field 'environment' must map names to strings, got string = boolean",
      function() g:create { path = "/bin/true", environment = { K = true } } end)
    misuse("create", 1, "environment value of \"K\" contains a NUL byte",
      function() g:create { path = "/bin/true", environment = { K = "a\0b" } } end)
    misuse("create", nil, "calling 'create' on bad self", function() g.create { path = "/bin/true" } end)
  end)

  it("g:get, g:delete, g:process", function()
    for _, m in ipairs { "get", "delete", "process" } do
      local f = g[m]
      misuse(m, 1, "pid must be a positive integer, got no value", function() f(g) end)
      misuse(m, 1, "pid must be a positive integer, got string", function() f(g, "12") end)
      misuse(m, 1, "pid must be a positive integer, got 0", function() f(g, 0) end)
      misuse(m, 1, "pid must be a positive integer, got -1", function() f(g, -1) end)
      misuse(m, 1, "pid must be a positive integer, got 1.5", function() f(g, 1.5) end)
      misuse(m, 1, "pid must be a positive integer, got 9.2233720368548e+18", function() f(g, 2 ^ 63) end)
      misuse(m, nil, "calling '" .. m .. "' on bad self", function() f(1, 1) end)
    end
  end)

  it("g:list", function()
    misuse("list", 1, "pids must be an array of positive integers, got string", function() g:list "1" end)
    misuse("list", 1, "pids must be an array of positive integers, got 0 at index 1", function() g:list { 0 } end)
    misuse("list", 1, "pids must be an array of positive integers, got -1 at index 1", function() g:list { -1 } end)
    misuse("list", 1, "pids must be an array of positive integers, got 1.5 at index 1", function() g:list { 1.5 } end)
    misuse("list", 1, "pids must be an array of positive integers, got string at index 2", function() g:list { 1, "2" } end)
    misuse("list", 1, "pids must be an array of positive integers, got a table with key 'a'",
      function() g:list { a = 1 } end)
  end)

  it("g:env", function()
    misuse("env", 1, "names must be an array of strings, got number", function() g:env(42) end)
    misuse("env", 1, "names must be an array of non-empty strings, got number at index 1", function() g:env { 1 } end)
    misuse("env", 1, "names must be an array of non-empty strings, got an empty string at index 1", function() g:env { "" } end)
    misuse("env", 1, "names must be an array of non-empty strings, got an empty string at index 1", function() g:env "" end)
  end)

  it("g:run", function()
    misuse("run", 1, "table expected, got no value", function() g:run() end)
    misuse("run", 1, "table expected, got string", function() g:run "/bin/true" end)
    misuse("run", 1, "a program is required: {program, arguments...} or field 'command'",
      function() g:run {} end)
    misuse("run", 1, "unknown option 'tmeout'", function() g:run { "/bin/true", tmeout = 1 } end)
    misuse("run", 1, "unknown option 'tmeout'", function() g:run { path = "/bin/true", tmeout = 1 } end)
    misuse("run", 1, "field 'timeout' must be a positive number of seconds, got -1",
      function() g:run { path = "/bin/true", timeout = -1 } end)
    misuse("run", 1, "environment name \"A=B\" contains '='",
      function() g:run { path = "/bin/true", environment = { ["A=B"] = "c" } } end)
    misuse("run", 1, "environment name \"A=B\" contains '='",
      function() g:run { "/bin/true", env = { ["A=B"] = "c" } } end)
    misuse("run", 1, "field 'path' must be a string, got boolean", function() g:run { path = true } end)
    misuse("run", 1, "field 'path' must not be empty", function() g:run { path = "" } end)
    misuse("run", 1, "field 'path' contains a NUL byte", function() g:run { path = "/bin/\0true" } end)
    misuse("run", 1, "field 'path' is required with 'arguments'", function() g:run { arguments = "-c true" } end)
    misuse("run", 1, "field 'arguments' must be a string, got table",
      function() g:run { path = "/bin/sh", arguments = { "-c", "true" } } end)
    misuse("run", 1, "field 'path' and an argument vector are exclusive",
      function() g:run { "/bin/true", path = "/bin/true" } end)
    misuse("run", 1, "fields 'path' and 'command' are exclusive",
      function() g:run { path = "/bin/true", command = "true" } end)
    misuse("run", 1, "an argument vector and field 'command' are exclusive",
      function() g:run { "/bin/true", command = "true" } end)
    misuse("run", 1, "argument vector element 2 must be a string, got number",
      function() g:run { "/bin/echo", 42 } end)
    misuse("run", 1, "argument vector element 1 (the program) must not be empty", function() g:run { "" } end)
    misuse("run", 1, "field 'check' must be a boolean, got string", function() g:run { "/bin/true", check = "yes" } end)
    misuse("run", 1, "field 'os' must be one of 'auto', 'posix', 'windows', got 'dos'",
      function() g:run { "/bin/true", os = "dos" } end)
    misuse("run", 1, "field 'os' must be one of 'auto', 'posix', 'windows', got 'dos'",
      function() g:run { path = "/bin/true", os = "dos" } end)
    misuse("run", 1, "field 'path' holds a line break, which cmd.exe cannot carry",
      function() g:run { path = "C:\\a\nb.exe", os = "windows" } end)
    misuse("run", 1, "field 'env_mode' must be one of 'merge', 'replace', got 'append'",
      function() g:run { "/bin/true", env_mode = "append" } end)
    misuse("run", 1, "field 'stdin' must be a string or a table {file=...}, got number",
      function() g:run { "/bin/cat", stdin = 1 } end)
    misuse("run", 1, "field 'max_output' must be a positive integer, got 0",
      function() g:run { "/bin/true", max_output = 0 } end)
    misuse("run", 1, "field 'stdout_file' must not be empty", function() g:run { "/bin/true", stdout_file = "" } end)
    misuse("run", 1, "fields 'cwd' and 'working_directory' are exclusive",
      function() g:run { "/bin/true", cwd = "/tmp", working_directory = "/tmp" } end)
    misuse("run", nil, "calling 'run' on bad self", function() g.run { "/bin/true" } end)
  end)

  it("guest files", function()
    misuse("write_file", 1, "path must be a non-empty string, got no value", function() g:write_file() end)
    misuse("write_file", 1, "path must be a non-empty string, got an empty string",
      function() g:write_file("", "x") end)
    misuse("write_file", 2, "string expected, got number", function() g:write_file("/tmp/x", 42) end)
    misuse("write_file", 2, "string expected, got no value", function() g:write_file("/tmp/x") end)
    misuse("write_file", 3, "table expected, got string", function() g:write_file("/tmp/x", "d", "0644") end)
    misuse("write_file", 3, "unknown option 'perm'", function() g:write_file("/tmp/x", "d", { perm = 1 }) end)
    misuse("write_file", 3, "field 'mode' must be an integer or a string of octal digits",
      function() g:write_file("/tmp/x", "d", { mode = "rw-" }) end)
    misuse("write_file", 3, "field 'overwrite' must be a boolean, got number",
      function() g:write_file("/tmp/x", "d", { overwrite = 1 }) end)
    misuse("read_file", 1, "path must be a non-empty string, got number", function() g:read_file(1) end)
    misuse("read_file", 2, "unknown option 'max'", function() g:read_file("/tmp/x", { max = 1 }) end)
    misuse("upload", 1, "local path must be a non-empty string, got no value", function() g:upload() end)
    misuse("upload", 2, "guest path must be a non-empty string, got number",
      function() g:upload("/etc/hostname", 1) end)
    misuse("upload", 3, "field 'group' must be a non-negative integer (a numeric id), got string",
      function() g:upload("/etc/hostname", "/tmp/x", { group = "wheel" }) end)
    misuse("download", 1, "guest path must be a non-empty string, got table", function() g:download({}, "x") end)
    misuse("download", 2, "local path must be a non-empty string, got no value", function() g:download("/tmp/x") end)
    misuse("mktemp", 1, "table expected, got string", function() g:mktemp "vguest-" end)
    misuse("mktemp", 1, "unknown option 'prefx'", function() g:mktemp { prefx = "a" } end)
    misuse("mktemp", 1, "field 'directory' must be a boolean, got string", function() g:mktemp { directory = "yes" } end)
    misuse("mkdir", 1, "path must be a non-empty string, got an empty string", function() g:mkdir("") end)
    misuse("mkdir", 2, "unknown option 'parent'", function() g:mkdir("/tmp/x", { parent = true }) end)
    misuse("stat", 1, "path must be a non-empty string, got no value", function() g:stat() end)
    misuse("list_files", 1, "path must be a non-empty string, got boolean", function() g:list_files(false) end)
    misuse("remove", 1, "path must be a non-empty string, got number", function() g:remove(5) end)
    misuse("remove", 2, "unknown option 'recursve'", function() g:remove("/tmp/x", { recursve = true }) end)
    misuse("remove", 2, "field 'recursive' must be a boolean, got number", function() g:remove("/tmp/x", { recursive = 1 }) end)
    misuse("remove", 2, "unknown option 'directory'", function() g:remove("/tmp/x", { directory = true }) end)
    for _, m in ipairs { "write_file", "read_file", "upload", "download", "mktemp", "mkdir", "stat",
      "list_files", "remove", "getenv", "environment" } do
      misuse(m, nil, "calling '" .. m .. "' on bad self", function() g[m]("/tmp/x") end)
    end
  end)

  it("g:getenv, g:environment", function()
    misuse("getenv", 1, "variable name must be a non-empty string, got 42", function() g:getenv(42) end)
    misuse("getenv", 1, "variable name must be a non-empty string, got an empty string", function() g:getenv("") end)
    misuse("getenv", 1, "variable name must be a non-empty string, got no value", function() g:getenv() end)
  end)

  it("transfer options of vg.connect", function()
    misuse("connect", 1, "field 'insecure_transfers' must be a boolean, got string",
      function() vg.connect(conn { insecure_transfers = "yes" }) end)
    misuse("connect", 1, "field 'transfer_thumbprint' must be a string or a table mapping host names to thumbprints, got boolean",
      function() vg.connect(conn { transfer_thumbprint = true }) end)
    misuse("connect", 1, "transfer_thumbprint must be a SHA-1 (40) or SHA-256 (64) hex digest",
      function() vg.connect(conn { transfer_thumbprint = "zz" }) end)
    misuse("connect", 1, "a transfer pin must be a SHA-1 (40) or SHA-256 (64) hex digest",
      function() vg.connect(conn { transfer_thumbprint = { ["esx-01"] = "zz" } }) end)
  end)

  it("process methods", function()
    misuse("wait", 1, "table expected, got string", function() p:wait "x" end)
    misuse("wait", 1, "unknown option 'timout'", function() p:wait { timout = 1 } end)
    misuse("wait", 1, "field 'timeout' must be a positive number, got string", function() p:wait { timeout = "x" } end)
    misuse("wait", 1, "field 'interval' must be a positive number, got 0", function() p:wait { interval = 0 } end)
    misuse("wait", 1, "field 'retry_for' must be a positive number, got -1", function() p:wait { retry_for = -1 } end)
    misuse("wait", 1, "field 'kill' must be a boolean, got number", function() p:wait { kill = 1 } end)
    misuse("wait", nil, "calling 'wait' on bad self", function() p.wait() end)
    misuse("get", nil, "calling 'get' on bad self", function() p.get(1) end)
    misuse("delete", nil, "calling 'delete' on bad self", function() p.delete(g) end)
  end)

  it("tasks", function()
    misuse("spawn", 1, "function expected, got number", function() vg.spawn(42) end)
    misuse("sleep", 1, "non-negative number of seconds expected, got -1", function() vg.sleep(-1) end)
    misuse("sleep", 1, "non-negative number of seconds expected, got string", function() vg.sleep "x" end)
    misuse("sleep", 1, "non-negative number of seconds expected, got nan", function() vg.sleep(0 / 0) end)
    misuse("sleep", 1, "non-negative number of seconds expected, got inf", function() vg.sleep(math.huge) end)
    misuse("wait_all", 1, "table expected, got number", function() vg.wait_all(1) end)
    misuse("wait_all", 1, "element 1 is not a vguest.Task", function() vg.wait_all { 1 } end)
    misuse("parallel", 1, "table expected, got number", function() vg.parallel(1, print) end)
    misuse("parallel", 2, "function expected, got no value", function() vg.parallel({}, nil) end)
    misuse("parallel", 3, "unknown option 'limt'", function() vg.parallel({}, print, { limt = 2 }) end)
    misuse("parallel", 3, "field 'limit' must be a positive integer, got 0",
      function() vg.parallel({}, print, { limit = 0 }) end)
    misuse("parallel", 3, "field 'limit' must be a positive integer, got 1.5",
      function() vg.parallel({}, print, { limit = 1.5 }) end)
  end)

  describe("closed secrets and credentials", function()
    it("are refused by the calls they are passed to", function()
      local sec = vg.secret(sim.password)
      sec:close()
      misuse("secret", 1, "vguest.Secret is closed", function() vg.secret(sec) end)
      misuse("connect", 1, "field 'password' is a closed vguest.Secret",
        function() vg.connect(conn { password = sec }) end)
      misuse("credentials", 1, "field 'password' is a closed vguest.Secret",
        function() vg.credentials { user = "root", password = sec } end)
      local c = vg.credentials { user = sim.guest_user, password = sim.guest_password }
      c:close()
      misuse("credentials", 1, "vguest.Credentials is closed", function() vg.credentials(c) end)
      misuse("guest", 1, "vguest.Credentials is closed", function() vm:guest(c) end)
    end)

    it("make the guests and processes bound to them unusable", function()
      local c = vg.credentials { user = sim.guest_user, password = sim.guest_password }
      local cg = vm:guest(c)
      local cp = cg:create { path = "/bin/true" }
      cp:wait()
      c:close()
      local closed = "attempt to use a closed vguest.Credentials"
      misuse("create", nil, closed, function() cg:create { path = "/bin/true" } end)
      misuse("run", nil, closed, function() cg:run { path = "/bin/true" } end)
      misuse("list", nil, closed, function() cg:list() end)
      misuse("get", nil, closed, function() cg:get(cp.pid) end)
      misuse("delete", nil, closed, function() cg:delete(cp.pid) end)
      misuse("env", nil, closed, function() cg:env() end)
      misuse("getenv", nil, closed, function() cg:getenv("PATH") end)
      misuse("environment", nil, closed, function() cg:environment() end)
      misuse("run", nil, closed, function() cg:run { "/bin/true" } end)
      misuse("write_file", nil, closed, function() cg:write_file("/tmp/x", "") end)
      misuse("read_file", nil, closed, function() cg:read_file("/tmp/x") end)
      misuse("upload", nil, closed, function() cg:upload("/etc/hostname", "/tmp/x") end)
      misuse("download", nil, closed, function() cg:download("/tmp/x", "/tmp/y") end)
      misuse("mktemp", nil, closed, function() cg:mktemp() end)
      misuse("mkdir", nil, closed, function() cg:mkdir("/tmp/x") end)
      misuse("stat", nil, closed, function() cg:stat("/tmp") end)
      misuse("list_files", nil, closed, function() cg:list_files("/tmp") end)
      misuse("remove", nil, closed, function() cg:remove("/tmp/x") end)
      misuse("wait", nil, closed, function() cp:wait() end)
      misuse("get", nil, closed, function() cp:get() end)
      assert.are.equal("vguest.Guest (" .. vm.id .. ", user=?)", tostring(cg))
    end)
  end)
end)
