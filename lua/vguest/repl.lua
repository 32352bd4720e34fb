--- The vguest REPL, after lua.c's doREPL.
--
-- * Each input is tried as `return <line>` first, then as a statement;
--   while the parse error ends in "<eof>" more lines are read with the
--   continuation prompt and joined with "\n".
-- * Each input runs as a task; the REPL runs the loop until it ends, so
--   tasks spawned earlier keep going meanwhile. Ctrl-C cancels the input.
-- * Every result is printed (select('#')), tab-separated, through
--   vguest.pretty (depth limit, sorted keys, cycles; sessions, credentials
--   and secrets print through their tostring, which masks secrets).
-- * Runtime errors print with a traceback, syntax errors bare, to stderr.
-- * Prompts come from the globals _PROMPT and _PROMPT2 (defaults "vguest> "
--   and ">> "), so tests can blank them. They are written to stdout.
-- * On a terminal lines are read with libedit (core.readline) and history
--   is kept in $XDG_STATE_HOME/vguest/history (default
--   ~/.local/state/vguest/history). An input that mentions a secret in
--   any way (M.may_save below) is not saved. When stdin is not a terminal, lines are read with io.read
--   and no history is kept.
local task = require "vguest.task"
local errors = require "vguest.errors"
local pretty = require "vguest.pretty"

local M = {}

local function history_path()
  local base = os.getenv("XDG_STATE_HOME")
  if not base or base == "" then
    local home = os.getenv("HOME")
    if not home or home == "" then return nil end
    base = home .. "/.local/state"
  end
  return base .. "/vguest/history"
end
M.history_path = history_path

-- The history filter. An input is kept out of the history when any word
-- of it names a secret: a word of an identifier, of a string literal's
-- contents or of a comment, split at "_", digits, punctuation and camelCase
-- humps (`pw`, `Password`, `["passwd"]`, `"pass" .. "word"`, `secret_key`,
-- `vg.secret`, `vg.credentials`, `saml_token`, `api_key`). A string holding
-- a URL with a password in its user info is kept out too. Wrongly keeping a
-- harmless line out costs one history entry; the opposite costs a secret.
local secret_words = {}
for w in ([[password passwords passwd passphrase pass pwd pw pword secret secrets token tokens
  saml credential credentials cred creds auth authorization apikey privatekey]]):gmatch("%S+") do
  secret_words[w] = true
end
-- "key" names a secret beside one of these (api_key, privateKey, sshKey)
local key_words = { api = true, private = true, access = true, secret = true, auth = true, ssh = true,
  signing = true, session = true }

