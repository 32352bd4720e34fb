-- vguest.core: misuse raises a message naming the call and the argument
-- (wrong types, unknown option keys, missing fields, closed objects).
-- Each erroring call is written out in a closure (not a tail call) so
-- Lua knows the name of the function, as it does in real code.
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

describe("vguest.core argument checks", function()
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

  it("secret constructors", function()
    expect("bad argument #1 to 'secret' (string expected, got no value)",
      function() core.secret() end)
    expect("bad argument #1 to 'secret' (string expected, got number)",
      function() core.secret(1) end)
    expect("bad argument #1 to 'secret_env' (string expected, got table)",
      function() core.secret_env({}) end)
    expect("bad argument #1 to 'secret_file' (string expected, got nil)",
      function() core.secret_file(nil) end)
    expect("bad argument #1 to 'secret_prompt' (string expected, got boolean)",
      function() core.secret_prompt(true) end)
    expect("bad argument #1 to 'len' (vguest.Secret expected, got string)",
      function() getmetatable(secret).__index.len("x") end)
  end)

  it("credentials", function()
    expect("bad argument #1 to 'credentials' (table expected, got nil)",
      function() core.credentials(nil) end)
    expect("bad argument #1 to 'credentials' (unknown option 'usr')",
      function() core.credentials { usr = "root", password = secret } end)
    expect("bad argument #1 to 'credentials' (option names must be strings, got number)",
      function() core.credentials { "root", password = secret } end)
    expect("bad argument #1 to 'credentials' (field 'user' must be a string, got number)",
      function() core.credentials { user = 0, password = secret } end)
    expect("bad argument #1 to 'credentials' (field 'password' must be a vguest.Secret, got string)",
      function() core.credentials { user = "root", password = H.SECRET } end)
    expect("bad argument #1 to 'credentials' (field 'interactive' must be a boolean, got string)",
      function() core.credentials { user = "root", password = secret, interactive = "yes" } end)
    expect("bad argument #1 to 'credentials' (field 'password' or 'saml_token' is required)",
      function() core.credentials { user = "root" } end)
    expect("bad argument #1 to 'credentials' (fields 'password' and 'saml_token' are exclusive)",
      function() core.credentials { user = "root", password = secret, saml_token = secret } end)
    expect("bad argument #1 to 'credentials'",
      function() core.credentials { password = secret } end)
    expect("bad argument #1 to 'user' (vguest.Credentials expected, got vguest.Secret)",
      function() getmetatable(cred).__index.user(secret) end)
  end)

  it("session options", function()
    local function opts(extra)
      local o = { server = "https://127.0.0.1:1", user = "admin", password = secret }
      for k, v in pairs(extra) do o[k] = v end
      return o
    end
    local function session(o) core.session(o) end -- keeps the name 'session'
    local cases = {
      { "table expected, got string", "x" },
      { "unknown option 'timout'", opts { timout = 30 } },
      { "field 'timeout' must be a number, got string", opts { timeout = "30" } },
      { "field 'timeout' must be a positive number of seconds, got 0", opts { timeout = 0 } },
      { "field 'timeout' must be at most 31536000 seconds, got 1e+16", opts { timeout = 1e16 } },
      { "field 'server' is required", { user = "a", password = secret } },
      { "field 'user' is required", { server = "https://x", password = secret } },
      { "field 'password' is required", { server = "https://x", user = "a" } },
      { "field 'password' must be a vguest.Secret, got string", opts { password = H.SECRET } },
      { "field 'protocol' must be one of 'auto', 'api', 'rest', 'vim25', got 'soap'",
        opts { protocol = "soap" } },
      { "field 'insecure' must be a boolean, got number", opts { insecure = 1 } },
      { "field 'max_connections' must be a positive integer, got 1.5", opts { max_connections = 1.5 } },
      { "field 'max_connections' must be a positive integer, got 0", opts { max_connections = 0 } },
      { "field 'max_connections' must be at most 65536, got 70000", opts { max_connections = 70000 } },
      { "field 'ca_file' must not be empty", opts { ca_file = "" } },
      { "field 'server' contains a NUL byte", opts { server = "https://a\0b" } },
      { "server must be an https:// URL or a host name", opts { server = "ftp://x" } },
      { "field 'ca_file' must be a string, got boolean", opts { ca_file = true } },
      { "field 'release' must be a string, got table", opts { release = {} } },
      { "field 'thumbprint' must be a string, got number", opts { thumbprint = 12 } },
    }
    for _, c in ipairs(cases) do
      expect("bad argument #1 to 'session' (" .. c[1] .. ")", function() session(c[2]) end)
    end
    -- accepted
    core.session(opts { timeout = 0.5, max_connections = 4, protocol = "rest",
      release = "8.0.1.0" }):close()
  end)

  it("loop functions", function()
    expect("bad argument #1 to 'timer' (number expected, got string)",
      function() core.timer("x") end)
    expect("bad argument #1 to 'timer' (number has no integer representation)",
      function() core.timer(1.5) end)
    expect("bad argument #1 to 'timer' (delay must not be negative)",
      function() core.timer(-1) end)
    expect("bad argument #1 to 'step' (number expected, got table)",
      function() core.step({}) end)
    expect("bad argument #1 to 'interrupted' (boolean expected, got string)",
      function() core.interrupted("yes") end)
    expect("bad argument #1 to 'catch_interrupts' (boolean expected, got no value)",
      function() core.catch_interrupts() end)
    expect("bad argument #1 to 'readline' (string expected, got table)",
      function() core.readline({}) end)
    expect("bad argument #1 to 'history_add' (string expected, got nil)",
      function() core.history_add(nil) end)
    expect("bad argument #1 to 'history_load' (string expected, got no value)",
      function() core.history_load() end)
    expect("bad argument #1 to 'history_save' (string expected, got boolean)",
      function() core.history_save(false) end)
    expect("bad argument #1 to 'isatty' (number expected, got string)",
      function() core.isatty("x") end)
  end)

  it("op methods", function()
    local t = core.timer(0)
    local idx = getmetatable(t).__index
    expect("bad argument #1 to 'status' (vguest.Op expected, got vguest.Session)",
      function() idx.status(sess) end)
    expect("bad argument #1 to 'result' (vguest.Op expected, got no value)",
      function() idx.result() end)
    expect("bad argument #1 to 'cancel' (vguest.Op expected, got number)",
      function() idx.cancel(1) end)
    H.wait(t)
  end)

  it("session:create", function()
    expect("bad argument #1 to 'create' (VM id must be a non-empty string, got no value)",
      function() sess:create() end)
    expect("bad argument #1 to 'create' (VM id must be a non-empty string, got number)",
      function() sess:create(42, cred, { path = "/bin/true" }) end)
    expect("bad argument #1 to 'create' (VM id must be a non-empty string, got an empty string)",
      function() sess:create("", cred, { path = "/bin/true" }) end)
    expect("bad argument #2 to 'create' (vguest.Credentials expected, got no value)",
      function() sess:create("vm-42") end)
    expect("bad argument #2 to 'create' (vguest.Credentials expected, got vguest.Secret)",
      function() sess:create("vm-42", secret, { path = "/bin/true" }) end)
    expect("bad argument #3 to 'create' (table expected, got no value)",
      function() sess:create("vm-42", cred) end)
    local function create(spec) sess:create("vm-42", cred, spec) end
    local cases = {
      { "field 'path' is required", {} },
      { "field 'path' must not be empty", { path = "" } },
      { "field 'working_directory' must not be empty", { path = "/bin/true", working_directory = "" } },
      { "unknown option 'timout'", { path = "/bin/true", timout = 1 } },
      { "field 'path' must be a string, got number", { path = 1 } },
      { "field 'arguments' must be a string, got number", { path = "/bin/true", arguments = 1 } },
      { "field 'working_directory' must be a string, got boolean",
        { path = "/bin/true", working_directory = true } },
      { "field 'start_minimized' must be a boolean, got string",
        { path = "/bin/true", start_minimized = "no" } },
      { "field 'environment' must be a table, got string", { path = "/bin/true", environment = "A=B" } },
      { "field 'environment' must map names to strings, got number = string",
        { path = "/bin/true", environment = { "A=B" } } },
      { "field 'environment' must map names to strings, got string = table",
        { path = "/bin/true", environment = { A = {} } } },
      { "environment name \"A=B\" contains '='",
        { path = "/bin/true", environment = { ["A=B"] = "c" } } },
      { "environment name is empty", { path = "/bin/true", environment = { [""] = "c" } } },
      { "field 'environment' must map names to strings, got string = boolean",
        { path = "/bin/true", environment = { A = true } } },
    }
    for _, c in ipairs(cases) do
      expect("bad argument #3 to 'create' (" .. c[1] .. ")", function() create(c[2]) end)
    end
    assert.equal(0, core.pending()) -- nothing was started
  end)

  it("session:get, delete, list, env, vms, login", function()
    for _, m in ipairs { "get", "delete" } do
      local cases = {
        { "#3", "pid must be a positive integer, got no value", { "vm-42", cred } },
        { "#3", "pid must be a positive integer, got string", { "vm-42", cred, "12" } },
        { "#3", "pid must be a positive integer, got -3", { "vm-42", cred, -3 } },
        { "#3", "pid must be a positive integer, got 0", { "vm-42", cred, 0 } },
        { "#3", "pid must be a positive integer, got 1.5", { "vm-42", cred, 1.5 } },
        { "#2", "vguest.Credentials expected, got string", { "vm-42", "root", 1 } },
        { "#1", "VM id must be a non-empty string, got nil", { nil, cred, 1, n = 3 } },
      }
      for _, c in ipairs(cases) do
        -- called as a method from here: sess:get(...)
        local args = c[3]
        local f = m == "get" and function() sess:get(table.unpack(args, 1, args.n or #args)) end
          or function() sess:delete(table.unpack(args, 1, args.n or #args)) end
        expect("bad argument " .. c[1] .. " to '" .. m .. "' (" .. c[2] .. ")", f)
      end
    end
    expect("bad argument #3 to 'list' (pids must be an array of positive integers, got string)",
      function() sess:list("vm-42", cred, "1") end)
    expect("bad argument #3 to 'list' (pids must be an array of positive integers, got string at index 2)",
      function() sess:list("vm-42", cred, { 1, "2" }) end)
    expect("bad argument #3 to 'list' (pids must be an array of positive integers, got -1 at index 1)",
      function() sess:list("vm-42", cred, { -1 }) end)
    expect("bad argument #3 to 'list' (pids must be an array of positive integers, got a table with key 'a')",
      function() sess:list("vm-42", cred, { a = 1 }) end)
    expect("bad argument #3 to 'env' (names must be an array of strings, got string)",
      function() sess:env("vm-42", cred, "PATH") end)
    expect("bad argument #3 to 'env' (names must be an array of non-empty strings, got number at index 1)",
      function() sess:env("vm-42", cred, { 1 }) end)
    expect("bad argument #3 to 'env' (names must be an array of non-empty strings, got an empty string at index 1)",
      function() sess:env("vm-42", cred, { "" }) end)
    expect("bad argument #1 to 'vms' (table expected, got string)",
      function() sess:vms("web-01") end)
    expect("bad argument #1 to 'vms' (unknown option 'nmes')",
      function() sess:vms { nmes = {} } end)
    expect("bad argument #1 to 'vms' (field 'names' must be an array of strings, got string)",
      function() sess:vms { names = "web-01" } end)
    expect("bad argument #1 to 'vms' (field 'ids' must be an array of non-empty strings, got number at index 1)",
      function() sess:vms { ids = { 42 } } end)
    expect("bad argument #1 to 'vms' (field 'power_state' must be a string, got boolean)",
      function() sess:vms { power_state = true } end)
    expect("bad argument #1 to 'vms' (field 'power_state' must be one of 'POWERED_ON', 'POWERED_OFF', 'SUSPENDED', got 'on')",
      function() sess:vms { power_state = "on" } end)
    expect("bad argument #1 to 'login' (vguest.Session expected, got vguest.Credentials)",
      function() sess.login(cred) end)
    assert.equal(0, core.pending()) -- nothing was started
  end)

  it("a closed session raises on every method but close", function()
    sess:close()
    sess:close() -- idempotent
    local closed = "attempt to use a closed vguest.Session"
    expect(closed, function() sess:login() end)
    expect(closed, function() sess:logout() end)
    expect(closed, function() sess:vms() end)
    expect(closed, function() sess:info() end)
    expect(closed, function() sess:create("vm-42", cred, { path = "/bin/true" }) end)
    expect(closed, function() sess:get("vm-42", cred, 1) end)
    expect(closed, function() sess:list("vm-42", cred) end)
    expect(closed, function() sess:delete("vm-42", cred, 1) end)
    expect(closed, function() sess:env("vm-42", cred) end)
    do local _ <close> = sess end -- __close on a closed session is fine
  end)
end)
