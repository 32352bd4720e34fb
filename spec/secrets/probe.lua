-- probe.lua: the secret scan's playbook (spec/secrets/scan.py runs it).
-- It uses every secret the scan plants (the vCenter password and the guest
-- password from the environment, the server URL's user info, a SAML token),
-- prints tostring of every object it makes and every error it meets, then
-- waits twice on stdin: once with a live session (the scan takes a core
-- file), once after closing everything and collecting garbage (the scan
-- reads the process's memory).
local vg = require "vguest"
local pretty = require "vguest.pretty"

local function show(label, v)
  print(label .. ": " .. tostring(v))
  if type(v) == "table" then print(label .. " (pretty): " .. pretty(v)) end
end

local function try(label, f, ...)
  local ok, err = pcall(f, ...)
  if ok then
    show(label, err)
  else
    show(label .. " error", err)
    if type(err) == "table" then
      for k, v in pairs(err) do print(label .. " error." .. tostring(k) .. " = " .. tostring(v)) end
    end
  end
  return ok, err
end

local saml_user = os.getenv("SCAN_SAML_USER")

local s = vg.connect {}
show("vg", vg)
show("session", s)
show("session.server", s.server)
show("session.user", s.user)
show("session:info()", s:info())
local vm = s:vm("web-01")
show("vm", vm)
local cred = vg.credentials {}
show("credentials", cred)
local g = vm:guest(cred)
show("guest", g)
local p = g:create { path = "/bin/sleep", arguments = "30" }
show("process", p)
show("process:get()", p:get())
show("list", g:list())
try("run", g.run, g, { "/bin/sh", "-c", "echo out; echo err >&2; exit 4" })
try("run check", g.run, g, { "/bin/sh", "-c", "exit 5", check = true })
local saml = vg.credentials { user = saml_user, saml_token = vg.secret{ env = "SCAN_SAML_TOKEN" } }
show("saml credentials", saml)
local sg = vm:guest(saml)
try("saml create", sg.create, sg, { path = "/bin/true" })
-- wrong secrets: errors must not carry them
try("bad guest password", function()
  return vm:guest(vg.credentials { user = "root", password = vg.secret{ env = "SCAN_WRONG_PASSWORD" } }):list()
end)
try("bad login", vg.connect, { server = os.getenv("SCAN_SERVER_PLAIN"), user = "administrator@vsphere.local",
  password = vg.secret{ env = "SCAN_WRONG_VC_PASSWORD" } })
show("secret", vg.secret{ env = "SCAN_SAML_TOKEN" })
-- a secret made from a Lua string (built here, so in no environment): it
-- is used, closed and collected, and must leave no copy behind
do
  local literal = vg.secret("literalpw" .. os.getenv("SCAN_TAG"))
  try("literal secret", function()
    return vm:guest(vg.credentials { user = "root", password = literal }):list()
  end)
  print("literal secret used")
  literal:close()
end

io.write("LIVE\n")
io.flush()
io.read("l")

p:delete()
p:wait { timeout = 30 }
s:close()
cred, saml, g, sg, vm, s, p = nil, nil, nil, nil, nil, nil, nil
collectgarbage()
collectgarbage()
io.write("CLOSED\n")
io.flush()
io.read("l")
