-- The config file and its profiles as the `vguest` program reads them, and
-- the password asked for on a terminal when nothing else gives one.
local helper = require "spec.helper"

local function config_dir(text, mode)
  local dir = helper.tmpname("-config")
  os.execute("mkdir -p " .. helper.quote(dir .. "/vguest"))
  local path = helper.write(dir .. "/vguest/config", text)
  os.execute("chmod " .. (mode or "600") .. " " .. helper.quote(path))
  return dir, path
end

local function env(extra)
  local e = { VGUEST_SERVER = "", VGUEST_USER = "", VGUEST_PASSWORD = "", VGUEST_GUEST_USER = "",
    VGUEST_GUEST_PASSWORD = "", VGUEST_PROFILE = "" }
  for k, v in pairs(extra or {}) do e[k] = v end
  return e
end

-- A config whose profile "lab" reaches the suite's simulator, the
-- passwords in files beside it.
local function lab_config(extra, mode)
  local sim = helper.sim()
  local pw = helper.write(helper.tmpname(".pw"), sim.password .. "\n")
  local gpw = helper.write(helper.tmpname(".gpw"), sim.guest_password .. "\n")
  return config_dir(table.concat({
    "# the lab", "default = lab", "[lab]", "server = " .. sim.url, "user = " .. sim.user,
    "password_file = " .. pw, "ca_file = " .. sim.ca_file, "protocol = vim25",
    "guest_user = " .. sim.guest_user, "guest_password_file = " .. gpw, extra or "",
    "[other]", "server = https://127.0.0.1:1", "user = nobody", "password = x",
  }, "\n"), mode)
end

describe("the config file", function()
  it("gives vg.connect{} and vg.credentials{} their defaults from the default profile", function()
    local dir = lab_config()
    local out, err, code = helper.run({ "exec", "--vm", "web-01", "--", "echo", "hi" }, "",
      env { XDG_CONFIG_HOME = dir })
    assert.are.equal(0, code, out .. err)
    assert.are.equal("=== web-01 (vm-42): exit 0\nhi\n", out)
    out, err, code = helper.run({ "-e", "local s = require('vguest').connect{} print(s.protocol) s:close()" }, "",
      env { XDG_CONFIG_HOME = dir })
    assert.are.same({ "vim25\n", "", 0 }, { out, err, code })
    helper.no_secret(out .. err)
  end)

  it("is overridden by VGUEST_* variables and options, and --profile or VGUEST_PROFILE choose", function()
    local dir = lab_config()
    local play = "local s = require('vguest').connect{} print(s.server, s.protocol) s:close()"
    local out, err, code = helper.run({ "-e", play }, "", env { XDG_CONFIG_HOME = dir, VGUEST_PROTOCOL = "api" })
    assert.are.equal(0, code, err)
    assert.matches("\tapi\n$", out)
    out, err, code = helper.run({ "--protocol", "rest", "-e", play }, "", env { XDG_CONFIG_HOME = dir })
    assert.matches("\trest\n$", out)
    -- the other profile's server is not there
    for _, how in ipairs { { { "--profile", "other", "-e", play }, {} }, { { "-e", play }, { VGUEST_PROFILE = "other" } } } do
      local e = env(how[2])
      e.XDG_CONFIG_HOME = dir
      out, err, code = helper.run(how[1], "", e)
      assert.are.equal(1, code)
      assert.matches("^vguest: transport: login: https://127%.0%.0%.1:1: ", err)
    end
    out, err, code = helper.run({ "--profile", "nope", "-e", "1" }, "", env { XDG_CONFIG_HOME = dir })
    assert.are.equal(1, code)
    assert.matches("^vguest: no profile 'nope' in .*/vguest/config %(it has: lab, other%)\n$", err)
  end)

  it("warns when others can read it, and says where a line is wrong", function()
    local dir, path = lab_config(nil, "644")
    local out, err, code = helper.run({ "-e", "print(1)" }, "", env { XDG_CONFIG_HOME = dir })
    assert.are.equal(0, code)
    assert.are.equal("vguest: warning: " .. path .. " can be read by others (mode 0644): chmod 600 " ..
      path .. "\n", err)
    dir, path = config_dir("[lab]\nserver = x\nfrobnicate = 1\n")
    out, err, code = helper.run({ "-e", "print(1)" }, "", env { XDG_CONFIG_HOME = dir })
    assert.are.same({ "", 1 }, { out, code })
    assert.matches("^vguest: " .. path:gsub("%p", "%%%0") .. ":3: unknown setting 'frobnicate'", err)
  end)

  it("names the profile when a value from it is refused", function()
    local dir = lab_config("thumbprint = 12:34")
    local out, err, code = helper.run({ "-e", "require('vguest').connect{}" }, "", env { XDG_CONFIG_HOME = dir })
    assert.are.same({ "", 1 }, { out, code })
    assert.matches("thumbprint.*%(from profile 'lab' in .*/vguest/config%)", err)
  end)

  it("is documented by vguest help config", function()
    local out, err, code = helper.run({ "help", "config" }, "", env())
    assert.are.equal(0, code, err)
    assert.matches("^vguest help config: the config file\n", out)
    assert.matches("password_env = LAB_VC_PASSWORD", out)
  end)
end)

describe("a password nothing gives", function()
  it("is asked for on a terminal, without echo, and used", function()
    local sim = helper.sim()
    local dir = config_dir("[lab]\nserver = " .. sim.url .. "\nuser = " .. sim.user .. "\nca_file = " ..
      sim.ca_file .. "\nguest_user = " .. sim.guest_user .. "\n")
    local r = helper.pty_drive {
      argv = { os.getenv("VGUEST_BIN"), "exec", "--vm", "web-01", "--", "echo", "done" },
      env = { XDG_CONFIG_HOME = dir, VGUEST_PROFILE = "lab", VGUEST_SERVER = "", VGUEST_USER = "",
        VGUEST_PASSWORD = "", VGUEST_GUEST_PASSWORD = "", VGUEST_GUEST_USER = "" },
      steps = {
        { expect = "vguest: password for " .. sim.user .. " at 127.0.0.1: " },
        { send = sim.password .. "\r" },
        { expect = "vguest: guest password for root: " },
        { send = sim.guest_password .. "\r" },
        { expect = "vguest: 1 VM: 1 ok" },
        { wait_exit = true },
      },
    }
    assert.is_true(r.ok, tostring(r.error) .. "\noutput: " .. tostring(r.output))
    local out = r.output:gsub("\r\n", "\n")
    assert.matches("=== web%-01 %(vm%-42%): exit 0\ndone\n", out)
    assert.are.equal(0, r.status)
    helper.no_secret(out) -- not echoed
  end)

  it("is an error naming what to set when stdin is not a terminal", function()
    local sim = helper.sim()
    local out, err, code = helper.run({ "-e", "require('vguest').connect{}" }, "",
      env { VGUEST_SERVER = sim.url, VGUEST_USER = sim.user, XDG_CONFIG_HOME = helper.tmpname() })
    assert.are.same({ "", 1 }, { out, code })
    assert.matches("field 'password' is required: give password = ... or set VGUEST_PASSWORD", err)
  end)
end)
