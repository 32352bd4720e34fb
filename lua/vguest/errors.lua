--- Error objects and argument checking for the vguest Lua layer.
--
-- Failures of vCenter operations are *error objects*: tables
-- `{kind, message, status, fault, message_id, op, vm, vm_name, pid, auth,
-- retryable, maybe_done, thumbprint}` sharing one metatable whose
-- `__tostring` gives one readable line, e.g.
--
--   vguest: not_found: create on web-01 (vm-42): program /no/such not found (HTTP 404)
--
-- They are raised with `error(obj)` so `pcall` returns the object itself;
-- match on `err.kind`, never on the text. `kind` is one of the normalized
-- kinds of DESIGN.md ("Errors, normalized across flavours"), as produced by
-- the C core's status list (vg_status_kind); the Lua layer only adds
-- `timed_out`, `canceled`, `not_found` and `invalid_argument` for the
-- conditions it detects itself (wait deadline, Ctrl-C, VM lookup), and one
-- kind of its own: `command_failed`, raised by g:run{ check = true } for a
-- non-zero exit (with `exit_code`, `stdout`, `stderr`, `pid`). Errors of a
-- run carry the output its process wrote so far (`stdout`, `stderr`).
--
-- Misuse (wrong types, unknown option keys, closed objects) is not an error
-- object: it raises a plain string naming the call and the argument, the way
-- Lua's own luaL_argerror does:
--
--   bad argument #1 to 'create' (unknown option 'pth')
--
-- Who checks what: the C module checks every value that reaches C, and is
-- passed the name of the user's call so its message needs no rewriting
-- (`M.reraise` only moves it to the user's line). This module checks what
-- exists only in Lua: self, the Lua layer's own options (waits, tasks,
-- secret sources) and the defaults it fills in.
local M = {}

local Error = {}
Error.__index = Error
Error.__name = "vguest.Error"
M.Error = Error

local function one_line(s)
  s = tostring(s)
  return (s:gsub("%s*\n%s*", " "))
end

