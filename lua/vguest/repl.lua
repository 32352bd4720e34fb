--- The vguest REPL, after lua.c's doREPL.
--
-- * Each input is tried as `return <line>` first, then as a statement;
--   while the parse error ends in "<eof>" more lines are read with the
--   continuation prompt and joined with "\n". Ctrl-C at the continuation
--   prompt drops the pending lines; Ctrl-D there ends the REPL.
-- * Each input runs as a task; the REPL runs the loop until it ends, so
--   tasks spawned earlier keep going meanwhile. Ctrl-C cancels the input,
--   also a loop that never waits (bindings/l_break.h: a hook stops it at
--   the user's line) — "interrupted".
-- * Every result is printed (select('#')), tab-separated, through
--   vguest.pretty (depth limit, sorted keys, cycles; sessions, credentials
--   and secrets print through their tostring, which masks secrets).
-- * Runtime errors print with a traceback of the user's frames (not the
--   library's, M.clean_traceback), syntax errors bare, to stderr.
-- * Prompts come from the globals _PROMPT and _PROMPT2 (defaults "vguest> "
--   and ">> "), so tests can blank them. They are written to stdout.
-- * On a terminal the line is read from the loop (core.edit_begin: libedit's
--   callback interface), so background tasks keep running while the prompt
--   waits, and one that fails is reported at once, above the line being
--   edited. Tab completes globals, fields and methods (M.complete). History
--   is kept in $XDG_STATE_HOME/vguest/history (default
--   ~/.local/state/vguest/history): loaded at start, the session's new
--   lines appended at exit, then the file cut to its last M.history_limit
--   lines, so REPLs running at once all keep theirs. An input that mentions
--   a secret in any way (M.may_save below) is not saved. When stdin is not
--   a terminal, lines are read with io.read and no history is kept.
local task = require "vguest.task"
local errors = require "vguest.errors"
local pretty = require "vguest.pretty"

local M = {}

--- Lines kept in the history file.
M.history_limit = 1000

--- The error a Ctrl-C raises in running code (the hook of l_break.c) and at
-- a secret prompt: run_task reports it as "interrupted".
M.INTERRUPTED = errors.new { kind = "canceled", message = "interrupted" }

-- "@/.../lua/vguest/": the source prefix of the library's Lua files
local library_source = debug.getinfo(1, "S").source:match("^(@.*[/\\])[^/\\]*$")
do
  local core = task.core()
  if core.interrupt_setup then core.interrupt_setup(M.INTERRUPTED, library_source) end
end

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

-- Whether a traceback line is a frame of the library's Lua files.
local function library_frame(line)
  local name = line:match("vguest/([%w_]+)%.lua:%d+:") or line:match("vguest/([%w_]+)%.lua>")
  return name ~= nil and (name == "init" or package.loaded["vguest." .. name] ~= nil)
end

--- Traceback text with the user's frames only: no frame of the library's
-- Lua files, no C function the library called (error, coroutine.yield, a
-- core call), none at the bottom (the task's start), no tail calls.
function M.clean_traceback(tb)
  if not tb then return nil end
  local lines = {}
  for line in tb:gmatch("[^\n]+") do lines[#lines + 1] = line end
  local function c_frame(line) return line:find("^%s*%[C%]:") ~= nil end
  local function tail(line) return line:find("%(%.%.%.tail calls%.%.%.%)") ~= nil end
  local out = {}
  for i, line in ipairs(lines) do
    local keep = not tail(line) and not library_frame(line)
    if keep and c_frame(line) then
      -- kept when its caller (the next Lua frame) is the user's
      local j = i + 1
      while lines[j] and (c_frame(lines[j]) or tail(lines[j])) do j = j + 1 end
      keep = lines[j] ~= nil and not library_frame(lines[j])
    end
    if keep then out[#out + 1] = line end
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
-- "ok", results-pack | "error", err, traceback | "interrupted" (Ctrl-C
-- during a wait, in running code, or at a secret prompt).
function M.run_task(fn, ...)
  local t = task.spawn(fn, ...)
  local ok = task.pump(function() return t.state ~= "running" end)
  if not ok then
    t:cancel()
    return "interrupted"
  end
  t.observed = true
  if t.state == "ok" then return "ok", t.results end
  if rawequal(t.err, M.INTERRUPTED) then return "interrupted" end
  return "error", t.err, t.traceback
end

-------------------------------------------------------------------------------
-- Tab completion. Nothing is called: fields are read raw, metatables with
-- debug.getmetatable, and an __index function is only looked into (the
-- tables it closes over, whose functions are its methods: Session.__index).

local keywords = {}
for w in ([[and break do else elseif end false for function goto if in local nil not or
  repeat return then true until while]]):gmatch("%S+") do keywords[w] = true end

local function is_name(k)
  return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil and not keywords[k]
end

local function index_of(v)
  local mt = debug.getmetatable(v)
  return type(mt) == "table" and rawget(mt, "__index") or nil
end

local function callable(x)
  if type(x) == "function" then return true end
  local mt = debug.getmetatable(x)
  return type(mt) == "table" and rawget(mt, "__call") ~= nil
end

-- The tables an __index function closes over (not its globals).
local function upvalue_tables(f)
  local out = {}
  for i = 1, 255 do
    local name, val = debug.getupvalue(f, i)
    if name == nil then break end
    if type(val) == "table" and name ~= "_ENV" and val ~= _G then out[#out + 1] = val end
  end
  return out
end

-- v[k] as far as it can be known without running anything.
local function lookup(v, k, depth)
  depth = depth or 0
  if depth > 16 then return nil end
  if type(v) == "table" then
    local r = rawget(v, k)
    if r ~= nil then return r end
  end
  local idx = index_of(v)
  if type(idx) == "table" then return lookup(idx, k, depth + 1) end
  if type(idx) == "function" then
    for _, u in ipairs(upvalue_tables(idx)) do
      local r = rawget(u, k)
      if type(r) == "function" then return r end
    end
  end
  return nil
end

-- The names of v's fields (methods: callable ones only) into set.
local function names(v, methods, set, seen, depth)
  if depth > 16 then return end
  if type(v) == "table" then
    if seen[v] then return end
    seen[v] = true
    for k, x in next, v do
      if is_name(k) and (not methods or callable(x)) then set[k] = true end
    end
  end
  local idx = index_of(v)
  if type(idx) == "table" then
    names(idx, methods, set, seen, depth + 1)
  elseif type(idx) == "function" then
    for _, u in ipairs(upvalue_tables(idx)) do
      for k, x in next, u do
        if is_name(k) and type(x) == "function" then set[k] = true end
      end
    end
  end
end

--- Completions of `word` (the text before the cursor back to a word break)
-- in env: an array of replacements for word, sorted. `vg.co` ->
-- `vg.connect`, `s:` -> `s:close`, `s:vm`, ...; `a.b.c` follows fields.
function M.complete(word, env)
  env = env or _G
  local head, expr = word:match("^(.-)([%a_][%w_%.:]*)$")
  if not expr then head, expr = word, "" end
  local segs, seps, i = {}, {}, 1
  while true do
    local at = expr:find("[%.:]", i)
    if not at then
      segs[#segs + 1] = expr:sub(i)
      break
    end
    segs[#segs + 1] = expr:sub(i, at - 1)
    seps[#seps + 1] = expr:sub(at, at)
    i = at + 1
  end
  local partial = segs[#segs]
  if partial ~= "" and not partial:match("^[%a_][%w_]*$") then return {} end
  local v = env
  for j = 1, #segs - 1 do
    if not is_name(segs[j]) or (seps[j] == ":" and j < #seps) then return {} end
    v = lookup(v, segs[j])
    if v == nil then return {} end
  end
  local set = {}
  names(v, seps[#seps] == ":", set, {}, 0)
  if #segs == 1 and partial ~= "" then
    for k in pairs(keywords) do set[k] = true end
  end
  local base = head .. expr:sub(1, #expr - #partial)
  local out = {}
  for k in pairs(set) do
    if k:sub(1, #partial) == partial then out[#out + 1] = k end
  end
  table.sort(out)
  for j, k in ipairs(out) do out[j] = base .. k end
  return out
end

-- The terminal's reader: the line is read from the loop (core.edit_*), so
-- background tasks run meanwhile and their failures are shown at once,
-- above the line. Returns the line, nil at the end of input, false after
-- Ctrl-C (the line is dropped).
local function loop_reader(core, env)
  core.edit_completer(function(word) return M.complete(word, env) end)
  return function(prompt)
    -- something in flight, so the loop waits for input rather than
    -- calling it a deadlock
    local keep = core.timer(2147483647)
    local line
    core.edit_begin(prompt)
    local ok, err = pcall(task.pump, function()
      for _, t in ipairs(task.take_unobserved()) do
        core.edit_print("task failed: " .. M.error_text(t.err) .. "\n")
      end
      line = core.edit_take()
      return line ~= nil
    end)
    core.edit_end()
    keep:cancel()
    if not ok then error(err, 0) end
    if line == nil then -- Ctrl-C
      core.interrupted(true)
      io.stdout:write("\n")
      io.stdout:flush()
      return false
    end
    if line == false then return nil end
    return line
  end
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
  local added = 0 -- lines this session added to the history
  if hist then
    os.execute("mkdir -p '" .. hist:match("^(.*)/[^/]*$"):gsub("'", "'\\''") .. "' 2>/dev/null")
    pcall(core.history_load, hist)
  end
  -- readline(prompt) -> line | nil (end of input) | false (Ctrl-C)
  local readline = opts.input
  if not readline then
    if tty and core.edit_begin then
      readline = loop_reader(core, env)
    elseif tty and core.readline then
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
    if line == false then goto next end
    do
      local input = line
      local chunk, err = load("return " .. line, "=stdin", "t", env)
      if chunk then
        -- run as the arguments of a call, so that `return f(x)` is no
        -- tail call: an error in f names the user's line, and the
        -- traceback keeps the input's frame (same values, same lines)
        chunk = load("return (function(...) return ... end)(" .. line .. "\n)", "=stdin", "t", env)
          or chunk
      else
        chunk, err = load(line, "=stdin", "t", env)
        while not chunk and err:match("<eof>$") do
          local more = readline(prompt(false))
          if more == false then goto next end -- Ctrl-C: the pending lines go
          if more == nil then
            if tty then goto done end -- Ctrl-D: the end, not an error
            break
          end
          input = input .. "\n" .. more
          chunk, err = load(input, "=stdin", "t", env)
        end
      end
      if hist and input:find("%S") and M.may_save(input) then
        if pcall(core.history_add, input) then added = added + 1 end
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
    end
    ::next::
    -- failures of background tasks nobody waits for
    for _, t in ipairs(task.take_unobserved()) do
      errout:write("task failed: ", M.error_text(t.err), "\n")
    end
    out:flush()
    errout:flush()
  end
  ::done::
  if hist and added > 0 then
    if core.history_append then
      if pcall(core.history_append, hist, added) then pcall(core.history_truncate, hist, M.history_limit) end
    else
      pcall(core.history_save, hist)
    end
  end
  if tty then out:write("\n") end
  return 0
end

return M
