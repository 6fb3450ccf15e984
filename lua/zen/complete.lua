-- Completion of `@path` references in chat buffers ('omnifunc': <C-x><C-o>), relative to
-- Neovim's working directory, with `#buffer` and `#diagnostics` offered after `#`; in an agent
-- chat, the agent's slash commands after a `/` that starts the line.
local M = {}

function M.omni(findstart, base)
  if findstart == 1 then
    local line = vim.api.nvim_get_current_line():sub(1, vim.fn.col(".") - 1)
    if vim.b.zen_acp and line:match("^/[^%s]*$") then
      return 0
    end
    local start = line:find("[@#][^%s]*$")
    return start and (start - 1) or -3 -- -3: leave completion mode quietly
  end
  if base:sub(1, 1) == "/" then
    return require("zen.acp").complete_commands(vim.api.nvim_get_current_buf(), base)
  end
  if base:sub(1, 1) == "#" then
    return vim.tbl_filter(function(w)
      return vim.startswith(w, base)
    end, { "#buffer", "#diagnostics" })
  end
  local items = {}
  for _, path in ipairs(vim.fn.getcompletion(base:sub(2), "file")) do
    table.insert(items, { word = "@" .. path, menu = vim.fn.isdirectory(path) == 1 and "dir" or "file" })
  end
  return items
end

return M
