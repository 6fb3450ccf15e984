-- `:ZenList`: every session in `vim.ui.select` (so telescope, fzf-lua and snacks pickers work),
-- then what to do with the chosen one.
local M = {}

local function ago(ts)
  local d = os.time() - (ts or 0)
  if d < 60 then
    return "now"
  elseif d < 3600 then
    return ("%dm ago"):format(d / 60)
  elseif d < 86400 then
    return ("%dh ago"):format(d / 3600)
  end
  return ("%dd ago"):format(d / 86400)
end

--- One aligned row: state, name, kind, model, cost, last activity.
function M.format_row(row)
  local glyphs = { streaming = "●", idle = "○", running = "▶", exited = "■", failed = "✗" }
  local glyph = glyphs[row.state] or "?"
  local model = row.model ~= vim.NIL and row.model or ""
  local cost = (row.kind == "openrouter" or row.kind == "edit") and require("zen.status").cost(tonumber(row.cost) or 0) or ""
  local dir = vim.fn.fnamemodify(row.dir or "", ":~")
  return ("%s %-20s %-10s %-30s %-9s %-7s %s"):format(glyph, row.name, row.kind, model, cost, ago(row.updated), dir)
end

--- One row of the `:ZenSend` target picker: name, kind and model (none for agents).
function M.format_target(row)
  if row.new_chat then
    return row.name
  end
  local model = type(row.model) == "string" and row.model or ""
  return (("%s  %s  %s"):format(row.name, row.kind, model):gsub("%s+$", ""))
end

--- Shows the sessions; `on_action(action, row)` gets "open", "rename" or "kill".
function M.pick(rows, on_action)
  vim.ui.select(rows, { prompt = "zen sessions", format_item = M.format_row, kind = "zen_sessions" }, function(row)
    if not row then
      return
    end
    local first = (row.state == "exited" or row.state == "failed") and "revive" or "open"
    vim.ui.select({ first, "rename", "kill" }, { prompt = "zen: " .. row.name }, function(action)
      if action then
        on_action(action, row)
      end
    end)
  end)
end

return M
