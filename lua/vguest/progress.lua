--- Progress of vg.parallel work.
--
--   local tr = progress.tracker(total, on_progress)
--   tr:start() ; tr:finish(ok) ; tr:close()
--
-- on_progress(p) is called with one table, the same one each time:
--   p.total, p.done (finished, failed ones included), p.failed, p.running,
--   p.elapsed (seconds since the work began), p.rate (finished per second),
--   p.finished (true on the last call, once everything has ended).
-- It is called when the work begins, each time an item starts or ends, and
-- once at the end.
--
-- progress.terminal(file) makes an on_progress that keeps one status line
-- at the bottom of a terminal (`vguest run` installs it when stderr is a
-- terminal): the line is redrawn in place at most ten times a second, and
-- output the playbook writes meanwhile (print, io.write, io.stdout:write,
-- io.stderr:write) goes above it. The line is erased when the work ends.
local core = require "vguest.core"

local M = {}

local Tracker = {}
Tracker.__index = Tracker

function M.tracker(total, on_progress)
  local t = setmetatable({ fn = on_progress, t0 = core.clock(),
    p = { total = total, done = 0, failed = 0, running = 0, elapsed = 0, rate = 0, finished = false } },
    Tracker)
  t:report()
  return t
end

function Tracker:report()
  if not self.fn then return end
  local p = self.p
  p.elapsed = core.clock() - self.t0
  p.rate = p.elapsed > 0 and p.done / p.elapsed or 0
  self.fn(p)
end

function Tracker:start()
  self.p.running = self.p.running + 1
  self:report()
end

function Tracker:finish(ok)
  local p = self.p
  p.running = p.running - 1
  p.done = p.done + 1
  if not ok then p.failed = p.failed + 1 end
  self:report()
end

function Tracker:close()
  if self.closed then return end
  self.closed = true
  self.p.finished = true
  self:report()
end

--- The status line for p.
function M.line(p)
  local s = string.format("%d/%d done, %d running", p.done, p.total, p.running)
  if p.failed > 0 then s = s .. string.format(", %d failed", p.failed) end
  return s .. string.format(", %.1f/s, %.1f s", p.rate, p.elapsed)
end

-- The one terminal line shown now (nil when none), and the file it is on;
-- rawwrite is the files' own write, from before wrap_output.
local shown, shown_on
local rawwrite = getmetatable(io.stdout).__index.write

local function erase()
  if shown then
    rawwrite(shown_on, "\r\27[K")
    shown = nil
  end
end

local wrapped = false

-- Output of the playbook goes above the line: erase it first, draw it
-- again after a write that ends a line.
local function wrap_output()
  if wrapped then return end
  wrapped = true
  local last
  local function redraw_after(s)
    if last and type(s) == "string" and s:sub(-1) == "\n" then
      rawwrite(shown_on, "\r\27[K", last)
      shown = last
      shown_on:flush()
    end
  end
  local orig_print, orig_write = print, io.write
  _G.print = function(...)
    last = shown
    erase()
    orig_print(...)
    io.stdout:flush()
    redraw_after("\n")
  end
  io.write = function(...)
    last = shown
    erase()
    local r = table.pack(orig_write(...))
    local n = select("#", ...)
    io.stdout:flush()
    redraw_after(n > 0 and tostring(select(n, ...)) or nil)
    return table.unpack(r, 1, r.n)
  end
  local mt = getmetatable(io.stdout)
  local fwrite = rawwrite
  mt.__index.write = function(f, ...)
    if f ~= io.stdout and f ~= io.stderr then return fwrite(f, ...) end
    last = shown
    erase()
    local r = table.pack(fwrite(f, ...))
    local n = select("#", ...)
    f:flush()
    redraw_after(n > 0 and tostring(select(n, ...)) or nil)
    return table.unpack(r, 1, r.n)
  end
end

function M.terminal(file)
  file = file or io.stderr
  local raw = rawwrite
  local last_draw = -1
  return function(p)
    wrap_output()
    if p.finished then
      if shown then
        raw(file, "\r\27[K")
        shown = nil
        file:flush()
      end
      return
    end
    local now = core.clock()
    if now - last_draw < 0.1 and p.done < p.total then return end
    last_draw = now
    local s = M.line(p)
    raw(file, "\r\27[K", s)
    shown, shown_on = s, file
    file:flush()
  end
end

return M
