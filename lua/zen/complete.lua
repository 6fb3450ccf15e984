-- Completion of `@path` references in chat buffers ('omnifunc': <C-x><C-o>), relative to
-- Neovim's working directory, with `#buffer` and `#diagnostics` offered after `#`.
local M = {}

function M.omni(findstart, base)
  if findstart == 1 then
    local line = vim.api.nvim_get_current_line():sub(1, vim.fn.col(".") - 1)
    local start = line:find("[@#][^%s]*$")
    return start and (start - 1) or -3 -- -3: leave completion mode quietly
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
