-- vguest-sim answers as the specs and open-vm-tools say a real vCenter and
-- a real Linux guest do (issue 8): each case here pins one difference the
-- simulator used to have.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local h = dofile(here .. "sim_helper.lua")
local request = h.request

local GUEST = { interactive_session = false, type = "USERNAME_PASSWORD",
                user_name = "root", password = "guest-secret" }
local VIM_AUTH = { _typeName = "NamePasswordAuthentication", interactiveSession = false,
                   username = "root", password = "guest-secret" }
local V = "/sdk/vim25/8.0.2.0"
local GPM = "/GuestProcessManager/guestOperationsProcessManager/" -- under V

local function vmref(id)
  return { _typeName = "ManagedObjectReference", type = "VirtualMachine", value = id }
end

-- A directory with a space in its name holding an executable script
-- that exits 7; returns the directory and the script's path.
local function spaced_program()
  local dir = h.mkdtemp() .. "/with space"
  assert(os.execute("mkdir " .. h.q(dir)))
  local prog = dir .. "/exit seven"
  h.spit(prog, "#!/bin/sh\nexit 7\n")
  assert(os.execute("chmod 755 " .. h.q(prog)))
  return dir:match("^(.*)/with space$"), prog
end

describe("vguest-sim fidelity", function()
  local sim, token

  lazy_setup(function()
    sim = h.start()
    token = h.api_login(sim)
  end)

  lazy_teardown(function()
    h.stop(sim)
  end)

  local function hdr(tok)
    return { ["vmware-api-session-id"] = tok or token }
  end

  local function api(path, body)
    return request(sim, "POST", "/api" .. path, { body = body, headers = hdr() })
  end

  local function rest(path, body)
    return request(sim, "POST", "/rest" .. path, { body = body, headers = hdr() })
  end

  local function vim(method, path, body, tok)
    return request(sim, method, V .. path, { body = body, headers = hdr(tok) })
  end

  describe("vAPI messages", function()
    -- VapiStdLocalizableMessage.args is an array of strings (7.0 GA and
    -- 7.0.3 specs alike)
    local function all_strings(messages)
      for _, m in ipairs(messages) do
        for _, a in ipairs(m.args) do
          assert.equal("string", type(a), "message " .. m.id .. " has a non-string arg")
        end
      end
    end

    it("send the pid of an unknown process as a string arg", function()
      local r = api("/vcenter/vm/vm-42/guest/processes/987654321?action=get", { credentials = GUEST })
      assert.equal(404, r.status, r.body)
      assert.same({ "987654321" }, r.json.messages[1].args)
      assert.same({ pid = 987654321 }, r.json.data)
      assert.matches('"args":%["987654321"%]', r.body)
      r = rest("/vcenter/vm/vm-42/guest/processes/987654321?action=get", { credentials = GUEST })
      assert.equal(404, r.status, r.body)
      assert.same({ "987654321" }, r.json.value.messages[1].args)
    end)

    it("send only string args in every fault", function()
      local bodies = {
        api("/vcenter/vm/vm-999/guest/processes?action=create",
            { credentials = GUEST, spec = { path = "/bin/true" } }),
        api("/vcenter/vm/vm-46/guest/processes?action=create",
            { credentials = GUEST, spec = { path = "/bin/true" } }),
        api("/vcenter/vm/vm-47/guest/processes?action=create",
            { credentials = GUEST, spec = { path = "/bin/true" } }),
        api("/vcenter/vm/vm-42/guest/processes?action=create",
            { credentials = GUEST, spec = { path = "/no/such" } }),
        api("/vcenter/vm/vm-42/guest/processes/1?action=delete", { credentials = GUEST }),
      }
      for _, r in ipairs(bodies) do
        assert.is_table(r.json, r.body)
        all_strings(r.json.messages)
      end
    end)
  end)

  describe("vim25 sessions", function()
    local SM = "/SessionManager/SessionManager/"

    local function login()
      local r = request(sim, "POST", V .. SM .. "Login",
                        { body = { userName = h.ADMIN, password = h.ADMIN_PW } })
      assert.equal(200, r.status, r.body)
      return r.headers["vmware-api-session-id"], r.json
    end

    it("keep one UserSession.key per session", function()
      local tok, session = login()
      assert.is_string(session.key)
      assert.are_not.equal("", session.key)
      assert.are_not.equal(tok, session.key) -- the key is no secret
      for _ = 1, 2 do
        local r = vim("GET", SM .. "currentSession", nil, tok)
        assert.equal(200, r.status, r.body)
        assert.equal(session.key, r.json.key)
      end
      local tok2, other = login()
      assert.are_not.equal(session.key, other.key)
      assert.equal(other.key, vim("GET", SM .. "currentSession", nil, tok2).json.key)
    end)

    it("answer currentSession without a session with null (204)", function()
      -- "If the client is not logged on, the value is null. Required
      -- privileges: System.Anonymous"
      local none = request(sim, "GET", V .. SM .. "currentSession")
      local unknown = vim("GET", SM .. "currentSession", nil, "0123456789abcdef0123456789abcdef")
      local tok = login()
      assert.equal(204, vim("POST", SM .. "Logout", nil, tok).status)
      local gone = vim("GET", SM .. "currentSession", nil, tok)
      for _, r in ipairs { none, unknown, gone } do
        assert.equal(204, r.status, r.body)
        assert.equal("", r.body)
        assert.matches("application/json", r.headers["content-type"])
      end
    end)
  end)

  describe("vim25 property reads", function()
    local vtok

    lazy_setup(function()
      vtok = h.vim_login(sim)
    end)

    local function prop(id, name, tok)
      return vim("GET", "/VirtualMachine/" .. id .. "/" .. name, nil, tok or vtok)
    end

    it("serve VirtualMachine name, runtime and guest", function()
      local r = prop("vm-42", "name")
      assert.equal(200, r.status, r.body)
      assert.matches("application/json", r.headers["content-type"])
      assert.equal('"web-01"', r.body)
      r = prop("vm-42", "runtime")
      assert.equal(200, r.status, r.body)
      assert.equal("VirtualMachineRuntimeInfo", r.json._typeName)
      assert.equal("poweredOn", r.json.powerState)
      assert.equal("connected", r.json.connectionState)
      r = prop("vm-42", "guest")
      assert.equal(200, r.status, r.body)
      assert.equal("GuestInfo", r.json._typeName)
      assert.equal("guestToolsRunning", r.json.toolsRunningStatus)
      assert.equal("running", r.json.guestState)
      assert.is_true(r.json.guestOperationsReady)
      assert.is_false(r.json.interactiveGuestOperationsReady)
      assert.equal("linuxGuest", r.json.guestFamily)
    end)

    it("follow the VM's state", function()
      assert.equal("poweredOff", prop("vm-46", "runtime").json.powerState)
      local g = prop("vm-46", "guest").json
      assert.equal("guestToolsNotRunning", g.toolsRunningStatus)
      assert.equal("notRunning", g.guestState)
      assert.is_false(g.guestOperationsReady)
      assert.is_nil(g.guestFamily)
      assert.equal('"dup"', prop("vm-51", "name").body)
    end)

    it("answer an unknown moId with ManagedObjectNotFound", function()
      for _, name in ipairs { "name", "runtime", "guest" } do
        local r = prop("vm-999", name)
        assert.equal(500, r.status, r.body)
        assert.equal("ManagedObjectNotFound", r.json._typeName)
        assert.same({ _typeName = "ManagedObjectReference", type = "VirtualMachine",
                      value = "vm-999" }, r.json.obj)
      end
    end)

    it("need a session", function()
      local r = prop("vm-42", "name", "nope")
      assert.equal(500, r.status, r.body)
      assert.equal("NotAuthenticated", r.json._typeName)
    end)
  end)

  describe("vim25 405", function()
    it("names the allowed method and is a vim25 fault", function()
      local cases = {
        { "GET", "/GuestProcessManager/guestOperationsProcessManager/ListProcessesInGuest", "POST" },
        { "POST", "/ServiceInstance/ServiceInstance/content", "GET" },
        { "DELETE", "/SessionManager/SessionManager/Login", "POST" },
        { "POST", "/VirtualMachine/vm-42/name", "GET" },
      }
      for _, case in ipairs(cases) do
        local r = vim(case[1], case[2])
        assert.equal(405, r.status, r.body)
        assert.equal(case[3], r.headers["allow"])
        assert.matches("application/json", r.headers["content-type"])
        assert.is_table(r.json, r.body)
        assert.equal("InvalidRequest", r.json._typeName)
        assert.is_string(r.json.faultstring)
      end
    end)
  end)

  describe("vim25 releases", function()
    local function content(release)
      return request(sim, "GET", "/sdk/vim25/" .. release .. "/ServiceInstance/ServiceInstance/content")
    end

    it("are every JSON release of the spec's enum by default, as on a 9.1.1 server", function()
      -- the enum of the 9.1.1.0 spec, from 8.0.1.0 (the first with VI/JSON) up
      for _, rel in ipairs { "8.0.1.0", "8.0.2.0", "8.0.3.0", "8.0.3.1", "9.0.0.0",
                             "9.1.0.0", "9.1.1.0" } do
        local r = content(rel)
        assert.equal(200, r.status, rel .. ": " .. r.body)
        assert.equal(rel, r.json.about.apiVersion)
      end
      for _, rel in ipairs { "8.0.0.2", "7.0.3.2", "9.1.2.0", "9.2.0.0" } do
        assert.equal(404, content(rel).status, rel)
      end
    end)

    it("describe a server of the newest release in about, on every release", function()
      for _, rel in ipairs { "8.0.1.0", "9.0.0.0", "9.1.1.0" } do
        local about = content(rel).json.about
        assert.equal("9.1.1", about.version)
        assert.matches("^%d+$", about.build)
        assert.equal("VMware vCenter Server 9.1.1 build-" .. about.build, about.fullName)
        assert.equal(rel, about.apiVersion)
      end
    end)

    it("follow --vim25-releases", function()
      local other = h.start("--flavours vim25 --vim25-releases 8.0.3.1,8.0.2.0")
      finally(function() h.stop(other) end)
      local r = request(other, "GET", "/sdk/vim25/8.0.2.0/ServiceInstance/ServiceInstance/content")
      assert.equal("8.0.3", r.json.about.version)
      assert.equal("8.0.2.0", r.json.about.apiVersion)
      assert.equal("VMware vCenter Server 8.0.3 build-" .. r.json.about.build, r.json.about.fullName)
    end)
  end)

  describe("the guest command line", function()
    local function api_create(spec)
      return api("/vcenter/vm/vm-42/guest/processes?action=create", { credentials = GUEST, spec = spec })
    end

    local function api_wait(pid)
      return h.eventually(function()
        local r = api(("/vcenter/vm/vm-42/guest/processes/%d?action=get"):format(pid),
                      { credentials = GUEST })
        return r.json and r.json.exit_code ~= nil and r.json
      end)
    end

    local function vim_start(path, args)
      return vim("POST", GPM .. "StartProgramInGuest", {
        vm = vmref("vm-42"), auth = VIM_AUTH,
        spec = { _typeName = "GuestProgramSpec", programPath = path, arguments = args } },
        h.vim_login(sim))
    end

    it("is the quoted path and the arguments: a path with a space runs", function()
      local top, prog = spaced_program()
      finally(function() h.rmtree(top) end)
      local r = api_create { path = prog, arguments = "a  'b c'" }
      assert.equal(201, r.status, r.body)
      local info = api_wait(r.json)
      assert.equal(7, info.exit_code)
      assert.equal('"' .. prog .. '" a  \'b c\'', info.command)
      assert.equal("exit seven", info.name)
      r = api_create { path = prog }
      assert.equal('"' .. prog .. '"', api_wait(r.json).command)
      local vt = h.vim_login(sim)
      local pid = vim_start(prog, "x").json
      local p = h.eventually(function()
        local l = vim("POST", GPM .. "ListProcessesInGuest",
                      { vm = vmref("vm-42"), auth = VIM_AUTH, pids = { pid } }, vt).json
        return l[1] and l[1].exitCode and l[1]
      end)
      assert.equal(7, p.exitCode)
      assert.equal('"' .. prog .. '" x', p.cmdLine)
    end)

    it("leaves the arguments to the shell", function()
      local r = api_create { path = "/bin/sh", arguments = [[-c 'exit $((2 + 3))']] }
      assert.equal(5, api_wait(r.json).exit_code)
    end)

    it("terminates a process that has exited as not found (kill: ESRCH)", function()
      local pid = api_create({ path = "/bin/true" }).json
      assert.equal(0, api_wait(pid).exit_code)
      local path = ("/vcenter/vm/vm-42/guest/processes/%d?action="):format(pid)
      local r = api(path .. "delete", { credentials = GUEST })
      assert.equal(404, r.status, r.body)
      assert.equal("NOT_FOUND", r.json.error_type)
      assert.same({ pid = pid }, r.json.data)
      r = rest(path .. "delete", { credentials = GUEST })
      assert.equal(404, r.status, r.body)
      assert.equal("com.vmware.vapi.std.errors.not_found", r.json.type)
      r = vim("POST", GPM .. "TerminateProcessInGuest",
              { vm = vmref("vm-42"), auth = VIM_AUTH, pid = pid }, h.vim_login(sim))
      assert.equal(500, r.status, r.body)
      assert.equal("GuestProcessNotFound", r.json._typeName)
      assert.equal(pid, r.json.pid)
      -- Tools still remember it: its exit code stays readable
      r = api(path .. "get", { credentials = GUEST })
      assert.equal(200, r.status, r.body)
      assert.equal(0, r.json.exit_code)
    end)

    it("reports WEXITSTATUS of a process a signal killed: 0", function()
      -- procMgrPosix.c: exitCode = WEXITSTATUS(status), and 0 when
      -- !WIFEXITED; never 128 + signal
      local pid = api_create({ path = "/bin/sleep", arguments = "30" }).json
      local r = api(("/vcenter/vm/vm-42/guest/processes/%d?action=delete"):format(pid),
                    { credentials = GUEST })
      assert.equal(204, r.status, r.body)
      assert.equal(0, api_wait(pid).exit_code)
      pid = api_create({ path = "/bin/sh", arguments = [[-c 'kill -KILL $$']] }).json
      assert.equal(0, api_wait(pid).exit_code)
      local vt = h.vim_login(sim)
      pid = vim_start("/bin/sleep", "30").json
      assert.equal(204, vim("POST", GPM .. "TerminateProcessInGuest",
                            { vm = vmref("vm-42"), auth = VIM_AUTH, pid = pid }, vt).status)
      local p = h.eventually(function()
        local l = vim("POST", GPM .. "ListProcessesInGuest",
                      { vm = vmref("vm-42"), auth = VIM_AUTH, pids = { pid } }, vt).json
        return l[1] and l[1].endTime and l[1]
      end)
      assert.equal(0, p.exitCode)
    end)

    it("refuses a working directory that is not a directory as NotADirectory", function()
      -- VixToolsStartProgramImpl: workingDir set and !File_IsDirectory
      -- (missing, or not a directory) is VIX_E_NOT_A_DIRECTORY
      local vt = h.vim_login(sim)
      for _, wd in ipairs { "/bin/true", "/no/such/dir" } do
        local r = api_create { path = "/bin/true", working_directory = wd }
        assert.equal(400, r.status, r.body)
        assert.equal("INVALID_ARGUMENT", r.json.error_type)
        assert.same({ reason = "NOT_A_DIRECTORY", file_path = wd }, r.json.data)
        r = rest("/vcenter/vm/vm-42/guest/processes?action=create",
                 { credentials = GUEST, spec = { path = "/bin/true", working_directory = wd,
                   environment_variables = { { key = "A", value = "b" } } } })
        assert.equal(400, r.status, r.body)
        assert.equal("com.vmware.vapi.std.errors.invalid_argument", r.json.type)
        assert.same({ reason = "NOT_A_DIRECTORY", file_path = wd }, r.json.value.data)
        r = vim("POST", GPM .. "StartProgramInGuest", {
          vm = vmref("vm-42"), auth = VIM_AUTH,
          spec = { _typeName = "GuestProgramSpec", programPath = "/bin/true", arguments = "",
                   workingDirectory = wd } }, vt)
        assert.equal(500, r.status, r.body)
        assert.equal("NotADirectory", r.json._typeName)
        assert.equal(wd, r.json.file)
      end
      -- the program is checked first
      local r = api_create { path = "/no/such/program", working_directory = "/no/such/dir" }
      assert.equal(404, r.status, r.body)
      assert.equal("FILE_NOT_FOUND", r.json.data.reason)
    end)

    it("starts a directory given as the program, which exits 126", function()
      -- Tools check only that the path exists and passes access(X_OK);
      -- the shell then cannot run a directory
      local dir = h.mkdtemp()
      finally(function() h.rmtree(dir) end)
      local r = api_create { path = dir }
      assert.equal(201, r.status, r.body)
      assert.equal(126, api_wait(r.json).exit_code)
      local vt = h.vim_login(sim)
      local pid = vim_start("/tmp", "").json
      assert.is_number(pid)
      local p = h.eventually(function()
        local l = vim("POST", GPM .. "ListProcessesInGuest",
                      { vm = vmref("vm-42"), auth = VIM_AUTH, pids = { pid } }, vt).json
        return l[1] and l[1].endTime and l[1]
      end)
      assert.equal(126, p.exitCode)
      -- one the guest user may not search is still refused (root may
      -- search any directory, so this needs another user)
      if h.run("id -u"):match("^0%s") then return end
      assert(os.execute("chmod 600 " .. h.q(dir)))
      r = api_create { path = dir }
      assert.equal(403, r.status, r.body)
      assert.equal("UNAUTHORIZED", r.json.error_type)
    end)
  end)
  describe("the inventory tree", function()
    local function get(path)
      return request(sim, "GET", path, { headers = hdr() })
    end
    local function vim_token()
      return h.vim_login(sim)
    end

    -- vsphere-automation-sdk-python issue 87: "The API currently doesn't
    -- include vms in subfolders"
    it("lists by folder only the VMs the folder itself holds", function()
      local r = get("/api/vcenter/vm?folders=group-v12")
      local got = {}
      for _, v in ipairs(r.json) do got[#got + 1] = v.vm end
      assert.same({ "vm-47", "vm-50" }, got)
    end)

    -- Vcenter Folder Type: a datacenter's root folders are folders of
    -- their type, named vm, host, datastore, network
    it("lists a datacenter's root folders, typed", function()
      local r = get("/api/vcenter/folder?datacenters=datacenter-50")
      local got = {}
      for _, f in ipairs(r.json) do got[#got + 1] = f.name .. ":" .. f.type end
      table.sort(got)
      assert.same({ "datastore:DATASTORE", "host:HOST", "network:NETWORK", "vm:VIRTUAL_MACHINE",
                    "web:VIRTUAL_MACHINE" }, got)
    end)

    -- Vcenter Vm Tools Info: auto_update_supported and run_state are
    -- required; install_attempt_count and error unset without an attempt
    it("answers Tools.Info with its required members", function()
      local j = get("/api/vcenter/vm/vm-46/tools").json
      assert.is_false(j.auto_update_supported)
      assert.equal("NOT_RUNNING", j.run_state)
      assert.is_nil(j.install_attempt_count)
      assert.is_nil(j.error)
      assert.equal(j.version_number, (12 << 10) + (3 << 5) + 5)
    end)

    -- Vcenter Vm Guest Identity Info: ip_address optional, "If unset the
    -- guest does not have an IP address"
    it("leaves ip_address out of the identity of a VM without one", function()
      local r = request(sim, "POST", "/sim/vm/vm-46", { body = { power_state = "POWERED_ON", tools = "running" } })
      assert.equal(200, r.status, r.body)
      local j = get("/api/vcenter/vm/vm-46/guest/identity").json
      assert.equal("db-01", j.host_name)
      assert.is_nil(j.ip_address)
      request(sim, "POST", "/sim/vm/vm-46", { body = { power_state = "POWERED_OFF", tools = "not_running" } })
    end)

    -- CreateContainerView: the view lists the container's contents, never
    -- the container itself; a HostSystem container holds HostSystem.vm
    it("keeps the container out of its own view", function()
      local t = vim_token()
      local r = vim("POST", "/ViewManager/ViewManager/CreateContainerView",
                    { container = { _typeName = "ManagedObjectReference", type = "Folder", value = "group-v12" },
                      type = { "Folder" }, recursive = true }, t)
      local v = r.json
      r = vim("POST", "/PropertyCollector/propertyCollector/RetrievePropertiesEx", {
        specSet = { { _typeName = "PropertyFilterSpec",
          propSet = { { _typeName = "PropertySpec", type = "Folder", pathSet = { "name" } } },
          objectSet = { { _typeName = "ObjectSpec", obj = v, skip = true,
            selectSet = { { _typeName = "TraversalSpec", type = "ContainerView", path = "view",
                            skip = false } } } } } } }, t)
      assert.equal(1, #r.json.objects)
      assert.equal("group-v13", r.json.objects[1].obj.value)
    end)

    -- VirtualMachineRuntimeInfo.host: a ManagedObjectReference to a
    -- HostSystem, which carries its own _typeName
    it("reads runtime.host as a HostSystem MoRef", function()
      local j = vim("GET", "/VirtualMachine/vm-51/runtime", nil, vim_token()).json
      assert.same({ _typeName = "ManagedObjectReference", type = "HostSystem", value = "host-40" }, j.host)
    end)
  end)
end)
