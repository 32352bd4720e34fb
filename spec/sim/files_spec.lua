-- vguest-sim's guest files against the curl CLI: the /api filesystem
-- endpoints, the VI/JSON GuestFileManager, /rest's answer, and the transfer
-- listener (one-shot URLs, expiry, injection, certificates, memory).
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local h = dofile(here .. "sim_helper.lua")
local request, control = h.request, h.control

local GUEST = { interactive_session = false, type = "USERNAME_PASSWORD",
                user_name = "root", password = "guest-secret" }
local VIM_AUTH = { _typeName = "NamePasswordAuthentication", interactiveSession = false,
                   username = "root", password = "guest-secret" }
local V = "/sdk/vim25/8.0.2.0"
local GFM = V .. "/GuestFileManager/guestOperationsFileManager/"

local function vmref(id)
  return { _typeName = "ManagedObjectReference", type = "VirtualMachine", value = id }
end

-- every byte value, NUL included, four times over
local BINARY = (function()
  local t = {}
  for i = 0, 255 do t[#t + 1] = string.char(i) end
  return table.concat(t):rep(4)
end)()

local function mode_of(path)
  return tonumber(h.run("stat -c %a " .. h.q(path)):match("%d+"), 8)
end

local function exists(path)
  return os.execute("test -e " .. h.q(path) .. " -o -L " .. h.q(path)) == true
end

-- A sim, an /api session and helpers bound to them.
local function bind(sim)
  local c = { sim = sim, token = h.api_login(sim) }
  local hdr = { ["vmware-api-session-id"] = c.token }
  function c.api(path, body, tok)
    return request(sim, "POST", "/api/vcenter/vm" .. path,
                   { body = body, headers = { ["vmware-api-session-id"] = tok or c.token } })
  end
  function c.fs(vm, path, body)
    body = body or {}
    if body.credentials == nil then body.credentials = GUEST end
    return c.api("/" .. vm .. "/guest/filesystem" .. path, body)
  end
  function c.vim(method, body, tok)
    return request(sim, "POST", GFM .. method,
                   { body = body, headers = { ["vmware-api-session-id"] = tok or c.vtoken } })
  end
  c.vtoken = h.vim_login(sim)
  c.hdr = hdr
  return c
end

local function expect(r, status, etype, reason)
  assert.equal(status, r.status, r.body)
  assert.equal(etype, r.json.error_type, r.body)
  if reason then assert.equal(reason, r.json.data and r.json.data.reason, r.body) end
  return r.json
end

local function expect_fault(r, name)
  assert.equal(500, r.status, r.body)
  assert.equal(name, r.json._typeName, r.body)
  assert.is_string(r.json.faultstring)
  return r.json
end

describe("vguest-sim guest files", function()
  local sim, c, dir

  lazy_setup(function()
    sim = h.start()
    c = bind(sim)
    dir = h.mkdtemp()
  end)

  lazy_teardown(function()
    h.stop(sim)
    h.rmtree(dir)
  end)

  local function upload_url(vm, path, size, extra)
    local attrs = { size = size, overwrite = true }
    for k, v in pairs(extra or {}) do attrs[k] = v end
    return c.fs(vm, "?action=create", { spec = { path = path, attributes = attrs } })
  end

  local function download_url(vm, path)
    return c.fs(vm, "?action=create", { spec = { path = path } })
  end

  describe("the ready line", function()
    it("names the transfer listener and its certificate files", function()
      assert.matches("^https://127%.0%.0%.1:%d+$", sim.transfer_url)
      assert.are_not.equal(sim.url, sim.transfer_url)
      assert.equal(sim.ca_file, sim.transfer_ca_file)
      assert.truthy(io.open(sim.transfer_cert_file, "r")):close()
      assert.matches('"pid":%d+,"transfer_url":', sim.line)
    end)
  end)

  describe("/api", function()
    it("creates temporary files and directories", function()
      local r = c.fs("vm-42", "/files?action=createTemporary", { prefix = "cap", suffix = ".out" })
      assert.equal(200, r.status, r.body)
      assert.matches("/vmware%-[^/]+/capvmware%d+%.out$", r.json)
      assert.equal(tonumber("600", 8), mode_of(r.json))
      os.remove(r.json)
      r = c.fs("vm-42", "/files?action=createTemporary",
               { prefix = "p-", suffix = "", parent_path = dir })
      assert.equal(dir .. "/", r.json:sub(1, #dir + 1))
      assert.matches("^p%-vmware%d+$", r.json:sub(#dir + 2))
      r = c.fs("vm-42", "/directories?action=createTemporary",
               { prefix = "d", suffix = ".tmp", parent_path = dir })
      assert.equal(200, r.status, r.body)
      assert.equal(tonumber("700", 8), mode_of(r.json))
      assert.is_true(os.execute("test -d " .. h.q(r.json)) == true)
    end)

    it("refuses bad temporary-file requests", function()
      expect(c.fs("vm-42", "/files?action=createTemporary",
                  { prefix = "p", suffix = "s", parent_path = dir .. "/missing" }),
             404, "NOT_FOUND", "FILE_NOT_FOUND")
      h.spit(dir .. "/plain", "x")
      expect(c.fs("vm-42", "/files?action=createTemporary",
                  { prefix = "p", suffix = "s", parent_path = dir .. "/plain" }),
             400, "INVALID_ARGUMENT", "NOT_A_DIRECTORY")
      local j = expect(c.fs("vm-42", "/files?action=createTemporary", { prefix = "p" }),
                       400, "INVALID_ARGUMENT")
      assert.matches("suffix", j.messages[1].default_message)
      expect(c.fs("vm-42", "/files?action=createTemporary",
                  { prefix = "p", suffix = "s", parent_path = "tmp" }), 400, "INVALID_ARGUMENT")
    end)

    it("describes files, directories and symbolic links", function()
      local p = dir .. "/info.txt"
      h.spit(p, "hello")
      os.execute("chmod 640 " .. h.q(p) .. " && ln -sf info.txt " .. h.q(dir .. "/link"))
      local r = c.fs("vm-42", "/files/" .. h.pct(p) .. "?action=get")
      assert.equal(200, r.status, r.body)
      assert.equal("FILE", r.json.type)
      assert.equal(5, r.json.size)
      local a = r.json.attributes
      assert.equal("POSIX", a.filesystem_family)
      assert.equal("0640", a.posix_attributes.permissions)
      assert.is_number(a.posix_attributes.owner)
      assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ$", a.last_modified)
      assert.is_string(a.last_accessed)
      r = c.fs("vm-42", "/files/" .. h.pct(dir) .. "?action=get")
      assert.equal("DIRECTORY", r.json.type)
      r = c.fs("vm-42", "/files/" .. h.pct(dir .. "/link") .. "?action=get")
      assert.equal("SYMLINK", r.json.type)
      assert.equal("info.txt", r.json.attributes.symlink_target)
      assert.equal(5, r.json.size)
      expect(c.fs("vm-42", "/files/" .. h.pct(dir .. "/nope") .. "?action=get"),
             404, "NOT_FOUND", "FILE_NOT_FOUND")
      local long = dir .. "/" .. ("n"):rep(300)
      local j = expect(c.fs("vm-42", "/files/" .. h.pct(long) .. "?action=get"),
                       400, "INVALID_ARGUMENT", "PATH_TOO_LONG")
      assert.equal(long, j.data.file_path)
      expect_fault(c.vim("ListFilesInGuest", { vm = vmref("vm-42"), auth = VIM_AUTH,
                                               filePath = long }), "FileNameTooLong")
    end)

    it("takes {path} as one percent-encoded absolute path", function()
      local p = dir .. "/info.txt"
      -- unencoded slashes make more path segments: no such operation
      local r = c.fs("vm-42", "/files" .. p .. "?action=get")
      assert.equal(404, r.status)
      assert.equal("com.vmware.vapi.rest.httpNotFound", r.json.messages[1].id)
      expect(c.fs("vm-42", "/files/" .. h.pct("relative/x") .. "?action=get"),
             400, "INVALID_ARGUMENT")
      expect(c.fs("vm-42", "/files/%2Ftmp%00x?action=get"), 400, "INVALID_ARGUMENT")
      expect(c.fs("vm-42", "/files/%2Ftmp%2?action=get"), 400, "INVALID_ARGUMENT")
      -- any byte may be encoded
      assert.equal(200, c.fs("vm-42", "/files/" .. p:gsub(".", function(ch)
        return ("%%%02x"):format(ch:byte()) end) .. "?action=get").status)
    end)

    it("deletes files and symbolic links, not directories", function()
      local p = dir .. "/del.txt"
      h.spit(p, "x")
      assert.equal(204, c.fs("vm-42", "/files/" .. h.pct(p) .. "?action=delete").status)
      assert.is_false(exists(p))
      expect(c.fs("vm-42", "/files/" .. h.pct(p) .. "?action=delete"),
             404, "NOT_FOUND", "FILE_NOT_FOUND")
      expect(c.fs("vm-42", "/files/" .. h.pct(dir) .. "?action=delete"),
             400, "INVALID_ARGUMENT", "NOT_A_FILE")
      os.execute("ln -sf /no/where " .. h.q(dir .. "/dangling"))
      assert.equal(204, c.fs("vm-42", "/files/" .. h.pct(dir .. "/dangling") .. "?action=delete").status)
      assert.is_false(exists(dir .. "/dangling"))
    end)

    it("creates directories, with parents when asked", function()
      local d = dir .. "/made"
      assert.equal(204, c.fs("vm-42", "/directories?action=create", { path = d }).status)
      assert.is_true(os.execute("test -d " .. h.q(d)) == true)
      expect(c.fs("vm-42", "/directories?action=create", { path = d }), 400, "ALREADY_EXISTS")
      expect(c.fs("vm-42", "/directories?action=create", { path = d .. "/a/b" }),
             404, "NOT_FOUND", "FILE_NOT_FOUND")
      assert.equal(204, c.fs("vm-42", "/directories?action=create",
                             { path = d .. "/a/b", create_parents = true }).status)
      assert.is_true(os.execute("test -d " .. h.q(d .. "/a/b")) == true)
      h.spit(dir .. "/afile", "")
      expect(c.fs("vm-42", "/directories?action=create", { path = dir .. "/afile/sub" }),
             400, "INVALID_ARGUMENT", "NOT_A_DIRECTORY")
    end)

    it("deletes directories, recursively when asked", function()
      local d = dir .. "/tree"
      os.execute("mkdir -p " .. h.q(d .. "/x/y") .. " && touch " .. h.q(d .. "/x/y/z"))
      expect(c.fs("vm-42", "/directories?action=delete", { path = d }),
             400, "INVALID_ARGUMENT", "DIRECTORY_NOT_EMPTY")
      expect(c.fs("vm-42", "/directories?action=delete", { path = d .. "/x/y/z", recursive = true }),
             400, "INVALID_ARGUMENT", "NOT_A_DIRECTORY")
      assert.equal(204, c.fs("vm-42", "/directories?action=delete",
                             { path = d, recursive = true }).status)
      assert.is_false(exists(d))
      expect(c.fs("vm-42", "/directories?action=delete", { path = d }),
             404, "NOT_FOUND", "FILE_NOT_FOUND")
    end)

    it("lists a directory in pages, with a filter", function()
      local d = dir .. "/list"
      os.execute("mkdir -p " .. h.q(d .. "/sub"))
      for _, n in ipairs({ "b.log", "a.txt", "c.txt" }) do h.spit(d .. "/" .. n, n) end
      local r = c.fs("vm-42", "/files?action=list", { path = d })
      assert.equal(200, r.status, r.body)
      local names = {}
      for _, f in ipairs(r.json.files) do names[#names + 1] = f.filename end
      assert.same({ ".", "..", "a.txt", "b.log", "c.txt", "sub" }, names)
      assert.same({ filename = "a.txt", type = "FILE", size = 5 }, r.json.files[3])
      assert.equal("DIRECTORY", r.json.files[6].type)
      assert.equal(6, r.json.total)
      assert.equal(0, r.json.start_index)
      assert.equal(5, r.json.end_index)
      assert.equal("END_OF_DATA", r.json.status)
      r = c.fs("vm-42", "/files?action=list",
               { path = d, iteration = { size = 2, index = 1 }, filter = { match_pattern = "txt$" } })
      assert.equal(1, #r.json.files)
      assert.equal("c.txt", r.json.files[1].filename)
      assert.equal(2, r.json.total)
      assert.equal("END_OF_DATA", r.json.status)
      r = c.fs("vm-42", "/files?action=list", { path = d, iteration = { size = 2 } })
      assert.equal(2, #r.json.files)
      assert.equal("READY", r.json.status)
      r = c.fs("vm-42", "/files?action=list", { path = d, iteration = { index = 99 } })
      assert.same({}, r.json.files)
      assert.is_nil(r.json.start_index)
      r = c.fs("vm-42", "/files?action=list", { path = d .. "/a.txt" })
      assert.same({ { filename = "a.txt", type = "FILE", size = 5 } }, r.json.files)
      expect(c.fs("vm-42", "/files?action=list", { path = d .. "/none" }),
             404, "NOT_FOUND", "FILE_NOT_FOUND")
      expect(c.fs("vm-42", "/files?action=list", { path = d, filter = { match_pattern = "(" } }),
             400, "INVALID_ARGUMENT")
    end)

    it("moves files and directories", function()
      local a, b = dir .. "/mv-a", dir .. "/mv-b"
      h.spit(a, "A")
      h.spit(b, "B")
      expect(c.fs("vm-42", "/files?action=move", { path = a, new_path = b }), 400, "ALREADY_EXISTS")
      assert.equal(204, c.fs("vm-42", "/files?action=move",
                             { path = a, new_path = b, overwrite = true }).status)
      assert.equal("A", h.slurp(b))
      assert.is_false(exists(a))
      expect(c.fs("vm-42", "/files?action=move", { path = a, new_path = b }),
             404, "NOT_FOUND", "FILE_NOT_FOUND")
      local d1, d2 = dir .. "/mvd1", dir .. "/mvd2"
      os.execute("mkdir " .. h.q(d1))
      expect(c.fs("vm-42", "/files?action=move", { path = d1, new_path = d2 }),
             400, "INVALID_ARGUMENT", "NOT_A_FILE")
      assert.equal(204, c.fs("vm-42", "/directories?action=move", { path = d1, new_path = d2 }).status)
      assert.is_true(os.execute("test -d " .. h.q(d2)) == true)
      expect(c.fs("vm-42", "/directories?action=move", { path = b, new_path = d1 }),
             400, "INVALID_ARGUMENT", "NOT_A_DIRECTORY")
      expect(c.fs("vm-42", "/directories?action=move", { path = d2, new_path = b }),
             400, "ALREADY_EXISTS")
    end)

    it("updates file attributes", function()
      local p = dir .. "/attrs"
      h.spit(p, "x")
      assert.equal(204, c.fs("vm-42", "/files?action=update", { path = p, file_attributes = {
        posix = { permissions = "0604" }, last_modified = "2020-01-02T03:04:05.000Z" } }).status)
      assert.equal(tonumber("604", 8), mode_of(p))
      assert.equal("1577934245", h.run("stat -c %Y " .. h.q(p)):match("%d+"))
      expect(c.fs("vm-42", "/files?action=update",
                  { path = p, file_attributes = { posix = { permissions = "9" } } }),
             400, "INVALID_ARGUMENT")
      expect(c.fs("vm-42", "/files?action=update",
                  { path = p, file_attributes = { windows = { hidden = true } } }),
             400, "INVALID_ARGUMENT")
    end)

    it("hands out upload and download URLs that round-trip binary data", function()
      local p = dir .. "/binary.bin"
      local r = upload_url("vm-42", p, #BINARY)
      assert.equal(201, r.status, r.body)
      assert.matches("^https://%*:%d+/guestFile%?id=%d+&token=%x+$", r.json)
      assert.equal(sim.transfer_url:match(":(%d+)$"), r.json:match("^https://%*:(%d+)/"))
      local up = h.transfer(h.star(r.json), sim.transfer_ca_file, { method = "PUT", data = BINARY })
      assert.equal(200, up.status, up.body)
      assert.equal(BINARY, h.slurp(p))
      assert.equal(tonumber("644", 8), mode_of(p))
      r = download_url("vm-42", p)
      assert.equal(201, r.status, r.body)
      local down = h.transfer(h.star(r.json), sim.transfer_ca_file)
      assert.equal(200, down.status)
      assert.equal(#BINARY, #down.body)
      assert.equal(BINARY, down.body)
      assert.equal(tostring(#BINARY), down.headers["content-length"])
      -- "localhost" works as well: the certificate names it
      local again = download_url("vm-42", p).json
      assert.equal(BINARY, h.transfer(h.star(again, "localhost"), sim.transfer_ca_file).body)
    end)

    it("uploads with the permissions and overwrite asked for", function()
      local p = dir .. "/perm.txt"
      local url = upload_url("vm-42", p, 3, { posix = { permissions = "0600" } }).json
      assert.equal(200, h.transfer(h.star(url), sim.ca_file, { data = "abc", method = "PUT" }).status)
      assert.equal(tonumber("600", 8), mode_of(p))
      expect(c.fs("vm-42", "?action=create",
                  { spec = { path = p, attributes = { size = 1 } } }), 400, "ALREADY_EXISTS")
      url = upload_url("vm-42", p, 2, { posix = { permissions = "755" },
                                         last_modified = "2021-05-06T07:08:09Z" }).json
      assert.equal(200, h.transfer(h.star(url), sim.ca_file, { data = "xy", method = "PUT" }).status)
      assert.equal("xy", h.slurp(p))
      assert.equal(tonumber("755", 8), mode_of(p))
      assert.equal("1620284889", h.run("stat -c %Y " .. h.q(p)):match("%d+"))
    end)

    it("refuses transfers the guest cannot do", function()
      expect(download_url("vm-42", dir), 400, "INVALID_ARGUMENT", "NOT_A_FILE")
      expect(download_url("vm-42", dir .. "/missing"), 404, "NOT_FOUND", "FILE_NOT_FOUND")
      os.execute("ln -sf /etc/hostname " .. h.q(dir .. "/sym"))
      expect(download_url("vm-42", dir .. "/sym"), 400, "INVALID_ARGUMENT")
      expect(upload_url("vm-42", dir .. "/sym", 1), 400, "INVALID_ARGUMENT")
      expect(upload_url("vm-42", dir, 1), 400, "INVALID_ARGUMENT", "NOT_A_FILE")
      expect(upload_url("vm-42", dir .. "/no/dir/file", 1), 404, "NOT_FOUND", "FILE_NOT_FOUND")
      expect(upload_url("vm-42", dir .. "/x", -1), 400, "INVALID_ARGUMENT")
      expect(upload_url("vm-42", dir .. "/x", 1, { windows = { hidden = true } }),
             400, "INVALID_ARGUMENT")
      local j = expect(c.fs("vm-42", "?action=create", { spec = { path = dir .. "/x",
                                                                  attributes = {} } }),
                       400, "INVALID_ARGUMENT")
      assert.matches("spec.attributes.size", j.messages[1].default_message)
      expect(c.fs("vm-42", "?action=create", { spec = { path = "x" } }), 400, "INVALID_ARGUMENT")
    end)

    it("makes the same guest checks as processes", function()
      local body = { spec = { path = "/etc/hostname" } }
      expect(c.fs("vm-999", "?action=create", body), 404, "NOT_FOUND")
      expect(c.fs("vm-46", "?action=create", body), 400, "NOT_ALLOWED_IN_CURRENT_STATE")
      expect(c.fs("vm-47", "/files?action=createTemporary", { prefix = "a", suffix = "b" }),
             503, "SERVICE_UNAVAILABLE")
      local bad = { interactive_session = false, type = "USERNAME_PASSWORD",
                    user_name = "root", password = "nope" }
      local j = expect(c.fs("vm-42", "/files/%2Fetc?action=get", { credentials = bad }),
                       401, "UNAUTHENTICATED")
      assert.equal("com.vmware.vcenter.vm.guest.credentials.invalid", j.messages[1].id)
      local r = c.api("/vm-42/guest/filesystem/files/%2Fetc?action=get",
                      { credentials = GUEST }, "no-such-session")
      assert.equal(401, r.status)
      assert.equal("com.vmware.vapi.endpoint.method.authentication.required", r.json.messages[1].id)
      assert.equal(404, c.fs("vm-42", "/files?action=frob", {}).status)
      control(sim, { fail_next = { count = 1, kind = "busy", ops = { "transfer" } } })
      expect(c.fs("vm-42", "?action=create", body), 500, "RESOURCE_BUSY")
      control(sim, { fail_next = { count = 1, kind = "unavailable", ops = { "files" } } })
      expect(c.fs("vm-42", "/files/%2Fetc?action=get"), 503, "SERVICE_UNAVAILABLE")
      assert.equal(200, c.fs("vm-42", "/files/%2Fetc?action=get").status)
    end)

    it("shares the filesystem with guest processes (output capture)", function()
      local tmp = c.fs("vm-42", "/directories?action=createTemporary",
                       { prefix = "run", suffix = "", parent_path = dir }).json
      local out = c.fs("vm-42", "/files?action=createTemporary",
                       { prefix = "", suffix = ".stdout", parent_path = tmp }).json
      local r = c.api("/vm-42/guest/processes?action=create", { credentials = GUEST, spec = {
        path = "/bin/printf", arguments = "'%s\\n' captured > " .. out } })
      assert.equal(201, r.status, r.body)
      local pid = r.json
      h.eventually(function()
        return c.api(("/vm-42/guest/processes/%d?action=get"):format(pid),
                     { credentials = GUEST }).json.exit_code
      end)
      local url = download_url("vm-42", out).json
      assert.equal("captured\n", h.transfer(h.star(url), sim.ca_file).body)
      assert.equal(204, c.fs("vm-42", "/directories?action=delete",
                             { path = tmp, recursive = true }).status)
      assert.is_false(exists(tmp))
    end)
  end)

  describe("guest identity", function()
    it("tells the guest family on /api, /rest and vim25", function()
      local r = request(sim, "GET", "/api/vcenter/vm/vm-42/guest/identity", { headers = c.hdr })
      assert.equal(200, r.status, r.body)
      assert.equal("LINUX", r.json.family)
      assert.equal("web-01", r.json.host_name)
      assert.is_string(r.json.name)
      assert.is_string(r.json.full_name.default_message)
      assert.equal("192.168.10.42", r.json.ip_address) -- while Tools run
      r = request(sim, "GET", "/rest/vcenter/vm/vm-43/guest/identity", { headers = c.hdr })
      assert.equal("LINUX", r.json.value.family)
      r = request(sim, "GET", "/api/vcenter/vm/vm-47/guest/identity", { headers = c.hdr })
      assert.equal(503, r.status)
      assert.equal("SERVICE_UNAVAILABLE", r.json.error_type)
      assert.equal(404, request(sim, "GET", "/api/vcenter/vm/vm-999/guest/identity",
                                { headers = c.hdr }).status)
      local function family(vm)
        local spec = { specSet = { { _typeName = "PropertyFilterSpec",
          propSet = { { _typeName = "PropertySpec", type = "VirtualMachine",
                        pathSet = { "guest.guestFamily" } } },
          objectSet = { { _typeName = "ObjectSpec", obj = vmref(vm), skip = false } } } },
          options = { _typeName = "RetrieveOptions" } }
        local res = request(sim, "POST", V .. "/PropertyCollector/propertyCollector/RetrievePropertiesEx",
                            { body = spec, headers = { ["vmware-api-session-id"] = c.vtoken } })
        assert.equal(200, res.status, res.body)
        return res.json.objects[1].propSet
      end
      assert.same({ { _typeName = "DynamicProperty", name = "guest.guestFamily",
                      val = { _typeName = "string", _value = "linuxGuest" } } }, family("vm-42"))
      assert.same({}, family("vm-47")) -- unset while Tools are not running
    end)
  end)

  describe("/rest", function()
    it("has no guest filesystem", function()
      local function rest(path)
        return request(sim, "POST", "/rest/vcenter/vm/vm-42/guest/filesystem" .. path,
                       { body = { credentials = GUEST, spec = { path = "/etc/hostname" } },
                         headers = c.hdr })
      end
      for _, p in ipairs({ "?action=create", "/files?action=createTemporary",
                           "/files/%2Fetc%2Fhostname?action=get", "/directories?action=create" }) do
        local r = rest(p)
        assert.equal(404, r.status, p)
        assert.equal("com.vmware.vapi.std.errors.operation_not_found", r.json.type, p)
        assert.equal("OPERATION_NOT_FOUND", r.json.value.error_type, p)
      end
    end)
  end)

  describe("vim25 GuestFileManager", function()
    it("is the guest operations manager's fileManager", function()
      local r = request(sim, "GET", V .. "/GuestOperationsManager/guestOperationsManager/fileManager")
      assert.same({ _typeName = "ManagedObjectReference", type = "GuestFileManager",
                    value = "guestOperationsFileManager" }, r.json)
    end)

    it("creates temporary files and directories", function()
      local r = c.vim("CreateTemporaryFileInGuest", { vm = vmref("vm-43"), auth = VIM_AUTH,
                                                      prefix = "v", suffix = ".err", directoryPath = dir })
      assert.equal(200, r.status, r.body)
      assert.matches("^" .. dir:gsub("%p", "%%%0") .. "/vvmware%d+%.err$", r.json)
      r = c.vim("CreateTemporaryDirectoryInGuest", { vm = vmref("vm-43"), auth = VIM_AUTH,
                                                     prefix = "v", suffix = "" })
      assert.matches("/vmware%-[^/]+/vvmware%d+$", r.json)
      assert.equal(tonumber("700", 8), mode_of(r.json))
      os.execute("rmdir " .. h.q(r.json))
      expect_fault(c.vim("CreateTemporaryFileInGuest", { vm = vmref("vm-43"), auth = VIM_AUTH,
                                                         prefix = "v", suffix = "",
                                                         directoryPath = dir .. "/none" }),
                   "FileNotFound")
      local j = expect_fault(c.vim("CreateTemporaryFileInGuest", { vm = vmref("vm-43"),
                                                                   auth = VIM_AUTH, prefix = "v" }),
                             "InvalidArgument")
      assert.equal("suffix", j.invalidProperty)
    end)

    it("round-trips binary data through both transfer methods", function()
      local p = dir .. "/vim.bin"
      local r = c.vim("InitiateFileTransferToGuest", {
        vm = vmref("vm-43"), auth = VIM_AUTH, guestFilePath = p,
        fileAttributes = { _typeName = "GuestPosixFileAttributes", permissions = 416 },
        fileSize = #BINARY, overwrite = false })
      assert.equal(200, r.status, r.body)
      assert.matches("^https://%*:%d+/guestFile%?id=%d+&token=%x+$", r.json)
      assert.equal(200, h.transfer(h.star(r.json), sim.ca_file, { method = "PUT", data = BINARY }).status)
      assert.equal(tonumber("640", 8), mode_of(p))
      r = c.vim("InitiateFileTransferFromGuest", { vm = vmref("vm-43"), auth = VIM_AUTH,
                                                   guestFilePath = p })
      assert.equal(200, r.status, r.body)
      assert.equal("FileTransferInformation", r.json._typeName)
      assert.equal(#BINARY, r.json.size)
      assert.equal("GuestPosixFileAttributes", r.json.attributes._typeName)
      assert.equal(tonumber("100640", 8), r.json.attributes.permissions)
      assert.is_string(r.json.attributes.modificationTime)
      local down = h.transfer(h.star(r.json.url), sim.ca_file)
      assert.equal(200, down.status)
      assert.equal(BINARY, down.body)
      expect_fault(c.vim("InitiateFileTransferToGuest", {
        vm = vmref("vm-43"), auth = VIM_AUTH, guestFilePath = p,
        fileAttributes = { _typeName = "GuestFileAttributes" }, fileSize = 1, overwrite = false }),
        "FileAlreadyExists")
      local j = expect_fault(c.vim("InitiateFileTransferToGuest", {
        vm = vmref("vm-43"), auth = VIM_AUTH, guestFilePath = p,
        fileAttributes = {}, fileSize = 1, overwrite = true }), "InvalidArgument")
      assert.equal("fileAttributes", j.invalidProperty)
      expect_fault(c.vim("InitiateFileTransferFromGuest", { vm = vmref("vm-43"), auth = VIM_AUTH,
                                                            guestFilePath = dir }), "NotAFile")
      expect_fault(c.vim("InitiateFileTransferFromGuest", { vm = vmref("vm-43"), auth = VIM_AUTH,
                                                            guestFilePath = dir .. "/no" }),
                   "FileNotFound")
    end)

    it("deletes files and directories", function()
      local d = dir .. "/vdel"
      os.execute("mkdir -p " .. h.q(d .. "/in") .. " && touch " .. h.q(d .. "/f"))
      expect_fault(c.vim("DeleteFileInGuest", { vm = vmref("vm-43"), auth = VIM_AUTH, filePath = d }),
                   "NotAFile")
      assert.equal(204, c.vim("DeleteFileInGuest", { vm = vmref("vm-43"), auth = VIM_AUTH,
                                                    filePath = d .. "/f" }).status)
      local j = expect_fault(c.vim("DeleteFileInGuest", { vm = vmref("vm-43"), auth = VIM_AUTH,
                                                          filePath = d .. "/f" }), "FileNotFound")
      assert.equal(d .. "/f", j.file)
      expect_fault(c.vim("DeleteDirectoryInGuest", { vm = vmref("vm-43"), auth = VIM_AUTH,
                                                     directoryPath = d, recursive = false }),
                   "DirectoryNotEmpty")
      h.spit(d .. "/g", "")
      expect_fault(c.vim("DeleteDirectoryInGuest", { vm = vmref("vm-43"), auth = VIM_AUTH,
                                                     directoryPath = d .. "/g", recursive = true }),
                   "NotADirectory")
      assert.equal(204, c.vim("DeleteDirectoryInGuest", { vm = vmref("vm-43"), auth = VIM_AUTH,
                                                         directoryPath = d, recursive = true }).status)
      assert.is_false(exists(d))
      j = expect_fault(c.vim("DeleteDirectoryInGuest", { vm = vmref("vm-43"), auth = VIM_AUTH,
                                                         directoryPath = d }), "InvalidArgument")
      assert.equal("recursive", j.invalidProperty)
    end)

    it("makes directories", function()
      local d = dir .. "/vmk/a/b"
      expect_fault(c.vim("MakeDirectoryInGuest", { vm = vmref("vm-43"), auth = VIM_AUTH,
                                                   directoryPath = d, createParentDirectories = false }),
                   "FileNotFound")
      assert.equal(204, c.vim("MakeDirectoryInGuest", { vm = vmref("vm-43"), auth = VIM_AUTH,
                                                       directoryPath = d,
                                                       createParentDirectories = true }).status)
      expect_fault(c.vim("MakeDirectoryInGuest", { vm = vmref("vm-43"), auth = VIM_AUTH,
                                                   directoryPath = d, createParentDirectories = true }),
                   "FileAlreadyExists")
    end)

    it("lists files as Tools page them", function()
      local d = dir .. "/vls"
      os.execute("mkdir -p " .. h.q(d))
      for _, n in ipairs({ "x1", "x2", "y1", "x3" }) do h.spit(d .. "/" .. n, n) end
      local function list(extra)
        local body = { vm = vmref("vm-43"), auth = VIM_AUTH, filePath = d }
        for k, v in pairs(extra or {}) do body[k] = v end
        return c.vim("ListFilesInGuest", body)
      end
      local r = list()
      assert.equal(200, r.status, r.body)
      assert.equal("GuestListFileInfo", r.json._typeName)
      assert.equal(0, r.json.remaining)
      assert.equal(6, #r.json.files)
      assert.same({ ".", "..", "x1", "x2", "x3", "y1" },
                  (function() local t = {} for i, f in ipairs(r.json.files) do t[i] = f.path end return t end)())
      local f = r.json.files[3]
      assert.equal("GuestFileInfo", f._typeName)
      assert.equal("file", f.type)
      assert.equal(2, f.size)
      assert.equal("GuestPosixFileAttributes", f.attributes._typeName)
      assert.equal("directory", r.json.files[1].type)
      r = list({ matchPattern = "^x", maxResults = 2 })
      assert.equal(2, #r.json.files)
      assert.equal(1, r.json.remaining)
      -- index skips entries of the listing before the pattern applies
      r = list({ matchPattern = "^x", index = 3 })
      assert.equal("x2", r.json.files[1].path)
      assert.equal(2, #r.json.files)
      r = list({ matchPattern = "^z" })
      assert.is_nil(r.json.files)
      assert.equal(0, r.json.remaining)
      r = list({ filePath = d .. "/x1" })
      assert.equal(d .. "/x1", r.json.files[1].path)
      expect_fault(list({ filePath = d .. "/none" }), "FileNotFound")
      assert.equal("matchPattern", expect_fault(list({ matchPattern = "[" }), "InvalidArgument")
        .invalidProperty)
    end)

    it("moves files and directories and changes attributes", function()
      local a, b = dir .. "/vmv-a", dir .. "/vmv-b"
      h.spit(a, "A")
      h.spit(b, "B")
      expect_fault(c.vim("MoveFileInGuest", { vm = vmref("vm-43"), auth = VIM_AUTH,
                                              srcFilePath = a, dstFilePath = b, overwrite = false }),
                   "FileAlreadyExists")
      assert.equal(204, c.vim("MoveFileInGuest", { vm = vmref("vm-43"), auth = VIM_AUTH,
                                                  srcFilePath = a, dstFilePath = b,
                                                  overwrite = true }).status)
      assert.equal("A", h.slurp(b))
      local d1, d2 = dir .. "/vmvd1", dir .. "/vmvd2"
      os.execute("mkdir " .. h.q(d1))
      assert.equal(204, c.vim("MoveDirectoryInGuest", { vm = vmref("vm-43"), auth = VIM_AUTH,
                                                       srcDirectoryPath = d1,
                                                       dstDirectoryPath = d2 }).status)
      expect_fault(c.vim("MoveDirectoryInGuest", { vm = vmref("vm-43"), auth = VIM_AUTH,
                                                   srcDirectoryPath = b, dstDirectoryPath = d1 }),
                   "NotADirectory")
      assert.equal(204, c.vim("ChangeFileAttributesInGuest", {
        vm = vmref("vm-43"), auth = VIM_AUTH, guestFilePath = b,
        fileAttributes = { _typeName = "GuestPosixFileAttributes", permissions = 384 } }).status)
      assert.equal(tonumber("600", 8), mode_of(b))
    end)

    it("makes the guest checks of every guest operation", function()
      local body = { vm = vmref("vm-46"), auth = VIM_AUTH, guestFilePath = "/etc/hostname" }
      local j = expect_fault(c.vim("InitiateFileTransferFromGuest", body), "InvalidPowerState")
      assert.equal("poweredOff", j.existingState)
      body.vm = vmref("vm-47")
      expect_fault(c.vim("InitiateFileTransferFromGuest", body), "GuestOperationsUnavailable")
      body.vm = vmref("vm-42")
      body.auth = { _typeName = "NamePasswordAuthentication", interactiveSession = false,
                    username = "root", password = "bad" }
      expect_fault(c.vim("InitiateFileTransferFromGuest", body), "InvalidGuestLogin")
      body.auth = VIM_AUTH
      expect_fault(c.vim("InitiateFileTransferFromGuest", body, "bad-token"), "NotAuthenticated")
      body.guestFilePath = ""
      assert.equal("guestFilePath", expect_fault(c.vim("InitiateFileTransferFromGuest", body),
                                                 "InvalidArgument").invalidProperty)
      control(sim, { fail_next = { count = 1, kind = "busy", ops = { "files" } } })
      expect_fault(c.vim("DeleteFileInGuest", { vm = vmref("vm-42"), auth = VIM_AUTH,
                                                filePath = "/nope" }), "TaskInProgress")
    end)
  end)

  describe("the transfer listener", function()
    local function fresh_download(path)
      h.spit(path, "payload")
      return h.star(download_url("vm-44", path).json)
    end

    it("serves one successful request per URL", function()
      local url = fresh_download(dir .. "/once")
      assert.equal("payload", h.transfer(url, sim.ca_file).body)
      local again = h.transfer(url, sim.ca_file)
      assert.equal(404, again.status)
      assert.matches("already used", again.body)
      local up = h.star(upload_url("vm-44", dir .. "/once-up", 2).json)
      assert.equal(200, h.transfer(up, sim.ca_file, { method = "PUT", data = "ok" }).status)
      assert.equal(404, h.transfer(up, sim.ca_file, { method = "PUT", data = "ok" }).status)
    end)

    it("answers its own errors, never a vCenter session's", function()
      local url = fresh_download(dir .. "/errs")
      local base = sim.transfer_url
      local checks = {
        { h.transfer(url:gsub("token=%x+", "token=" .. ("0"):rep(32)), sim.ca_file), 404 },
        { h.transfer(url:gsub("id=%d+", "id=999999"), sim.ca_file), 404 },
        { h.transfer(base .. "/guestFile", sim.ca_file), 400 },
        { h.transfer(base .. "/other?id=1&token=x", sim.ca_file), 404 },
        { h.transfer(url, sim.ca_file, { method = "POST" }), 405 },
        { h.transfer(url, sim.ca_file, { method = "DELETE" }), 405 },
        { h.transfer(url, sim.ca_file, { method = "PUT", data = "x" }), 405 },
      }
      for i, chk in ipairs(checks) do
        local r, status = chk[1], chk[2]
        assert.equal(status, r.status, "check " .. i .. ": " .. (r.body or ""))
        assert.matches("text/plain", r.headers["content-type"])
        assert.is_nil(r.body:match("vapi"), r.body)
        assert.is_nil(r.headers["www-authenticate"])
      end
      assert.equal("GET", checks[7][1].headers["allow"])
      -- the URL survived all of that
      assert.equal("payload", h.transfer(url, sim.ca_file).body)
      -- uploads need the announced Content-Length
      local up = h.star(upload_url("vm-44", dir .. "/len", 5).json)
      assert.equal(411, h.transfer(up, sim.ca_file, { method = "PUT", data = "hello", chunked = true }).status)
      assert.equal(400, h.transfer(up, sim.ca_file, { method = "PUT", data = "hell" }).status)
      assert.equal(405, h.transfer(up, sim.ca_file).status)
      assert.equal(200, h.transfer(up, sim.ca_file, { method = "PUT", data = "hello" }).status)
      assert.equal("hello", h.slurp(dir .. "/len"))
    end)

    it("keeps transfer URLs valid across vCenter sessions, not across power-off", function()
      local url = fresh_download(dir .. "/power")
      control(sim, { expire_sessions = true })
      assert.equal(200, h.transfer(url, sim.ca_file).status)
      c.token = h.api_login(sim)
      c.hdr["vmware-api-session-id"] = c.token
      c.vtoken = h.vim_login(sim)
      url = fresh_download(dir .. "/power")
      control(sim, { set_vm = { id = "vm-44", power_state = "POWERED_OFF" } })
      control(sim, { set_vm = { id = "vm-44", power_state = "POWERED_ON" } })
      local r = h.transfer(url, sim.ca_file)
      assert.equal(404, r.status)
      assert.matches("powered off", r.body)
    end)

    it("fails, cuts and drops transfers on request, and the URL stays usable", function()
      local url = fresh_download(dir .. "/inject")
      control(sim, { transfer_fail_next = { count = 1, how = "error" } })
      assert.equal(500, h.transfer(url, sim.ca_file).status)
      control(sim, { transfer_fail_next = { count = 1, how = "drop", direction = "download" } })
      local r = h.transfer(url, sim.ca_file)
      assert.equal(0, r.status)
      assert.equal(52, r.curl_exit) -- empty reply
      control(sim, { transfer_fail_next = { count = 1, how = "cut" } })
      r = h.transfer(url, sim.ca_file)
      assert.equal(18, r.curl_exit) -- partial file
      assert.equal("pay", r.body)
      assert.equal("payload", h.transfer(url, sim.ca_file).body)
      -- a cut upload leaves the target as it was
      local p = dir .. "/inject-up"
      h.spit(p, "old")
      local up = h.star(upload_url("vm-44", p, 4096).json)
      control(sim, { transfer_fail_next = { count = 1, how = "cut", direction = "upload" } })
      r = h.transfer(up, sim.ca_file, { method = "PUT", data = ("n"):rep(4096) })
      assert.are_not.equal(0, r.curl_exit)
      assert.equal("old", h.slurp(p))
      assert.equal("", h.run("ls -A " .. h.q(dir) .. " | grep vguest-upload || true"))
      assert.equal(200, h.transfer(up, sim.ca_file, { method = "PUT", data = ("n"):rep(4096) }).status)
      assert.equal(("n"):rep(4096), h.slurp(p))
      assert.equal(400, request(sim, "POST", "/sim/control",
                                { body = { transfer_fail_next = { count = 1, how = "slow" } } }).status)
    end)

    it("counts transfers and lists live URLs without their tokens", function()
      local before = h.stats(sim).transfers
      local url = fresh_download(dir .. "/count")
      local listed = h.request(sim, "GET", "/sim/transfers")
      assert.equal(200, listed.status)
      local last = listed.json[#listed.json]
      assert.equal(dir .. "/count", last.path)
      assert.equal("download", last.direction)
      assert.equal("ready", last.state)
      assert.is_nil(listed.body:match(url:match("token=(%x+)")))
      assert.equal(before.live + 1, h.stats(sim).transfers.live)
      h.transfer(url, sim.ca_file)
      local after = h.stats(sim).transfers
      assert.equal(before.created + 1, after.created)
      assert.equal(before.downloads + 1, after.downloads)
      assert.equal(before.bytes_down + 7, after.bytes_down)
      assert.equal(before.live, after.live)
      assert.equal("used", h.request(sim, "GET", "/sim/transfers").json[#listed.json].state)
    end)
  end)
end)

describe("vguest-sim transfer options", function()
  it("expires URLs after --transfer-ttl", function()
    local sim = h.start("--transfer-ttl 1")
    local dir = h.mkdtemp()
    finally(function() h.stop(sim) h.rmtree(dir) end)
    local c = bind(sim)
    h.spit(dir .. "/f", "x")
    local url = h.star(c.fs("vm-42", "?action=create", { spec = { path = dir .. "/f" } }).json)
    h.sleep(1.3)
    local r = h.transfer(url, sim.ca_file)
    assert.equal(404, r.status)
    assert.matches("expired", r.body)
  end)

  it("names the address in URLs with --transfer-url-host explicit", function()
    local sim = h.start("--transfer-url-host explicit")
    local dir = h.mkdtemp()
    finally(function() h.stop(sim) h.rmtree(dir) end)
    local c = bind(sim)
    local p = dir .. "/bin"
    local url = c.fs("vm-42", "?action=create", { spec = { path = p,
      attributes = { size = #BINARY } } }).json
    assert.equal(sim.transfer_url .. "/guestFile", url:match("^[^?]+"))
    assert.equal(200, h.transfer(url, sim.ca_file, { method = "PUT", data = BINARY }).status)
    local info = c.vim("InitiateFileTransferFromGuest", { vm = vmref("vm-42"), auth = VIM_AUTH,
                                                          guestFilePath = p }).json
    assert.equal(sim.transfer_url .. "/guestFile", info.url:match("^[^?]+"))
    assert.equal(BINARY, h.transfer(info.url, sim.ca_file).body)
  end)

  it("signs the transfer certificate with the main one by default", function()
    local sim = h.start()
    finally(function() h.stop(sim) end)
    local out, code = h.run("openssl verify -CAfile " .. h.q(sim.ca_file) .. " "
                            .. h.q(sim.transfer_cert_file))
    assert.equal(0, code, out)
    assert.matches("CA:FALSE", h.run("openssl x509 -noout -ext basicConstraints -in "
                                     .. h.q(sim.transfer_cert_file)))
    -- ca_file is still exactly what the main listener serves (pinning)
    local function served(url)
      return h.run("echo | openssl s_client -connect " .. url:match("https://(.*)$")
                   .. " 2>/dev/null | openssl x509 -noout -fingerprint -sha256")
    end
    local function file_fp(path)
      return h.run("openssl x509 -noout -fingerprint -sha256 -in " .. h.q(path))
    end
    assert.equal(file_fp(sim.ca_file), served(sim.url))
    assert.equal(file_fp(sim.transfer_cert_file), served(sim.transfer_url))
    assert.equal(400, h.transfer(sim.transfer_url .. "/guestFile", sim.ca_file).status)
  end)

  it("serves its own self-signed certificate with --transfer-cert self-signed", function()
    local sim = h.start("--transfer-cert self-signed")
    finally(function() h.stop(sim) end)
    assert.are_not.equal(sim.ca_file, sim.transfer_ca_file)
    assert.equal(sim.transfer_cert_file, sim.transfer_ca_file)
    local wrong = h.transfer(sim.transfer_url .. "/guestFile", sim.ca_file)
    assert.equal(60, wrong.curl_exit) -- the peer's certificate is not trusted
    assert.equal(400, h.transfer(sim.transfer_url .. "/guestFile", sim.transfer_ca_file).status)
    -- the main listener is unchanged
    assert.equal(200, request(sim, "GET", "/sim/stats").status)
    local _, code = h.run("openssl verify -CAfile " .. h.q(sim.ca_file) .. " "
                          .. h.q(sim.transfer_cert_file))
    assert.are_not.equal(0, code)
  end)

  it("refuses bad transfer options", function()
    for _, args in ipairs({ "--transfer-cert maybe", "--transfer-ttl 0", "--transfer-ttl x",
                            "--transfer-url-host any", "--transfer-port 70000",
                            "--port 4444 --transfer-port 4444" }) do
      local out, code = h.run(h.q(h.SIM) .. " --lifetime 5 " .. args .. " </dev/null")
      assert.equal(2, code, args .. ": " .. out)
    end
  end)

  it("removes its transfer certificate when it stops", function()
    local sim = h.start("--transfer-cert self-signed")
    os.execute(("kill -TERM %d"):format(sim.pid))
    sim.proc:close()
    assert.is_nil(io.open(sim.transfer_cert_file, "r"))
  end)
end)

describe("vguest-sim large transfers", function()
  it("streams 50 MB up and down with flat memory", function()
    local sim = h.start()
    local dir = h.mkdtemp()
    finally(function() h.stop(sim) h.rmtree(dir) end)
    local c = bind(sim)
    local src, dst = dir .. "/src.bin", dir .. "/down.bin"
    local size = 50 * 1024 * 1024
    assert.equal(0, select(2, h.run(("head -c %d /dev/urandom > %s"):format(size, h.q(src)))))
    local rss0, hwm0 = h.memory(sim.pid)
    local url = h.star(c.fs("vm-42", "?action=create", { spec = { path = dir .. "/up.bin",
      attributes = { size = size } } }).json)
    assert.equal(200, h.transfer(url, sim.ca_file, { method = "PUT", infile = src }).status)
    local _, hwm1 = h.memory(sim.pid)
    url = h.star(c.fs("vm-42", "?action=create", { spec = { path = dir .. "/up.bin" } }).json)
    local r = h.transfer(url, sim.ca_file, { outfile = dst })
    assert.equal(200, r.status)
    local rss2, hwm2 = h.memory(sim.pid)
    assert.equal(0, select(2, h.run("cmp " .. h.q(src) .. " " .. h.q(dst))))
    assert.equal(0, select(2, h.run("cmp " .. h.q(src) .. " " .. h.q(dir .. "/up.bin"))))
    -- the peak grew by far less than the file: nothing held it whole
    print(("\n  memory (kB): rss %d -> %d, peak %d -> %d (upload) -> %d (download)")
          :format(rss0, rss2, hwm0, hwm1, hwm2))
    -- (under ASan the quarantine of freed TLS buffers inflates the peak)
    local sanitized = h.run("ldd " .. h.q(h.SIM)):match("libasan") ~= nil
    if not sanitized then
      assert.is_true(hwm2 - hwm0 < 8 * 1024, ("peak grew by %d kB"):format(hwm2 - hwm0))
    end
    local s = h.stats(sim).transfers
    assert.equal(size, s.bytes_up)
    assert.equal(size, s.bytes_down)
  end)
end)
