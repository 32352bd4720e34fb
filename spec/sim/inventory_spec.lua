-- vguest-sim's inventory tree: where VMs live (datacenters, folders,
-- clusters, hosts, resource pools), the calls that select VMs by it on
-- every flavour, guest state (Tools, identity, vim25 guest properties),
-- the /sim/vm control endpoint and the validation of the new members.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local h = dofile(here .. "sim_helper.lua")
local request, control = h.request, h.control

local V = "/sdk/vim25/8.0.2.0"

local function ids(list, key)
  local out = {}
  for _, o in ipairs(list) do out[#out + 1] = o[key] end
  table.sort(out)
  return out
end

local function moref(type, value)
  return { _typeName = "ManagedObjectReference", type = type, value = value }
end

describe("vguest-sim inventory tree", function()
  local sim, token, vt

  lazy_setup(function()
    sim = h.start()
    token = h.api_login(sim)
    vt = h.vim_login(sim)
  end)

  lazy_teardown(function()
    h.stop(sim)
  end)

  local function api(path)
    return request(sim, "GET", "/api" .. path, { headers = { ["vmware-api-session-id"] = token } })
  end

  local function rest(path)
    return request(sim, "GET", "/rest" .. path, { headers = { ["vmware-api-session-id"] = token } })
  end

  local function vim(method, path, body)
    return request(sim, method, V .. path, { body = body, headers = { ["vmware-api-session-id"] = vt } })
  end

  -- the id of the one object of kind (an /api path) named name
  local function id_of(kind, name, key, extra)
    local r = api("/vcenter/" .. kind .. "?names=" .. name .. (extra or ""))
    assert.equal(200, r.status, r.body)
    assert.equal(1, #r.json, r.body)
    return r.json[1][key]
  end

  local function vms(query)
    local r = api("/vcenter/vm" .. query)
    assert.equal(200, r.status, r.body)
    return ids(r.json, "vm")
  end

  describe("/api and /rest lists", function()
    it("lists VM folders by name, the same name in two datacenters", function()
      local r = api("/vcenter/folder?names=web&type=VIRTUAL_MACHINE")
      assert.equal(200, r.status, r.body)
      assert.same({ { folder = "group-v10", name = "web", type = "VIRTUAL_MACHINE" },
                    { folder = "group-v51", name = "web", type = "VIRTUAL_MACHINE" } }, r.json)
      r = api("/vcenter/folder?names=web&names=db&type=VIRTUAL_MACHINE&datacenters=datacenter-2")
      assert.same({ "group-v10", "group-v11" }, ids(r.json, "folder"))
      -- the root folders of a datacenter, and the root folder itself
      r = api("/vcenter/folder?names=vm&type=VIRTUAL_MACHINE")
      assert.equal(2, #r.json)
      r = api("/vcenter/folder?type=DATACENTER")
      assert.same({ { folder = "group-d1", name = "Datacenters", type = "DATACENTER" } }, r.json)
      r = api("/vcenter/folder?names=legacy&parent_folders=group-v12")
      assert.same({ "group-v13" }, ids(r.json, "folder"))
      r = api("/vcenter/folder?type=FOLDERISH")
      assert.equal(400, r.status)
      assert.equal("INVALID_ARGUMENT", r.json.error_type)
    end)

    it("lists datacenters, clusters, hosts and resource pools", function()
      assert.same({ { datacenter = "datacenter-2", name = "DC0" },
                    { datacenter = "datacenter-50", name = "DC1" } }, api("/vcenter/datacenter").json)
      assert.same({ { cluster = "domain-c20", name = "Prod", ha_enabled = true, drs_enabled = true } },
                  api("/vcenter/cluster?names=Prod").json)
      assert.same({ { host = "host-21", name = "esx-01", connection_state = "CONNECTED",
                      power_state = "POWERED_ON" } }, api("/vcenter/host?names=esx-01").json)
      assert.same({ "host-21", "host-22" }, ids(api("/vcenter/host?clusters=domain-c20").json, "host"))
      assert.same({ "host-40", "host-52" }, ids(api("/vcenter/host?standalone=true").json, "host"))
      assert.same({ "host-52" }, ids(api("/vcenter/host?datacenters=datacenter-50").json, "host"))
      assert.same({ { resource_pool = "resgroup-30", name = "batch" } },
                  api("/vcenter/resource-pool?names=batch").json)
      assert.same({ "resgroup-31" },
                  ids(api("/vcenter/resource-pool?parent_resource_pools=resgroup-30").json, "resource_pool"))
      -- every cluster and standalone host has its root pool
      assert.equal(3, #api("/vcenter/resource-pool?names=Resources").json)
      assert.equal(1, #api("/vcenter/resource-pool?names=Resources&hosts=host-22").json)
      assert.same({}, api("/vcenter/host?names=nope").json)
    end)

    it("wraps the lists on /rest, with filter. names", function()
      local r = rest("/vcenter/folder?filter.names=web&filter.type=VIRTUAL_MACHINE")
      assert.equal(200, r.status, r.body)
      assert.same({ "group-v10", "group-v51" }, ids(r.json.value, "folder"))
      assert.same({ { host = "host-40", name = "esx-03", connection_state = "CONNECTED",
                      power_state = "POWERED_ON" } }, rest("/vcenter/host?filter.names=esx-03").json.value)
      assert.same({ { datacenter = "datacenter-50", name = "DC1" } },
                  rest("/vcenter/datacenter?filter.names.1=DC1").json.value)
      assert.equal("Prod", rest("/vcenter/cluster").json.value[1].name)
      assert.equal("resgroup-30", rest("/vcenter/resource-pool?filter.names=batch").json.value[1].resource_pool)
      r = rest("/vcenter/folder?filter.type=NOPE")
      assert.equal(400, r.status)
      assert.equal("com.vmware.vapi.std.errors.invalid_argument", r.json.type)
    end)

    it("needs a session", function()
      local r = request(sim, "GET", "/api/vcenter/folder")
      assert.equal(401, r.status)
      r = request(sim, "GET", "/rest/vcenter/host")
      assert.equal(401, r.status)
    end)
  end)

  describe("VM list by container", function()
    it("filters by folder: the folder that holds the VM, not its subfolders", function()
      assert.same({ "vm-42", "vm-43", "vm-44", "vm-45" }, vms("?folders=group-v10"))
      assert.same({ "vm-47", "vm-50" }, vms("?folders=group-v12"))
      assert.same({ "vm-51" }, vms("?folders=group-v13"))
      assert.same({ "vm-46", "vm-47", "vm-50" }, vms("?folders=group-v11&folders=group-v12"))
    end)

    it("filters by datacenter, cluster, host and resource pool at any depth", function()
      assert.equal(8, #vms("?datacenters=datacenter-2"))
      assert.same({}, vms("?datacenters=datacenter-50"))
      assert.same({ "vm-42", "vm-43", "vm-44", "vm-45", "vm-47", "vm-50" }, vms("?clusters=domain-c20"))
      assert.same({ "vm-46", "vm-51" }, vms("?hosts=host-40"))
      assert.same({ "vm-47", "vm-50" }, vms("?resource_pools=resgroup-30"))
      assert.same({ "vm-50" }, vms("?resource_pools=resgroup-31"))
      local root = id_of("resource-pool", "Resources", "resource_pool", "&clusters=domain-c20")
      assert.same({ "vm-42", "vm-43", "vm-44", "vm-45", "vm-47", "vm-50" }, vms("?resource_pools=" .. root))
    end)

    it("ANDs kinds, ORs ids of a kind, matches nothing for unknown ids", function()
      assert.same({ "vm-44", "vm-45", "vm-47" }, vms("?clusters=domain-c20&hosts=host-22"))
      assert.same({ "vm-44", "vm-45", "vm-46", "vm-47", "vm-51" }, vms("?hosts=host-22&hosts=host-40"))
      assert.same({ "vm-50" }, vms("?names=dup&folders=group-v12"))
      assert.same({ "vm-51" }, vms("?names=dup&hosts=host-40&power_states=POWERED_ON"))
      assert.same({}, vms("?folders=group-v999"))
      assert.same({}, vms("?hosts=group-v10")) -- a folder is no host
      assert.same({}, vms("?clusters=domain-c20&hosts=host-40"))
    end)

    it("takes filter. names on /rest", function()
      local r = rest("/vcenter/vm?filter.folders=group-v10&filter.hosts=host-21")
      assert.equal(200, r.status, r.body)
      assert.same({ "vm-42", "vm-43" }, ids(r.json.value, "vm"))
      r = rest("/vcenter/vm?filter.resource_pools.1=resgroup-31")
      assert.same({ "vm-50" }, ids(r.json.value, "vm"))
      r = rest("/vcenter/vm?filter.datacenters=datacenter-50")
      assert.same({}, r.json.value)
    end)
  end)

  describe("Tools and guest identity", function()
    it("answers Tools.Info on /api and /rest", function()
      local r = api("/vcenter/vm/vm-42/tools")
      assert.equal(200, r.status, r.body)
      assert.same({ auto_update_supported = false, version_number = 12389, version = "12.3.5",
                    upgrade_policy = "MANUAL", version_status = "UNMANAGED",
                    install_type = "OPEN_VM_TOOLS", run_state = "RUNNING" }, r.json)
      assert.equal("NOT_RUNNING", api("/vcenter/vm/vm-47/tools").json.run_state)
      assert.equal("NOT_RUNNING", api("/vcenter/vm/vm-46/tools").json.run_state)
      r = rest("/vcenter/vm/vm-43/tools")
      assert.equal(200, r.status, r.body)
      assert.equal("RUNNING", r.json.value.run_state)
      r = api("/vcenter/vm/vm-99/tools")
      assert.equal(404, r.status)
      assert.equal("NOT_FOUND", r.json.error_type)
      assert.equal(404, rest("/vcenter/vm/vm-99/tools").status)
    end)

    it("reports the IP address in the identity while Tools run", function()
      local r = api("/vcenter/vm/vm-42/guest/identity")
      assert.equal("192.168.10.42", r.json.ip_address)
      assert.equal("web-01", r.json.host_name)
      r = rest("/vcenter/vm/vm-50/guest/identity")
      assert.equal(200, r.status, r.body)
      assert.equal("192.168.20.50", r.json.value.ip_address)
      -- app-01 has an address, but Tools do not run: 503, nothing reported
      assert.equal(503, api("/vcenter/vm/vm-47/guest/identity").status)
    end)
  end)

  describe("vim25", function()
    local function view(container, types)
      local r = vim("POST", "/ViewManager/ViewManager/CreateContainerView",
                    { container = container, type = types, recursive = true })
      assert.equal(200, r.status, r.body)
      return r.json
    end

    local function spec_of(v, type, paths, max)
      return { specSet = { { _typeName = "PropertyFilterSpec",
        propSet = { { _typeName = "PropertySpec", type = type, pathSet = paths } },
        objectSet = { { _typeName = "ObjectSpec", obj = v, skip = true,
                        selectSet = { { _typeName = "TraversalSpec", type = "ContainerView",
                                        path = "view", skip = false } } } } } },
        options = { _typeName = "RetrieveOptions", maxObjects = max } }
    end

    -- every object of type in container (a MoRef), through pages of two
    local function through(container, type, paths)
      local v = view(container, { type })
      local r = vim("POST", "/PropertyCollector/propertyCollector/RetrievePropertiesEx",
                    spec_of(v, type, paths or { "name" }, 2))
      assert.equal(200, r.status, r.body)
      local objs = {}
      while true do
        for _, o in ipairs(r.json.objects) do objs[#objs + 1] = o end
        if not r.json.token then break end
        r = vim("POST", "/PropertyCollector/propertyCollector/ContinueRetrievePropertiesEx",
                { token = r.json.token })
        assert.equal(200, r.status, r.body)
      end
      local enc = h.pct(v.value)
      assert.equal(204, vim("POST", "/ContainerView/" .. enc .. "/DestroyView").status)
      local out = {}
      for _, o in ipairs(objs) do
        assert.equal(type, o.obj.type)
        out[#out + 1] = o.obj.value .. "=" .. o.propSet[1].val._value
      end
      table.sort(out)
      return out, objs
    end

    it("views any container, for every type of the tree", function()
      local root = moref("Folder", "group-d1")
      assert.same({ "datacenter-2=DC0", "datacenter-50=DC1" }, through(root, "Datacenter"))
      assert.same({ "domain-c20=Prod" }, through(root, "ClusterComputeResource"))
      assert.same({ "host-21=esx-01", "host-22=esx-02", "host-40=esx-03", "host-52=esx-11" },
                  through(root, "HostSystem"))
      assert.same({ "host-52=esx-11" }, through(moref("Datacenter", "datacenter-50"), "HostSystem"))
      assert.same({ "host-21=esx-01", "host-22=esx-02" },
                  through(moref("ClusterComputeResource", "domain-c20"), "HostSystem"))
      local pools = through(root, "ResourcePool")
      assert.equal(5, #pools)
      assert.same({ "resgroup-31=nightly" }, through(moref("ResourcePool", "resgroup-30"), "ResourcePool"))
      local folders = through(moref("Datacenter", "datacenter-2"), "Folder")
      assert.equal(8, #folders) -- vm, host, datastore, network, web, db, apps, legacy
      assert.same({ "group-v13=legacy" }, through(moref("Folder", "group-v12"), "Folder"))
    end)

    it("tells a folder's kind by its childType", function()
      local _, objs = through(moref("Datacenter", "datacenter-2"), "Folder", { "name", "childType" })
      local kinds = {}
      for _, o in ipairs(objs) do
        assert.equal("childType", o.propSet[2].name)
        assert.equal("ArrayOfString", o.propSet[2].val._typeName)
        kinds[o.propSet[1].val._value] = table.concat(o.propSet[2].val._value, ",")
      end
      assert.equal("Folder,VirtualMachine,VirtualApp", kinds.vm)
      assert.equal("Folder,VirtualMachine,VirtualApp", kinds.legacy)
      assert.equal("Folder,ComputeResource", kinds.host)
      assert.equal("Folder,Datastore", kinds.datastore)
      assert.equal("Folder,Network", kinds.network)
      _, objs = through(moref("Folder", "group-d1"), "Datacenter", { "name" })
      assert.equal(2, #objs)
      -- childType is a Folder's: a HostSystem has none
      local v = view(moref("Folder", "group-d1"), { "HostSystem" })
      local r = vim("POST", "/PropertyCollector/propertyCollector/RetrievePropertiesEx",
                    spec_of(v, "HostSystem", { "childType" }))
      assert.equal("InvalidProperty", r.json._typeName)
    end)

    it("views the VMs of a folder (subfolders included), host, cluster, pool", function()
      assert.same({ "vm-47=app-01", "vm-50=dup", "vm-51=dup" },
                  through(moref("Folder", "group-v12"), "VirtualMachine"))
      assert.same({ "vm-46=db-01", "vm-51=dup" }, through(moref("HostSystem", "host-40"), "VirtualMachine"))
      assert.equal(6, #through(moref("ClusterComputeResource", "domain-c20"), "VirtualMachine"))
      assert.same({ "vm-47=app-01", "vm-50=dup" }, through(moref("ResourcePool", "resgroup-30"), "VirtualMachine"))
      assert.same({}, through(moref("Datacenter", "datacenter-50"), "VirtualMachine"))
      local _, objs = through(moref("Folder", "group-v10"), "VirtualMachine", { "name", "runtime.powerState" })
      assert.equal(4, #objs)
      assert.same({ _typeName = "VirtualMachinePowerState", _value = "poweredOn" }, objs[1].propSet[2].val)
    end)

    it("refuses unknown containers and types", function()
      local r = vim("POST", "/ViewManager/ViewManager/CreateContainerView",
                    { container = moref("Folder", "group-v999"), type = { "VirtualMachine" }, recursive = true })
      assert.equal(500, r.status)
      assert.equal("ManagedObjectNotFound", r.json._typeName)
      assert.same(moref("Folder", "group-v999"), r.json.obj)
      r = vim("POST", "/ViewManager/ViewManager/CreateContainerView",
              { container = moref("HostSystem", "group-v10"), type = { "VirtualMachine" }, recursive = true })
      assert.equal("ManagedObjectNotFound", r.json._typeName)
      r = vim("POST", "/ViewManager/ViewManager/CreateContainerView",
              { container = moref("Folder", "group-d1"), type = { "Datastoreish" }, recursive = true })
      assert.equal("InvalidArgument", r.json._typeName)
      assert.equal("type", r.json.invalidProperty)
      local v = view(moref("Folder", "group-d1"), { "HostSystem" })
      r = vim("POST", "/PropertyCollector/propertyCollector/RetrievePropertiesEx",
              spec_of(v, "HostSystem", { "summary" }))
      assert.equal("InvalidProperty", r.json._typeName)
    end)

    local function guest_props(vm)
      local r = vim("POST", "/PropertyCollector/propertyCollector/RetrievePropertiesEx", {
        specSet = { { _typeName = "PropertyFilterSpec",
          propSet = { { _typeName = "PropertySpec", type = "VirtualMachine",
                        pathSet = { "guest.toolsRunningStatus", "guest.guestOperationsReady",
                                    "guest.guestFamily", "guest.ipAddress", "guest.hostName",
                                    "runtime.host" } } },
          objectSet = { { _typeName = "ObjectSpec", obj = moref("VirtualMachine", vm), skip = false } } } },
        options = { _typeName = "RetrieveOptions" } })
      assert.equal(200, r.status, r.body)
      local props = {}
      for _, p in ipairs(r.json.objects[1].propSet) do props[p.name] = p.val end
      return props
    end

    it("reads the guest properties of one VM", function()
      local p = guest_props("vm-42")
      assert.same({ _typeName = "string", _value = "guestToolsRunning" }, p["guest.toolsRunningStatus"])
      assert.same({ _typeName = "boolean", _value = true }, p["guest.guestOperationsReady"])
      assert.same({ _typeName = "string", _value = "linuxGuest" }, p["guest.guestFamily"])
      assert.same({ _typeName = "string", _value = "192.168.10.42" }, p["guest.ipAddress"])
      assert.same({ _typeName = "string", _value = "web-01" }, p["guest.hostName"])
      assert.same(moref("HostSystem", "host-21"), p["runtime.host"])
      -- Tools not running: only what vCenter itself knows
      p = guest_props("vm-47")
      assert.equal("guestToolsNotRunning", p["guest.toolsRunningStatus"]._value)
      assert.is_nil(p["guest.ipAddress"])
      assert.is_nil(p["guest.hostName"])
      assert.same(moref("HostSystem", "host-22"), p["runtime.host"])
      local g = vim("GET", "/VirtualMachine/vm-42/guest").json
      assert.equal("192.168.10.42", g.ipAddress)
      local rt = vim("GET", "/VirtualMachine/vm-46/runtime").json
      assert.same(moref("HostSystem", "host-40"), rt.host)
    end)

    it("finds VMs and containers by inventory path", function()
      local function find(path)
        local r = vim("POST", "/SearchIndex/SearchIndex/FindByInventoryPath", { inventoryPath = path })
        assert.equal(200, r.status, r.body)
        return type(r.json) == "table" and r.json or nil
      end
      assert.same(moref("VirtualMachine", "vm-51"), find("DC0/vm/apps/legacy/dup"))
      assert.same(moref("VirtualMachine", "vm-50"), find("/DC0/vm/apps/dup/"))
      assert.same(moref("Folder", "group-v51"), find("DC1/vm/web"))
      assert.same(moref("HostSystem", "host-22"), find("DC0/host/Prod/esx-02"))
      assert.same(moref("Datacenter", "datacenter-2"), find("DC0"))
      assert.equal("null", vim("POST", "/SearchIndex/SearchIndex/FindByInventoryPath",
                               { inventoryPath = "DC0/vm/web-01" }).body)
      assert.equal("null", vim("POST", "/SearchIndex/SearchIndex/FindByInventoryPath",
                               { inventoryPath = "DC0/vm/web/web-01/x" }).body)
    end)
  end)

  describe("/sim/vm", function()
    it("shows where a VM is", function()
      local r = request(sim, "GET", "/sim/vm/vm-50")
      assert.equal(200, r.status, r.body)
      assert.same({ id = "vm-50", name = "dup", power_state = "POWERED_ON", tools = "running",
                    datacenter = "datacenter-2", folder = "group-v12", host = "host-21",
                    resource_pool = "resgroup-31", ip_address = "192.168.20.50" }, r.json)
      assert.equal(404, request(sim, "GET", "/sim/vm/vm-99").status)
    end)

    it("changes power and Tools, with Tools coming up after a delay", function()
      local r = request(sim, "POST", "/sim/vm/vm-45", { body = { power_state = "POWERED_OFF" } })
      assert.equal(200, r.status, r.body)
      assert.equal("NOT_RUNNING", api("/vcenter/vm/vm-45/tools").json.run_state)
      r = request(sim, "POST", "/sim/vm/vm-45",
                  { body = { power_state = "POWERED_ON", tools = "running", tools_delay = 1 } })
      assert.equal(200, r.status, r.body)
      assert.equal("running", r.json.tools_next)
      assert.equal("NOT_RUNNING", api("/vcenter/vm/vm-45/tools").json.run_state)
      assert.equal(503, api("/vcenter/vm/vm-45/guest/identity").status)
      assert.truthy(h.eventually(function()
        return api("/vcenter/vm/vm-45/tools").json.run_state == "RUNNING"
      end, 5))
      assert.equal("192.168.10.45", api("/vcenter/vm/vm-45/guest/identity").json.ip_address)
      assert.is_nil(request(sim, "GET", "/sim/vm/vm-45").json.tools_next)
    end)

    it("sets Tools executing scripts, on every flavour", function()
      control(sim, { set_vm = { id = "vm-44", tools = "executing_scripts" } })
      assert.equal("EXECUTING_SCRIPTS", api("/vcenter/vm/vm-44/tools").json.run_state)
      local g = vim("GET", "/VirtualMachine/vm-44/guest").json
      assert.equal("guestToolsExecutingScripts", g.toolsRunningStatus)
      assert.is_false(g.guestOperationsReady)
      control(sim, { set_vm = { id = "vm-44", tools = "running" } })
      assert.equal("RUNNING", api("/vcenter/vm/vm-44/tools").json.run_state)
    end)

    it("refuses bad changes", function()
      local function post(id, body) return request(sim, "POST", "/sim/vm/" .. id, { body = body }) end
      assert.equal(404, post("vm-99", { tools = "running" }).status)
      assert.equal(400, post("vm-42", { tools = "sleepy" }).status)
      assert.equal(400, post("vm-42", { tools_delay = 2 }).status) -- without tools
      assert.equal(400, post("vm-42", { tools = "running", tools_delay = -1 }).status)
      assert.equal(400, post("vm-42", { power = "POWERED_ON" }).status)
      assert.equal(400, post("vm-42", { power_state = "ON" }).status)
      assert.equal(400, request(sim, "POST", "/sim/control",
                                { body = { set_vm = { id = "vm-42", tools = "x" } } }).status)
    end)
  end)
end)

describe("vguest-sim inventory files", function()
  local function load(doc)
    local path = os.tmpname()
    h.spit(path, doc)
    local out, code = h.run(h.q(h.SIM) .. " --port 0 --lifetime 1 --inventory " .. h.q(path))
    os.remove(path)
    return out, code
  end

  local VM = '{"id":"vm-1","name":"a","power_state":"POWERED_ON","tools":"running",'
             .. '"accounts":[{"user":"root","password":"p"}]%s}'
  local function inv(dcs, vm_extra)
    return '{"users":[{"user":"u","password":"p"}],' .. (dcs and ('"datacenters":' .. dcs .. ',') or "")
           .. '"vms":[' .. VM:format(vm_extra or "") .. ']}'
  end
  local DC = '[{"id":"datacenter-1","name":"D","folders":[{"id":"group-v5","name":"f"}],'
             .. '"clusters":[{"id":"domain-c6","name":"C","hosts":[{"id":"host-7","name":"h"}],'
             .. '"resource_pools":[{"id":"resgroup-8","name":"p"}]}],'
             .. '"hosts":[{"id":"host-9","name":"s"}]}]'

  it("loads the tree, and an inventory without one", function()
    local _, code = load(inv(DC, ',"folder":"group-v5","host":"host-7","resource_pool":"resgroup-8",'
                                 .. '"ip_address":"10.0.0.1"'))
    assert.equal(0, code)
    _, code = load(inv(nil))
    assert.equal(0, code)
  end)

  local cases = {
    { inv(DC, ',"folder":"group-v99"'), '"folder" "group%-v99" is not a VM folder' },
    { inv(DC, ',"host":"group-v5"'), '"host" "group%-v5" is not a host' },
    { inv(DC, ',"resource_pool":"host-7"'), '"resource_pool" "host%-7" is not a resource pool' },
    { inv(DC, ',"host":"host-9","resource_pool":"resgroup-8"'), 'does not belong' },
    { inv(DC, ',"ip_address":"10.0.0"'), '"ip_address" must be an IPv4 address' },
    { inv(DC, ',"ip_address":7'), '"ip_address" must be a non%-empty string' },
    { inv('[{"id":"datacenter-1","name":"D","colour":"red"}]'), 'datacenters%[0%]: unknown member "colour"' },
    { inv('[{"id":"datacenter-1"}]'), 'datacenters%[0%]: missing member "name"' },
    { inv('[{"id":"datacenter-1","name":"D","folders":[{"id":"vm-1","name":"x"}],'
          .. '"hosts":[{"id":"h","name":"H"}]}]'), 'duplicate id "vm%-1"' },
    { inv('[{"id":"d","name":"D","folders":[{"id":"f","name":"x"},{"id":"f","name":"y"}]}]'),
      'datacenters%[0%]%.folders%[1%]: duplicate id "f"' },
    { inv('[{"id":"d","name":"D","clusters":[{"id":"c","name":"C","ha_enabled":"yes"}]}]'),
      'clusters%[0%]: "ha_enabled" must be a boolean' },
    { inv('[{"id":"d","name":"D","hosts":[{"id":"h","name":"H","resource_pools":{}}]}]'),
      '"resource_pools" must be an array' },
    { inv('[{"id":"d","name":"D"}]'), 'no host to place it on' },
    { inv('{}'), 'datacenters must be an array' },
    { inv(DC, ',"tools_delay":1'), 'unknown member "tools_delay"' },
  }
  for i, c in ipairs(cases) do
    it("names the bad member (" .. i .. ")", function()
      local out, code = load(c[1])
      assert.equal(2, code, out)
      assert.matches(c[2], out)
    end)
  end

  it("spreads --vms VMs over four folders and hosts of one cluster", function()
    local sim = h.start("--vms 8")
    local token = h.api_login(sim)
    local function get(path)
      return request(sim, "GET", "/api" .. path, { headers = { ["vmware-api-session-id"] = token } }).json
    end
    local folders = get("/vcenter/folder?type=VIRTUAL_MACHINE")
    assert.equal(5, #folders) -- vm and folder-1..4
    local f2 = get("/vcenter/folder?names=folder-2")[1].folder
    assert.same({ "vm-0002", "vm-0006" }, ids(get("/vcenter/vm?folders=" .. f2), "vm"))
    local hosts = get("/vcenter/host")
    assert.equal(4, #hosts)
    assert.equal(2, #get("/vcenter/vm?hosts=" .. hosts[1].host))
    assert.equal(8, #get("/vcenter/vm?clusters=" .. get("/vcenter/cluster")[1].cluster))
    assert.truthy(get("/vcenter/vm/vm-0003/guest/identity").ip_address)
    h.stop(sim)
  end)
end)