function Error.__tostring(e)
  local parts = { "vguest: ", tostring(e.kind or "error") }
  if e.auth then parts[#parts + 1] = " (" .. tostring(e.auth) .. ")" end
  parts[#parts + 1] = ": "
  if e.op then
    parts[#parts + 1] = tostring(e.op)
    if e.pid and e.pid ~= 0 then parts[#parts + 1] = " pid " .. tostring(e.pid) end
    if e.vm then
      parts[#parts + 1] = " on " .. (e.vm_name and (tostring(e.vm_name) .. " (" .. tostring(e.vm) ..
        ")") or tostring(e.vm))
    end
    parts[#parts + 1] = ": "
  end
  local msg = one_line(e.message or e.kind or "error")
  parts[#parts + 1] = msg
  -- the status and the fault, unless the message says them already
  local extra = {}
  local function add(s)
    if not msg:find(s, 1, true) then extra[#extra + 1] = s end
  end
  if e.status and e.status ~= 0 then add("HTTP " .. tostring(e.status)) end
  if e.fault then add(tostring(e.fault)) end
  if #extra > 0 then parts[#parts + 1] = " (" .. table.concat(extra, ", ") .. ")" end
  return table.concat(parts)
end

--- Is x a vguest error object?
function M.is_error(x)
  return type(x) == "table" and getmetatable(x) == Error
end

--- Give a plain error table (from vguest.core) the Error metatable.
-- Fields are normalized: status/pid 0 become nil, booleans are booleans.
function M.wrap(t)
  if M.is_error(t) then return t end
  if type(t) ~= "table" then
    return M.new { kind = "protocol", message = tostring(t) }
  end
  if t.status == 0 then t.status = nil end
  if t.pid == 0 then t.pid = nil end
  t.retryable = not not t.retryable
  t.maybe_done = not not t.maybe_done
  t.kind = t.kind or "protocol"
  t.message = t.message or t.kind
  return setmetatable(t, Error)
end

--- A new error object from fields (kind and message required).
function M.new(fields)
  local e = {}
  for k, v in pairs(fields) do e[k] = v end
  return M.wrap(e)
end

--- Raise an error object (pcall returns the object itself).
function M.raise(fields)
  error(M.new(fields), 0)
end

-------------------------------------------------------------------------------
-- Argument checking (misuse raises strings, like luaL_argerror)

--- Raise "bad argument #n to 'fname' (msg)" at the caller of the API
-- function (level counts from the function calling argerror's caller).
function M.argerror(n, fname, msg, level)
  error(string.format("bad argument #%d to '%s' (%s)", n, fname, msg), (level or 2) + 1)
end

local function typename(v)
  local mt = getmetatable(v)
  if type(mt) == "table" and type(mt.__name) == "string" then return mt.__name end
  return type(v)
end
M.typename = typename

--- For "X expected, got <type>": the type, "no value" for nil.
local function typeof(v)
  if v == nil then return "no value" end
  return typename(v)
end
M.typeof = typeof

--- For messages about a value: numbers show themselves ("-1", "1.5",
-- "nan"), "" is "an empty string", nil is "no value", anything else its
-- type (a string may be a secret: never its text).
local function describe(v)
  if v == nil then return "no value" end
  if type(v) == "number" then
    if v ~= v then return "nan" end
    return tostring(v)
  end
  if v == "" then return "an empty string" end
  return typename(v)
end
M.describe = describe

--- Re-raise an error caught from the C module at the user's line: a
-- misuse message (already naming the user's call) gets the position of
-- the frame `level` levels up, as with argerror; an error object is
-- raised as it is.
function M.reraise(err, level)
  if type(err) == "string" then error(err, (level or 2) + 1) end
  error(err, 0)
end

--- Check that self is an object of class `cls` (a metatable with __name).
function M.checkself(self, cls, fname, level)
  if getmetatable(self) ~= cls then
    error(string.format("calling '%s' on bad self (%s expected, got %s); use ':' to call methods",
      fname, cls.__name, typename(self)), (level or 2) + 1)
  end
  return self
end

-- Type predicates for option specs: a spec maps each allowed key to a
-- checker name ("string", "nonempty_string", "number", "boolean", "table",
-- "positive", "seconds", "integer", "function", "string_array", "string_map",
-- "any") or
-- a function returning ok, expected-description.
local checkers = {}
M.MAX_SECONDS = 2147483 -- core timers take at most 2^31-1 ms
function checkers.string(v) return type(v) == "string", "a string" end
function checkers.number(v) return type(v) == "number", "a number" end
function checkers.positive(v) return type(v) == "number" and v > 0, "a positive number" end
-- a delay for a core timer: positive, and at most its 2^31-1 ms
function checkers.seconds(v)
  if type(v) ~= "number" or not (v > 0) then return false, "a positive number" end
  return v <= M.MAX_SECONDS, "a positive number of at most " .. M.MAX_SECONDS .. " seconds"
end
function checkers.nonempty_string(v) return type(v) == "string" and v ~= "", "a non-empty string" end
function checkers.nonneg(v) return type(v) == "number" and v >= 0, "a non-negative number" end
function checkers.integer(v) return math.type(v) == "integer" and v > 0, "a positive integer" end
function checkers.boolean(v) return type(v) == "boolean", "a boolean" end
function checkers.table(v) return type(v) == "table", "a table" end
checkers["function"] = function(v) return type(v) == "function", "a function" end
function checkers.any() return true end
function checkers.string_array(v)
  if type(v) ~= "table" then return false, "an array of strings" end
  local n = 0
  for k, x in pairs(v) do
    n = n + 1
    if math.type(k) ~= "integer" or type(x) ~= "string" then return false, "an array of strings" end
  end
  if n ~= #v then return false, "an array of strings" end
  return true
end
function checkers.string_map(v)
  if type(v) ~= "table" then return false, "a table of strings" end
  for k, x in pairs(v) do
    if type(k) ~= "string" or (type(x) ~= "string" and type(x) ~= "number" and type(x) ~= "boolean") then
      return false, "a table mapping names to strings"
    end
  end
  return true
end
M.checkers = checkers
-- checkers of numbers: a wrong number is shown ("got -1"), not its type
local numeric = { number = true, positive = true, seconds = true, nonneg = true, integer = true }

--- Check an option table strictly: `opts` must be a table (or nil when
-- `optional`), every key must be in `spec`, every value of the right type.
-- Raises "bad argument #n to 'fname' (unknown option 'k')" or
-- "bad argument #n to 'fname' (field 'k' must be a string, got number)";
-- `prefix` (e.g. "field 'password': ") names a table nested in argument n.
-- Returns opts (or an empty table).
function M.checkopts(opts, spec, n, fname, optional, level, prefix)
  level = (level or 2) + 1
  prefix = prefix or ""
  local function fail(msg)
    error(string.format("bad argument #%d to '%s' (%s%s)", n, fname, prefix, msg), level + 1)
  end
  if opts == nil and optional then return {} end
  local mt = getmetatable(opts) -- (a __metatable field may be any value)
  if type(opts) ~= "table" or type(mt) == "table" and mt.__name then
    fail("table expected, got " .. describe(opts))
  end
  for k, v in pairs(opts) do
    local check = type(k) == "string" and spec[k]
    if not check then fail("unknown option '" .. tostring(k) .. "'") end
    local f = type(check) == "function" and check or checkers[check]
    local ok, expected = f(v)
    if not ok then
      local got = (numeric[check] and type(v) == "number" or v == "") and describe(v) or typeof(v)
      fail(string.format("field '%s' must be %s, got %s", k, expected, got))
    end
  end
  return opts
end

--- Check one positional argument with a checker name or function.
function M.checkarg(v, check, n, fname, level)
  local f = type(check) == "function" and check or checkers[check]
  local ok, expected = f(v)
  if not ok then
    error(string.format("bad argument #%d to '%s' (%s expected, got %s)", n, fname,
      (expected or check):gsub("^an? ", ""), typeof(v)), (level or 2) + 1)
  end
  return v
end

return M
