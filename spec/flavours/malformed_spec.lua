-- Malformed and hostile server answers, parametrized over the flavours api,
-- rest and vim25: for every operation of the friendly API and every way the
-- simulator's `malform_next` garbles a success answer (sim/README.md), the
-- call raises an error object (never a crash, never a hang), of kind
-- "protocol", or "transport" where the connection itself breaks, with `op`
-- and a readable message; and the session keeps working afterwards.
--
-- The simulator performs the operation, then garbles its answer (like
-- drop_next_create_response), so a garbled create has started a process
-- and a garbled delete has terminated one.
--
-- Where a garbled answer is nevertheless a valid one, the client must accept
-- it ("ok" below), and says so in a comment:
--   * delete answers carry no value (204 / empty 200): a body there is
--     not read, and there is nothing for wrong_type or huge_number to change;
--   * huge_number leaves answers without integers alone (VM summaries only
--     have integers the client does not read; environments have none);
--   * on vim25 an empty ListProcessesInGuest / ReadEnvironmentVariableInGuest
--     answer is the empty result ("clients must also accept 204 or an empty
--     body", sim/README.md decision 6), so an empty list is no processes.
local vg = require "vguest"
local helper = require "spec.helper"

local FLAVOURS = { "api", "rest", "vim25" }
local HOWS = { "not_json", "wrong_type", "empty", "truncated", "huge_number" }

local err_of, assert_kind, no_secret = helper.err_of, helper.assert_kind, helper.no_secret

-- A truncated answer (Content-Length larger than what arrives, then the
-- connection closes) is a broken wire, not a bad answer: curl reports a
-- partial transfer, so the kind is "transport". An idempotent request is
-- sent once more after a transport failure (a kept-alive connection the
-- server closed looks the same), so two answers must be truncated for the
-- failure to reach the caller; create and delete are never sent twice.
local function count_for(how, idempotent)
  return (how == "truncated" and idempotent) and 2 or 1
end

-- Expected outcome of the garbled call: "ok" or an error kind.
local function value_op(how)
  return how == "truncated" and "transport" or "protocol"
end

local function vim25_empty_is_valid(ok_kind)
  return function(how, flavour)
    if how == "empty" and flavour == "vim25" then return ok_kind end
    return value_op(how)
  end
end

for _, flavour in ipairs(FLAVOURS) do
  describe("malformed answers (" .. flavour .. ")", function()
    local sim, s, g

    local function reset()
      sim:control { malform_next = { count = 0, how = "not_json" } }
    end

    -- A process that has finished (its answers carry finished and
    -- exit_code, so huge_number has integers to garble on every flavour).
    local function finished_process()
      local p = g:create { path = "/bin/true" }
      for _ = 1, 200 do
        for _, q in ipairs(sim:stats().processes) do
          if q.pid == p.pid and q.exited then return p end
        end
        vg.sleep(0.05)
      end
      error("process " .. p.pid .. " did not finish")
    end

    setup(function()
      sim = helper.sim()
      s = helper.connect(flavour, { timeout = 10 })
      g = s:vm("web-01"):guest(helper.credentials())
    end)
    teardown(function()
      if s then s:close() end
      helper.assert_loop_empty()
    end)
    after_each(function()
      reset()
      helper.assert_loop_empty()
    end)

    -- name, sim ops filter, client op name, idempotent, prepare() -> ctx,
    -- call(ctx), expect(how, flavour) -> "ok" | kind, check(ctx) after.
    local cases = {
      {
        name = "s:vms", ops = { "vms" }, op = "vms", idempotent = true,
        call = function() return s:vms() end,
        -- huge_number: only cpu_count and memory_size_MiB (not read) or no
        -- integer at all (the vim25 container view)
        expect = function(how) return how == "huge_number" and "ok" or value_op(how) end,
        check = function() assert.is_true(#s:vms() >= 8) end,
      },
      {
        name = "s:vm", ops = { "vms" }, op = "vms", idempotent = true,
        call = function() return s:vm("web-02") end,
        expect = function(how) return how == "huge_number" and "ok" or value_op(how) end,
        check = function() assert.are.equal("vm-43", s:vm("web-02").id) end,
      },
      {
        name = "g:create", ops = { "create" }, op = "create", idempotent = false,
        call = function() return g:create { path = "/bin/true" } end,
        expect = function(how) return value_op(how) end,
        check = function()
          assert.are.equal(0, g:create { path = "/bin/true" }:wait { timeout = 10 }.exit_code)
        end,
      },
      {
        name = "p:get", ops = { "get", "list" }, op = "get",
        idempotent = true,
        prepare = finished_process,
        call = function(p) return p:get() end,
        -- vim25 reads one process with ListProcessesInGuest{pids}: an empty
        -- answer lists no process, so that pid is not found
        expect = vim25_empty_is_valid("not_found"),
        check = function(p) assert.are.equal(0, p:get().exit_code) end,
      },
      {
        name = "g:get", ops = { "get", "list" }, op = "get",
        idempotent = true,
        prepare = finished_process,
        call = function(p) return g:get(p.pid) end,
        expect = vim25_empty_is_valid("not_found"),
        check = function(p) assert.are.equal(0, g:get(p.pid).exit_code) end,
      },
      {
        name = "g:list", ops = { "list" }, op = "list", idempotent = true,
        prepare = finished_process, -- at least one process with a pid to garble
        call = function() return g:list() end,
        expect = vim25_empty_is_valid("ok"),
        check = function(p)
          local found = false
          for _, i in ipairs(g:list()) do if i.pid == p.pid then found = true end end
          assert.is_true(found)
        end,
      },
      {
        name = "g:env", ops = { "environment" }, op = "env", idempotent = true,
        call = function() return g:env() end,
        expect = function(how, fl)
          if how == "huge_number" then return "ok" end -- no integers
          return vim25_empty_is_valid("ok")(how, fl)
        end,
        check = function() assert.is_string(g:env().HOME) end,
      },
      {
        name = "p:wait", ops = { "get", "list" },
        -- a failed poll names the poll (get on api, list elsewhere); a pid
        -- missing from the list fails the wait itself
        op = function(fl, kind)
          if kind == "not_found" then return "wait" end
          return fl == "api" and "get" or "list"
        end,
        idempotent = true,
        prepare = finished_process,
        call = function(p) return p:wait { timeout = 10 } end,
        expect = function(how, fl)
          -- a transport failure is retryable: the poller polls on and the
          -- wait ends normally once an answer arrives whole
          if how == "truncated" then return "ok" end
          -- vim25 (and rest) wait with a list; an empty vim25 list lacks
          -- the pid, which fails the wait with not_found
          return vim25_empty_is_valid("not_found")(how, fl)
        end,
        check = function(p) assert.are.equal(0, p:wait { timeout = 10 }.exit_code) end,
      },
      {
        name = "p:delete", ops = { "delete" }, op = "delete", idempotent = false,
        prepare = function() return g:create { path = "/bin/sleep", arguments = "30" } end,
        call = function(p) return p:delete() end,
        -- a void answer: only a broken wire can fail it
        expect = function(how) return how == "truncated" and "transport" or "ok" end,
        check = function(p)
          -- the delete happened either way: a Linux guest reports a process
          -- a signal killed with exit code 0, and deleting it again is
          -- not_found (kill gives ESRCH), as open-vm-tools does
          assert.are.equal(0, p:wait { timeout = 10 }.exit_code)
          local ok, err = pcall(p.delete, p)
          assert.is_false(ok)
          assert.are.equal("not_found", err.kind)
        end,
      },
    }

    for _, case in ipairs(cases) do
      describe(case.name, function()
        for _, how in ipairs(HOWS) do
          local expect = case.expect(how, flavour)
          local title = expect == "ok" and ("accepts a " .. how .. " answer that is still valid")
              or ("raises " .. expect .. " for a " .. how .. " answer")
          it(title, function()
            local ctx = case.prepare and case.prepare() or nil
            sim:control { malform_next = { count = count_for(how, case.idempotent), how = how,
              ops = case.ops } }
            local ok, res = pcall(case.call, ctx)
            reset()
            if expect == "ok" then
              assert.is_true(ok, tostring(res))
            else
              assert.is_false(ok, "expected " .. expect .. ", the call returned " .. tostring(res))
              assert_kind(expect, res)
              local want_op = type(case.op) == "function" and case.op(flavour, expect) or case.op
              assert.are.equal(want_op, res.op, tostring(res))
              assert.is_string(res.message)
              assert.is_true(#res.message > 0)
              local text = tostring(res)
              assert.matches("^vguest: " .. expect, text)
              no_secret(text)
              if expect == "transport" and not case.idempotent then
                -- the request did reach the server: it may have happened
                assert.is_true(res.maybe_done, text)
              end
            end
            -- the session still works: the same call, answered normally
            case.check(ctx)
            assert.is_true(s:info().logged_in)
          end)
        end
      end)
    end

    describe("vg.connect", function()
      local login_hows = { "not_json", "wrong_type", "empty", "truncated", "huge_number" }
      for _, how in ipairs(login_hows) do
        -- huge_number leaves the /api and /rest token (a string) as it is;
        -- every garbled login answer loses its token header (vim25) and
        -- cookie (rest) as well
        local expect = (how == "huge_number" and flavour ~= "vim25") and "ok" or value_op(how)
        local title = expect == "ok" and ("logs in through a " .. how .. " answer that is still valid")
            or ("raises " .. expect .. " for a " .. how .. " login answer")
        it(title, function()
          sim:control { malform_next = { count = count_for(how, true), how = how, ops = { "login" } } }
          local ok, res = pcall(helper.connect, flavour, { timeout = 10 })
          reset()
          if expect == "ok" then
            assert.is_true(ok, tostring(res))
            assert.are.equal("vm-42", res:vm("web-01").id)
            res:close()
          else
            assert.is_false(ok, "expected " .. expect .. ", connect returned " .. tostring(res))
            assert_kind(expect, res)
            assert.are.equal("login", res.op, tostring(res))
            assert.is_true(#res.message > 0)
            no_secret(tostring(res))
          end
          -- a following login works
          local again <close> = helper.connect(flavour, { timeout = 10 })
          assert.are.equal("vm-42", again:vm("web-01").id)
        end)
      end
    end)
  end)
end

describe("malform_next control", function()
  after_each(helper.assert_loop_empty)

  it("refuses an unknown how, unknown members, bad counts and unknown ops", function()
    local sim = helper.sim()
    local bad = {
      { count = 1, how = "bogus" },
      { count = 1 },
      { count = -1, how = "empty" },
      { count = 1.5, how = "empty" },
      { count = 1, how = "empty", ops = { "nope" } },
      { count = 1, how = "empty", ops = "create" },
      { count = 1, how = "empty", extra = true },
    }
    for _, body in ipairs(bad) do
      assert.has_error(function() sim:control { malform_next = body } end)
    end
    assert.has_error(function() sim:control { malform_next = "empty" } end)
    assert.is_true(sim:control { malform_next = { count = 0, how = "empty", ops = { "create" } } }.ok)
  end)
end)
