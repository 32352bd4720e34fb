-- VM selection in the Lua API: glob patterns (vguest.glob), s:vms{
-- patterns = ... }, and the pieces the fleet commands print with
-- (vguest.json) and read their settings from (vguest.config).
local helper = require "spec.helper"
local glob = require "vguest.glob"
local json = require "vguest.json"
local config = require "vguest.config"

describe("vguest.glob", function()
  local function m(p, name) return assert(glob.matcher(p))(name) end

  it("matches whole names with * ? [set] [!set] and \\ quotes", function()
    assert.is_true(m("web-*", "web-01"))
    assert.is_false(m("web-*", "db-web-01"))
    assert.is_true(m("db-0[1-3]", "db-02"))
    assert.is_false(m("db-0[1-3]", "db-04"))
    assert.is_true(m("[!w]*", "app"))
    assert.is_false(m("[!w]*", "web"))
    assert.is_true(m("[^w]*", "app"))
    assert.is_true(m("a?c", "abc"))
    assert.is_true(m("a?c", "aéc")) -- one character, not one byte
    assert.is_false(m("a?c", "ac"))
    assert.is_true(m("a\\*", "a*"))
    assert.is_false(m("a\\*", "ab"))
    assert.is_true(m("100%.(x)", "100%.(x)")) -- Lua's magic characters are plain
    assert.is_true(m("[]x]", "]"))
    assert.is_true(m("*", ""))
  end)

  it("says what is wrong with a bad pattern", function()
    assert.are.same({ nil, "pattern 'x[' has a [ without its ]" }, { glob.matcher("x[") })
    assert.are.same({ nil, "pattern 'x\\' ends with a lone \\" }, { glob.matcher("x\\") })
    assert.are.same({ nil, "pattern '[z-a]' has a reversed range z-a" }, { glob.matcher("[z-a]") })
  end)

  it("tells a plain name from a pattern", function()
    assert.are.equal("web-01", glob.literal("web-01"))
    assert.are.equal("web*", glob.literal("web\\*"))
    assert.is_nil(glob.literal("web*"))
    assert.is_nil(glob.literal("db-0[1-3]"))
  end)
end)

describe("vguest.json", function()
  it("writes objects in the order given, arrays, and escapes", function()
    assert.are.equal('{"b":1,"a":[true,null,"x\\n\\"/"],"c":null}',
      json.object { { "b", 1 }, { "a", { true, nil, 'x\n"/', n = 3 } }, { "c", nil } })
    assert.are.equal('[1,2.5,"\\u0001"]', json.encode { 1, 2.5, "\1" })
  end)

  it("keeps its output valid UTF-8 whatever the bytes", function()
    assert.are.same({ "ok é", true }, { json.text("ok é") })
    assert.are.same({ "a\u{FFFD}b\u{FFFD}", false }, { json.text("a\255b\200") })
    assert.are.equal('"a\u{FFFD}"', json.encode("a\255"))
  end)
end)

