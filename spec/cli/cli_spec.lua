-- The `vguest` binary ($VGUEST_BIN) with piped stdin: exact stdout, stderr
-- and exit status for --help, --version, run, run --sim, and the REPL.
local helper = require "spec.helper"
local run = helper.run

local function script(text)
  return helper.write(helper.tmpname(".lua"), text)
end

local function sim_env()
  helper.sim() -- make sure the binary works before the CLI starts its own
  return { VGUEST_SIM = require("vguest.sim").find_binary() }
end

describe("vguest CLI", function()
  it("--help prints usage on stdout", function()
    local out, err, code = run { "--help" }
    assert.are.equal(0, code)
    assert.are.equal("", err)
    assert.matches("^usage: vguest run %[options%] FILE", out)
    assert.matches("vguest repl", out)
    assert.matches("%-%-sim", out)
    local out2 = run { "run", "--help" }
    assert.are.equal(out, out2)
  end)

  it("names the flavours of the runtime's registry", function()
    local names = require("vguest.core").protocols
    assert.are.same({ "auto", "api", "rest", "vim25" }, names)
    local out = run { "--help" }
    assert.matches("%-%-protocol P +default protocol for vg.connect: " ..
      table.concat(names, ", ", 1, #names - 1) .. " or " .. names[#names] .. "\n", out)
    local _, err, code = run { "repl", "--protocol=soap" }
    assert.are.equal(1, code)
    assert.are.equal("vguest: --protocol needs one of " .. table.concat(names, ", ") .. "\n", err)
    for _, name in ipairs(names) do
      local o, e, c = run({ "run", "--protocol", name, "-" },
        "print(require('vguest.defaults').protocol)")
      assert.are.equal("", e)
      assert.are.equal(0, c)
      assert.are.equal(name .. "\n", o)
    end
  end)

  it("--version prints the version", function()
    local out, err, code = run { "--version" }
    assert.are.equal(0, code)
    assert.are.equal("", err)
    assert.matches("^vguest %d+%.%d+%.%d+\n$", out)
  end)

  it("rejects an unknown command and option with one line", function()
    local out, err, code = run { "frob" }
    assert.are.equal(1, code)
    assert.are.equal("", out)
    assert.are.equal("vguest: unknown command 'frob' (try vguest --help)\n", err)
    out, err, code = run { "run", "--frob", "x.lua" }
    assert.are.equal(1, code)
    assert.are.equal("vguest: unknown option '--frob' for run (try vguest --help)\n", err)
    out, err, code = run { "run" }
    assert.are.equal(1, code)
    assert.are.equal("vguest: run needs a FILE (try vguest --help)\n", err)
    out, err, code = run { "run", "--protocol", "soap", "x.lua" }
    assert.are.equal(1, code)
    assert.are.equal("vguest: --protocol needs one of auto, api, rest, vim25\n", err)
  end)

  describe("run", function()
    it("runs a script with its arguments in arg and ...", function()
      local f = script [[
print(arg[0] == ..., select('#', ...))
print(arg[1], arg[2], ...)
]]
      local out, err, code = run { "run", f, "a b", "c" }
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal("false\t2\na b\tc\ta b\tc\n", out)
    end)

    it("reports a failing script in one line, exit 1", function()
      local f = script "print('before')\nerror('boom')\n"
      local out, err, code = run { "run", f }
      assert.are.equal(1, code)
      assert.are.equal("before\n", out)
      assert.are.equal("vguest: " .. f .. ":2: boom\n", err)
    end)

    it("adds a traceback with --traceback or VGUEST_TRACEBACK=1", function()
      local f = script "local function inner() error('deep') end\ninner()\n"
      local _, err, code = run { "run", "--traceback", f }
      assert.are.equal(1, code)
      assert.matches("^vguest: " .. f:gsub("%p", "%%%0") .. ":1: deep\nstack traceback:\n", err)
      assert.matches("in local 'inner'", err)
      local _, err2 = run({ "run", f }, "", { VGUEST_TRACEBACK = "1" })
      assert.are.equal(err, err2)
    end)

    it("prints an error object through its tostring", function()
      local f = script [[
error(require("vguest.errors").new { kind = "not_found", op = "create", vm = "vm-42",
  message = "program /no/such not found", status = 404 })
]]
      local out, err, code = run { "run", f }
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert.are.equal("vguest: not_found: create on vm-42: program /no/such not found (HTTP 404)\n", err)
    end)

    it("reports a missing file", function()
      local out, err, code = run { "run", "/no/such/playbook.lua" }
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert.are.equal("vguest: cannot open /no/such/playbook.lua: No such file or directory\n", err)
    end)

    it("reports a syntax error", function()
      local f = script "x = = 1\n"
      local _, err, code = run { "run", f }
      assert.are.equal(1, code)
      assert.are.equal("vguest: " .. f .. ":1: unexpected symbol near '='\n", err)
    end)

    it("runs a script from stdin (run -, and plain vguest without a terminal)", function()
      local out, err, code = run({ "run", "-" }, "print(1 + 1)\n")
      assert.are.same({ "2\n", "", 0 }, { out, err, code })
      out, err, code = run({}, "print(2 + 2)\n")
      assert.are.same({ "4\n", "", 0 }, { out, err, code })
    end)

    it("exits with the script's os.exit status", function()
      local _, _, code = run { "run", script "os.exit(3)" }
      assert.are.equal(3, code)
    end)

    it("lets spawned tasks finish, and fails on a task error nobody saw", function()
      local f = script [[
local vg = require "vguest"
vg.spawn(function() vg.sleep(0.05) print("background done") end)
print("main done")
]]
      local out, err, code = run { "run", f }
      assert.are.same({ "main done\nbackground done\n", "", 0 }, { out, err, code })
      f = script [[
local vg = require "vguest"
vg.spawn(function() vg.sleep(0.01) error("lost", 0) end)
]]
      out, err, code = run { "run", f }
      assert.are.equal(1, code)
      assert.are.equal("vguest: lost (in a task nobody waited for)\n", err)
    end)

    it("cancels the script on Ctrl-C, running its <close> variables, exit 130", function()
      local f = script [[
local vg = require "vguest"
local guard <close> = setmetatable({}, { __close = function() print("closed") end })
print("ready")
io.stdout:flush()
vg.sleep(60)
print("not reached")
]]
      local out, err, code = helper.run_interrupted({ "run", f }, "", "ready")
      assert.are.same({ "ready\nclosed\n", "vguest: interrupted\n", 130 }, { out, err, code })
    end)

    it("-e runs a statement first", function()
      local out, _, code = run { "run", "-e", "X = 41", script "print(X + 1)" }
      assert.are.equal(0, code)
      assert.are.equal("42\n", out)
    end)
  end)

  it("says where a missing server or user can come from", function()
    local f = script 'require("vguest").connect {}'
    local _, err, code = run({ "run", f }, "", { VGUEST_SERVER = "", VGUEST_USER = "" })
    assert.are.equal(1, code)
    assert.truthy(err:find("field 'server' is required: give server = ... or set VGUEST_SERVER", 1, true), err)
    f = script 'require("vguest").connect { server = "https://127.0.0.1:1" }'
    _, err = run({ "run", f }, "", { VGUEST_USER = "" })
    assert.truthy(err:find("field 'user' is required: give user = ... or set VGUEST_USER", 1, true), err)
  end)

  describe("run --sim", function()
    it("points vg.connect{} and vg.credentials{} at a simulator", function()
      local f = script [[
local vg = require "vguest"
local s <close> = vg.connect {}
local g = s:vm("web-01"):guest(vg.credentials {})
local info = g:run { path = "/bin/sh", arguments = "-c 'exit 5'" }
print(s.protocol ~= nil, info.exit_code)
]]
      local out, err, code = run({ "run", "--sim", f }, "", sim_env())
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal("true\t5\n", out)
    end)

    it("wins over VGUEST_SERVER and honours --protocol", function()
      local env = sim_env()
      env.VGUEST_SERVER = "https://127.0.0.1:1"
      for _, p in ipairs { "api", "rest", "vim25" } do
        local f = script [[
local s <close> = require("vguest").connect {}
print(s.protocol)
]]
        local out, err, code = run({ "run", "--sim", "--protocol", p, f }, "", env)
        assert.are.same({ p .. "\n", "", 0 }, { out, err, code })
      end
    end)

    it("stops the simulator at exit, also after an error", function()
      local f = script [[
print(math.tointeger(require("vguest").defaults.sim.pid))
error("fail")
]]
      local out, err, code = run({ "run", "--sim", f }, "", sim_env())
      assert.are.equal(1, code)
      assert.matches("fail\n$", err)
      local pid = assert(out:match("^(%d+)\n$"), out)
      assert.is_falsy(os.execute("kill -0 " .. pid .. " 2>/dev/null"))
    end)

    it("never prints a secret in errors", function()
      local sim = helper.sim()
      local f = script [[
local vg = require "vguest"
local s <close> = vg.connect {}
local g = s:vm("web-01"):guest(vg.credentials { user = "root", password = "not-the-password" })
g:create { path = "/bin/true" }
]]
      local out, err, code = run({ "run", "--sim", f }, "", sim_env())
      assert.are.equal(1, code)
      assert.matches("^vguest: unauthenticated %(guest%)", err)
      assert.is_nil((out .. err):find("not-the-password", 1, true))
      assert.is_nil((out .. err):find(sim.password, 1, true))
      assert.is_nil((out .. err):find(sim.guest_password, 1, true))
    end)

    for _, ex in ipairs { "quickstart", "fanout" } do
      for _, p in ipairs { "api", "rest", "vim25" } do
        it("runs examples/" .. ex .. ".lua --protocol " .. p, function()
          local out, err, code = run({ "run", "--sim", "examples/" .. ex .. ".lua", "--protocol", p },
            "", sim_env())
          assert.are.equal("", err)
          assert.are.equal(0, code)
          if ex == "quickstart" then
            assert.matches("protocol " .. p, out)
            assert.matches("finished with exit code 3\n", out)
            assert.matches("deleted pid %d+ %(finished: true%)\n$", out)
          else
            assert.matches("vm%-42%s+web%-01%s+exit 0\n", out)
            assert.matches("vm%-47%s+app%-01%s+error: service_unavailable\n", out)
          end
        end)
      end
    end
  end)

  describe("repl", function()
    local blank = { "repl", "-e", "_PROMPT = '' _PROMPT2 = ''" }

    it("prints results, runs multi-line input, reports errors", function()
      local out, err, code = run(blank, "1+1\nreturn 2,3\nfor i=1,2 do\nprint(i)\nend\nerror('x')\nprint('after')\n")
      assert.are.equal(0, code)
      assert.are.equal("2\n2\t3\n1\n2\nafter\n", out)
      assert.matches("^stdin:1: x\nstack traceback:\n", err)
    end)

    it("prints syntax errors bare", function()
      local out, err, code = run(blank, "x = = 1\n")
      assert.are.same({ "", "stdin:1: unexpected symbol near '='\n", 0 }, { out, err, code })
    end)

    it("shows the default prompts", function()
      local out, err, code = run({ "repl" }, "1\nif true then\nend\n")
      assert.are.same({ "vguest> 1\nvguest> >> vguest> ", "", 0 }, { out, err, code })
    end)

    it("pretty-prints tables, strings and nil", function()
      local out = run(blank, "{b=1,a={1,2}}\n'x'\nnil\nreturn\n")
      assert.are.equal('{ a = { 1, 2 }, b = 1 }\n"x"\nnil\n', out)
    end)

    it("has vg loaded and masks secrets", function()
      local out, err = run(blank, "vg.version\nvg.secret('hunter2')\n{ vg.secret('hunter2') }\n")
      assert.are.equal("", err)
      assert.matches('^"%d+%.%d+%.%d+"\nvguest.Secret %(%*%*%*%)\n{ vguest.Secret %(%*%*%*%) }\n$', out)
      assert.is_nil(out:find("hunter2"))
    end)

    it("keeps globals between inputs and lets background tasks run", function()
      local out, err = run(blank, table.concat({
        "x = 0",
        "t = vg.spawn(function() vg.sleep(0.05) x = 1 return 'done' end)",
        "vg.sleep(0.2)",
        "x, t:done(), t:wait()",
      }, "\n") .. "\n")
      assert.are.equal("", err)
      assert.are.equal('1\ttrue\t"done"\n', out)
    end)

    it("cancels the running input on Ctrl-C and reads the next one", function()
      local out, err, code = helper.run_interrupted(blank,
        "print('ready') io.stdout:flush() vg.sleep(60)\nprint('next')\n", "ready")
      assert.are.same({ "ready\nnext\n", "interrupted\n", 0 }, { out, err, code })
    end)

    it("works against a simulator with --sim", function()
      local out, err, code = run({ "repl", "--sim", "-e", "_PROMPT = ''" },
        "s = vg.connect{ protocol = 'rest' }\ns.protocol\ng = s:vm('web-02'):guest()\n" ..
        "g:run{ path = '/bin/false' }.exit_code\ns\ns:close()\n", sim_env())
      assert.are.equal("", err)
      assert.are.equal(0, code)
      local sim = helper.sim()
      assert.matches('^"rest"\n1\nvguest.Session %(', out)
      assert.is_nil(out:find(sim.password, 1, true))
    end)
  end)
end)
