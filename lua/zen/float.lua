-- Floating windows: centred, rounded, with a title on Neovim 0.9+ (older ones have none: the
-- first line says what the float is). `q` closes them.
local M = {}

--- Opens `buf` in a float of `width` × `height` (default: 80% of the editor) titled `title`.
function M.open(buf, title, width, height)
  width = math.min(width or math.floor(vim.o.columns * 0.8), vim.o.columns - 4)
  height = math.min(height or math.floor(vim.o.lines * 0.8), vim.o.lines - 4)
  local cfg = {
    relative = "editor",
    width = math.max(width, 1),
    height = math.max(height, 1),
    row = math.floor((vim.o.lines - height) / 2),
    col = math.floor((vim.o.columns - width) / 2),
    border = "rounded",
    style = "minimal",
  }
  if title and vim.fn.has("nvim-0.9") == 1 then
    cfg.title = { { " " .. title .. " ", "ZenFloatTitle" } }
    cfg.title_pos = "center"
  end
  return vim.api.nvim_open_win(buf, true, cfg)
end

--- Whether `win` (default: the current window) is a float.
function M.is_float(win)
  return vim.api.nvim_win_get_config(win or 0).relative ~= ""
end

--- Closes `win` (the current window); the last window of a tab is left alone.
function M.close(win)
  win = win or vim.api.nvim_get_current_win()
  if M.is_float(win) or #vim.api.nvim_tabpage_list_wins(0) > 1 then
    pcall(vim.api.nvim_win_close, win, false)
  else
    vim.cmd("silent! bprevious")
  end
end

--- A scratch float showing `lines`, closed by `q` or `<Esc>`; returns its window.
function M.text(lines, title)
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].bufhidden = "wipe"
  local width = 0
  for _, l in ipairs(lines) do
    width = math.max(width, vim.fn.strdisplaywidth(l))
  end
  local win = M.open(buf, title, width + 2, #lines)
  for _, key in ipairs({ "q", "<Esc>" }) do
    vim.keymap.set("n", key, "<Cmd>close<CR>", { buffer = buf, silent = true, nowait = true, desc = "zen: close" })
  end
  return win
end

return M
