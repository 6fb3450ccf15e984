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
  local glyph = row.state == "streaming" and "●" or "○"
  local model = row.model ~= vim.NIL and row.model or ""
  return ("%s %-20s %-10s %-36s $%-9.4f %s"):format(glyph, row.name, row.kind, model, row.cost or 0, ago(row.updated))
end

--- Shows the sessions; `on_action(action, row)` gets "open", "rename" or "kill".
function M.pick(rows, on_action)
  vim.ui.select(rows, { prompt = "zen sessions", format_item = M.format_row, kind = "zen_sessions" }, function(row)
    if not row then
      return
    end
    vim.ui.select({ "open", "rename", "kill" }, { prompt = "zen: " .. row.name }, function(action)
      if action then
        on_action(action, row)
      end
    end)
  end)
end

return M
