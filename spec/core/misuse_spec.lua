-- vguest.core: who is named in misuse messages.
--
--  * Called through pcall (from C, as the Lua layer calls it), a function
--    names itself: never '?', never "vguest.core.session".
--  * Given a call name (the optional last argument), it names that call and
--    counts the caller's arguments from the first one after those the Lua
--    layer binds (self, and vm and credentials for guest operations).
--  * Either way, "bad argument" appears once.
local H = dofile((debug.getinfo(1, "S").source:match("^@(.-)[^/]*$") or "./") .. "helper.lua")
local core = H.core

local function check(msg, f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "expected an error containing: " .. msg)
  err = tostring(err)
  if not err:find(msg, 1, true) then
    error(string.format("expected an error containing\n  %s\ngot\n  %s", msg, err), 2)
  end
  assert(not err:find("'?'", 1, true), "a message naming '?': " .. err)
  assert(not err:find("vguest.core", 1, true), "a message naming the module: " .. err)
  local _, count = err:gsub("bad argument", "")
  assert(count <= 1, "a wrapped message: " .. err)
  assert.is_false(H.mentions_secret(err))
  return err
end

describe("vguest.core misuse messages", function()
  local secret, cred, sess
  before_each(function()
    secret = core.secret(H.SECRET)
    cred = core.credentials { user = "root", password = secret }
    sess = core.session { server = "https://127.0.0.1:1", user = "admin", password = secret }
  end)
  after_each(function()
    sess:close()
    H.drain()
    assert.equal(0, core.pending())
  end)

  it("lists the flavours from the runtime's registry", function()
    assert.same({ "auto", "api", "rest", "vim25" }, core.protocols)
  end)

  it("name the function itself when called through pcall", function()
    local S = getmetatable(sess).__index
    check("bad argument #1 to 'session' (table expected, got string)", core.session, "x")
    check("bad argument #1 to 'session' (unknown option 'timout')", core.session,
      { server = "https://x", user = "a", password = secret, timout = 1 })
    check("bad argument #1 to 'session' (server must be an https:// URL or a host name)",
      core.session, { server = "ftp://x", user = "a", password = secret })
    check("bad argument #1 to 'credentials' (unknown option 'usr')", core.credentials, { usr = "x" })
    check("bad argument #1 to 'credentials' (a user is required with a password)",
      core.credentials, { user = "", password = secret })
    check("bad argument #2 to 'create' (VM id must be a non-empty string, got number)",
      S.create, sess, 42, cred, { path = "/bin/true" })
    check("bad argument #4 to 'create' (environment name \"A=B\" contains '=')",
      S.create, sess, "vm-42", cred, { path = "/bin/true", environment = { ["A=B"] = "c" } })
    check("bad argument #4 to 'list' (pids must be an array of positive integers, got 0 at index 1)",
      S.list, sess, "vm-42", cred, { 0 })
    check("bad argument #4 to 'get' (pid must be a positive integer, got 0)", S.get, sess, "vm-42", cred, 0)
    check("bad argument #4 to 'delete' (pid must be a positive integer, got string)",
      S.delete, sess, "vm-42", cred, "1")
    check("bad argument #4 to 'env' (names must be an array of non-empty strings, got number at index 1)",
      S.env, sess, "vm-42", cred, { 1 })
    check("bad argument #2 to 'vms' (unknown option 'nmes')", S.vms, sess, { nmes = {} })
    check("bad argument #1 to 'login' (vguest.Session expected, got number)", S.login, 1)
    check("bad argument #1 to 'timer' (delay must not be negative)", core.timer, -1)
    local op = core.timer(0)
    check("bad argument #1 to 'status' (vguest.Op expected, got number)", getmetatable(op).__index.status, 1)
    check("bad argument #1 to 'len' (vguest.Secret expected, got number)", getmetatable(secret).__index.len, 1)
    check("bad argument #1 to 'user' (vguest.Credentials expected, got number)", getmetatable(cred).__index.user, 1)
    H.wait(op)
  end)

  it("never name '?' or the module, whatever is called wrongly through pcall", function()
    local S = getmetatable(sess).__index
    local op = core.timer(0)
    local O, SM = getmetatable(op), getmetatable(secret)
    local C, SS = getmetatable(cred), getmetatable(sess)
    local calls = {
      { core.secret }, { core.secret_env, 1 }, { core.secret_file, {} }, { core.secret_prompt, true },
      { core.credentials }, { core.session }, { core.timer, "x" }, { core.timer, 1.5 },
      { core.step, {} }, { core.interrupted, "x" }, { core.catch_interrupts },
      { core.readline, {} }, { core.history_add }, { core.history_load, {} },
      { core.history_save, false }, { core.isatty, "x" }, { core.isatty, 1.5 },
      { S.login, 1 }, { S.logout, 1 }, { S.info, cred }, { S.close, 1 }, { S.closed, 1 },
      { S.vms, sess, 1 }, { S.create, sess, "vm-42", cred, 1 }, { S.get, sess, "vm-42", cred },
      { S.delete, sess, "vm-42", cred, -1 }, { S.list, sess, "vm-42", cred, 1 },
      { S.env, sess, "vm-42", cred, 1 }, { SS.__tostring, 1 }, { SS.__gc, 1 }, { SS.__close, 1 },
      { O.__index.status, 1 }, { O.__index.result, 1 }, { O.__index.cancel, 1 },
      { O.__index.name, 1 }, { O.__tostring, 1 }, { O.__gc, 1 },
      { SM.__index.len, 1 }, { SM.__index.close, 1 }, { SM.__index.closed, 1 }, { SM.__tostring, 1 },
      { SM.__gc, 1 }, { SM.__close, 1 },
      { C.__index.user, 1 }, { C.__index.type, 1 }, { C.__index.interactive, 1 },
      { C.__index.close, 1 }, { C.__index.closed, 1 }, { C.__tostring, 1 }, { C.__gc, 1 },
    }
    for i, c in ipairs(calls) do
      local f = c[1]
      assert(type(f) == "function", "call " .. i)
      check("bad argument #", f, table.unpack(c, 2))
    end
    H.wait(op)
  end)

  it("name the call passed in, counting the caller's arguments", function()
    local S = getmetatable(sess).__index
    local base = { server = "https://127.0.0.1:1", user = "admin", password = secret }
    local function with(extra)
      local o = {}
      for k, v in pairs(base) do o[k] = v end
      for k, v in pairs(extra) do o[k] = v end
      return o
    end
    check("bad argument #1 to 'connect' (field 'timeout' must be a positive number of seconds, got 0)",
      core.session, with { timeout = 0 }, "connect")
    check("bad argument #1 to 'connect' (field 'protocol' must be one of 'auto', 'api', 'rest', 'vim25', got 'soap')",
      core.session, with { protocol = "soap" }, "connect")
    check("bad argument #1 to 'connect' (thumbprint must be a SHA-1 (40) or SHA-256 (64) hex digest)",
      core.session, with { thumbprint = "zz" }, "connect")
    check("bad argument #1 to 'guest' (unknown option 'usr')", core.credentials, { usr = "x" }, "guest")
    check("bad argument #1 to 'vms' (field 'names' must be an array of strings, got string)",
      S.vms, sess, { names = "x" }, "vms")
    check("bad argument #1 to 'run' (field 'path' is required)", S.create, sess, "vm-42", cred, {}, "run")
    check("bad argument #1 to 'create' (table expected, got no value)", S.create, sess, "vm-42", cred, nil, "create")
    check("bad argument #1 to 'get' (pid must be a positive integer, got 1.5)",
      S.get, sess, "vm-42", cred, 1.5, "get")
    check("bad argument #1 to 'list' (pids must be an array of positive integers, got string)",
      S.list, sess, "vm-42", cred, "1", "list")
    check("bad argument #1 to 'env' (names must be an array of strings, got boolean)",
      S.env, sess, "vm-42", cred, true, "env")
    -- what the Lua layer binds is self: its faults are not the caller's arguments
    check("calling 'run' on bad self (vguest.Credentials expected, got string)",
      S.create, sess, "vm-42", "root", { path = "/bin/true" }, "run")
    check("calling 'wait' on bad self (VM id must be a non-empty string, got an empty string)",
      S.list, sess, "", cred, nil, "wait")
    check("bad argument #5 to 'create' (call name must be a string, got number)",
      S.create, sess, "vm-42", cred, { path = "/bin/true" }, 1)
  end)

  it("refuse closed secrets and credentials passed to them", function()
    local S = getmetatable(sess).__index
    local sec = core.secret(H.SECRET)
    sec:close()
    check("bad argument #1 to 'credentials' (field 'password' is a closed vguest.Secret)",
      core.credentials, { user = "root", password = sec })
    check("bad argument #1 to 'connect' (field 'password' is a closed vguest.Secret)",
      core.session, { server = "https://x", user = "a", password = sec }, "connect")
    local c = core.credentials { user = "root", password = secret }
    c:close()
    check("bad argument #3 to 'create' (vguest.Credentials is closed)",
      S.create, sess, "vm-42", c, { path = "/bin/true" })
    check("calling 'create' on bad self (vguest.Credentials is closed)",
      S.create, sess, "vm-42", c, { path = "/bin/true" }, "create")
    check("bad argument #3 to 'list' (vguest.Credentials is closed)", S.list, sess, "vm-42", c)
  end)
end)
