-- The fleet commands of the `vguest` binary: exec, ps, kill, upload,
-- download, vms, as a user types them (blocks, --prefix, --json, exit
-- statuses, usage errors), against a simulator.
local helper = require "spec.helper"
local cjson = require "cjson"

-- an empty config directory: no profile of the machine's user applies
local config_home = helper.tmpname("-config")
os.execute("mkdir -p " .. helper.quote(config_home))

local function env(extra)
  helper.sim() -- make sure the binary works before the CLI starts its own
  local e = { VGUEST_SIM = require("vguest.sim").find_binary(), TMPDIR = helper.sim_tmpdir(),
    XDG_CONFIG_HOME = config_home }
  for k, v in pairs(extra or {}) do e[k] = v end
  return e
end

local function run(args, extra) return helper.run(args, "", env(extra)) end

-- The environment that points vguest at the suite's own simulator.
local function sim_env()
  local sim = helper.sim()
  return env { VGUEST_SERVER = sim.url, VGUEST_CA_FILE = sim.ca_file, VGUEST_USER = sim.user,
    VGUEST_PASSWORD = sim.password, VGUEST_GUEST_USER = sim.guest_user,
    VGUEST_GUEST_PASSWORD = sim.guest_password }
end

-- The JSON lines of out, decoded.
local function json_lines(out)
  local list = {}
  for line in out:gmatch("[^\n]+") do list[#list + 1] = cjson.decode(line) end
  table.sort(list, function(a, b) return a.name < b.name or (a.name == b.name and a.id < b.id) end)
  return list
end

describe("vguest exec", function()
  it("runs the command on every VM a glob selects, one block each, and sums up", function()
    local out, err, code = run { "exec", "--sim", "--vm", "web-0[1-2]", "--", "printf", "%s\\n", "it's" }
    assert.are.equal(0, code, err)
    assert.matches("=== web%-01 %(vm%-42%): exit 0\nit's\n", out)
    assert.matches("=== web%-02 %(vm%-43%): exit 0\nit's\n", out)
    assert.is_nil(out:find("web-03", 1, true))
    assert.matches("^vguest: 2 VMs: 2 ok in [%d.]+ s\n$", err)
  end)

  it("exits 1 when a command exits non-zero, with its stderr and the codes in the summary", function()
    local out, err, code = run { "exec", "--sim", "--vm", "web-01", "--vm", "web-02",
      "--shell", "echo out; echo oops >&2; exit 3" }
    assert.are.equal(1, code)
    assert.matches("=== web%-01 %(vm%-42%): exit 3\nout\n", out)
    assert.matches("%-%-%- web%-01 stderr\noops\n", err)
    assert.matches("vguest: 2 VMs: 0 ok, 2 exit 3 %(web%-01, web%-02%) in", err)
  end)

  it("writes one JSON object per VM per line with --json", function()
    local out, err, code = run { "exec", "--sim", "--json", "--vm", "web-0[12]", "--vm", "db-01",
      "--shell", "printf 'a\\377b'; echo e >&2; exit 2" }
    assert.are.equal(1, code)
    local list = json_lines(out)
    assert.are.equal(3, #list)
    local db, w1 = list[1], list[2]
    assert.are.same({ "db-01", "vm-46" }, { db.name, db.id })
    assert.are.equal(cjson.null, db.exit_code)
    assert.matches("powered off", db.error)
    assert.are.equal("not_allowed_in_current_state", db.kind)
    assert.are.same({ "web-01", "vm-42", 2, "e\n", cjson.null }, { w1.name, w1.id, w1.exit_code,
      w1.stderr, w1.error })
    -- output that is not UTF-8 stays valid JSON, and says so
    assert.are.equal("a\u{FFFD}b", w1.stdout)
    assert.is_true(w1.stdout_lossy)
    assert.is_number(w1.pid)
    assert.matches("^%d%d%d%d%-", w1.started)
    assert.matches("2 exit 2 %(web%-01, web%-02%)", err)
    assert.matches("1 failed %(db%-01%)", err)
    -- and jq reads it as users will
    local f = helper.write(helper.tmpname(".jsonl"), out)
    local p = assert(io.popen("jq -r 'select(.exit_code == 2) | .name + \" \" + .stderr' < " .. helper.quote(f)))
    local names = p:read("a")
    p:close()
    os.remove(f)
    local sorted = {}
    for l in names:gmatch("[^\n]+") do sorted[#sorted + 1] = l end
    table.sort(sorted)
    assert.are.same({ "web-01 e", "web-02 e" }, sorted)
  end)

  it("prefixes every line with the VM's name with --prefix", function()
    local out, err, code = run { "exec", "--sim", "--prefix", "--vm", "web-01", "--shell",
      "echo one; echo two; echo bad >&2" }
    assert.are.equal(0, code, err)
    assert.are.equal("web-01: one\nweb-01: two\n", out)
    assert.matches("^web%-01: bad\nvguest: 1 VM: 1 ok", err)
  end)

  it("stops a command at --timeout and reports it as failed", function()
    local out, err, code = run { "exec", "--sim", "--timeout", "0.5", "--vm", "web-01", "--",
      "sh", "-c", "echo started; sleep 30" }
    assert.are.equal(1, code)
    assert.matches("=== web%-01 %(vm%-42%): error: .*terminated\nstarted\n", out)
    assert.matches("1 failed %(web%-01%)", err)
  end)

  it("says which VMs cannot run it: powered off, Tools not running", function()
    local out, err, code = run { "exec", "--sim", "--vm", "db-01", "--vm", "app-01", "--", "true" }
    assert.are.equal(1, code)
    assert.matches("=== db%-01 %(vm%-46%): error: the VM is powered off", out)
    assert.matches("=== app%-01 %(vm%-47%): error: VMware Tools is not running", out)
    assert.matches("2 failed %(app%-01, db%-01%)", err)
  end)

  it("selects by id and by power state, and fails when nothing matches", function()
    local out, err, code = run { "exec", "--sim", "--vm", "vm-43", "--", "true" }
    assert.are.equal(0, code, err)
    assert.matches("=== web%-02 %(vm%-43%): exit 0", out)
    out, err, code = run { "exec", "--sim", "--power-state", "off", "--", "true" }
    assert.are.equal(1, code)
    assert.matches("=== db%-01 %(vm%-46%)", out)
    assert.matches("^vguest: 1 VM: 0 ok, 1 failed %(db%-01%)", err)
    out, err, code = run { "exec", "--sim", "--vm", "nope-*", "--", "true" }
    assert.are.same({ "", "vguest: no VM matches --vm 'nope-*'\n", 1 }, { out, err, code })
  end)

  it("refuses bad command lines with status 2 and a message naming what is wrong", function()
    local cases = {
      { { "exec", "--", "true" }, "exec needs a selection: %-%-vm PATTERN" },
      { { "exec", "--vm", "web-01" }, "exec needs a command" },
      { { "exec", "--vm", "web-01", "--shell", "x", "--", "y" }, "exec takes %-%-shell or a PROGRAM with ARGS, not both" },
      { { "exec", "--vm" }, "%-%-vm needs a value" },
      { { "exec", "--vm", "w", "--frob", "--", "true" }, "unknown option '%-%-frob' for exec" },
      { { "exec", "--vm", "w", "--limit", "0", "--", "true" }, "%-%-limit needs a positive integer" },
      { { "exec", "--vm", "w", "--timeout", "soon", "--", "true" }, "%-%-timeout needs a positive number" },
      { { "exec", "--power-state", "on-ish", "--", "true" }, "%-%-power%-state needs POWERED_ON" },
      { { "exec", "--all", "--vm", "w", "--", "true" }, "%-%-all selects every VM" },
      { { "exec", "--vm", "w", "--env", "NOEQUALS", "--", "true" }, "%-%-env needs NAME=VALUE" },
      { { "kill", "--vm", "w", "12x" }, "kill: '12x' is not a PID" },
      { { "upload", "--vm", "w", "onlyone" }, "upload needs two paths" },
      { { "ps", "--vm", "w", "extra" }, "unexpected argument 'extra' for ps" },
      { { "help", "nope" }, "no help on 'nope'" },
    }
    for _, c in ipairs(cases) do
      local out, err, code = run(c[1])
      assert.are.equal(2, code, table.concat(c[1], " ") .. ": " .. err)
      assert.are.equal("", out)
      assert.matches("^vguest: " .. c[2], err)
      assert.are.equal(1, select(2, err:gsub("\n", ""))) -- one line
    end
  end)

  it("has help for each command", function()
    for _, cmd in ipairs { "exec", "ps", "kill", "upload", "download", "vms" } do
      local out, err, code = run { "help", cmd }
      assert.are.equal(0, code, err)
      assert.matches("^usage: vguest " .. cmd, out)
      assert.matches("%-%-vm PATTERN", out)
      local out2 = run { cmd, "--help" }
      assert.are.equal(out, out2)
    end
    local out = run { "--help" }
    assert.matches("\n  exec +run one command on every selected VM at once\n", out)
  end)
end)

describe("vguest ps and kill", function()
  it("list a guest's processes and terminate one", function()
    local s = helper.connect("api")
    local g = s:vm("web-03"):guest(helper.credentials())
    local p = g:create { path = "/bin/sleep", arguments = "60" }
    local out, err, code = helper.run({ "ps", "--vm", "web-03" }, "", sim_env())
    assert.are.equal(0, code, err)
    assert.matches("^VM +PID +OWNER +STARTED +STATE +COMMAND\n", out)
    assert.matches("\nweb%-03 +" .. p.pid .. " .+ running +.*sleep", out)
    out, err, code = helper.run({ "ps", "--json", "--vm", "web-03" }, "", sim_env())
    assert.are.equal(0, code, err)
    local found
    for _, e in ipairs(json_lines(out)) do
      if e.pid == p.pid then found = e end
    end
    assert.are.same({ "web-03", "vm-44" }, { found.name, found.id })
    assert.are.equal(cjson.null, found.exit_code)
    out, err, code = helper.run({ "kill", "--vm", "web-03", tostring(p.pid) }, "", sim_env())
    assert.are.equal(0, code, err)
    assert.matches("^vguest: 1 VM: 1 terminated", err)
    local info = p:wait { timeout = 10 }
    assert.is_not_nil(info.finished)
    -- a pid that is not there is that VM's failure
    out, err, code = helper.run({ "kill", "--vm", "web-03", "999999" }, "", sim_env())
    assert.are.equal(1, code)
    assert.matches("web%-03 %(vm%-44%): pid 999999: ", err)
    s:close()
  end)
end)

describe("vguest upload and download", function()
  it("copy a file to every selected VM and back, one local file per VM with {vm}", function()
    local src = helper.write(helper.tmpname(".txt"), "payload\n")
    local gpath = helper.tmpname(".guest")
    local out, err, code = run { "upload", "--sim", "--vm", "web-0[12]", "--mode", "0640", src, gpath }
    assert.are.equal(0, code, err)
    assert.matches("web%-01: wrote " .. gpath:gsub("%p", "%%%0"), out)
    assert.matches("vguest: 2 VMs: 2 uploaded", err)
    local local_path = helper.tmpname("-{vm}.txt")
    out, err, code = run { "download", "--sim", "--vm", "web-0[12]", gpath, local_path }
    assert.are.equal(0, code, err)
    for _, name in ipairs { "web-01", "web-02" } do
      local f = assert(io.open((local_path:gsub("{vm}", name)), "rb"))
      assert.are.equal("payload\n", f:read("a"))
      f:close()
      os.remove((local_path:gsub("{vm}", name)))
    end
    -- several VMs into one local file would overwrite: refused
    out, err, code = run { "download", "--sim", "--vm", "web-0[12]", gpath, helper.tmpname(".one") }
    assert.are.equal(1, code)
    assert.matches("2 VMs are selected: put {vm} in LOCAL", err)
    os.remove(src)
    os.remove(gpath)
  end)

  it("fails clearly on a local file that cannot be read", function()
    local out, err, code = run { "upload", "--sim", "--vm", "web-01", "/nonexistent/x", "/tmp/y" }
    assert.are.same({ "", 1 }, { out, code })
    assert.matches("^vguest: cannot read /nonexistent/x", err)
  end)
end)

describe("vguest vms", function()
  it("shows each VM's guest OS, Tools, IP address and host, as table or JSON", function()
    local out, err, code = run { "vms", "--sim" }
    assert.are.equal(0, code, err)
    assert.matches("^NAME +ID +POWER +OS +TOOLS +IP +HOST\n", out)
    assert.matches("\nweb%-01 +vm%-42 +POWERED_ON +linux +running +192%.168%.10%.42 +esx%-01\n", out)
    assert.matches("\ndb%-01 +vm%-46 +POWERED_OFF +%- +not running +%- +esx%-03\n", out)
    out, err, code = run { "vms", "--sim", "--json", "--host", "esx-03" }
    assert.are.equal(0, code, err)
    local list = json_lines(out)
    assert.are.equal(2, #list)
    assert.are.same({ "db-01", "POWERED_OFF", false, "esx-03" },
      { list[1].name, list[1].power_state, list[1].tools_running, list[1].host })
    assert.are.same({ "dup", "vm-51", "linux", true, "192.168.20.51" },
      { list[2].name, list[2].id, list[2].guest_family, list[2].tools_running, list[2].ip_address })
  end)

  it("selects by container on every fleet command, and names a container that is not there", function()
    local out, err, code = run { "exec", "--sim", "--cluster", "Prod", "--folder", "web", "--host", "esx-02",
      "--prefix", "--", "echo", "x" }
    assert.are.equal(0, code, err)
    local lines = {}
    for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
    table.sort(lines)
    assert.are.same({ "web-03: x", "web-04: x" }, lines)
    out, err, code = run { "vms", "--sim", "--brief", "--resource-pool", "nope" }
    assert.are.same({ "", 1 }, { out, code })
    assert.matches("^vguest: not_found: vms: no resource pool named or with id 'nope' %(there are: " ..
      "Resources, batch, nightly%)\n$", err)
  end)

  it("lists the VMs a selection picks, briefly or as JSON", function()
    local out, err, code = run { "vms", "--sim", "--brief", "--vm", "web-*" }
    assert.are.equal(0, code, err)
    assert.matches("^NAME +ID +POWER\nweb%-01 +vm%-42 +POWERED_ON\nweb%-02 ", out)
    assert.matches("vguest: 4 VMs in", err)
    out, err, code = run { "vms", "--sim", "--brief", "--json" }
    assert.are.equal(0, code, err)
    local list = json_lines(out)
    assert.are.equal(8, #list)
    assert.are.same({ name = "app-01", id = "vm-47", power_state = "POWERED_ON" }, list[1])
  end)
end)

describe("vguest thumbprint", function()
  it("prints the SHA-256 fingerprint of the server's certificate, which a pin then takes", function()
    local sim = helper.sim()
    local out, err, code = helper.run({ "thumbprint", sim.url }, "", env())
    assert.are.equal(0, code, err)
    assert.matches("^%x%x:" .. string.rep("%x%x:", 30) .. "%x%x\n$", out)
    assert.are.equal(out:upper(), out)
    local p = assert(io.popen("openssl x509 -noout -fingerprint -sha256 -in " .. helper.quote(sim.ca_file)))
    local want = p:read("a"):match("=(%S+)")
    p:close()
    -- the simulator's certificate is its own CA's leaf: the one in ca_file is the same
    assert.are.equal(want, out:sub(1, -2))
    local s = require("vguest").connect { server = sim.url, user = sim.user, password = sim.password,
      thumbprint = out:sub(1, -2), protocol = "api" }
    s:close()
    -- no process behind the URL, and no URL at all
    out, err, code = helper.run({ "thumbprint", "https://127.0.0.1:1" }, "", env())
    assert.are.same({ "", 1 }, { out, code })
    assert.matches("^vguest: transport: thumbprint: https://127%.0%.0%.1:1: ", err)
    out, err, code = helper.run({ "thumbprint" }, "", env { VGUEST_SERVER = "" })
    assert.are.same({ "", 2 }, { out, code })
    assert.matches("thumbprint needs a URL", err)
  end)
end)

describe("messages", function()
  it("show the simulator's own message when it does not start", function()
    local inv = helper.write(helper.tmpname(".json"), '{"users": [], "vms": [{"id": "vm-1"}]}')
    local out, err, code = helper.run({ "exec", "--sim", "--vm", "x", "--", "true" }, "",
      env { VGUEST_SIM_INVENTORY = inv })
    assert.are.same({ "", 1 }, { out, code })
    assert.matches("^vguest: the simulator did not start %(.-, exit status 2%): vguest%-sim: inventory .-: " ..
      "vms%[0%]: missing member \"name\"\n$", err)
    out, err, code = helper.run({ "run", "--sim", "-" }, "", env { VGUEST_SIM = "/nonexistent/sim" })
    assert.are.equal(1, code)
    assert.matches("^vguest: the simulator did not start %(/nonexistent/sim, exit status 127%): " ..
      ".*No such file or directory\n$", err)
    os.remove(inv)
  end)

  it("name the VM by name as well as id", function()
    local out, err, code = helper.run({ "run", "--sim", "-" }, table.concat({
      "local vg = require 'vguest'",
      "local s = vg.connect{}",
      "local g = s:vm('web-01'):guest()",
      "local ok, e = pcall(g.create, g, { path = '/no/such' }) print(e)",
      "ok, e = pcall(g.run, g, { 'false', check = true }) print(e)",
      "local p = g:create{ path = '/bin/sleep', arguments = '5' }",
      "ok, e = pcall(p.wait, p, { timeout = 0.1, kill = true }) print(e)",
    }, "\n"), env())
    assert.are.equal(0, code, err)
    assert.matches("^vguest: not_found: create on web%-01 %(vm%-42%): ", out)
    assert.matches("\nvguest: command_failed: run pid %d+ on web%-01 %(vm%-42%): ", out)
    assert.matches("\nvguest: timed_out: wait pid %d+ on web%-01 %(vm%-42%): ", out)
  end)
end)

describe("after s:close()", function()
  it("every call raises at the caller's line", function()
    local lines = {
      "local vg = require 'vguest'",
      "local s = vg.connect{}",
      "local vm = s:vm('web-01')",
      "local g = vm:guest()",
      "local p = g:create{ path = '/bin/true' }",
      "s:close()",
      "local calls = { function() s:vms() end, function() s:vm('x') end,",
      "  function() g:create{ path = '/bin/true' } end, function() g:run{ 'true' } end,",
      "  function() p:wait() end, function() p:get() end, function() g:read_file('/etc/hostname') end,",
      "  function() vm:wait_ready() end, function() vm:guest_info() end, function() s:info() end }",
      "for _, f in ipairs(calls) do local ok, e = pcall(f) print(e) end",
    }
    local out, err, code = helper.run({ "run", "--sim", "-" }, table.concat(lines, "\n"), env())
    assert.are.equal(0, code, err)
    local n = 0
    for line in out:gmatch("[^\n]+") do
      n = n + 1
      assert.matches("^stdin:%d+: attempt to use a closed vguest.Session$", line)
      local at = tonumber(line:match("^stdin:(%d+)"))
      assert.is_true(at >= 7 and at <= 10, line)
    end
    assert.are.equal(10, n)
  end)
end)

describe("Ctrl-C during vguest exec", function()
  it("stops the commands still running in the guests and exits 130", function()
    local lock = helper.tmpname(".lock")
    local marker = helper.tmpname(".marker")
    -- the first VM to take the lock prints once the other's command runs;
    -- that one waits
    local cmd = "if mkdir " .. helper.quote(lock) .. " 2>/dev/null; then i=0; while [ ! -e " ..
      helper.quote(marker) .. " ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; echo READY; else " ..
      helper.noting(marker, "sleep 60") .. "; fi"
    local out, err, code = helper.run_interrupted({ "exec", "--sim", "--vm", "web-01", "--vm", "web-02",
      "--shell", cmd }, "", "READY", env())
    assert.are.equal(130, code, err)
    assert.matches("READY\n", out)
    assert.matches("vguest: interrupted\n$", err)
    local pid = helper.noted(marker)
    assert.is_not_nil(pid, "the waiting command never started")
    assert.is_false(helper.alive(pid), "the guest command was left running")
    os.remove(marker)
    os.execute("rmdir " .. helper.quote(lock))
  end)
end)

describe("Ctrl-C in a background task's loop under vguest run", function()
  it("exits 130, as in the main chunk", function()
    local f = helper.write(helper.tmpname(".lua"), "local vg = require 'vguest'\n" ..
      "vg.spawn(function() print('READY') io.stdout:flush() while true do end end)\nvg.sleep(0)\n")
    local out, err, code = helper.run_interrupted({ "run", f }, "", "READY", env())
    assert.are.same({ "READY\n", "vguest: interrupted\n", 130 }, { out, err, code })
    os.remove(f)
  end)
end)
