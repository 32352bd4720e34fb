-- Helpers for the vguest-sim specs: start a simulator, talk to it with the
-- curl CLI (always verifying TLS against the ca_file it printed).
local cjson = require "cjson"

local M = {}

M.SIM = os.getenv("VGUEST_SIM") or "build/sim/vguest-sim"
M.ADMIN = "administrator@vsphere.local"
M.ADMIN_PW = "VMware1!"

local function q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
M.q = q

local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local s = f:read("a")
  f:close()
  return s
end

function M.sleep(seconds)
  os.execute("sleep " .. tostring(seconds))
end

-- Starts a simulator with extra arguments; returns a handle with url,
-- ca_file, pid and flavours.
function M.start(args)
  local cmd = "exec " .. q(M.SIM) .. " --port 0 --lifetime 120 " .. (args or "")
  local f = assert(io.popen(cmd, "r"))
  local line = f:read("l")
  assert(line, "vguest-sim printed no ready line")
  local ready = cjson.decode(line)
  ready.proc = f
  ready.line = line
  return ready
end

function M.stop(sim)
  if not sim then return end
  M.request(sim, "POST", "/sim/shutdown")
  sim.proc:close()
end

-- Runs a shell command; returns its output and exit code.
function M.run(cmd)
  local f = assert(io.popen(cmd .. " 2>&1", "r"))
  local out = f:read("a")
  local _, _, code = f:close()
  return out, code
end

-- One HTTP exchange. opts: headers = {name = value}, body = table|string,
-- user = "u:p" (Basic), url = full base override.
-- Returns {status, body, json, headers, curl_exit}.
function M.request(sim, method, path, opts)
  opts = opts or {}
  local hdr_file, body_file = os.tmpname(), os.tmpname()
  local parts = { "curl -sS --cacert", q(sim.ca_file), "-X", method,
                  "-o", q(body_file), "-D", q(hdr_file), "-w '%{http_code}'" }
  for k, v in pairs(opts.headers or {}) do
    parts[#parts + 1] = "-H " .. q(k .. ": " .. v)
  end
  if opts.user then parts[#parts + 1] = "-u " .. q(opts.user) end
  local in_file
  if opts.body ~= nil then
    in_file = os.tmpname()
    local f = assert(io.open(in_file, "wb"))
    f:write(type(opts.body) == "string" and opts.body or cjson.encode(opts.body))
    f:close()
    parts[#parts + 1] = "-H 'Content-Type: application/json' --data-binary @" .. q(in_file)
  end
  parts[#parts + 1] = q((opts.url or sim.url) .. path)
  local p = assert(io.popen(table.concat(parts, " ") .. " 2>/dev/null", "r"))
  local code = p:read("a")
  local _, _, exit = p:close()
  local res = { status = tonumber(code) or 0, body = slurp(body_file),
                headers = {}, curl_exit = exit }
  for line in slurp(hdr_file):gmatch("[^\r\n]+") do
    local k, v = line:match("^([^:]+):%s*(.*)$")
    if k then res.headers[k:lower()] = v end
  end
  if res.body ~= "" then
    local ok, j = pcall(cjson.decode, res.body)
    if ok then res.json = j end
  end
  os.remove(hdr_file)
  os.remove(body_file)
  if in_file then os.remove(in_file) end
  return res
end

function M.control(sim, body)
  local r = M.request(sim, "POST", "/sim/control", { body = body })
  assert(r.status == 200, "control failed: " .. r.body)
  return r
end

function M.stats(sim)
  return M.request(sim, "GET", "/sim/stats").json
end

-- /api session token
function M.api_login(sim)
  local r = M.request(sim, "POST", "/api/session", { user = M.ADMIN .. ":" .. M.ADMIN_PW })
  assert(r.status == 201, r.body)
  return r.json
end

function M.vim_login(sim, release)
  local r = M.request(sim, "POST", "/sdk/vim25/" .. (release or "8.0.2.0")
                      .. "/SessionManager/SessionManager/Login",
                      { body = { userName = M.ADMIN, password = M.ADMIN_PW } })
  assert(r.status == 200, r.body)
  return r.headers["vmware-api-session-id"]
end

-- Calls fn until it returns a truthy value or timeout seconds pass.
function M.eventually(fn, timeout)
  local deadline = os.time() + (timeout or 10)
  repeat
    local v = fn()
    if v then return v end
    M.sleep(0.05)
  until os.time() > deadline
  return fn()
end

-- The file's bytes ("" when it cannot be read).
M.slurp = slurp

function M.spit(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

-- A transfer URL with "*" for the host made usable (the client's job).
function M.star(url, host)
  return (url:gsub("^https://%*", "https://" .. (host or "127.0.0.1")))
end

-- One request to a transfer URL with the curl CLI, trusting cacert.
-- opts: method (GET), infile (PUT -T), data (PUT body as a string),
-- chunked (send data without Content-Length), outfile (keep the body).
-- Returns {status, body, headers, curl_exit}.
function M.transfer(url, cacert, opts)
  opts = opts or {}
  local out = opts.outfile or os.tmpname()
  local hdr = os.tmpname()
  local parts = { "curl -sS --cacert", q(cacert), "-o", q(out), "-D", q(hdr),
                  "-w '%{http_code}'" }
  local infile = opts.infile
  if opts.data then
    infile = os.tmpname()
    M.spit(infile, opts.data)
  end
  local pipe = ""
  if opts.chunked then
    pipe = "cat " .. q(infile) .. " | "
    parts[#parts + 1] = "-T -"
  elseif infile then
    parts[#parts + 1] = "-T " .. q(infile)
  end
  if opts.method and not (infile and opts.method == "PUT") then
    parts[#parts + 1] = "-X " .. opts.method
  end
  parts[#parts + 1] = q(url)
  local p = assert(io.popen(pipe .. table.concat(parts, " ") .. " 2>/dev/null", "r"))
  local code = p:read("a")
  local _, _, exit = p:close()
  local res = { status = tonumber(code) or 0, headers = {}, curl_exit = exit }
  if not opts.outfile then
    res.body = slurp(out)
    os.remove(out)
  end
  for line in slurp(hdr):gmatch("[^\r\n]+") do
    local k, v = line:match("^([^:]+):%s*(.*)$")
    if k then res.headers[k:lower()] = v end
  end
  os.remove(hdr)
  if opts.data then os.remove(infile) end
  return res
end

-- VmRSS and VmHWM (peak) of a process, in kB.
function M.memory(pid)
  local s = slurp(("/proc/%d/status"):format(pid))
  return tonumber(s:match("VmRSS:%s*(%d+)")), tonumber(s:match("VmHWM:%s*(%d+)"))
end

-- A fresh directory (removed by M.rmtree).
function M.mkdtemp()
  return (M.run("mktemp -d /tmp/vguest-sim-spec-XXXXXX"):gsub("%s+$", ""))
end

function M.rmtree(dir)
  if dir and dir:match("^/tmp/") then os.execute("rm -rf " .. q(dir)) end
end

-- Percent-encodes every byte but unreserved ones (so "/" is %2F).
function M.pct(s)
  return (s:gsub("[^%w%-_.~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

M.json = cjson
return M
