-- vguest.core: module shape, types, metatables, tostring.
local H = dofile((debug.getinfo(1, "S").source:match("^@(.-)[^/]*$") or "./") .. "helper.lua")
local core = H.core

describe("vguest.core types", function()
  after_each(function() H.drain() end)

  it("has a version and every documented function", function()
    assert.equal("0.1.0", core.version)
    for _, name in ipairs { "secret", "secret_env", "secret_file", "secret_prompt",
      "credentials", "session", "timer", "step", "pending", "interrupt", "interrupted",
      "catch_interrupts", "readline", "history_add", "history_load", "history_save",
      "isatty" } do
      assert.is_function(core[name], name)
    end
  end)

  it("reuses one runtime when required again", function()
    package.loaded["vguest.core"] = nil
    local again = require "vguest.core"
    assert.equal(0, again.pending())
    local t = again.timer(0)
    assert.equal(1, core.pending())
    H.wait(t)
  end)

  it("names each type and hides secrets in tostring", function()
    local s = core.secret(H.SECRET)
    assert.equal("vguest.Secret", getmetatable(s).__name)
    assert.equal("vguest.Secret (***)", tostring(s))
    assert.equal(#H.SECRET, s:len())

    local c = core.credentials { user = "root", password = s }
    assert.equal("vguest.Credentials", getmetatable(c).__name)
    assert.equal("vguest.Credentials (user=root, password=***)", tostring(c))
    assert.equal("root", c:user())
    assert.equal("USERNAME_PASSWORD", c:type())
    assert.is_false(c:interactive())

    local t = core.credentials { user = "u", saml_token = s, interactive = false }
    assert.equal("SAML_BEARER_TOKEN", t:type())
    assert.equal("vguest.Credentials (user=u, saml_token=***)", tostring(t))

    local i = core.credentials { user = "root", password = s, interactive = true }
    assert.is_true(i:interactive())

    local sess = core.session { server = "https://127.0.0.1:1", user = "admin", password = s }
    assert.equal("vguest.Session", getmetatable(sess).__name)
    assert.equal("vguest.Session (https://127.0.0.1:1, user=admin, protocol=auto, not logged in)",
      tostring(sess))
    local info = sess:info()
    assert.same({ server = "https://127.0.0.1:1", user = "admin", logged_in = false,
      list_has_exit_codes = info.list_has_exit_codes }, info)
    assert.is_boolean(info.list_has_exit_codes)
    assert.is_false(H.mentions_secret(info))
    sess:close()
    assert.equal("vguest.Session (closed)", tostring(sess))
    assert.is_true(sess:closed())

    local op = core.timer(0)
    assert.equal("vguest.Op", getmetatable(op).__name)
    assert.equal("vguest.Op (timer, pending)", tostring(op))
    assert.equal("timer", op:name())
    H.wait(op)
    assert.equal("vguest.Op (timer, ok)", tostring(op))
  end)

  it("shows the requested protocol before login", function()
    local sess <close> = core.session { server = "https://127.0.0.1:1", user = "a",
      password = core.secret(H.SECRET), protocol = "vim25" }
    assert.matches("protocol=vim25", tostring(sess))
  end)

  it("compares secrets by content", function()
    assert.is_true(core.secret("abc") == core.secret("abc"))
    assert.is_false(core.secret("abc") == core.secret("abd"))
    assert.equal(0, core.secret(""):len())
  end)

  it("reads secrets from the environment and files in C", function()
    -- HOME is always set; only its length can be checked from Lua
    local home = os.getenv("HOME")
    if home then assert.equal(#home, core.secret_env("HOME"):len()) end
    assert.equal("environment variable VGUEST_SURELY_UNSET_42 is not set",
      H.raises(core.secret_env, "VGUEST_SURELY_UNSET_42"):gsub("^.-:%d+: ", ""))

    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write(H.SECRET, "\n")
    f:close()
    local s = core.secret_file(path)
    os.remove(path)
    assert.equal(#H.SECRET, s:len())
    assert.is_true(s == core.secret(H.SECRET))
    local msg = H.raises(core.secret_file, "/nonexistent/vguest-secret")
    assert.matches("cannot read secret file '/nonexistent/vguest%-secret'", msg)
  end)

  it("isatty answers booleans", function()
    assert.is_boolean(core.isatty(0))
    assert.is_false(core.isatty(-1))
    assert.is_false(core.isatty(12345))
  end)

  it("keeps history in files", function()
    local path = os.tmpname()
    core.history_add("print(1)")
    core.history_add("")
    assert.is_true(core.history_save(path))
    assert.is_true(core.history_load(path))
    local ok, err = core.history_load("/nonexistent/dir/history")
    assert.is_nil(ok)
    assert.is_string(err)
    os.remove(path)
  end)

end)
