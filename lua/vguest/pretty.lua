--- A pretty printer for REPL results.
--
-- pretty(value [, { depth = 4, indent = "  ", width = 80 }]) -> string
--
-- Tables print as constructors with sorted keys (array part first), nested
-- to `depth` levels ("{...}" beyond), cycles as "<cycle>". Anything with a
-- `__tostring` or `__name` metamethod (vguest.Session, Credentials, Secret,
-- VM, Process, error objects, ...) prints through `tostring`, which never
-- shows a secret. Short tables fit on one line; longer ones break per field.
local M = {}

local keywords = {}
for w in ([[and break do else elseif end false for function goto if in local nil not or
  repeat return then true until while]]):gmatch("%a+") do keywords[w] = true end

local function quote(s)
  return (string.format("%q", s):gsub("\\\n", "\\n"))
end

local function key_repr(k)
  if type(k) == "string" and k:match("^[%a_][%w_]*$") and not keywords[k] then return k end
  if type(k) == "string" then return "[" .. quote(k) .. "]" end
  return "[" .. tostring(k) .. "]"
end

local type_order = { number = 1, string = 2, boolean = 3 }
local function key_less(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return (type_order[ta] or 9) < (type_order[tb] or 9) or
      ((type_order[ta] or 9) == (type_order[tb] or 9) and ta < tb) end
  if ta == "number" or ta == "string" then return a < b end
  return tostring(a) < tostring(b)
end

local function has_tostring(v)
  local mt = getmetatable(v)
  return type(mt) == "table" and (mt.__tostring ~= nil or mt.__name ~= nil)
end

local function scalar(v)
  local t = type(v)
  if t == "string" then return quote(v) end
  if t == "number" then
    if math.type(v) == "float" and v == math.floor(v) and v > -1e15 and v < 1e15 then
      return string.format("%.1f", v)
    end
    local i = math.type(v) == "float" and math.tointeger(v)
    if i then return string.format("%d.0", i) end -- exact, and still a float
    return tostring(v)
  end
  if t == "table" and not has_tostring(v) then return nil end
  local ok, s = pcall(tostring, v)
  return ok and s or ("<" .. t .. ">")
end

local function render(v, opts, level, seen, col)
  local s = scalar(v)
  if s then return s end
  if seen[v] then return "<cycle>" end
  if level >= opts.depth then return next(v) == nil and "{}" or "{...}" end
  seen[v] = true
  local n = #v
  local keys = {}
  for k in pairs(v) do
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  table.sort(keys, key_less)
  -- An item that breaks over lines is indented for where it will stand
  -- when this table breaks too (its own lines carry their padding);
  -- `col` is the column this table starts at, for the width.
  local pad = opts.indent:rep(level + 1)
  local items = {}
  for i = 1, n do items[#items + 1] = render(v[i], opts, level + 1, seen, #pad) end
  for _, k in ipairs(keys) do
    local kr = key_repr(k) .. " = "
    items[#items + 1] = kr .. render(v[k], opts, level + 1, seen, #pad + #kr)
  end
  seen[v] = nil
  if #items == 0 then return "{}" end
  local flat = "{ " .. table.concat(items, ", ") .. " }"
  if #flat + col <= opts.width and not flat:find("\n") then return flat end
  local out = {}
  for i, item in ipairs(items) do out[i] = pad .. item .. "," end
  return "{\n" .. table.concat(out, "\n") .. "\n" .. opts.indent:rep(level) .. "}"
end

function M.pretty(v, opts)
  opts = opts or {}
  local o = { depth = opts.depth or 4, indent = opts.indent or "  ", width = opts.width or 80 }
  return render(v, o, 0, {}, 0)
end

return setmetatable(M, { __call = function(_, ...) return M.pretty(...) end })
