-- vguest.core: lifetimes. A weak reference plus collectgarbage() twice
-- shows what is kept while in flight and collected after.
local H = dofile((debug.getinfo(1, "S").source:match("^@(.-)[^/]*$") or "./") .. "helper.lua")
local core = H.core

local function weak(v)
  return setmetatable({ v }, { __mode = "v" })
end

describe("vguest.core lifetimes", function()
  after_each(function()
    H.drain()
    assert.equal(0, core.pending())
  end)

  it("keeps a pending op alive and collects it once reported and dropped", function()
    local w = weak(core.timer(30))
    H.collect()
    assert.is_not_nil(w[1]) -- anchored while pending
    assert.equal(1, core.pending())
    local done = {}
    while #done == 0 do done = core.step(1000) end
    assert.equal(w[1], done[1])
    done = nil
    H.collect()
    assert.is_nil(w[1])
  end)

  it("an op nobody holds is still reported", function()
    core.timer(0)
    H.collect()
    local done = {}
    while #done == 0 do done = core.step(1000) end
    assert.equal("vguest.Op (timer, ok)", tostring(done[1]))
  end)

  it("collects a canceled op", function()
    local t = core.timer(10000)
    local w = weak(t)
    t:cancel()
    t = nil
    H.collect()
    assert.is_nil(w[1])
    assert.equal(0, core.pending())
  end)

  it("collects an unused session, secret and credentials", function()
    local s = core.secret(H.SECRET)
    local ws = weak(s)
    local wc = weak(core.credentials { user = "root", password = s })
    local wsess = weak(core.session { server = "https://127.0.0.1:1", user = "a", password = s })
    s = nil
    H.collect()
    assert.is_nil(ws[1])
    assert.is_nil(wc[1])
    assert.is_nil(wsess[1])
  end)

  it("a credentials object does not need its secret any more", function()
    local c = core.credentials { user = "root", password = core.secret(H.SECRET) }
    H.collect()
    assert.equal("USERNAME_PASSWORD", c:type())
  end)

  it("an op keeps its session alive; closing it cancels the op", function()
    -- a server that never answers: the login stays in flight
    local sess = core.session { server = "https://127.0.0.1:1", user = "a",
      password = core.secret(H.SECRET), timeout = 30 }
    local op = sess:login()
    local ws, wo = weak(sess), weak(op)
    sess, op = nil, nil
    H.collect()
    assert.is_not_nil(ws[1]) -- held by the pending op
    assert.is_not_nil(wo[1])
    ws[1]:close()
    local seen = H.wait(wo[1])
    assert.equal(wo[1], seen[1])
    local v, err = wo[1]:result()
    assert.is_nil(v)
    assert.is_table(err)
    seen = nil
    H.collect()
    assert.is_nil(wo[1])
    assert.is_nil(ws[1])
  end)
end)
