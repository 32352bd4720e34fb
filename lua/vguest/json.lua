--- JSON text for `vguest ... --json`: one value per line, keys in the
-- order given, valid UTF-8 whatever the guest printed.
--
-- lua-cjson would do most of it, but it escapes "/" as "\/", orders keys at
-- random and passes invalid UTF-8 through (which jq then refuses). A
-- guest's output is bytes: `M.text` says whether a string is valid UTF-8
-- and gives a readable version (invalid bytes become U+FFFD).
local M = {}

local escapes = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n",
  ["\r"] = "\\r", ["\t"] = "\\t" }

--- M.text(s) -> s itself when it is valid UTF-8, else a copy with every
-- invalid byte replaced by U+FFFD, and false.
function M.text(s)
  if utf8.len(s) then return s, true end
  local out, i, n = {}, 1, #s
  while i <= n do
    local len, bad = utf8.len(s, i)
    if len then
      out[#out + 1] = s:sub(i)
      break
    end
    out[#out + 1] = s:sub(i, bad - 1)
    out[#out + 1] = "\u{FFFD}"
    i = bad + 1
  end
  return table.concat(out), false
end

local function string_json(s)
  s = M.text(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return escapes[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

local encode

local function array_json(t, n)
  local parts = {}
  for i = 1, n do parts[i] = encode(t[i]) end
  return "[" .. table.concat(parts, ",") .. "]"
end

--- M.object(pairs) -> a JSON object from { {key, value}, ... } in that
-- order; nil values are written as null.
function M.object(list)
  local parts = {}
  for i, kv in ipairs(list) do parts[i] = string_json(kv[1]) .. ":" .. encode(kv[2]) end
  return "{" .. table.concat(parts, ",") .. "}"
end

-- A table: an array when its keys are 1..n, else an object with its keys
-- sorted (so that output is stable).
local function table_json(t)
  local n = #t
  local count = 0
  for _ in pairs(t) do count = count + 1 end
  if count == n then return array_json(t, n) end
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  local list = {}
  for i, k in ipairs(keys) do
    local v = t[k]
    if v == nil then v = t[tonumber(k)] end
    list[i] = { k, v }
  end
  return M.object(list)
end

function encode(v)
  local t = type(v)
  if v == nil then
    return "null"
  elseif t == "boolean" then
    return tostring(v)
  elseif t == "number" then
    if math.type(v) == "integer" then return tostring(v) end
    if v ~= v or v == math.huge or v == -math.huge then return "null" end
    if v == math.floor(v) and math.abs(v) < 2 ^ 53 then return string.format("%d", v) end
    return string.format("%.17g", v)
  elseif t == "string" then
    return string_json(v)
  elseif t == "table" then
    return table_json(v)
  end
  return string_json(tostring(v))
end

M.encode = encode
return M
