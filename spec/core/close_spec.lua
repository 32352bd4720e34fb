-- vguest.core: Secrets and Credentials close like Sessions: close(),
-- <close> and __gc share one idempotent path that wipes the C object;
-- tostring says closed; every other use raises.
local H = dofile((debug.getinfo(1, "S").source:match("^@(.-)[^/]*$") or "./") .. "helper.lua")
local core = H.core

local function weak(v)
  return setmetatable({ v }, { __mode = "v" })
end

local function raises(msg, f, ...)
  local err = H.raises(f, ...)
  assert(err, "expected an error: " .. msg)
  assert(err:find(msg, 1, true), string.format("expected\n  %s\ngot\n  %s", msg, err))
end

local kinds = {
  {
    name = "vguest.Secret",
    new = function() return core.secret(H.SECRET) end,
    open_tostring = "vguest.Secret (***)",
    uses = {
      len = function(x) return x:len() end,
      ["=="] = function(x) return x == core.secret(H.SECRET) end,
    },
  },
  {
    name = "vguest.Credentials",
    new = function() return core.credentials { user = "root", password = core.secret(H.SECRET) } end,
    open_tostring = "vguest.Credentials (user=root, password=***)",
    uses = {
      user = function(x) return x:user() end,
      type = function(x) return x:type() end,
      interactive = function(x) return x:interactive() end,
    },
  },
}

for _, k in ipairs(kinds) do
  describe(k.name, function()
    after_each(function() H.drain() end)

    it("closes idempotently and says so", function()
      local x = k.new()
      assert.equal(k.open_tostring, tostring(x))
      assert.is_false(x:closed())
      assert.is_nil(x:close())
      assert.is_true(x:closed())
      assert.equal(k.name .. " (closed)", tostring(x))
      x:close() -- twice is fine
      assert.is_true(x:closed())
      assert.is_false(H.mentions_secret(tostring(x)))
    end)

    it("raises on any other use after close", function()
      local x = k.new()
      x:close()
      for what, use in pairs(k.uses) do
        raises("attempt to use a closed " .. k.name, use, x)
        assert(what)
      end
    end)

    it("closes on leaving a <close> scope", function()
      local kept
      do
        local x <close> = k.new()
        kept = x
        assert.is_false(x:closed())
      end
      assert.is_true(kept:closed())
      assert.equal(k.name .. " (closed)", tostring(kept))
    end)

    it("is collected after close, and closed twice by close and __gc", function()
      local x = k.new()
      local w = weak(x)
      x:close()
      x = nil
      H.collect() -- __gc runs on a closed object: a no-op
      assert.is_nil(w[1])
      -- __gc called by hand after close, then close again
      local y = k.new()
      local gc = getmetatable(y).__gc
      assert.equal(getmetatable(y).__close, gc)
      y:close()
      gc(y)
      y:close()
      assert.is_true(y:closed())
    end)

    it("is wiped when collected open", function()
      local w = weak(k.new())
      H.collect()
      assert.is_nil(w[1])
    end)
  end)
end

describe("closing what others were made from", function()
  after_each(function() H.drain() end)

  it("credentials and sessions keep their own copy of a secret", function()
    local s = core.secret(H.SECRET)
    local c = core.credentials { user = "root", password = s }
    local sess <close> = core.session { server = "https://127.0.0.1:1", user = "a", password = s }
    s:close()
    assert.equal("USERNAME_PASSWORD", c:type())
    assert.is_false(sess:closed())
  end)

  it("an op started with credentials does not need them any more", function()
    local sim, why = H.sim()
    if not sim then return pending(why) end
    local sess <close> = H.session(sim)
    local c = H.guest(sim)
    local vms = H.run(sess:vms { names = { sim.vm.name } })
    local op = sess:list(vms[1].id, c)
    c:close()
    local list, err = H.run(op)
    assert.is_nil(err)
    assert.is_table(list)
  end)
end)
