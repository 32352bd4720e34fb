-- vguest-sim against the curl CLI: every flavour's main behaviours, faults
-- from state and from injection, flavour subsets, retention, command line.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local h = dofile(here .. "sim_helper.lua")
local cjson = require "cjson"
local request, control = h.request, h.control

local GUEST = { interactive_session = false, type = "USERNAME_PASSWORD",
                user_name = "root", password = "guest-secret" }
local V = "/sdk/vim25/8.0.2.0"
local GPM = V .. "/GuestProcessManager/guestOperationsProcessManager/"

local function vmref(id)
  return { _typeName = "ManagedObjectReference", type = "VirtualMachine", value = id }
end

local VIM_AUTH = { _typeName = "NamePasswordAuthentication", interactiveSession = false,
                   username = "root", password = "guest-secret" }

describe("vguest-sim", function()
  local sim, token

  lazy_setup(function()
    sim = h.start()
    token = h.api_login(sim)
  end)

  lazy_teardown(function()
    h.stop(sim)
  end)

  local function api(method, path, body, tok)
    return request(sim, method, "/api" .. path,
                   { body = body, headers = { ["vmware-api-session-id"] = tok or token } })
  end

  local function rest(method, path, body, tok)
    return request(sim, method, "/rest" .. path,
                   { body = body, headers = { ["vmware-api-session-id"] = tok or token } })
  end

  local function vim(method, path, body, tok)
    return request(sim, method, V .. path,
                   { body = body, headers = { ["vmware-api-session-id"] = tok or token } })
  end

  local function api_create(vm, spec, cred)
    return api("POST", "/vcenter/vm/" .. vm .. "/guest/processes?action=create",
               { credentials = cred or GUEST, spec = spec })
  end

  local function api_get(vm, pid)
    return api("POST", ("/vcenter/vm/%s/guest/processes/%d?action=get"):format(vm, pid),
               { credentials = GUEST })
  end

  local function api_wait(vm, pid)
    return h.eventually(function()
      local r = api_get(vm, pid)
      return r.json and r.json.exit_code ~= nil and r.json
    end)
  end

  describe("startup", function()
    it("prints one ready line", function()
      assert.matches("^https://127%.0%.0%.1:%d+$", sim.url)
      assert.is_number(sim.pid)
      assert.same({ "api", "rest", "vim25" }, sim.flavours)
      assert.truthy(io.open(sim.ca_file, "r")):close()
      assert.matches('^{"url":', sim.line)
    end)

    it("serves a certificate curl verifies for 127.0.0.1 and localhost", function()
      local port = sim.url:match(":(%d+)$")
      local r = request(sim, "GET", "/api/session", { url = "https://localhost:" .. port })
      assert.equal(401, r.status)
      local out, code = h.run("curl -sS -o /dev/null --cacert " .. h.q(sim.ca_file) .. " "
                              .. sim.url .. "/sim/stats")
      assert.equal(0, code, out)
    end)
  end)

  describe("/api", function()
    it("logs in with Basic auth and reports the session", function()
      assert.matches("^%x+$", token)
      assert.equal(32, #token)
      local r = api("GET", "/session")
      assert.equal(200, r.status)
      assert.equal(h.ADMIN, r.json.user)
      assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ$", r.json.created_time)
    end)

    it("rejects a bad or missing login with UNAUTHENTICATED", function()
      local r = request(sim, "POST", "/api/session", { user = h.ADMIN .. ":wrong" })
      assert.equal(401, r.status)
      assert.equal("UNAUTHENTICATED", r.json.error_type)
      r = request(sim, "POST", "/api/session")
      assert.equal(401, r.status)
    end)

    it("logs out with 204 and then refuses the token", function()
      local t = h.api_login(sim)
      assert.equal(204, api("DELETE", "/session", nil, t).status)
      local r = api("GET", "/session", nil, t)
      assert.equal(401, r.status)
      assert.equal("com.vmware.vapi.endpoint.method.authentication.required",
                   r.json.messages[1].id)
    end)

    it("answers unknown paths with httpNotFound", function()
      local r = api("GET", "/nothing/here")
      assert.equal(404, r.status)
      assert.equal("com.vmware.vapi.rest.httpNotFound", r.json.messages[1].id)
    end)

    it("lists VMs with names, vms and power_states filters", function()
      local r = api("GET", "/vcenter/vm")
      assert.equal(200, r.status)
      assert.equal(8, #r.json)
      assert.same({ vm = "vm-42", name = "web-01", power_state = "POWERED_ON",
                    cpu_count = 2, memory_size_MiB = 4096 }, r.json[1])
      assert.equal(2, #api("GET", "/vcenter/vm?names=dup").json)
      assert.equal(2, #api("GET", "/vcenter/vm?names=web-01&names=web-02").json)
      local off = api("GET", "/vcenter/vm?power_states=POWERED_OFF").json
      assert.equal(1, #off)
      assert.equal("db-01", off[1].name)
      assert.equal("web-03", api("GET", "/vcenter/vm?vms=vm-44").json[1].name)
      r = api("GET", "/vcenter/vm?power_states=ON")
      assert.equal(400, r.status)
      assert.equal("INVALID_ARGUMENT", r.json.error_type)
      assert.equal(401, api("GET", "/vcenter/vm", nil, "nope").status)
    end)

    it("reports guest operations readiness", function()
      assert.same({ guest_operations_ready = true, interactive_guest_operations_ready = false },
                  api("GET", "/vcenter/vm/vm-42/guest/operations").json)
      assert.is_false(api("GET", "/vcenter/vm/vm-47/guest/operations").json.guest_operations_ready)
      assert.equal(404, api("GET", "/vcenter/vm/vm-999/guest/operations").status)
    end)

    it("creates, gets, lists and deletes a real process", function()
      local r = api_create("vm-42", { path = "/bin/sh", arguments = "-c 'exit 3'" })
      assert.equal(201, r.status)
      local pid = r.json
      assert.is_number(pid)
      local info = api_wait("vm-42", pid)
      assert.equal(3, info.exit_code)
      assert.equal("sh", info.name)
      assert.equal("root", info.owner)
      assert.equal([["/bin/sh" -c 'exit 3']], info.command)
      assert.is_string(info.finished)
      assert.is_nil(info.pid)
      local list = api("POST", "/vcenter/vm/vm-42/guest/processes?action=list",
                       { credentials = GUEST }).json
      local found
      for _, p in ipairs(list) do
        if p.pid == pid then found = p end
      end
      assert.truthy(found)
      assert.is_nil(found.exit_code)
      assert.is_nil(found.finished)
      -- a process of vm-42 is not visible on vm-43
      assert.equal(404, api_get("vm-43", pid).status)
      -- a finished, retained process cannot be terminated: not found
      assert.equal(404, api("POST", ("/vcenter/vm/vm-42/guest/processes/%d?action=delete"):format(pid),
                            { credentials = GUEST }).status)
    end)

    it("terminates a running process with SIGTERM", function()
      local pid = api_create("vm-42", { path = "/bin/sleep", arguments = "30" }).json
      assert.is_nil(api_get("vm-42", pid).json.exit_code)
      assert.equal(204, api("POST", ("/vcenter/vm/vm-42/guest/processes/%d?action=delete"):format(pid),
                            { credentials = GUEST }).status)
      assert.equal(0, api_wait("vm-42", pid).exit_code) -- WEXITSTATUS, as Tools report it
    end)

    it("replaces the environment and honours working_directory", function()
      local pid = api_create("vm-42", {
        path = "/bin/sh", arguments = [[-c 'test "$FOO" = bar && test -z "$HOME" && test "$(pwd)" = /tmp']],
        working_directory = "/tmp", environment_variables = { FOO = "bar" } }).json
      assert.equal(0, api_wait("vm-42", pid).exit_code)
    end)

    it("accepts a SAML token credential", function()
      local r = api_create("vm-42", { path = "/bin/true" },
                           { interactive_session = false, type = "SAML_BEARER_TOKEN",
                             saml_token = "saml:root" })
      assert.equal(201, r.status)
    end)

    it("reads the guest environment", function()
      local r = api("POST", "/vcenter/vm/vm-42/guest/environment?action=list",
                    { credentials = GUEST, names = { "HOME", "HOSTNAME", "NOPE" } })
      assert.same({ HOME = "/root", HOSTNAME = "web-01" }, r.json)
      r = api("POST", "/vcenter/vm/vm-43/guest/environment/HOSTNAME?action=get",
              { credentials = GUEST })
      assert.equal("web-02", r.json)
      assert.equal(404, api("POST", "/vcenter/vm/vm-43/guest/environment/NOPE?action=get",
                            { credentials = GUEST }).status)
    end)

    describe("faults from state", function()
      local function expect(r, status, etype, id)
        assert.equal(status, r.status, r.body)
        assert.equal(etype, r.json.error_type)
        if id then assert.equal(id, r.json.messages[1].id) end
        return r.json
      end

      it("unknown VM → NOT_FOUND", function()
        expect(api_create("vm-999", { path = "/bin/true" }), 404, "NOT_FOUND")
      end)
      it("powered off → NOT_ALLOWED_IN_CURRENT_STATE", function()
        expect(api_create("vm-46", { path = "/bin/true" }), 400, "NOT_ALLOWED_IN_CURRENT_STATE")
      end)
      it("tools not running → SERVICE_UNAVAILABLE", function()
        expect(api_create("vm-47", { path = "/bin/true" }), 503, "SERVICE_UNAVAILABLE")
      end)
      it("bad guest password → UNAUTHENTICATED with the credentials id", function()
        local cred = { interactive_session = false, type = "USERNAME_PASSWORD",
                       user_name = "root", password = "nope" }
        expect(api_create("vm-42", { path = "/bin/true" }, cred), 401, "UNAUTHENTICATED",
               "com.vmware.vcenter.vm.guest.credentials.invalid")
      end)
      it("missing program → NOT_FOUND with FileErrorDetails", function()
        local j = expect(api_create("vm-42", { path = "/no/such/program" }), 404, "NOT_FOUND")
        assert.same({ reason = "FILE_NOT_FOUND", file_path = "/no/such/program" }, j.data)
      end)
      it("not executable → UNAUTHORIZED", function()
        expect(api_create("vm-42", { path = "/etc/passwd" }), 403, "UNAUTHORIZED")
      end)
      it("unknown pid → NOT_FOUND with the pid", function()
        local j = expect(api_get("vm-42", 1), 404, "NOT_FOUND")
        assert.same({ pid = 1 }, j.data)
      end)
      it("invalid bodies → INVALID_ARGUMENT naming the field", function()
        local j = expect(api("POST", "/vcenter/vm/vm-42/guest/processes?action=create",
                             { spec = { path = "/bin/true" } }), 400, "INVALID_ARGUMENT")
        assert.matches("credentials", j.messages[1].default_message)
        j = expect(api("POST", "/vcenter/vm/vm-42/guest/processes?action=create",
                       { credentials = GUEST, spec = {} }), 400, "INVALID_ARGUMENT")
        assert.matches("spec.path", j.messages[1].default_message)
        j = expect(api_create("vm-42", { path = "/bin/true" },
                              { type = "USERNAME_PASSWORD", user_name = "root", password = "x" }),
                   400, "INVALID_ARGUMENT")
        assert.matches("interactive_session", j.messages[1].default_message)
        expect(api_create("vm-42", { path = "/bin/true", start_minimized = true }),
               400, "INVALID_ARGUMENT")
        assert.equal(404, api("POST", "/vcenter/vm/vm-42/guest/processes?action=frob",
                              { credentials = GUEST }).status)
      end)
    end)
  end)

  describe("/rest", function()
    it("logs in, wraps values and reports the session", function()
      local r = request(sim, "POST", "/rest/com/vmware/cis/session",
                        { user = h.ADMIN .. ":" .. h.ADMIN_PW })
      assert.equal(200, r.status)
      assert.matches("^%x+$", r.json.value)
      local t = r.json.value
      r = rest("POST", "/com/vmware/cis/session?~action=get", nil, t)
      assert.equal(h.ADMIN, r.json.value.user)
      r = rest("DELETE", "/com/vmware/cis/session", nil, t)
      assert.equal(200, r.status)
      assert.equal("", r.body)
      r = rest("POST", "/com/vmware/cis/session?~action=get", nil, t)
      assert.equal(401, r.status)
      assert.equal("com.vmware.vapi.std.errors.unauthenticated", r.json.type)
      assert.equal("UNAUTHENTICATED", r.json.value.error_type)
    end)

    it("filters VMs with filter.* (repeated and indexed)", function()
      assert.equal(2, #rest("GET", "/vcenter/vm?filter.names=web-01&filter.names=web-02").json.value)
      assert.equal(2, #rest("GET", "/vcenter/vm?filter.names.1=web-01&filter.names.2=db-01").json.value)
      assert.equal(1, #rest("GET", "/vcenter/vm?filter.power_states=SUSPENDED&filter.names=dup"
                            .. "&filter.power_states=POWERED_OFF&filter.names=db-01").json.value)
    end)

    it("runs a process with the full Info in list and get", function()
      local r = rest("POST", "/vcenter/vm/vm-43/guest/processes?action=create",
                     { credentials = GUEST, spec = { path = "/bin/sh", arguments = "-c 'exit 7'",
                       environment_variables = { { key = "A", value = "b" } } } })
      assert.equal(200, r.status, r.body)
      local pid = r.json.value
      local info = h.eventually(function()
        local g = rest("POST", ("/vcenter/vm/vm-43/guest/processes/%d?action=get"):format(pid),
                       { credentials = GUEST }).json.value
        return g.exit_code and g
      end)
      assert.equal(7, info.exit_code)
      assert.equal(pid, info.pid)
      local list = rest("POST", "/vcenter/vm/vm-43/guest/processes?action=list",
                        { credentials = GUEST, pids = { pid } }).json.value
      assert.equal(1, #list)
      assert.equal(7, list[1].exit_code)
      local spid = rest("POST", "/vcenter/vm/vm-43/guest/processes?action=create",
                        { credentials = GUEST, spec = { path = "/bin/sleep", arguments = "30",
                          environment_variables = { { key = "A", value = "b" } } } }).json.value
      r = rest("POST", ("/vcenter/vm/vm-43/guest/processes/%d?action=delete"):format(spid),
               { credentials = GUEST })
      assert.equal(200, r.status)
      assert.equal("", r.body)
    end)

    it("renders faults in the /rest envelope with /rest statuses", function()
      local r = rest("POST", "/vcenter/vm/vm-43/guest/processes/1?action=get", { credentials = GUEST })
      assert.equal(404, r.status)
      assert.equal("com.vmware.vapi.std.errors.not_found", r.json.type)
      assert.same({ pid = 1 }, r.json.value.data)
      control(sim, { fail_next = { count = 1, kind = "busy" } })
      r = rest("POST", "/vcenter/vm/vm-43/guest/processes?action=list", { credentials = GUEST })
      assert.equal(400, r.status)
      assert.equal("RESOURCE_BUSY", r.json.value.error_type)
    end)

    it("lists the environment as key/value pairs", function()
      local r = rest("POST", "/vcenter/vm/vm-42/guest/environment?action=list",
                     { credentials = GUEST, names = { "LANG" } })
      assert.same({ { key = "LANG", value = "C.UTF-8" } }, r.json.value)
      r = rest("GET", "/vcenter/vm/vm-42/guest/operations")
      assert.is_true(r.json.value.guest_operations_ready)
    end)
  end)

  describe("vim25", function()
    local vtok

    lazy_setup(function()
      vtok = h.vim_login(sim)
    end)

    local function call(method, body, tok)
      return vim("POST", "/GuestProcessManager/guestOperationsProcessManager/" .. method,
                 body, tok or vtok)
    end

    local function start_prog(vm, path, args, auth)
      return call("StartProgramInGuest", {
        vm = vmref(vm), auth = auth or VIM_AUTH,
        spec = { _typeName = "GuestProgramSpec", programPath = path, arguments = args } })
    end

    local function expect_fault(r, name)
      assert.equal(500, r.status, r.body)
      assert.equal(name, r.json._typeName)
      assert.is_string(r.json.faultstring)
      assert.matches("application/json", r.headers["content-type"])
      return r.json
    end

    it("serves ServiceContent without a session", function()
      local r = request(sim, "GET", V .. "/ServiceInstance/ServiceInstance/content")
      assert.equal(200, r.status)
      assert.equal("ServiceContent", r.json._typeName)
      assert.equal("group-d1", r.json.rootFolder.value)
      assert.equal("guestOperationsManager", r.json.guestOperationsManager.value)
      assert.equal("8.0.2.0", r.json.about.apiVersion)
      r = request(sim, "POST", "/sdk/vim25/9.0.0.0/ServiceInstance/ServiceInstance/RetrieveServiceContent")
      assert.equal("9.0.0.0", r.json.about.apiVersion)
      assert.equal(404, request(sim, "GET", "/sdk/vim25/7.0.0.0/ServiceInstance/ServiceInstance/content").status)
    end)

    it("logs in with a session header and rejects bad passwords", function()
      assert.matches("^%x+$", vtok)
      local r = request(sim, "POST", V .. "/SessionManager/SessionManager/Login",
                        { body = { _typeName = "Login", userName = h.ADMIN, password = "x" } })
      local j = expect_fault(r, "InvalidLogin")
      assert.equal("Cannot complete login due to an incorrect user name or password.", j.faultstring)
    end)

    it("answers NotAuthenticated without a session", function()
      local j = expect_fault(call("ListProcessesInGuest", { vm = vmref("vm-42"), auth = VIM_AUTH },
                                  "bad"), "NotAuthenticated")
      assert.equal("GuestProcessManager", j.object.type)
    end)

    it("returns the process manager", function()
      local r = vim("GET", "/GuestOperationsManager/guestOperationsManager/processManager")
      assert.same({ _typeName = "ManagedObjectReference", type = "GuestProcessManager",
                    value = "guestOperationsProcessManager" }, r.json)
    end)

    it("starts, lists and terminates processes", function()
      local r = start_prog("vm-44", "/bin/sh", "-c 'exit 5'")
      assert.equal(200, r.status, r.body)
      local pid = r.json
      local info = h.eventually(function()
        local l = call("ListProcessesInGuest", { vm = vmref("vm-44"), auth = VIM_AUTH, pids = { pid } }).json
        return l[1] and l[1].exitCode and l[1]
      end)
      assert.equal("GuestProcessInfo", info._typeName)
      assert.equal(5, info.exitCode)
      assert.equal([["/bin/sh" -c 'exit 5']], info.cmdLine)
      assert.is_string(info.endTime)
      -- unknown pids are silently omitted
      r = call("ListProcessesInGuest", { vm = vmref("vm-44"), auth = VIM_AUTH, pids = { 1 } })
      assert.equal("[]", r.body)
      local spid = start_prog("vm-44", "/bin/sleep", "30").json
      r = call("TerminateProcessInGuest", { vm = vmref("vm-44"), auth = VIM_AUTH, pid = spid })
      assert.equal(204, r.status)
      expect_fault(call("TerminateProcessInGuest", { vm = vmref("vm-44"), auth = VIM_AUTH, pid = 1 }),
                   "GuestProcessNotFound")
    end)

    it("reads environment variables", function()
      local r = call("ReadEnvironmentVariableInGuest", { vm = vmref("vm-45"), auth = VIM_AUTH,
                                                         names = { "HOSTNAME" } })
      assert.same({ "HOSTNAME=web-04" }, r.json)
    end)

    it("renders each fault from state", function()
      local bad = { _typeName = "NamePasswordAuthentication", interactiveSession = false,
                    username = "root", password = "nope" }
      expect_fault(start_prog("vm-42", "/bin/true", "", bad), "InvalidGuestLogin")
      local j = expect_fault(start_prog("vm-46", "/bin/true", ""), "InvalidPowerState")
      assert.equal("poweredOn", j.requestedState)
      assert.equal("poweredOff", j.existingState)
      expect_fault(start_prog("vm-47", "/bin/true", ""), "GuestOperationsUnavailable")
      assert.equal("/nope", expect_fault(start_prog("vm-42", "/nope", ""), "FileNotFound").file)
      expect_fault(start_prog("vm-42", "/etc/passwd", ""), "GuestPermissionDenied")
      assert.equal("vm-999", expect_fault(start_prog("vm-999", "/bin/true", ""),
                                          "ManagedObjectNotFound").obj.value)
      local noauth = { username = "root", password = "guest-secret", interactiveSession = false }
      assert.equal("auth", expect_fault(start_prog("vm-42", "/bin/true", "", noauth),
                                        "InvalidArgument").invalidProperty)
      j = expect_fault(call("StartProgramInGuest", { vm = vmref("vm-42"), auth = VIM_AUTH,
                              spec = { _typeName = "GuestProgramSpec", programPath = "/bin/true" } }),
                       "InvalidArgument")
      assert.equal("spec.arguments", j.invalidProperty)
    end)

    it("finds VMs through a container view, with paging", function()
      local view = vim("POST", "/ViewManager/ViewManager/CreateContainerView", {
        container = { _typeName = "ManagedObjectReference", type = "Folder", value = "group-d1" },
        type = { "VirtualMachine" }, recursive = true }).json
      assert.equal("ContainerView", view.type)
      local spec = { specSet = { { _typeName = "PropertyFilterSpec",
        propSet = { { _typeName = "PropertySpec", type = "VirtualMachine",
                      pathSet = { "name", "runtime.powerState", "guest.toolsRunningStatus" } } },
        objectSet = { { _typeName = "ObjectSpec", obj = view, skip = true,
                        selectSet = { { _typeName = "TraversalSpec", type = "ContainerView",
                                        path = "view", skip = false } } } } } },
        options = { _typeName = "RetrieveOptions", maxObjects = 5 } }
      local r = vim("POST", "/PropertyCollector/propertyCollector/RetrievePropertiesEx", spec)
      assert.equal(200, r.status, r.body)
      assert.equal("RetrieveResult", r.json._typeName)
      assert.equal(5, #r.json.objects)
      local first = r.json.objects[1]
      assert.equal("vm-42", first.obj.value)
      assert.same({ _typeName = "string", _value = "web-01" }, first.propSet[1].val)
      assert.same({ _typeName = "VirtualMachinePowerState", _value = "poweredOn" }, first.propSet[2].val)
      assert.equal("guestToolsRunning", first.propSet[3].val._value)
      r = vim("POST", "/PropertyCollector/propertyCollector/ContinueRetrievePropertiesEx",
              { token = r.json.token })
      assert.equal(3, #r.json.objects)
      assert.is_nil(r.json.token)
      local enc = view.value:gsub("[^%w%-_.~]", function(c) return ("%%%02X"):format(c:byte()) end)
      assert.equal(204, vim("POST", "/ContainerView/" .. enc .. "/DestroyView").status)
      expect_fault(vim("POST", "/PropertyCollector/propertyCollector/RetrievePropertiesEx", spec),
                   "ManagedObjectNotFound")
    end)

    it("finds a VM by inventory path", function()
      local r = vim("POST", "/SearchIndex/SearchIndex/FindByInventoryPath", { inventoryPath = "DC0/vm/web/web-02" })
      assert.equal("vm-43", r.json.value)
      r = vim("POST", "/SearchIndex/SearchIndex/FindByInventoryPath", { inventoryPath = "DC0/vm/nope" })
      assert.equal(200, r.status)
      assert.equal("null", r.body)
    end)

    it("logs out with 204", function()
      local t = h.vim_login(sim)
      assert.equal(204, vim("POST", "/SessionManager/SessionManager/Logout", nil, t).status)
      assert.equal(204, vim("GET", "/SessionManager/SessionManager/currentSession", nil, t).status)
      expect_fault(call("ListProcessesInGuest", { vm = vmref("vm-42"), auth = VIM_AUTH }, t),
                   "NotAuthenticated")
    end)
  end)

  describe("shared state and injection", function()
    it("accepts a token from any login on every flavour", function()
      local vt = h.vim_login(sim)
      assert.equal(200, api("GET", "/session", nil, vt).status)
      assert.equal(200, vim("GET", "/SessionManager/SessionManager/currentSession", nil, token).status)
    end)

    it("expires every session on request", function()
      local t = h.api_login(sim)
      local vt = h.vim_login(sim)
      control(sim, { expire_sessions = true })
      assert.equal(401, api("GET", "/session", nil, t).status)
      assert.equal(204, vim("GET", "/SessionManager/SessionManager/currentSession",
                            nil, vt).status)
      assert.equal("NotAuthenticated",
                   vim("POST", "/GuestProcessManager/guestOperationsProcessManager/ListProcessesInGuest",
                       { vm = vmref("vm-42"), auth = VIM_AUTH }, vt).json._typeName)
      token = h.api_login(sim)
    end)

    it("fails the next N matching requests", function()
      control(sim, { fail_next = { count = 2, kind = "busy", ops = { "get" } } })
      local list = api("POST", "/vcenter/vm/vm-42/guest/processes?action=list", { credentials = GUEST })
      assert.equal(200, list.status)
      local r = api_get("vm-42", 1)
      assert.equal(500, r.status)
      assert.equal("RESOURCE_BUSY", r.json.error_type)
      assert.equal(500, api_get("vm-42", 1).status)
      assert.equal(404, api_get("vm-42", 1).status)
      control(sim, { fail_next = { count = 1, kind = "unavailable" } })
      r = api("POST", "/vcenter/vm/vm-42/guest/processes?action=list", { credentials = GUEST })
      assert.equal(503, r.status)
      assert.equal("SERVICE_UNAVAILABLE", r.json.error_type)
      local vt = h.vim_login(sim)
      control(sim, { fail_next = { count = 1, kind = "unavailable", ops = { "list" } } })
      r = vim("POST", "/GuestProcessManager/guestOperationsProcessManager/ListProcessesInGuest",
              { vm = vmref("vm-42"), auth = VIM_AUTH }, vt)
      assert.equal(503, r.status)
      control(sim, { fail_next = { count = 1, kind = "busy", ops = { "create" } } })
      r = vim("POST", "/GuestProcessManager/guestOperationsProcessManager/StartProgramInGuest",
              { vm = vmref("vm-42"), auth = VIM_AUTH,
                spec = { _typeName = "GuestProgramSpec", programPath = "/bin/true", arguments = "" } }, vt)
      assert.equal("TaskInProgress", r.json._typeName)
      -- unauthenticated: the answer of an unknown session, with a good token
      control(sim, { fail_next = { count = 1, kind = "unauthenticated", ops = { "list" } } })
      r = vim("POST", "/GuestProcessManager/guestOperationsProcessManager/ListProcessesInGuest",
              { vm = vmref("vm-42"), auth = VIM_AUTH }, vt)
      assert.equal(500, r.status)
      assert.equal("NotAuthenticated", r.json._typeName)
      assert.equal(200, vim("POST", "/GuestProcessManager/guestOperationsProcessManager/ListProcessesInGuest",
                            { vm = vmref("vm-42"), auth = VIM_AUTH }, vt).status)
      local creates = h.stats(sim).creates
      control(sim, { fail_next = { count = 1, kind = "unauthenticated", ops = { "create" } } })
      r = api_create("vm-42", { path = "/bin/true" })
      assert.equal(401, r.status)
      assert.equal("UNAUTHENTICATED", r.json.error_type)
      assert.equal("com.vmware.vapi.endpoint.method.authentication.required", r.json.messages[1].id)
      r = rest("POST", "/vcenter/vm/vm-42/guest/processes?action=list", { credentials = GUEST })
      assert.equal(200, r.status)
      control(sim, { fail_next = { count = 1, kind = "unauthenticated" } })
      r = rest("POST", "/vcenter/vm/vm-42/guest/processes?action=list", { credentials = GUEST })
      assert.equal(401, r.status)
      assert.equal("vapi.method.authentication.required", r.json.value.messages[1].id)
      assert.equal(creates, h.stats(sim).creates)
      assert.equal(400, request(sim, "POST", "/sim/control",
                                { body = { fail_next = { count = 1, kind = "expired" } } }).status)
    end)

    it("drops the next create response but starts the process", function()
      local before = h.stats(sim)
      control(sim, { drop_next_create_response = true })
      local r = api_create("vm-45", { path = "/bin/sh", arguments = "-c 'exit 0'" })
      assert.equal(0, r.status)
      assert.are_not.equal(0, r.curl_exit)
      local after = h.stats(sim)
      assert.equal(before.creates + 1, after.creates)
      assert.equal(before.by_op.create + 1, after.by_op.create)
      local last = after.processes[#after.processes]
      assert.equal("vm-45", last.vm)
      -- the next create answers normally
      assert.equal(201, api_create("vm-45", { path = "/bin/true" }).status)
    end)

    it("drops connections before the operation: nothing is done", function()
      local before = h.stats(sim)
      control(sim, { drop_next = { count = 2, when = "before", ops = { "create", "logout" } } })
      local r = api_create("vm-45", { path = "/bin/sh", arguments = "-c 'exit 0'" })
      assert.equal(0, r.status)
      assert.equal(52, r.curl_exit) -- empty reply
      -- a logout dropped before it is done leaves the session open
      local t = h.api_login(sim)
      assert.equal(0, api("DELETE", "/session", nil, t).status)
      assert.equal(200, api("GET", "/session", nil, t).status)
      local after = h.stats(sim)
      assert.equal(before.creates, after.creates)
      assert.equal(#before.processes, #after.processes)
      assert.equal(before.by_op.create + 1, after.by_op.create)
      assert.equal(before.injected.dropped + 2, after.injected.dropped)
      -- the count is used up: both answer again
      assert.equal(201, api_create("vm-45", { path = "/bin/true" }).status)
      assert.equal(204, api("DELETE", "/session", nil, t).status)
      -- vim25: a dropped StartProgramInGuest starts nothing either
      local vt = h.vim_login(sim)
      control(sim, { drop_next = { count = 1, when = "before", ops = { "create" } } })
      r = vim("POST", "/GuestProcessManager/guestOperationsProcessManager/StartProgramInGuest",
              { vm = vmref("vm-45"), auth = VIM_AUTH,
                spec = { _typeName = "GuestProgramSpec", programPath = "/bin/true", arguments = "" } }, vt)
      assert.equal(0, r.status)
      assert.equal(before.creates + 1, h.stats(sim).creates)
    end)

    it("drops connections after a successful operation: it is done", function()
      local pid = api_create("vm-45", { path = "/bin/sh", arguments = "-c 'exit 7'" }).json
      api_wait("vm-45", pid)
      local before = h.stats(sim)
      control(sim, { drop_next = { count = 1, when = "after", ops = { "get", "delete" } } })
      -- a request that fails answers normally and keeps the count
      assert.equal(404, api_get("vm-45", 1).status)
      local r = api_get("vm-45", pid)
      assert.equal(0, r.status)
      assert.equal(52, r.curl_exit)
      assert.equal(200, api_get("vm-45", pid).status)
      -- a dropped delete has terminated its process
      local spid = api_create("vm-45", { path = "/bin/sleep", arguments = "30" }).json
      control(sim, { drop_next = { count = 1, when = "after", ops = { "delete" } } })
      r = api("POST", ("/vcenter/vm/vm-45/guest/processes/%d?action=delete"):format(spid),
              { credentials = GUEST })
      assert.equal(0, r.status)
      assert.equal(0, api_wait("vm-45", spid).exit_code)
      local after = h.stats(sim)
      assert.equal(before.injected.dropped + 2, after.injected.dropped)
      -- drop_next_create_response is the same as one create dropped after
      control(sim, { drop_next = { count = 3, when = "before", ops = { "create" } } })
      control(sim, { drop_next_create_response = false }) -- cancels it
      assert.equal(201, api_create("vm-45", { path = "/bin/true" }).status)
    end)

    it("refuses a malformed drop_next", function()
      for _, body in ipairs {
        { drop_next = { count = 1 } },
        { drop_next = { count = 1, when = "later" } },
        { drop_next = { count = -1, when = "before" } },
        { drop_next = { count = 1, when = "after", ops = { "frob" } } },
        { drop_next = { count = 1, when = "after", kind = "busy" } },
        { drop_next = { count = 1, when = "after" }, drop_next_create_response = true },
      } do
        local r = request(sim, "POST", "/sim/control", { body = body })
        assert.equal(400, r.status)
        assert.is_string(r.json.error)
      end
    end)

    it("lists processes with their commands and exit codes, and counts injections", function()
      local pid = api_create("vm-45", { path = "/bin/sh", arguments = "-c 'exit 42'" }).json
      api_wait("vm-45", pid)
      local before = h.stats(sim)
      local rec
      for _, p in ipairs(before.processes) do
        if p.pid == pid then rec = p end
      end
      assert.same({ pid = pid, vm = "vm-45", command = [["/bin/sh" -c 'exit 42']], exited = true,
        exit_code = 42 }, rec)
      local spid = api_create("vm-45", { path = "/bin/sleep", arguments = "30" }).json
      for _, p in ipairs(h.stats(sim).processes) do
        if p.pid == spid then rec = p end
      end
      assert.is_false(rec.exited)
      assert.is_nil(rec.exit_code)
      api("POST", ("/vcenter/vm/vm-45/guest/processes/%d?action=delete"):format(spid),
          { credentials = GUEST })
      control(sim, { fail_next = { count = 1, kind = "busy", ops = { "get" } } })
      assert.equal(500, api_get("vm-45", pid).status)
      control(sim, { malform_next = { count = 1, how = "empty", ops = { "get" } } })
      assert.equal(200, api_get("vm-45", pid).status)
      local after = h.stats(sim)
      assert.equal(before.injected.failed + 1, after.injected.failed)
      assert.equal(before.injected.garbled + 1, after.injected.garbled)
      assert.equal(before.injected.dropped, after.injected.dropped)
    end)

    it("adds latency and changes VM state", function()
      -- with 2 s of latency a client allowed 0.2 s gives up (curl exit 28);
      -- without it the same call answers
      control(sim, { latency_ms = 2000 })
      local slow = os.execute("curl -s -o /dev/null --max-time 0.2 --cacert " .. h.q(sim.ca_file)
        .. " " .. h.q(sim.url .. "/api/vcenter/vm"))
      control(sim, { latency_ms = 0 })
      assert.is_falsy(slow)
      -- a delayed answer is counted
      local delayed = h.stats(sim).injected.delayed
      control(sim, { latency_ms = 100 })
      local late = os.execute("curl -s -o /dev/null --max-time 10 --cacert " .. h.q(sim.ca_file)
        .. " " .. h.q(sim.url .. "/api/vcenter/vm"))
      control(sim, { latency_ms = 0 })
      assert.is_truthy(late)
      assert.equal(delayed + 1, h.stats(sim).injected.delayed)
      assert.is_truthy(os.execute("curl -s -o /dev/null --max-time 5 --cacert " .. h.q(sim.ca_file)
        .. " " .. h.q(sim.url .. "/api/vcenter/vm")))
      control(sim, { set_vm = { id = "vm-45", power_state = "SUSPENDED" } })
      local r = api_create("vm-45", { path = "/bin/true" })
      assert.equal("NOT_ALLOWED_IN_CURRENT_STATE", r.json.error_type)
      control(sim, { set_vm = { id = "vm-45", power_state = "POWERED_ON", tools = "not_running" } })
      assert.equal(503, api_create("vm-45", { path = "/bin/true" }).status)
      control(sim, { set_vm = { id = "vm-45", tools = "running" } })
      assert.equal(201, api_create("vm-45", { path = "/bin/true" }).status)
      assert.equal(400, request(sim, "POST", "/sim/control", { body = { bogus = 1 } }).status)
    end)

    it("counts requests and logins", function()
      local s = h.stats(sim)
      assert.is_true(s.requests > 10)
      assert.is_true(s.logins.api >= 2)
      assert.is_true(s.logins.rest >= 1)
      assert.is_true(s.logins.vim25 >= 1)
      assert.is_table(s.by_op)
      assert.is_table(s.processes)
    end)
  end)
end)

describe("vguest-sim flavour subsets", function()
  it("serves only the listed flavours", function()
    local sim = h.start("--flavours vim25")
    finally(function() h.stop(sim) end)
    assert.same({ "vim25" }, sim.flavours)
    local r = request(sim, "POST", "/api/session", { user = h.ADMIN .. ":" .. h.ADMIN_PW })
    assert.equal(404, r.status)
    assert.equal("com.vmware.vapi.rest.httpNotFound", r.json.messages[1].id)
    r = request(sim, "POST", "/rest/com/vmware/cis/session", { user = h.ADMIN .. ":" .. h.ADMIN_PW })
    assert.equal(404, r.status)
    assert.is_nil(r.json)
    assert.is_string(h.vim_login(sim))
  end)

  it("serves /api alone", function()
    local sim = h.start("--flavours api --vim25-releases 8.0.3.0")
    finally(function() h.stop(sim) end)
    assert.equal(404, request(sim, "GET", V .. "/ServiceInstance/ServiceInstance/content").status)
    assert.is_string(h.api_login(sim))
  end)
end)

describe("vguest-sim retention", function()
  it("forgets finished processes after --retention", function()
    local sim = h.start("--retention 1")
    finally(function() h.stop(sim) end)
    local tok = h.api_login(sim)
    local hdr = { ["vmware-api-session-id"] = tok }
    local pid = request(sim, "POST", "/api/vcenter/vm/vm-42/guest/processes?action=create",
                        { headers = hdr, body = { credentials = GUEST, spec = { path = "/bin/true" } } }).json
    local path = ("/api/vcenter/vm/vm-42/guest/processes/%d?action=get"):format(pid)
    assert.truthy(h.eventually(function()
      return request(sim, "POST", path, { headers = hdr, body = { credentials = GUEST } }).json.exit_code
    end))
    h.sleep(1.5)
    local r = request(sim, "POST", path, { headers = hdr, body = { credentials = GUEST } })
    assert.equal(404, r.status)
    assert.same({ pid = pid }, r.json.data)
    r = request(sim, "POST", V .. "/GuestProcessManager/guestOperationsProcessManager/ListProcessesInGuest",
                { headers = hdr, body = { vm = vmref("vm-42"), auth = VIM_AUTH } })
    assert.equal("[]", r.body)
    r = request(sim, "POST", V .. "/GuestProcessManager/guestOperationsProcessManager/TerminateProcessInGuest",
                { headers = hdr, body = { vm = vmref("vm-42"), auth = VIM_AUTH, pid = pid } })
    assert.equal("GuestProcessNotFound", r.json._typeName)
  end)
end)

describe("vguest-sim command line", function()
  local function run(args)
    return h.run(h.q(h.SIM) .. " --lifetime 5 " .. args .. " </dev/null")
  end

  it("refuses non-loopback addresses", function()
    local out, code = run("--bind 0.0.0.0")
    assert.equal(2, code)
    assert.matches("loopback", out)
  end)

  it("names the file and the problem of a bad inventory", function()
    local path = os.tmpname()
    local f = io.open(path, "w")
    f:write('{"users":[],"vms":[{"id":"vm-1","name":"x","power_state":"ON","tools":"running","accounts":[]}]}')
    f:close()
    local out, code = run("--inventory " .. h.q(path))
    os.remove(path)
    assert.equal(2, code)
    assert.matches(path, out, 1, true)
    assert.matches("power_state", out)
  end)

  it("prints help", function()
    local out, code = run("--help")
    assert.equal(0, code)
    assert.matches("%-%-flavours", out)
  end)

  it("logs every guest process started and ended with --process-log, even when killed", function()
    local log = os.tmpname()
    local sim = h.start("--process-log " .. h.q(log))
    local t = h.api_login(sim)
    local function create(args)
      return h.request(sim, "POST", "/api/vcenter/vm/vm-43/guest/processes?action=create",
        { body = { credentials = GUEST, spec = { path = "/bin/sh", arguments = args } },
          headers = { ["vmware-api-session-id"] = t } }).json
    end
    local done = create("-c 'exit 9'")
    local running = create("-c 'sleep 30'")
    local lines = h.eventually(function()
      local l = {}
      for line in h.slurp(log):gmatch("[^\n]+") do l[#l + 1] = cjson.decode(line) end
      return #l == 3 and l
    end)
    -- a crash: what was logged stays, nothing is lost or torn
    os.execute(("kill -KILL %d"):format(sim.pid))
    sim.proc:close()
    os.execute(("kill -KILL -%d 2>/dev/null"):format(running))
    os.remove(sim.transfer_cert_file)
    os.remove(sim.ca_file)
    local after = {}
    for line in h.slurp(log):gmatch("[^\n]+") do after[#after + 1] = cjson.decode(line) end
    os.remove(log)
    assert.same(lines, after)
    assert.same({ event = "start", pid = done, vm = "vm-43", command = [["/bin/sh" -c 'exit 9']] }, lines[1])
    -- the end of the first and the start of the second, in either order
    local byevent = {}
    for i = 2, 3 do byevent[lines[i].event] = lines[i] end
    assert.same({ event = "exit", pid = done, vm = "vm-43", exit_code = 9 }, byevent.exit)
    assert.same({ event = "start", pid = running, vm = "vm-43", command = [["/bin/sh" -c 'sleep 30']] },
      byevent.start)
    local out, code = run("--process-log /nonexistent-dir/log")
    assert.equal(2, code)
    assert.matches("process%-log", out)
  end)

  it("listens on ::1 when asked", function()
    local sim = h.start("--bind ::1")
    finally(function() h.stop(sim) end)
    assert.matches("^https://%[::1%]:%d+$", sim.url)
    assert.is_string(h.api_login(sim))
  end)

  it("removes its generated certificate and exits on SIGTERM", function()
    local sim = h.start()
    os.execute(("kill -TERM %d"):format(sim.pid))
    sim.proc:close()
    assert.is_nil(io.open(sim.ca_file, "r"))
  end)
end)

describe("vguest-sim --vms", function()
  it("generates powered-on VMs vm-0001... with the usual accounts", function()
    local sim = h.start("--vms 3")
    finally(function() h.stop(sim) end)
    local t = h.api_login(sim)
    local hdr = { ["vmware-api-session-id"] = t }
    local vms = request(sim, "GET", "/api/vcenter/vm", { headers = hdr }).json
    assert.same({
      { vm = "vm-0001", name = "vm-0001", power_state = "POWERED_ON", cpu_count = 2, memory_size_MiB = 4096 },
      { vm = "vm-0002", name = "vm-0002", power_state = "POWERED_ON", cpu_count = 2, memory_size_MiB = 4096 },
      { vm = "vm-0003", name = "vm-0003", power_state = "POWERED_ON", cpu_count = 2, memory_size_MiB = 4096 },
    }, vms)
    local one = request(sim, "GET", "/api/vcenter/vm?names=vm-0002&names=vm-0002", { headers = hdr }).json
    assert.equal(1, #one)
    assert.equal("vm-0002", one[1].vm)
    assert.same({ guest_operations_ready = true, interactive_guest_operations_ready = false },
      request(sim, "GET", "/api/vcenter/vm/vm-0003/guest/operations", { headers = hdr }).json)
    local r = request(sim, "POST", "/api/vcenter/vm/vm-0003/guest/processes?action=create",
      { headers = hdr, body = { credentials = GUEST, spec = { path = "/bin/sh", arguments = "-c 'exit 4'" } } })
    assert.equal(201, r.status, r.body)
    local info = h.eventually(function()
      local g = request(sim, "POST", ("/api/vcenter/vm/vm-0003/guest/processes/%d?action=get"):format(r.json),
        { headers = hdr, body = { credentials = GUEST } }).json
      return g and g.exit_code and g
    end)
    assert.equal(4, info.exit_code)
    -- vim25 finds them by inventory path too
    local vt = h.vim_login(sim)
    local found = request(sim, "POST", V .. "/SearchIndex/SearchIndex/FindByInventoryPath",
      { headers = { ["vmware-api-session-id"] = vt }, body = { inventoryPath = "DC0/vm/folder-2/vm-0002" } }).json
    assert.equal("vm-0002", found.value)
  end)

  it("widens the number past 9999 VMs and ignores $VGUEST_SIM_INVENTORY", function()
    local f = assert(io.popen("VGUEST_SIM_INVENTORY=/nonexistent/inventory.json exec " .. h.q(h.SIM)
      .. " --port 0 --lifetime 60 --vms 10000", "r"))
    local line = f:read("l")
    assert(line, "vguest-sim printed no ready line")
    local sim = cjson.decode(line)
    sim.proc = f
    finally(function() h.stop(sim) end)
    local hdr = { ["vmware-api-session-id"] = h.api_login(sim) }
    local some = request(sim, "GET", "/api/vcenter/vm?vms=vm-00001&vms=vm-10000&vms=vm-0001",
      { headers = hdr }).json
    assert.same({ "vm-00001", "vm-10000" }, { some[1].vm, some[2].vm })
    assert.equal(2, #some)
    assert.equal(10000, #request(sim, "GET", "/api/vcenter/vm", { headers = hdr }).json)
  end)

  it("refuses --vms with --inventory, and a count that is not 1 or more", function()
    local function run(args)
      return h.run(h.q(h.SIM) .. " --lifetime 5 " .. args .. " </dev/null")
    end
    local out, code = run("--vms 2 --inventory " .. h.q(here .. "../../sim/inventory.json"))
    assert.equal(2, code)
    assert.matches("exclude", out)
    for _, bad in ipairs({ "0", "-1", "x", "1000001" }) do
      out, code = run("--vms " .. bad)
      assert.equal(2, code, bad)
      assert.matches("%-%-vms", out)
    end
  end)
end)

describe("vguest-sim connections", function()
  local sim, token

  lazy_setup(function()
    sim = h.start("--vms 4")
    token = h.api_login(sim)
  end)

  lazy_teardown(function()
    h.stop(sim)
  end)

  local function threads()
    local n = 0
    local p = io.popen(("ls /proc/%d/task"):format(sim.pid))
    for _ in p:lines() do n = n + 1 end
    p:close()
    return n
  end

  -- Starts curl in the background on n copies of path, one connection
  -- each, all at once; returns the file its status codes go to.
  local function parallel(n, path)
    local out = os.tmpname()
    local urls = {}
    for _ = 1, n do urls[#urls + 1] = "-o /dev/null " .. h.q(sim.url .. path) end
    os.execute(("(curl -s --no-progress-meter --parallel --parallel-immediate --parallel-max %d "
      .. "--max-time 60 --cacert %s -H %s -w '%%{http_code}\\n' %s > %s.tmp 2>/dev/null; "
      .. "mv %s.tmp %s) &"):format(
      n, h.q(sim.ca_file), h.q("vmware-api-session-id: " .. token), table.concat(urls, " "),
      h.q(out), h.q(out), h.q(out)))
    return out
  end

  local function codes(out)
    return h.eventually(function()
      local s = h.slurp(out)
      if s == "" then return nil end
      local c = {}
      for code in s:gmatch("%d+") do c[#c + 1] = code end
      return c
    end, 60)
  end

  it("holds delayed answers without a thread for each", function()
    local before = h.stats(sim).injected.delayed
    control(sim, { latency_ms = 4000 })
    local out = parallel(40, "/api/vcenter/vm?vms=vm-0002")
    -- every request has been taken and is waiting out its latency
    assert.truthy(h.eventually(function()
      return h.stats(sim).injected.delayed >= before + 40
    end, 30))
    local n = threads()
    control(sim, { latency_ms = 0 })
    -- the listeners, the timer, the reaper and main: not one per connection
    assert.is_true(n <= 8, "threads: " .. n)
    local c = codes(out)
    os.remove(out)
    assert.equal(40, #c)
    for _, code in ipairs(c) do assert.equal("200", code) end
  end)

  it("answers a held request when it stops", function()
    local other = h.start("--vms 1")
    local t = h.api_login(other)
    h.control(other, { latency_ms = 30000 })
    local out = os.tmpname()
    os.execute(("(curl -s --max-time 60 --cacert %s -H %s -o /dev/null -w '%%{http_code}' %s > %s.tmp; mv %s.tmp %s) &")
      :format(h.q(other.ca_file), h.q("vmware-api-session-id: " .. t), h.q(other.url .. "/api/vcenter/vm"),
        h.q(out), h.q(out), h.q(out)))
    -- the request is in, its answer held for 30 s; stopping sends it now
    assert.truthy(h.eventually(function() return h.stats(other).injected.delayed >= 1 end, 30))
    h.stop(other)
    local c = codes(out)
    os.remove(out)
    assert.same({ "200" }, c)
  end)

  local function reused(url, cafile, args)
    local hostport = url:match("^https://(.*)$")
    local out = h.run(("openssl s_client -connect %s -CAfile %s -verify_return_error %s")
      :format(h.q(hostport), h.q(cafile), args))
    local list = {}
    for word in out:gmatch("\n(%a+), TLSv1%.%d") do list[#list + 1] = word end
    return list
  end

  local function resumes(url, cafile)
    -- TLS 1.2: the reconnects present the ticket of the first handshake
    local l12 = reused(url, cafile, "-tls1_2 -reconnect </dev/null")
    assert.equal("New", l12[1])
    assert.is_true(#l12 >= 2)
    for i = 2, #l12 do assert.equal("Reused", l12[i]) end
    -- TLS 1.3: the ticket comes after the handshake; keep it, come back
    local sess = os.tmpname()
    local req = "printf 'GET /guestFile HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n' | "
    local first = h.run(req .. ("openssl s_client -tls1_3 -ign_eof -connect %s -CAfile %s -sess_out %s")
      :format(h.q(url:match("^https://(.*)$")), h.q(cafile), h.q(sess)))
    assert.matches("\nNew, TLSv1%.3", first)
    local second = h.run(req .. ("openssl s_client -tls1_3 -ign_eof -connect %s -CAfile %s -sess_in %s")
      :format(h.q(url:match("^https://(.*)$")), h.q(cafile), h.q(sess)))
    os.remove(sess)
    assert.matches("\nReused, TLSv1%.3", second)
  end

  it("resumes TLS sessions on the vCenter listener", function()
    resumes(sim.url, sim.ca_file)
  end)

  it("resumes TLS sessions on the transfer listener", function()
    resumes(sim.transfer_url, sim.transfer_ca_file)
  end)

  it("lists the processes asked for once each, in the order they started", function()
    local hdr = { ["vmware-api-session-id"] = token }
    local function create(vm)
      return request(sim, "POST", "/rest/vcenter/vm/" .. vm .. "/guest/processes?action=create",
        { headers = hdr, body = { credentials = GUEST, spec = { path = "/bin/sleep", arguments = "30",
          environment_variables = { { key = "A", value = "b" } } } } }).json.value
    end
    local a, b = create("vm-0001"), create("vm-0001")
    local elsewhere = create("vm-0002")
    local list = request(sim, "POST", "/rest/vcenter/vm/vm-0001/guest/processes?action=list",
      { headers = hdr, body = { credentials = GUEST, pids = { b, a, a, elsewhere, 999999999 } } }).json.value
    assert.same({ a, b }, { list[1].pid, list[2].pid })
    assert.equal(2, #list)
    -- a VM lists its own processes only
    local all = request(sim, "POST", "/rest/vcenter/vm/vm-0002/guest/processes?action=list",
      { headers = hdr, body = { credentials = GUEST } }).json.value
    assert.equal(1, #all)
    assert.equal(elsewhere, all[1].pid)
    for _, pid in ipairs({ a, b, elsewhere }) do os.execute(("kill -KILL -%d 2>/dev/null"):format(pid)) end
  end)
end)
