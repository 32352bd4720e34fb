--- The config file: named profiles of connection settings. Its format is
-- M.help (`vguest help config`).
local M = {}

M.help = [[
vguest help config: the config file

$XDG_CONFIG_HOME/vguest/config (else ~/.config/vguest/config), or the
file named by VGUEST_CONFIG. The format, one setting per line:

  # a comment: a line starting with # (or ;)
  # before any [profile]: the profile used without --profile or VGUEST_PROFILE
  default = lab

  [lab]
  server = https://vc.lab.example
  user = administrator@vsphere.local
  # the password's source: an environment variable, a file (its first line),
  # or the password itself (plain text: not advised)
  password_env = LAB_VC_PASSWORD
  # password_file = ~/.config/vguest/lab-password
  # password = ...
  # api, rest, vim25 or auto
  protocol = api
  ca_file = ~/lab-ca.pem
  # or pin the certificate: its SHA-256 fingerprint (vguest thumbprint URL)
  # thumbprint = 8A:1F:...:3F
  insecure = no
  release = 8.0.3.0
  timeout = 30
  max_connections = 64
  guest_user = root
  guest_password_env = LAB_GUEST_PASSWORD

  [prod]
  server = https://vc.prod.example
  user = automation@vsphere.local
  password_file = ~/.config/vguest/prod-password

Settings: server, user, password, protocol, ca_file, thumbprint, insecure,
release, timeout, max_connections, transfer_thumbprint, insecure_transfers,
guest_user, guest_password (the vg.connect and vg.credentials fields).
Names and values are trimmed; a value runs to the end of its line (a #
in it is part of it: comments are whole lines). `~/` at the start of a path is the home
directory. Without a `default` line, a profile named "default" is used
when there is one. What the profile sets comes after options and
VGUEST_* variables: they override it. A file that others may read gets
a warning, as a password source may be in it.
]]

-- key -> kind: "string", "path", "boolean", "number", "integer", "secret"
-- (a password source: KEY_env, KEY_file or KEY itself)
local keys = {
  server = "string", user = "string", protocol = "string", ca_file = "path",
  thumbprint = "string", insecure = "boolean", release = "string", timeout = "number",
  max_connections = "integer", guest_user = "string", transfer_thumbprint = "string",
  insecure_transfers = "boolean", password = "secret", guest_password = "secret",
}

--- M.path() -> where the config file is looked for.
function M.path()
  local explicit = os.getenv("VGUEST_CONFIG")
  if explicit and explicit ~= "" then return explicit, true end
  local base = os.getenv("XDG_CONFIG_HOME")
  if not base or base == "" then base = (os.getenv("HOME") or "") .. "/.config" end
  return base .. "/vguest/config", false
end

local function home(path)
  if path:sub(1, 2) == "~/" then return (os.getenv("HOME") or "") .. path:sub(2) end
  return path
end

local booleans = { yes = true, ["true"] = true, on = true, ["1"] = true, no = false,
  ["false"] = false, off = false, ["0"] = false }

--- M.parse(text, name) -> { default = NAME?, profiles = { NAME = {...} } }
-- or nil and a message "FILE:LINE: what is wrong".
function M.parse(text, name)
  local cfg = { profiles = {} }
  local section
  local n = 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    line = line:gsub("\r$", "")
    local function bad(msg) return nil, string.format("%s:%d: %s", name, n, msg) end
    local trimmed = line:match("^%s*(.-)%s*$")
    if trimmed == "" or trimmed:sub(1, 1) == "#" or trimmed:sub(1, 1) == ";" then
      -- blank or a comment
    elseif trimmed:sub(1, 1) == "[" then
      local p = trimmed:match("^%[%s*([%w_.%-]+)%s*%]$")
      if not p then return bad("a section is [NAME] (letters, digits, _ . -), got " .. trimmed) end
      if cfg.profiles[p] then return bad("profile [" .. p .. "] is defined twice") end
      section = { _line = n }
      cfg.profiles[p] = section
    else
      local k, v = trimmed:match("^([%w_]+)%s*=%s*(.-)$")
      if not k then
        -- only the first word: the rest may be a password (password: x)
        local word = trimmed:match("^[%w_]+") or trimmed:sub(1, 1)
        return bad("expected KEY = VALUE or [PROFILE], got " .. (word == trimmed and "'" .. word .. "'" or
          "a line starting '" .. word .. "' (the rest is not shown)"))
      end
      if not section then
        if k ~= "default" then
          return bad("'" .. k .. "' is outside a profile: put it under a [NAME] line " ..
            "(only 'default' comes first)")
        end
        cfg.default = v
      else
        local base, source
        if not keys[k] then
          base, source = k:match("^(.-)_(env)$")
          if not base then base, source = k:match("^(.-)_(file)$") end
        end
        local kind = keys[base or k]
        if not kind or (source and kind ~= "secret") then
          local known = {}
          for key in pairs(keys) do known[#known + 1] = key end
          table.sort(known)
          return bad("unknown setting '" .. k .. "' (known: " .. table.concat(known, ", ") ..
            "; passwords also as password_env, password_file)")
        end
        if v == "" then return bad("'" .. k .. "' has no value") end
        local value = v
        if kind == "boolean" then
          value = booleans[v:lower()]
          if value == nil then return bad("'" .. k .. "' must be yes or no, got '" .. v .. "'") end
        elseif kind == "number" or kind == "integer" then
          value = tonumber(v)
          if kind == "integer" then value = math.tointeger(value) end
          if not value or value <= 0 then
            return bad("'" .. k .. "' must be a positive " .. kind .. ", got '" .. v .. "'")
          end
        elseif kind == "path" then
          value = home(v)
        elseif kind == "secret" then
          local key = base or k
          if section[key] then return bad("'" .. key .. "' is given twice (as " .. k .. " and before)") end
          value = { [source or "plain"] = source == "file" and home(v) or v, line = n }
          k = key
        end
        section[k] = value
      end
    end
  end
  return cfg
end

--- M.load{ profile = NAME?, warn = function(msg) } -> profile table (or
-- nil when there is no file and none was asked for), its name, the path.
-- Raises a message on a bad file or an unknown profile.
function M.load(opts)
  opts = opts or {}
  local path, explicit = M.path()
  local want = opts.profile
  local f = io.open(path, "r")
  if not f then
    if explicit then error("VGUEST_CONFIG names " .. path .. ", which cannot be read", 0) end
    if want then error("no profile '" .. want .. "': there is no config file " .. path, 0) end
    return nil, nil, path
  end
  local text = f:read("a") or ""
  f:close()
  local cfg, err = M.parse(text, path)
  if not cfg then error(err, 0) end
  if opts.mode and opts.warn then
    local mode = opts.mode(path)
    if mode and mode & 0x3f ~= 0 then
      opts.warn(string.format("%s can be read by others (mode %04o): chmod 600 %s", path, mode & 0xfff,
        path))
    end
  end
  local name = want or cfg.default or (cfg.profiles.default and "default")
  if not name then return nil, nil, path end
  local p = cfg.profiles[name]
  if not p then
    local names = {}
    for k in pairs(cfg.profiles) do names[#names + 1] = k end
    table.sort(names)
    error(string.format("no profile '%s' in %s (%s)", name, path,
      #names > 0 and "it has: " .. table.concat(names, ", ") or "it has none"), 0)
  end
  return p, name, path
end

return M
