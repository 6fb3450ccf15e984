-- The context meter of each chat (`ctx 12.3k/200k 6%`): how much of the model's context the
-- conversation takes, as virtual text at the end of the title line and in status(). The backend
-- sends the tokens (the last answer's prompt + completion, or an estimate, shown with `~`) and
-- the model's context length; this keeps them per session and draws.
local M = {}

local ns = vim.api.nvim_create_namespace("zen_meter")
local meters = {} -- session id -> { used, estimate, limit }

local function nonnil(v)
  if v == vim.NIL then
    return nil
  end
  return v
end

--- 950, 12.3k, 200k, 1.2M: a token count in a few characters.
function M.short(n)
  local function trim(s)
    return (s:gsub("%.0$", ""))
  end
  if n >= 1e6 then
    return trim(("%.1f"):format(n / 1e6)) .. "M"
  elseif n >= 1000 then
    return trim(("%.1f"):format(n / 1000)) .. "k"
  end
  return tostring(n)
end

--- The meter's text for a session, or nil when nothing is known.
function M.text(session)
  local m = meters[session]
  if not m or not m.used then
    return nil
  end
  local used = (m.estimate and "~" or "") .. M.short(m.used)
  if not m.limit or m.limit <= 0 then
    return ("ctx %s/?"):format(used)
  end
  return ("ctx %s/%s %d%%"):format(used, M.short(m.limit), math.floor(m.used * 100 / m.limit))
end

--- Draws the meter on the title line of `buf` (again after the title was rewritten).
function M.draw(buf)
  if not vim.api.nvim_buf_is_loaded(buf) then
    return
  end
  vim.api.nvim_buf_clear_namespace(buf, ns, 0, -1)
  local ok, session = pcall(vim.api.nvim_buf_get_var, buf, "zen_session")
  local text = ok and M.text(session)
  local first = vim.api.nvim_buf_get_lines(buf, 0, 1, false)[1] or ""
  if text and first:match("^# ") then
    vim.api.nvim_buf_set_extmark(buf, ns, 0, 0, { virt_text = { { text, "ZenMeter" } }, virt_text_pos = "eol" })
  end
end

--- From the backend: `{used, estimate, limit}`; a missing `used` keeps the count (a model
--- change), and an estimate never replaces a count the server gave.
function M.set(buf, session, meter)
  local m = meters[session] or {}
  local used = nonnil(meter.used)
  if used and not (meter.estimate and m.used and not m.estimate) then
    m.used, m.estimate = used, meter.estimate == true
  end
  m.limit = nonnil(meter.limit)
  meters[session] = m
  require("zen.status").remember(session, { ctx = M.text(session) })
  M.draw(buf)
  pcall(vim.cmd, "redrawstatus!")
end

--- The rendered meter of the chat in `buf` (for tests and statuslines), or nil.
function M.get(buf)
  local marks = vim.api.nvim_buf_get_extmarks(buf, ns, 0, -1, { details = true })
  local mark = marks[1]
  return mark and mark[4].virt_text[1][1] or nil
end

return M
