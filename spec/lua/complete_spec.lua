-- The REPL's Tab completion (vguest.repl.complete) and its traceback
-- cleaning (vguest.repl.clean_traceback), without a terminal.
local repl = require "vguest.repl"
local vg = require "vguest"

describe("REPL completion", function()
  local env
  before_each(function()
    env = setmetatable({ vg = vg, string = string, print = print, pairs = pairs,
      a = { b = { cdef = 1, cxy = 2 } }, t = { ["x y"] = 1, xz = 2, [1] = 3, ["end"] = 4 } },
      { __index = _G })
  end)

  it("completes fields of a global", function()
    assert.are.same({ "vg.connect" }, repl.complete("vg.co", env))
    assert.are.same({ "string.find", "string.format" }, repl.complete("string.f", env))
  end)

  it("follows nested fields", function()
    assert.are.same({ "a.b.cdef", "a.b.cxy" }, repl.complete("a.b.c", env))
    assert.are.same({ "a.b.cdef" }, repl.complete("a.b.cd", env))
  end)

  it("completes globals, through the environment's __index table, and keywords", function()
    assert.are.same({ "print" }, repl.complete("prin", env))
    assert.are.same({ "rawequal", "rawget", "rawlen", "rawset" }, repl.complete("raw", env))
    assert.are.same({ "return", "repeat" }, (function()
      local r = repl.complete("re", env)
      local out = {}
      for _, w in ipairs(r) do if w == "return" or w == "repeat" then out[#out + 1] = w end end
      table.sort(out, function(x, y) return x > y end)
      return out
    end)())
  end)

  it("skips keys that are not identifiers", function()
    assert.are.same({ "t.xz" }, repl.complete("t.", env))
  end)

  it("lists a session's methods from its metatable's __index function, calling nothing", function()
    env.s = setmetatable({ _closed = true }, vg.Session)
    local got = repl.complete("s:", env)
    for _, m in ipairs { "s:close", "s:info", "s:vm", "s:vms" } do
      assert.truthy(table.concat(got, " "):find(m, 1, true), m .. " in " .. table.concat(got, " "))
    end
    for _, m in ipairs(got) do assert.matches("^s:[%a_][%w_]*$", m) end
    assert.is_nil(table.concat(got, " "):find("s:print", 1, true)) -- not the globals it uses
    local called = false
    env.m = setmetatable({}, { __index = function() called = true end })
    env.p = setmetatable({}, { __index = function() called = true end, __pairs = function() called = true end })
    repl.complete("m.", env)
    repl.complete("m:x", env)
    repl.complete("p.x.y", env)
    assert.is_false(called)
  end)

  it("completes methods of strings and userdata from their __index tables", function()
    env.str = "abc"
    assert.are.same({ "str:upper" }, repl.complete("str:up", env))
    env.f = io.stdout
    assert.are.same({ "f:write" }, repl.complete("f:wr", env))
  end)

  it("keeps what precedes the expression in the word", function()
    assert.are.same({ "(vg.connect" }, repl.complete("(vg.co", env))
    assert.are.same({}, repl.complete("vg:co.x", env))
    assert.are.same({}, repl.complete("nosuch.x", env))
  end)
end)

describe("REPL tracebacks", function()
  it("keep the user's frames only", function()
    local tb = table.concat({
      "stack traceback:",
      "\t[C]: in function 'error'",
      "\t/src/lua/vguest/errors.lua:99: in function 'vguest.errors.raise'",
      "\t...src/lua/vguest/init.lua:685: in function </src/lua/vguest/init.lua:673>",
      "\t(...tail calls...)",
      "\tstdin:3: in local 'f'",
      "\t[C]: in function 'pcall'",
      "\tstdin:4: in main chunk",
      "\t/src/lua/vguest/task.lua:120: in function <...>",
      "\t[C]: in ?",
    }, "\n")
    assert.are.equal("stack traceback:\n\tstdin:3: in local 'f'\n\t[C]: in function 'pcall'\n" ..
      "\tstdin:4: in main chunk", repl.clean_traceback(tb))
  end)
end)
