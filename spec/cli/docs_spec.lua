-- The documentation of the command line stays that of the program: every
-- command and option is in the man page, the bash completion offers them,
-- and the README has a section per command.
local helper = require "spec.helper"
local cli = require "vguest.cli"
local commands = require "vguest.commands"

local function read(path)
  local f = assert(io.open(path, "r"))
  local s = f:read("a")
  f:close()
  return s
end

-- "--power-state" as roff writes it: "\-\-power\-state"
local function roff(s) return (s:gsub("%-", "\\-")) end

describe("the man page", function()
  local man = read("doc/vguest.1")

  it("has every command and every option of each", function()
    for _, cmd in ipairs(cli.command_names) do
      assert.truthy(man:find("\n.B vguest " .. cmd, 1, true) or man:find(".BI \"" .. cmd, 1, true) or
        man:find("\n.B " .. cmd .. "\n", 1, true), "command " .. cmd)
    end
    for _, cmd in ipairs(commands.order) do
      for _, o in ipairs(commands.options(cmd)) do
        assert.truthy(man:find(roff(o[1]), 1, true), cmd .. " " .. o[1])
      end
    end
    for _, name in ipairs { "VGUEST_SERVER", "VGUEST_PROFILE", "VGUEST_CONFIG", "VGUEST_GUEST_PASSWORD" } do
      assert.truthy(man:find(name, 1, true), name)
    end
  end)

  it("formats without warnings", function()
    local p = assert(io.popen("LC_ALL=C.UTF-8 groff -ww -man -z doc/vguest.1 2>&1"))
    local out = p:read("a")
    p:close()
    assert.are.equal("", out)
  end)
end)

describe("the bash completion", function()
  -- COMPREPLY for the words typed so far (the last one being completed)
  local function complete(words)
    local bin_dir = os.getenv("VGUEST_BIN"):match("^(.*)/[^/]*$")
    local script = string.format(
      "PATH=%s:$PATH; . doc/bash-completion/vguest; COMP_WORDS=(%s); COMP_CWORD=%d; _vguest; " ..
      "printf '%%s\\n' \"${COMPREPLY[@]}\"", helper.quote(bin_dir),
      table.concat((function()
        local q = {}
        for i, w in ipairs(words) do q[i] = helper.quote(w) end
        return q
      end)(), " "), #words - 1)
    local p = assert(io.popen("bash -c " .. helper.quote(script)))
    local out = {}
    for line in p:lines() do
      if line ~= "" then out[#out + 1] = line end
    end
    p:close()
    table.sort(out)
    return out
  end

  it("offers the commands, each command's options and their values", function()
    assert.are.same({ "exec" }, complete { "vguest", "exe" })
    local opts = complete { "vguest", "exec", "--" }
    assert.truthy(#opts > 20)
    for _, o in ipairs(commands.options("exec")) do
      local found = false
      for _, w in ipairs(opts) do found = found or w == o[1] end
      assert.is_true(found, o[1])
    end
    assert.are.same({ "--prefix", "--profile", "--protocol" }, complete { "vguest", "exec", "--pr" })
    assert.are.same({ "api", "auto" }, complete { "vguest", "vms", "--protocol", "a" })
    assert.are.same({ "POWERED_OFF", "POWERED_ON" }, complete { "vguest", "exec", "--power-state", "POWERED_O" })
    assert.are.same({ "exec", "upload" }, (function()
      local r = complete { "vguest", "help", "" }
      local out = {}
      for _, w in ipairs(r) do
        if w == "exec" or w == "upload" then out[#out + 1] = w end
      end
      return out
    end)())
    -- nothing after `--`: those are the guest's words
    assert.are.same({}, complete { "vguest", "exec", "--vm", "x", "--", "--" })
  end)
end)

describe("the README", function()
  it("has a section per command", function()
    local readme = read("README.md")
    for _, cmd in ipairs(cli.command_names) do
      if cmd ~= "help" then
        assert.truthy(readme:find("\n###[^\n]*`vguest " .. cmd .. "`"), "README section for " .. cmd)
      end
    end
  end)
end)
