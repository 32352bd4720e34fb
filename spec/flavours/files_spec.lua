-- Guest files on every flavour that has them (api, vim25): bytes held in
-- Lua (write_file, read_file), local files of any size (upload,
-- download), mktemp, mkdir, stat, list_files, remove; the ESXi host's TLS
-- for transfers. The simulator's guest is this machine, so what the API
-- says is checked against the real filesystem too. On rest every call
-- raises "unsupported".
local helper = require "spec.helper"

local err_of, assert_kind = helper.err_of, helper.assert_kind

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function sh(cmd)
  assert(os.execute(cmd), cmd)
end

local function exists(path)
  return os.execute("test -e " .. helper.quote(path)) == true
end

-- A directory of this machine (= of the guest) for one spec.
local function scratch()
  local d = helper.tmpname(".d")
  sh("mkdir -p " .. helper.quote(d))
  return d
end

local function all_bytes(times)
  local b = {}
  for i = 0, 255 do b[#b + 1] = string.char(i) end
  return string.rep(table.concat(b), times or 1)
end

for _, flavour in ipairs { "api", "vim25" } do
  describe("guest files (" .. flavour .. ")", function()
    local s, g, dir

    setup(function()
      s = helper.connect(flavour)
      g = s:vm("web-01"):guest(helper.credentials())
    end)
    teardown(function()
      if s then s:close() end
      helper.assert_loop_empty()
    end)
    before_each(function() dir = scratch() end)
    after_each(function()
      os.execute("rm -rf " .. helper.quote(dir))
      helper.assert_loop_empty()
    end)

    describe("write_file and read_file", function()
      it("round-trips any bytes", function()
        local data = "NUL\0 high\255 utf-8 é ✓\r\n" .. all_bytes(16)
        local path = dir .. "/data.bin"
        assert.is_true(g:write_file(path, data))
        assert.is_true(slurp(path) == data, "the guest file differs")
        assert.is_true(g:read_file(path) == data, "read_file differs")
        g:write_file(dir .. "/empty", "")
        assert.are.equal("", g:read_file(dir .. "/empty"))
        assert.are.equal("", slurp(dir .. "/empty"))
      end)

      it("replaces a file unless overwrite = false", function()
        local path = dir .. "/f"
        g:write_file(path, "one")
        g:write_file(path, "two")
        assert.are.equal("two", slurp(path))
        local err = err_of(g.write_file, g, path, "three", { overwrite = false })
        assert.is_true(require("vguest").is_error(err), tostring(err))
        assert.are.equal("two", slurp(path))
      end)

      it("sets the mode, as an integer or an octal string", function()
        g:write_file(dir .. "/a", "x", { mode = 416 }) -- 0640
        g:write_file(dir .. "/b", "x", { mode = "0751" })
        assert.are.equal(416, g:stat(dir .. "/a").mode)
        assert.are.equal(489, g:stat(dir .. "/b").mode) -- 0751
        local p = io.popen("stat -c %a " .. helper.quote(dir .. "/a") .. " " .. helper.quote(dir .. "/b"))
        assert.are.equal("640\n751\n", p:read("a"))
        p:close()
      end)

      it("raises not_found for a file that is not there, and refuses a larger one than max_bytes", function()
        assert_kind("not_found", err_of(g.read_file, g, dir .. "/missing"))
        g:write_file(dir .. "/big", string.rep("x", 1000))
        local err = err_of(g.read_file, g, dir .. "/big", { max_bytes = 100 })
        assert.is_true(require("vguest").is_error(err), tostring(err))
        assert.are.equal(1000, #g:read_file(dir .. "/big", { max_bytes = 1000 }))
      end)
    end)

    describe("upload and download", function()
      it("round-trips a binary file of several MB, streamed", function()
        local src = helper.write(helper.tmpname(".src"), all_bytes(4096 * 3)) -- 3 MiB
        local guest = dir .. "/uploaded.bin"
        local back = helper.tmpname(".back")
        assert.is_true(g:upload(src, guest, { mode = "0600" }))
        assert.is_true(slurp(guest) == slurp(src), "the upload differs")
        assert.are.equal(3 * 1024 * 1024, g:stat(guest).size)
        assert.are.equal(384, g:stat(guest).mode) -- 0600
        assert.is_true(g:download(guest, back))
        assert.is_true(slurp(back) == slurp(src), "the download differs")
        os.remove(src)
        os.remove(back)
      end)

      it("raises not_found for a guest file that is not there, and for a local one", function()
        local back = helper.tmpname(".back")
        assert_kind("not_found", err_of(g.download, g, dir .. "/missing", back))
        assert_kind("not_found", err_of(g.upload, g, "/no/such/local/file", dir .. "/x"))
        assert.is_false(exists(dir .. "/x"))
        local err = err_of(g.download, g, "/etc/hostname", "/no/such/local/dir/file")
        assert_kind("not_found", err)
        assert.matches("cannot write local file '/no/such/local/dir/file'", err.message, 1, true)
      end)
    end)

    describe("mktemp, mkdir, stat, list_files, remove", function()
      it("makes temporary files and directories", function()
        local f = g:mktemp()
        assert.matches("^/", f)
        assert.matches("vguest%-[^/]*$", f)
        assert.are.equal("file", g:stat(f).type)
        assert.is_true(exists(f))
        g:remove(f)
        assert.is_false(exists(f))
        local d = g:mktemp { prefix = "spec-", suffix = ".dir", dir = dir, directory = true }
        assert.matches("^" .. dir:gsub("%p", "%%%0") .. "/spec%-[^/]*%.dir$", d)
        assert.are.equal("directory", g:stat(d).type)
      end)

      it("makes directories, with their parents when asked", function()
        assert.is_true(g:mkdir(dir .. "/one"))
        assert.are.equal("directory", g:stat(dir .. "/one").type)
        local err = err_of(g.mkdir, g, dir .. "/a/b/c")
        assert.is_true(require("vguest").is_error(err), tostring(err))
        g:mkdir(dir .. "/a/b/c", { parents = true })
        assert.is_true(exists(dir .. "/a/b/c"))
      end)

      it("stats files, directories and symbolic links", function()
        helper.write(dir .. "/file", "12345")
        sh("ln -s file " .. helper.quote(dir .. "/link"))
        local st = g:stat(dir .. "/file")
        assert.are.equal("file", st.type)
        assert.are.equal(5, st.size)
        assert.are.equal("integer", math.type(st.mode))
        assert.are.equal("integer", math.type(st.owner))
        assert.are.equal("integer", math.type(st.group))
        assert.matches("^%d%d%d%d%-%d%d%-%d%dT", st.modified)
        assert.is_nil(st.name)
        assert.are.equal("directory", g:stat(dir).type)
        local ln = g:stat(dir .. "/link")
        assert.are.equal("symlink", ln.type)
        assert.are.equal("file", ln.symlink_target)
        assert_kind("not_found", err_of(g.stat, g, dir .. "/missing"))
      end)

      it("lists a directory, every entry with its name", function()
        helper.write(dir .. "/f", "x")
        sh("mkdir " .. helper.quote(dir .. "/sub") .. " && ln -s f " .. helper.quote(dir .. "/l"))
        local seen = {}
        for _, e in ipairs(g:list_files(dir)) do seen[e.name] = e.type end
        seen["."], seen[".."] = nil, nil
        assert.are.same({ f = "file", sub = "directory", l = "symlink" }, seen)
        assert_kind("not_found", err_of(g.list_files, g, dir .. "/missing"))
      end)

      it("lists every page of a large directory", function()
        sh("cd " .. helper.quote(dir) .. " && for i in $(seq 1 1200); do : > f$i; done")
        local n = 0
        for _, e in ipairs(g:list_files(dir)) do
          if e.name:match("^f%d+$") then n = n + 1 end
        end
        assert.are.equal(1200, n)
      end)

      it("removes files, links and directories (recursive when not empty)", function()
        helper.write(dir .. "/f", "x")
        sh("ln -s f " .. helper.quote(dir .. "/l") .. " && mkdir -p " .. helper.quote(dir .. "/d/e") ..
          " && mkdir " .. helper.quote(dir .. "/empty") .. " && : > " .. helper.quote(dir .. "/d/e/x"))
        g:remove(dir .. "/l")
        assert.is_false(exists(dir .. "/l"))
        assert.is_true(exists(dir .. "/f"), "removing a link removed its target")
        g:remove(dir .. "/f")
        assert.is_false(exists(dir .. "/f"))
        g:remove(dir .. "/empty")
        assert.is_false(exists(dir .. "/empty"))
        local err = err_of(g.remove, g, dir .. "/d")
        assert.is_true(require("vguest").is_error(err), tostring(err))
        assert.is_true(exists(dir .. "/d/e/x"))
        g:remove(dir .. "/d", { recursive = true })
        assert.is_false(exists(dir .. "/d"))
        assert_kind("not_found", err_of(g.remove, g, dir .. "/missing"))
      end)
    end)

    describe("TLS of transfers", function()
      it("refuses an ESXi host whose certificate does not match transfer_thumbprint", function()
        local pinned <close> = helper.connect(flavour, { transfer_thumbprint = string.rep("00", 32) })
        local pg = pinned:vm("web-01"):guest(helper.credentials())
        local path = dir .. "/pinned"
        pg:mkdir(path) -- the vCenter's own API is not a transfer
        assert_kind("tls", err_of(pg.write_file, pg, path .. "/x", "data"))
        assert_kind("tls", err_of(pg.read_file, pg, "/etc/hostname"))
        assert.is_false(exists(path .. "/x"))
      end)

      it("accepts a per-host pin table and insecure_transfers = true", function()
        local open <close> = helper.connect(flavour, { insecure_transfers = true })
        local og = open:vm("web-01"):guest(helper.credentials())
        og:write_file(dir .. "/insecure", "ok")
        assert.are.equal("ok", og:read_file(dir .. "/insecure"))
        -- a pin for some other host leaves this one to ca_file
        local other <close> = helper.connect(flavour,
          { transfer_thumbprint = { ["esx-elsewhere.example.com"] = string.rep("00", 32) } })
        local otg = other:vm("web-01"):guest(helper.credentials())
        assert.are.equal("ok", otg:read_file(dir .. "/insecure"))
      end)
    end)
  end)
end

describe("TLS of transfers to an ESXi host whose certificate ca_file does not verify", function()
  local sim, tp
  setup(function()
    sim = helper.sim { args = { "--transfer-cert", "self-signed" } }
    local p = assert(io.popen("openssl x509 -noout -fingerprint -sha256 -in " .. helper.quote(sim.transfer_cert_file)))
    tp = p:read("a"):match("=%s*([%x:]+)")
    p:close()
    assert.is_string(tp)
  end)
  after_each(helper.assert_loop_empty)

  local function guest(opts)
    local o = { sim = sim }
    for k, v in pairs(opts) do o[k] = v end
    local s = helper.connect("api", o)
    return s, s:vm("web-01"):guest(helper.credentials())
  end

  it("fails with kind tls by default: ca_file verifies the vCenter only", function()
    local s, g = guest {}
    local err = err_of(g.read_file, g, "/etc/hostname")
    s:close()
    assert_kind("tls", err)
    assert.matches("transfer_thumbprint", err.message)
  end)

  it("works with the host's thumbprint, for every host or for that host", function()
    local want = slurp("/etc/hostname")
    for _, pin in ipairs { tp, tp:gsub(":", ""):lower(), { ["127.0.0.1"] = tp } } do
      local s, g = guest { transfer_thumbprint = pin }
      local ok, got = pcall(g.read_file, g, "/etc/hostname")
      s:close()
      assert.is_true(ok, tostring(got))
      assert.are.equal(want, got)
    end
  end)

  it("works with insecure_transfers = true", function()
    local s, g = guest { insecure_transfers = true }
    local ok, got = pcall(g.read_file, g, "/etc/hostname")
    s:close()
    assert.is_true(ok, tostring(got))
  end)
end)

describe("guest files (rest)", function()
  local s, g
  setup(function()
    s = helper.connect("rest")
    g = s:vm("web-01"):guest(helper.credentials())
  end)
  teardown(function()
    if s then s:close() end
    helper.assert_loop_empty()
  end)

  it("raise unsupported for every call, naming the missing API", function()
    local local_file = helper.write(helper.tmpname(".txt"), "x")
    local calls = {
      { "write_file", "/tmp/x", "data" }, { "read_file", "/etc/hostname" },
      { "upload", local_file, "/tmp/x" }, { "download", "/etc/hostname", helper.tmpname() },
      { "mktemp" }, { "mkdir", "/tmp/x" }, { "stat", "/tmp" }, { "list_files", "/tmp" },
      { "remove", "/tmp/x" },
    }
    for _, c in ipairs(calls) do
      local err = err_of(g[c[1]], g, table.unpack(c, 2))
      assert_kind("unsupported", err)
      assert.matches("rest", err.message, 1, true)
    end
    os.remove(local_file)
  end)

  it("still reads the guest's environment", function()
    assert.is_string(g:getenv("PATH"))
    assert.are.equal(g:getenv("PATH"), g:environment().PATH)
  end)
end)
