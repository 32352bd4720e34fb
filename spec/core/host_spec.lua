-- The `vguest` host program (bindings/main.c) with a stand-in vguest.cli
-- (via VGUEST_LUA_PATH): arg, exit status, tracebacks, preloaded core.
-- And core.secret_prompt without a terminal (reads one line of stdin).
local H = dofile((debug.getinfo(1, "S").source:match("^@(.-)[^/]*$") or "./") .. "helper.lua")

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1; echo \"rc=$?\""))
  local out = p:read("a")
  p:close()
  local body, rc = out:match("^(.-)rc=(%d+)%s*$")
  return body, tonumber(rc)
end

describe("the vguest host program", function()
  local bin = os.getenv("VGUEST_BIN")
  if not bin or bin == "" then
    pending("VGUEST_BIN is not set")
    return
  end
  local dir
  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. q(dir .. "/vguest")))
    local f = assert(io.open(dir .. "/vguest/cli.lua", "w"))
    f:write([[
local M = {}
function M.main(arg)
  local core = require "vguest.core"
  io.write("arg0=", tostring(arg[0]), " n=", #arg, " core=", core.version, "\n")
  io.write("cjson=", require("cjson").encode({ 1 }), "\n")
  local a = arg[1]
  if a == "error" then error("boom") end
  if a == "object" then error(setmetatable({}, { __tostring = function() return "an error object" end })) end
  if a == "false" then return false end
  if a == "true" then return true end
  if a == "int" then return 7 end
  if a == "interrupt" then
    local t = core.timer(5000)
    local p = io.popen("kill -INT $PPID") -- the shell's parent: us
    p:close()
    local done, intr = core.step(3000)
    io.write("interrupted=", tostring(intr), " flag=", tostring(core.interrupted(true)), "\n")
    t:cancel()
  end
end
return M
]])
    f:close()
  end)
  teardown(function() os.execute("rm -rf " .. q(dir)) end)

  local function run(args)
    return sh("VGUEST_LUA_PATH=" .. q(dir) .. " " .. q(bin) .. " " .. args .. " </dev/null")
  end

  it("passes arg like lua.c and exits 0 on nil", function()
    local out, rc = run("a b")
    assert.equal(0, rc)
    assert.matches("arg0=" .. bin:gsub("%p", "%%%0") .. " n=2 core=0.1.0", out)
    assert.matches("cjson=%[1%]", out) -- C modules resolve Lua's symbols
  end)

  it("maps results to exit statuses", function()
    assert.equal(0, select(2, run("true")))
    assert.equal(1, select(2, run("false")))
    assert.equal(7, select(2, run("int")))
  end)

  it("prints errors with a traceback and exits 1", function()
    local out, rc = run("error")
    assert.equal(1, rc)
    assert.matches("vguest: .*cli%.lua:%d+: boom\nstack traceback:", out)
    out, rc = run("object")
    assert.equal(1, rc)
    assert.matches("an error object", out)
  end)

  it("catches SIGINT: the loop is woken and the flag set", function()
    local out, rc = run("interrupt")
    assert.equal(0, rc)
    assert.matches("interrupted=true flag=true", out)
  end)

  it("finds the Lua directory from VGUEST_LUA_PATH templates too", function()
    local out, rc = sh("VGUEST_LUA_PATH=" .. q(dir .. "/?.lua") .. " " .. q(bin) .. " x </dev/null")
    assert.equal(0, rc)
    assert.matches("n=1", out)
  end)
end)

describe("core.secret_prompt without a terminal", function()
  it("reads one line of stdin", function()
    if not os.execute("command -v setsid >/dev/null 2>&1") then
      pending("no setsid")
      return
    end
    -- setsid: no controlling terminal, so /dev/tty cannot be opened
    -- run in the vguest host (it works in sanitizer builds, where a stock
    -- lua5.4 cannot load the instrumented module)
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write("local s = require('vguest.core').secret_prompt('pw: ') io.write('len=', s:len(), ' ', tostring(s))")
    f:close()
    local out, rc = sh("printf '%s\\n' " .. q(H.SECRET) .. " | setsid -w " ..
      q(assert(os.getenv("VGUEST_BIN"), "VGUEST_BIN")) .. " run " .. q(script))
    os.remove(script)
    assert.equal(0, rc)
    assert.matches("len=" .. #H.SECRET .. " vguest.Secret %(%*%*%*%)", out)
    assert.is_false(H.mentions_secret(out))
  end)
end)
