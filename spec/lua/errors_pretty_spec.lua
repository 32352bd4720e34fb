-- Error objects, option checking and the pretty printer (pure Lua).
local errors = require "vguest.errors"
local pretty = require "vguest.pretty"

describe("vguest.errors", function()
  it("prints an error object on one readable line", function()
    local e = errors.new { kind = "not_found", op = "create", vm = "vm-42",
      message = "program /no/such not found", status = 404 }
    assert.are.equal("vguest: not_found: create on vm-42: program /no/such not found (HTTP 404)",
      tostring(e))
    assert.is_true(errors.is_error(e))
    assert.is_false(errors.is_error({ kind = "not_found" }))
    assert.is_false(errors.is_error("x"))
  end)

  it("says the HTTP status and the fault once, when the message has them already", function()
    local e = errors.new { kind = "not_found", op = "get", vm = "vm-42",
      message = "NOT_FOUND (HTTP 404)", status = 404, fault = "NOT_FOUND" }
    assert.are.equal("vguest: not_found: get on vm-42: NOT_FOUND (HTTP 404)", tostring(e))
    e = errors.new { kind = "not_found", message = "HTTP 404 from the server", status = 404 }
    assert.are.equal("vguest: not_found: HTTP 404 from the server", tostring(e))
  end)

  it("names the pid, the credentials and the fault", function()
    local e = errors.new { kind = "unauthenticated", auth = "guest", op = "get", vm = "vm-1", pid = 12,
      message = "bad\nguest password", fault = "InvalidGuestLogin" }
    assert.are.equal(
      "vguest: unauthenticated (guest): get pid 12 on vm-1: bad guest password (InvalidGuestLogin)",
      tostring(e))
  end)

  it("normalizes core error tables", function()
    local e = errors.wrap { kind = "resource_busy", message = "busy", status = 0, pid = 0 }
    assert.is_nil(e.status)
    assert.is_nil(e.pid)
    assert.is_false(e.retryable)
    assert.is_false(e.maybe_done)
  end)

  it("raises objects that pcall returns as they are", function()
    local ok, e = pcall(errors.raise, { kind = "timed_out", message = "late" })
    assert.is_false(ok)
    assert.are.equal("timed_out", e.kind)
  end)

  it("checks option tables strictly, naming the call and the field", function()
    local spec = { path = "string", timeout = "positive" }
    local function f(opts) return errors.checkopts(opts, spec, 1, "create", false, 1) end
    assert.has_error(function() f { pth = "/bin/true" } end,
      "bad argument #1 to 'create' (unknown option 'pth')")
    assert.has_error(function() f { path = 1 } end,
      "bad argument #1 to 'create' (field 'path' must be a string, got number)")
    assert.has_error(function() f { timeout = -1 } end,
      "bad argument #1 to 'create' (field 'timeout' must be a positive number, got -1)")
    assert.has_error(function() f("x") end, "bad argument #1 to 'create' (table expected, got string)")
    assert.has_error(function() f() end, "bad argument #1 to 'create' (table expected, got no value)")
    assert.are.same({ path = "/x" }, f { path = "/x" })
  end)
end)

describe("vguest.pretty", function()
  it("prints scalars", function()
    assert.are.equal("2", pretty(2))
    assert.are.equal("2.5", pretty(2.5))
    assert.are.equal("1.0", pretty(1.0))
    assert.are.equal('"a\\nb"', pretty("a\nb"))
    assert.are.equal("nil", pretty(nil))
    assert.are.equal("true", pretty(true))
  end)

  it("prints tables with sorted keys, arrays first", function()
    assert.are.equal('{ 1, 2, a = 1, b = "x", ["c d"] = true }', pretty { 1, 2, b = "x", a = 1, ["c d"] = true })
    assert.are.equal("{}", pretty {})
  end)

  it("breaks long tables over lines", function()
    local t = {}
    for i = 1, 30 do t["key" .. string.format("%02d", i)] = i end
    local s = pretty(t)
    assert.matches("^{\n  key01 = 1,\n  key02 = 2,\n", s)
    assert.matches("\n}$", s)
  end)

  it("indents nested tables by one step per level, closing braces under their keys", function()
    local long = string.rep("x", 20)
    local s = pretty { a = { b = { c = long, d = long }, e = long }, n = 1 }
    assert.are.equal(table.concat({
      "{",
      "  a = {",
      "    b = { c = \"" .. long .. "\", d = \"" .. long .. "\" },",
      "    e = \"" .. long .. "\",",
      "  },",
      "  n = 1,",
      "}" }, "\n"), s)
    local deep = pretty { a = { b = { c = long, d = long, e = long } } }
    assert.are.equal(table.concat({
      "{",
      "  a = {",
      "    b = {",
      "      c = \"" .. long .. "\",",
      "      d = \"" .. long .. "\",",
      "      e = \"" .. long .. "\",",
      "    },",
      "  },",
      "}" }, "\n"), deep)
  end)

  it("prints large integral floats exactly, as floats", function()
    assert.are.equal("9007199254740992.0", pretty(2.0 ^ 53))
    assert.are.equal("9007199254740993", pretty(2 ^ 53 // 1 | 1))
    assert.are.equal("1e+300", pretty(1e300))
  end)

  it("limits depth and marks cycles", function()
    local t = { a = { b = { c = { d = { e = 1 } } } } }
    t.self = t
    assert.are.equal("{ a = { b = { c = { d = {...} } } }, self = <cycle> }", pretty(t))
    assert.are.equal("{ a = {...}, self = <cycle> }", pretty(t, { depth = 1 }))
  end)

  it("prints objects through their __tostring", function()
    local obj = setmetatable({ password = "hunter2" }, { __tostring = function() return "Obj (***)" end })
    assert.are.equal("{ Obj (***) }", pretty { obj })
    assert.not_matches("hunter2", pretty { obj })
  end)
end)