-- The words of a piece of text, lower case.
local function words(text, into)
  text = text:gsub("(%l)(%u)", "%1 %2"):gsub("(%u)(%u%l)", "%1 %2")
  for w in text:lower():gmatch("%a+") do into[#into + 1] = w end
  return into
end

local function names_secret(ws)
  local key, keyish = false, false
  for _, w in ipairs(ws) do
    if secret_words[w] then return true end
    if w == "key" or w == "keys" then key = true end
    if key_words[w] then keyish = true end
  end
  return key and keyish
end

-- The identifiers, string contents and comments of a Lua input, as a list
-- of texts; an unterminated string or comment runs to the end.
local function pieces(input)
  local out, i, n = {}, 1, #input
  while i <= n do
    local c = input:sub(i, i)
    if c:match("[%a_]") then
      local j = input:find("[^%w_]", i) or n + 1
      out[#out + 1] = input:sub(i, j - 1)
      i = j
    elseif c == '"' or c == "'" then
      local j, buf = i + 1, {}
      while j <= n and input:sub(j, j) ~= c do
        if input:sub(j, j) == "\\" then j = j + 1 end
        buf[#buf + 1] = input:sub(j, j)
        j = j + 1
      end
      out[#out + 1] = table.concat(buf)
      i = j + 1
    elseif input:find("^%[=*%[", i) or input:find("^%-%-%[=*%[", i) then
      local open = input:match("^%-?%-?%[(=*)%[", i)
      local from = select(2, input:find("^%-?%-?%[=*%[", i)) + 1
      local close = "]" .. open .. "]"
      local j = input:find(close, from, true)
      out[#out + 1] = input:sub(from, (j or n + 1) - 1)
      i = j and j + #close or n + 1
    elseif input:find("^%-%-", i) then
      local j = input:find("\n", i, true) or n + 1
      out[#out + 1] = input:sub(i + 2, j - 1)
      i = j
    else
      i = i + 1
    end
  end
  return out
end

--- Whether an input may go to the history file (see above).
function M.may_save(input)
  for _, piece in ipairs(pieces(input)) do
    if names_secret(words(piece, {})) then return false end
    if piece:find("%a[%w+.-]*://[^/@%s]*:[^/@%s]*@") then return false end
  end
  return true
end

--- Traceback text without the scheduler's own frames.
function M.clean_traceback(tb)
  if not tb then return nil end
  local out = {}
  for line in tb:gmatch("[^\n]+") do
    if not line:find("vguest/task%.lua") and not line:find("%(%.%.%.tail calls%.%.%.%)")
        and not line:find("^%s*%[C%]: in %?$") then
      out[#out + 1] = line
    end
  end
  return table.concat(out, "\n")
end

--- Text of an error value: error objects and strings as they are.
function M.error_text(err)
  if type(err) == "string" or errors.is_error(err) then return tostring(err) end
  local mt = getmetatable(err)
  if mt and mt.__tostring then return tostring(err) end
  return "(error object is a " .. type(err) .. " value)"
end

--- Run a chunk as a task, running the loop until it ends. Returns
-- "ok", results-pack | "error", err, traceback | "interrupted".
function M.run_task(fn, ...)
  local t = task.spawn(fn, ...)
  local ok = task.pump(function() return t.state ~= "running" end)
  if not ok then
    t:cancel()
    return "interrupted"
  end
  t.observed = true
  if t.state == "ok" then return "ok", t.results end
  return "error", t.err, t.traceback
end

--- The REPL. opts: input (function(prompt) -> line|nil), output (file),
-- errout (file), tty (bool), env (table for chunks, default _G), banner
-- (printed first, on a terminal only).
function M.run(opts)
  opts = opts or {}
  local core = task.core()
  local out, errout = opts.output or io.stdout, opts.errout or io.stderr
  local env = opts.env or _G
  local tty = opts.tty
  if tty == nil then tty = core.isatty and core.isatty(0) or false end
  if tty and opts.banner then out:write(opts.banner, "\n") end
  local hist = tty and history_path() or nil
  if hist then
    os.execute("mkdir -p '" .. hist:match("^(.*)/[^/]*$"):gsub("'", "'\\''") .. "' 2>/dev/null")
    pcall(core.history_load, hist)
  end
  local readline = opts.input
  if not readline then
    if tty and core.readline then
      readline = core.readline
    else
      readline = function(prompt)
        out:write(prompt)
        out:flush()
        return io.read("l")
      end
    end
  end
  local function prompt(first)
    local p = rawget(env, first and "_PROMPT" or "_PROMPT2")
    if p == nil then p = first and "vguest> " or ">> " end
    return tostring(p)
  end

  while true do
    local line = readline(prompt(true))
    if line == nil then break end
    local input = line
    local chunk, err = load("return " .. line, "=stdin", "t", env)
    if not chunk then
      chunk, err = load(line, "=stdin", "t", env)
      while not chunk and err:match("<eof>$") do
        local more = readline(prompt(false))
        if more == nil then break end
        input = input .. "\n" .. more
        chunk, err = load(input, "=stdin", "t", env)
      end
    end
    if hist and input:find("%S") and M.may_save(input) then
      pcall(core.history_add, input)
      pcall(core.history_save, hist)
    end
    if not chunk then
      errout:write(err, "\n")
    else
      local status, a, b = M.run_task(chunk)
      if status == "ok" then
        if a.n > 0 then
          local parts = {}
          for i = 1, a.n do parts[i] = pretty(a[i]) end
          out:write(table.concat(parts, "\t"), "\n")
        end
      elseif status == "error" then
        local tb = M.clean_traceback(b)
        errout:write(M.error_text(a), "\n", tb and tb ~= "" and (tb .. "\n") or "")
      else
        errout:write("interrupted\n")
      end
    end
    -- failures of background tasks nobody waits for
    for _, t in ipairs(task.take_unobserved()) do
      errout:write("task failed: ", M.error_text(t.err), "\n")
    end
    out:flush()
    errout:flush()
  end
  if tty then out:write("\n") end
  return 0
end

return M
