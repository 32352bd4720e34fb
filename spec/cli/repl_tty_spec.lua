-- The REPL at a terminal, driven on a pseudo-terminal (spec/cli/pty_drive.py):
-- completion, the loop running while the prompt waits, Ctrl-C and Ctrl-D
-- at the prompts, in running code and at a secret prompt, the history of
-- two REPLs at once, and the tracebacks users see. Every wait is for an
-- output; none is for a time. A key is sent only once the prompt it is
-- meant for is shown: typed ahead while a chunk runs, it meets the
-- terminal in its cooked mode, where a Ctrl-D is an end of line that
-- libedit, once in raw mode, reads as a NUL.
local helper = require "spec.helper"

local bin = os.getenv("VGUEST_BIN") or "vguest"

local drive = helper.pty_drive

local home
local function env()
  return { HOME = home, XDG_STATE_HOME = home .. "/state", VGUEST_TRACEBACK = "" }
end

local function repl(steps, args)
  local argv = { bin, "repl" }
  for _, a in ipairs(args or {}) do argv[#argv + 1] = a end
  table.insert(steps, 1, { expect = "vguest> " })
  return drive { argv = argv, env = env(), steps = steps }
end

local function check(r)
  assert.is_true(r.ok, r.error .. "\noutput: " .. (r.output or ""))
end

describe("the REPL at a terminal", function()
  before_each(function()
    home = helper.tmpname(".home")
    os.execute("mkdir -p " .. helper.quote(home))
  end)
  after_each(function()
    os.execute("rm -rf " .. helper.quote(home))
  end)

  it("completes fields, nested fields and methods with Tab", function()
    local r = repl {
      { send = "vg.co\t == vg.connect\r" }, { expect = "true\r\n" }, { expect = "vguest> " },
      { send = "a = { b = { cdef = 7, ['x y'] = 1 } }\r" }, { expect = "vguest> " },
      { send = "a.b.c\t\r" }, { expect = "7\r\n" }, { expect = "vguest> " },
      { send = "s = setmetatable({}, vg.Session)\r" }, { expect = "vguest> " },
      { send = "s:\t\t" }, { expect = "s:close" }, { expect = "s:vms" }, { expect = "vguest> s:" },
      { send = "\21string.f\t\t" }, { expect = "string.format" }, { expect = "vguest> string.f" },
      { send = "\21\4" }, { wait_exit = true },
    }
    check(r)
    assert.are.equal(0, r.status)
    assert.is_nil(r.output:find("x y", 1, true) and r.output:find("a.b.x", 1, true))
  end)

  it("runs background tasks while the prompt waits, and reports a failed one at once", function()
    local r = repl {
      { send = "vg.spawn(function() vg.sleep(0.01) io.stdout:write('B' .. 'G\\n') io.stdout:flush() end)\r" },
      { expect = "BG\r\n" },
      { send = "vg.spawn(function() while not go do vg.sleep(0.01) end error('bo' .. 'om', 0) end)\r" },
      { expect = "vguest> " },
      { send = "go = true\r" }, { expect = "vguest> " },
      { send = "abc" }, -- being edited when the task fails
      { expect = "task failed: boom" }, { expect = "vguest> abc" },
      { send = "\21\4" }, { wait_exit = true },
    }
    check(r)
    assert.are.equal(0, r.status)
  end)

  it("drops the pending lines on Ctrl-C at >>, and ends on Ctrl-D there", function()
    local r = repl {
      { send = "for i = 1, 2 do\r" }, { expect = ">> " }, { send = "print(i)\r" }, { expect = ">> " },
      { send = "\3" }, { expect = "vguest> " },
      { send = "print('after' .. 'wards')\r" }, { expect = "afterwards" }, { expect = "vguest> " },
      { send = "if true then\r" }, { expect = ">> " }, { send = "\4" }, { wait_exit = true },
    }
    check(r)
    assert.are.equal(0, r.status)
    assert.is_nil(r.output:find("'end' expected", 1, true))
    assert.is_nil(r.output:find("\n1\r\n", 1, true)) -- the dropped loop never ran
  end)

  it("interrupts running code that never calls vguest, back to the prompt", function()
    local r = repl {
      { send = "print('lo' .. 'op') while true do end\r" }, { expect = "loop\r\n" },
      { send = "\3" }, { expect = "interrupted" }, { expect = "vguest> " },
      { send = "print('next' .. 'one')\r" }, { expect = "nextone" }, { expect = "vguest> " },
      { send = "\4" }, { wait_exit = true },
    }
    check(r)
    assert.are.equal(0, r.status)
  end)

  it("cancels a secret prompt on Ctrl-C and Ctrl-D, and asks again for an empty secret", function()
    local r = repl {
      { send = "s = vg.secret{ prompt = 'P' .. 'W: ' }\r" }, { expect = "PW: " },
      { send = "\3" }, { expect = "interrupted" }, { expect = "vguest> " },
      { send = "s = vg.secret{ prompt = 'P' .. 'W: ' }\r" }, { expect = "PW: " },
      { send = "\4" }, { expect = "interrupted" }, { expect = "vguest> " },
      { send = "s = vg.secret{ prompt = 'P' .. 'W: ' }\r" }, { expect = "PW: " },
      { send = "\r" }, { expect = "must not be empty" }, { expect = "PW: " },
      { send = "hunter2\r" }, { expect = "vguest> " },
      { send = "s:len()\r" }, { expect = "7\r\n" }, { expect = "vguest> " },
      { send = "\4" }, { wait_exit = true },
    }
    check(r)
    assert.is_nil(r.output:find("hunter2", 1, true))
    local f = helper.write(helper.tmpname(".lua"),
      "local s = require('vguest').secret{ prompt = 'PW: ' }\nprint('not reached')\n")
    for _, key in ipairs { "\3", "\4" } do
      r = drive { argv = { bin, "run", f }, env = env(),
        steps = { { expect = "PW: " }, { send = key }, { wait_exit = true } } }
      check(r)
      assert.are.equal(130, r.status)
      assert.matches("vguest: interrupted\r\n$", r.output)
    end
    os.remove(f)
  end)

  it("appends the history of two REPLs running at once", function()
    local e = env()
    local steps = {
      { spawn = "a", argv = { bin, "repl" }, env = e }, { spawn = "b", argv = { bin, "repl" }, env = e },
      { name = "a", expect = "vguest> " }, { name = "b", expect = "vguest> " },
    }
    for _, s in ipairs {
      { "a", "a_one = 1" }, { "b", "b_one = 1" }, { "a", "a_two = 2" }, { "b", "b_two = 2" },
    } do
      steps[#steps + 1] = { name = s[1], send = s[2] .. "\r" }
      steps[#steps + 1] = { name = s[1], expect = "vguest> " }
    end
    for _, n in ipairs { "a", "b" } do
      steps[#steps + 1] = { name = n, send = "\4" }
      steps[#steps + 1] = { name = n, wait_exit = true }
    end
    local r = drive { steps = steps }
    check(r)
    local f = assert(io.open(home .. "/state/vguest/history"))
    local text = f:read("a"):gsub("\\040", " ")
    f:close()
    assert.are.equal("_HiStOrY_V2_\na_one = 1\na_two = 2\nb_one = 1\nb_two = 2\n", text)
    -- the next session finds them, and the file is cut to its limit
    local lines = { "_HiStOrY_V2_" }
    for i = 1, 1200 do lines[#lines + 1] = "old\\040" .. i end
    helper.write(home .. "/state/vguest/history", table.concat(lines, "\n") .. "\n")
    r = repl { { send = "\27[A" }, { expect = "old" }, { send = "\21new = 1\r" }, { expect = "vguest> " },
      { send = "\4" }, { wait_exit = true } }
    check(r)
    f = assert(io.open(home .. "/state/vguest/history"))
    local kept = {}
    for l in f:lines() do kept[#kept + 1] = l end
    f:close()
    assert.are.equal(1001, #kept)
    assert.are.same({ "_HiStOrY_V2_", "old\\040202" }, { kept[1], kept[2] })
    assert.are.same({ "old\\0401200", "new\\040=\\0401" }, { kept[1000], kept[1001] })
  end)
end)

describe("Ctrl-C and errors without a terminal", function()
  local blank = { "repl", "-e", "_PROMPT = '' _PROMPT2 = ''" }

  it("vguest run stops a loop that never calls vguest: exit 130", function()
    local f = helper.write(helper.tmpname(".lua"), [[
local guard <close> = setmetatable({}, { __close = function() print("closed") end })
print("ready") io.stdout:flush()
local n = 0
while true do n = n + 1 end
]])
    local out, err, code = helper.run_interrupted({ "run", f }, "", "ready")
    assert.are.same({ "ready\nclosed\n", "vguest: interrupted\n", 130 }, { out, err, code })
    os.remove(f)
  end)

  it("the REPL stops a loop and reads the next input", function()
    local out, err, code = helper.run_interrupted(blank,
      "print('ready') io.stdout:flush() while true do end\nprint('next')\n", "ready")
    assert.are.same({ "ready\nnext\n", "interrupted\n", 0 }, { out, err, code })
  end)

  it("refuses an empty secret from a pipe unless allowed, naming the prompt", function()
    local f = helper.write(helper.tmpname(".lua"), [[
local core = require "vguest.core"
print(core.secret_prompt("A: ", { allow_empty = true }):len())
print(pcall(core.secret_prompt, "B: "))
]])
    -- setsid: no controlling terminal, so the prompt reads stdin
    local o = helper.tmpname(".out")
    os.execute("printf '\\n\\n' | setsid " .. helper.quote(bin) .. " run " .. helper.quote(f) ..
      " >" .. helper.quote(o) .. " 2>/dev/null")
    local out = io.open(o):read("a")
    os.remove(o)
    os.remove(f)
    assert.are.equal("0\nfalse\tempty secret at 'B: ' (not allowed)\n", out)
  end)

  it("shows the user's frames, not the library's, in a traceback", function()
    local f = helper.write(helper.tmpname(".lua"), "local vg = require 'vguest'\n" ..
      "local function f() vg.sleep('x') end\nf()\n")
    local _, err, code = helper.run { "run", "--traceback", f }
    assert.are.equal(1, code)
    local q = f:gsub("%p", "%%%0")
    assert.matches("^vguest: " .. q .. ":2: bad argument #1 to 'sleep'", err)
    assert.matches("\nstack traceback:\n\t" .. q .. ":2: in [^\n]*'f'\n\t" .. q .. ":3: in main chunk\n$", err)
    local _, rerr = helper.run(blank, "vg.sleep('x')\nlocal ok, e = pcall(vg.sleep, 'x') error(e, 0)\n")
    assert.is_nil(rerr:find("vguest/", 1, true), rerr)
    assert.matches("^stdin:1: bad argument #1 to 'sleep'[^\n]*\nstack traceback:\n\tstdin:1: in main chunk\n", rerr)
    os.remove(f)
  end)

  it("shows the user's frames for a failed vCenter call (--sim)", function()
    helper.sim()
    local f = helper.write(helper.tmpname(".lua"), "local vg = require 'vguest'\n" ..
      "local s <close> = vg.connect {}\nlocal vm = s:vm('nope')\n")
    local _, err, code = helper.run({ "run", "--sim", "--traceback", f }, "",
      { VGUEST_SIM = require("vguest.sim").find_binary(), TMPDIR = helper.sim_tmpdir() })
    assert.are.equal(1, code)
    local q = f:gsub("%p", "%%%0")
    assert.matches("^vguest: not_found: [^\n]*nope[^\n]*\nstack traceback:\n\t" .. q ..
      ":3: in main chunk\n$", err)
  end)

  it("prints integers as integers and nested tables indented", function()
    local out = helper.run(blank, "1 + 2\n7 // 2\n7 / 2\nmath.maxinteger\n2^53\n")
    assert.are.equal("3\n3\n3.5\n9223372036854775807\n9007199254740992.0\n", out)
  end)
end)
