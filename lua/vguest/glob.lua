--- Shell-style name patterns for selecting VMs: `web-*`, `db-0[1-3]`,
-- `app-?`, `[!t]*`, with `\` quoting the next character.
--
-- A pattern matches a whole name. `*` matches any run of characters, `?`
-- one character (a UTF-8 character, not a byte), `[...]` one of a set:
-- ranges `a-z`, a leading `!` or `^` negates it, `]` first is literal.
local M = {}

-- One UTF-8 character (or a stray byte) in a Lua pattern.
local ANY = "[\0-\x7F\xC0-\xFF][\x80-\xBF]*"

--- M.is_pattern(s) -> true when s has a wildcard (*, ?, [) or a quote (\).
function M.is_pattern(s)
  return s:find("[*?[\\]") ~= nil
end

local function lua_escape(c)
  return (c:gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0"))
end

--- M.compile(pattern) -> a Lua pattern anchored at both ends, or nil and
-- a message saying what is wrong with it.
function M.compile(pat)
  local out, i, n = { "^" }, 1, #pat
  while i <= n do
    local c = pat:sub(i, i)
    if c == "\\" then
      if i == n then return nil, "pattern '" .. pat .. "' ends with a lone \\" end
      -- the quoted character, whole if it is a UTF-8 one
      local ch = pat:match("^" .. ANY, i + 1)
      out[#out + 1] = lua_escape(ch)
      i = i + 1 + #ch
    elseif c == "*" then
      out[#out + 1] = ".-"
      i = i + 1
    elseif c == "?" then
      out[#out + 1] = ANY
      i = i + 1
    elseif c == "[" then
      local j = i + 1
      local negate = false
      if pat:sub(j, j) == "!" or pat:sub(j, j) == "^" then
        negate = true
        j = j + 1
      end
      local set = {}
      local first = true
      while true do
        if j > n then return nil, "pattern '" .. pat .. "' has a [ without its ]" end
        local d = pat:sub(j, j)
        if d == "]" and not first then break end
        first = false
        if d:byte() >= 0x80 then
          return nil, "pattern '" .. pat .. "': a [...] set takes ASCII characters only"
        end
        if d == "\\" and j < n then
          j = j + 1
          d = pat:sub(j, j)
        end
        if pat:sub(j + 1, j + 1) == "-" and pat:sub(j + 2, j + 2) ~= "]" and j + 2 <= n then
          local e = pat:sub(j + 2, j + 2)
          if e:byte() < d:byte() then
            return nil, "pattern '" .. pat .. "' has a reversed range " .. d .. "-" .. e
          end
          set[#set + 1] = lua_escape(d) .. "-" .. lua_escape(e)
          j = j + 3
        else
          set[#set + 1] = lua_escape(d)
          j = j + 1
        end
      end
      out[#out + 1] = "[" .. (negate and "^" or "") .. table.concat(set) .. "]"
      i = j + 1
    else
      local ch = pat:match("^" .. ANY, i)
      out[#out + 1] = lua_escape(ch)
      i = i + #ch
    end
  end
  out[#out + 1] = "$"
  return table.concat(out)
end

--- M.literal(pattern) -> the name a pattern without wildcards stands for
-- (its quotes removed), or nil when it has wildcards.
function M.literal(pat)
  if pat:gsub("\\.", ""):find("[*?[\\]") then return nil end
  return (pat:gsub("\\(.)", "%1"))
end

--- M.matcher(pattern) -> function(name) -> boolean, or nil and a message.
function M.matcher(pat)
  local lp, err = M.compile(pat)
  if not lp then return nil, err end
  return function(name) return name:find(lp) ~= nil end
end

return M