describe("vguest.config", function()
  it("reads profiles, their types and password sources", function()
    local cfg = assert(config.parse(table.concat({
      "# comment", "default = lab", "", "[lab]", "server = https://vc.lab", " user = bob ",
      "password_env = LAB_PW", "insecure = yes", "timeout = 2.5", "max_connections = 8",
      "ca_file = ~/ca.pem", "guest_password_file = ~/gpw", "[prod]", "password = a # b",
    }, "\n"), "cfg"))
    assert.are.equal("lab", cfg.default)
    local lab = cfg.profiles.lab
    assert.are.same({ "https://vc.lab", "bob", true, 2.5, 8 },
      { lab.server, lab.user, lab.insecure, lab.timeout, lab.max_connections })
    assert.are.same({ env = "LAB_PW", line = 7 }, lab.password)
    assert.are.equal(os.getenv("HOME") .. "/ca.pem", lab.ca_file)
    assert.are.equal(os.getenv("HOME") .. "/gpw", lab.guest_password.file)
    assert.are.same({ plain = "a # b", line = 14 }, cfg.profiles.prod.password)
  end)

  it("names the file, the line and what is wrong", function()
    local cases = {
      { "server = x", "cfg:1: 'server' is outside a profile" },
      { "[a]\nsrever = x", "cfg:2: unknown setting 'srever'" },
      { "[a]\ninsecure = maybe", "cfg:2: 'insecure' must be yes or no, got 'maybe'" },
      { "[a]\ntimeout = -1", "cfg:2: 'timeout' must be a positive number" },
      { "[a]\n[a]", "cfg:2: profile [a] is defined twice" },
      { "[a b]", "cfg:1: a section is [NAME]" },
      { "[a]\njunk", "cfg:2: expected KEY = VALUE or [PROFILE], got 'junk'" },
      -- a line that is not KEY = VALUE may hold a password: not shown
      { "[a]\npassword: hunter2", "cfg:2: expected KEY = VALUE or [PROFILE], got a line starting " ..
        "'password' (the rest is not shown)" },
      { "[a]\n:hunter2", "cfg:2: expected KEY = VALUE or [PROFILE], got a line starting ':'" },
      { "[a]\npassword = x\npassword_env = Y", "cfg:3: 'password' is given twice" },
      { "[a]\nuser_env = X", "cfg:2: unknown setting 'user_env'" },
    }
    for _, c in ipairs(cases) do
      local cfg, err = config.parse(c[1], "cfg")
      assert.is_nil(cfg)
      assert.are.equal(c[2], err:sub(1, #c[2]))
      assert.is_nil(err:find("hunter2", 1, true))
    end
  end)
end)

describe("s:vms{ patterns = ... }", function()
  for _, flavour in ipairs { "api", "rest", "vim25" } do
    it("selects by glob and by id on " .. flavour, function()
      local s <close> = helper.connect(flavour)
      local function names(list)
        local out = {}
        for i, v in ipairs(list) do out[i] = v.name .. "=" .. v.id end
        table.sort(out)
        return out
      end
      assert.are.same({ "web-01=vm-42", "web-02=vm-43", "web-03=vm-44", "web-04=vm-45" },
        names(s:vms { patterns = "web-*" }))
      assert.are.same({ "db-01=vm-46", "web-02=vm-43" }, names(s:vms { patterns = { "vm-43", "db-0[1-3]" } }))
      assert.are.same({ "dup=vm-50", "dup=vm-51" }, names(s:vms { patterns = "dup" }))
      assert.are.same({ "web-01=vm-42" }, names(s:vms { patterns = "web-*", names = { "web-01", "db-01" } }))
      assert.are.same({}, names(s:vms { patterns = "web-*", power_state = "POWERED_OFF" }))
      assert.matches("field 'patterns': pattern 'x%[' has a %[ without its %]",
        helper.err_of(s.vms, s, { patterns = "x[" }))
      assert.matches("field 'patterns' element 2 must be a string, got number",
        helper.err_of(s.vms, s, { patterns = { "a", 1 } }))
      assert.matches("unknown option 'pattern'", helper.err_of(s.vms, s, { pattern = "a" }))
    end)
  end
end)

describe("s:vms by container, with details, and vm:wait_ready", function()
  -- sim/README.md "Inventory tree" has where each VM is
  local function ids(list)
    local out = {}
    for i, v in ipairs(list) do out[i] = v.id end
    table.sort(out)
    return out
  end

  for _, flavour in ipairs { "api", "rest", "vim25" } do
    it("selects by folder, datacenter, cluster, host and resource pool on " .. flavour, function()
      local s <close> = helper.connect(flavour)
      assert.are.same({ "vm-42", "vm-43", "vm-44", "vm-45" }, ids(s:vms { folder = "web" }))
      -- a folder's own VMs, not its subfolders' (as the vAPI filter)
      assert.are.same({ "vm-47", "vm-50" }, ids(s:vms { folder = "apps" }))
      assert.are.same({ "vm-42", "vm-43", "vm-44", "vm-45", "vm-46", "vm-47", "vm-50", "vm-51" },
        ids(s:vms { datacenter = "DC0" }))
      assert.are.same({}, ids(s:vms { datacenter = "DC1" }))
      assert.are.same({ "vm-42", "vm-43", "vm-44", "vm-45", "vm-47", "vm-50" }, ids(s:vms { cluster = "Prod" }))
      assert.are.same({ "vm-46", "vm-51" }, ids(s:vms { host = "esx-03" }))
      assert.are.same({ "vm-42", "vm-43", "vm-46", "vm-50", "vm-51" }, ids(s:vms { host = { "esx-01", "host-40" } }))
      -- a pool's VMs and its child pools'
      assert.are.same({ "vm-47", "vm-50" }, ids(s:vms { resource_pool = "batch" }))
      -- kinds combine; with patterns and power state too
      assert.are.same({ "vm-42", "vm-43" }, ids(s:vms { folder = "web", host = "esx-01" }))
      assert.are.same({ "vm-44" }, ids(s:vms { cluster = "Prod", patterns = "web-0[1-3]", host = "esx-02",
        power_state = "POWERED_ON", folder = { "web", "db" } }))
      -- names that are nowhere say so
      local err = helper.err_of(s.vms, s, { cluster = "Nope" })
      helper.assert_kind("not_found", err)
      assert.matches("no cluster named or with id 'Nope' %(there are: Prod%)", err.message)
      -- folders are VM folders: a datacenter's "host" folder is not one
      err = helper.err_of(s.vms, s, { folder = "host" })
      helper.assert_kind("not_found", err)
      assert.matches("no folder named or with id 'host'", err.message)
      assert.is_nil(err.message:find("datastore", 1, true))
      assert.is_table(s:vms { folder = "vm" }) -- a datacenter's root VM folder is one
      assert.matches("field 'host' must be a name, an id or a non%-empty array of them, got number",
        helper.err_of(s.vms, s, { host = 1 }))
      assert.matches("field 'folder' element 2 must be a non%-empty string",
        helper.err_of(s.vms, s, { folder = { "web", "" } }))
    end)

    it("gives what Tools report with details = true on " .. flavour, function()
      local s <close> = helper.connect(flavour)
      local by = {}
      for _, v in ipairs(s:vms { patterns = { "web-01", "db-01", "app-01" }, details = true }) do by[v.name] = v end
      local w = by["web-01"]
      assert.are.same({ "linux", "running", true, true, "192.168.10.42", "esx-01" },
        { w.guest_family, w.tools, w.tools_running, w.guest_ops_ready, w.ip_address, w.host })
      assert.are.same({ "not_running", false, false, "esx-03" },
        { by["db-01"].tools, by["db-01"].tools_running, by["db-01"].guest_ops_ready, by["db-01"].host })
      assert.is_nil(by["db-01"].ip_address)
      assert.are.same({ "not_running", "esx-02" }, { by["app-01"].tools, by["app-01"].host })
      local gi = s:vm("web-02"):guest_info()
      assert.are.same({ "running", true, "192.168.10.43" }, { gi.tools, gi.guest_ops_ready, gi.ip_address })
    end)
  end

  it("waits until guest operations are ready after a power-on", function()
    local sim = helper.sim { args = { "--retention", "301" } } -- one of its own: its VMs change
    for _, flavour in ipairs { "api", "vim25" } do
      local s <close> = helper.connect(flavour, { sim = sim })
      local vm = s:vm("web-04")
      sim:control { set_vm = { id = "vm-45", power_state = "POWERED_OFF" } }
      local err = helper.err_of(vm.wait_ready, vm, { timeout = 0.3, interval = 0.05 })
      helper.assert_kind("timed_out", err)
      assert.matches("^vguest: timed_out: wait_ready on web%-04 %(vm%-45%): guest operations were not " ..
        "ready within 0%.3 s %(Tools: not running%)", tostring(err))
      -- powered on, Tools up a moment later, as after a boot
      sim:control { set_vm = { id = "vm-45", power_state = "POWERED_ON", tools = "running", tools_delay = 0.5 } }
      local info = vm:wait_ready { timeout = 30, interval = 0.05 }
      assert.are.same({ "running", true }, { info.tools, info.guest_ops_ready })
      assert.are.equal(0, vm:guest(helper.credentials()):run { "true" }.exit_code)
    end
    local s <close> = helper.connect("api", { sim = sim })
    assert.matches("unknown option 'tiemout'", helper.err_of(s:vm("web-01").wait_ready, s:vm("web-01"),
      { tiemout = 1 }))
  end)
end)
