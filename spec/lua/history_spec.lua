-- The REPL's history filter (vguest.repl.may_save): an input that mentions
-- a secret, however it is written, is not saved; plain inputs are.
local repl = require "vguest.repl"

describe("the REPL history filter", function()
  local kept_out = {
    'pw = "hunter2"',
    'password = "hunter2"',
    'local password="hunter2"',
    't = {["password"]="hunter2"}',
    "t = { ['password'] = 'hunter2' }",
    'password = pw .. "hunter2"',
    'x = vg.secret(("hunter2"))',
    'x = vg.secret "hunter2"',
    "x = vg.secret [[hunter2]]",
    "x = vg.secret [==[hunter2]==]",
    'c = { user = "root", saml_token = "hunter2" }',
    'c = { user = "root", Password = "hunter2" }',
    'PASSWD = "hunter2"',
    'c = { user = "root", passwd = "hunter2" }',
    'token = "hunter2"',
    'u = "https://root:hunter2@vc.example.com"',
    'k = "pass" .. "word"; t = {[k] = "hunter2"}',
    'secret_key = "hunter2"',
    'myPassword = "hunter2"',
    'cred = { "root", "hunter2" }',
    'api_key = "hunter2"',
    'x = 1 -- the password is hunter2',
    'g = vm:guest(vg.credentials { user = "root" })',
    'x = [[\nmulti-line password: hunter2\n]]',
    'x = "unterminated password',
  }
  local kept = {
    "x = 1 + 2",
    'print("plain history line")',
    "t = { user = 'root' }",
    's = vg.connect{}',
    'g:run{"uname", "-a"}',
    'vm = s:vm("web-01")',
    "keys = {}",
    "t.monkey = 1",
    "for _, p in ipairs(ps) do print(p.pid) end",
  }
  for _, input in ipairs(kept_out) do
    it("keeps out " .. input:gsub("\n", "\\n"), function()
      assert.is_false(repl.may_save(input))
    end)
  end
  for _, input in ipairs(kept) do
    it("keeps " .. input, function()
      assert.is_true(repl.may_save(input))
    end)
  end
end)
