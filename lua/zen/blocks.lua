-- zen's own blocks in a chat buffer: reasoning, and an agent's thoughts, tool calls and plan
-- (zen.acp). Each kind is a namespace of extmark ranges, one per answer id. zen's windows
-- fold exactly these ranges (foldmethod=manual: a `{{{` the model writes folds nothing), show a
-- fold text naming the block, and hide the block's marker lines behind virtual text.
local M = {}

local kinds = {} -- name → { ns, label }
local ns_marks = vim.api.nvim_create_namespace("zen_block_marks") -- the marker overlays

--- Declares a block kind; returns its namespace (the ranges of that kind). `title(line)`, if
--- given, is what the block's first line shows (folded or not) instead of `label`; `open`: its
--- blocks are not folded when a window shows the buffer (an agent's plan).
function M.kind(name, label, title, open)
  if not kinds[name] then
    kinds[name] = { ns = vim.api.nvim_create_namespace("zen_" .. name), label = label, title = title, open = open }
  end
  return kinds[name].ns
end

local function title_of(k, buf, row)
  if not k.title then
    return k.label
  end
  return k.title(vim.api.nvim_buf_get_lines(buf, row, row + 1, false)[1] or "")
end

-- Covers a marker line's text with `text`, padded to its width: the marker stays in the buffer
-- (it is how a rebuilt buffer finds the block) but is not what the user reads.
local function overlay(buf, row, text)
  local line = vim.api.nvim_buf_get_lines(buf, row, row + 1, false)[1] or ""
  local width = vim.fn.strdisplaywidth(line)
  vim.api.nvim_buf_clear_namespace(buf, ns_marks, row, row + 1)
  local shown = text .. string.rep(" ", math.max(0, width - vim.fn.strdisplaywidth(text)))
  vim.api.nvim_buf_set_extmark(buf, ns_marks, row, 0, {
    virt_text = { { shown, "ZenBlockMarker" } },
    virt_text_pos = "overlay",
    hl_mode = "combine",
  })
end

--- Marks block `id` of `kind` from row `first` to row `last` (0-based, inclusive; the marker
--- lines included), highlighted as `hl`.
function M.mark(buf, kind, id, first, last, hl)
  local k = kinds[kind]
  local line = vim.api.nvim_buf_get_lines(buf, last, last + 1, false)[1] or ""
  vim.api.nvim_buf_set_extmark(buf, k.ns, first, 0, {
    id = id,
    end_row = last,
    end_col = #line,
    hl_group = hl,
    priority = 150, -- above syntax and treesitter (100): the block reads as zen's
  })
  for _, row in ipairs({ first, last }) do
    local text = vim.api.nvim_buf_get_lines(buf, row, row + 1, false)[1] or ""
    if text:match("^:::") then -- only zen's marker lines, never the model's text
      overlay(buf, row, row == first and ("▾ " .. title_of(k, buf, row)) or "")
    end
  end
end

local function fold(win, first, last)
  pcall(vim.api.nvim_win_call, win, function()
    vim.cmd(("%d,%dfold"):format(first + 1, last + 1))
  end)
end

local function range(buf, ns, id)
  local m = vim.api.nvim_buf_get_extmark_by_id(buf, ns, id, { details = true })
  if m[1] and m[3] and m[3].end_row and m[3].end_row > m[1] then
    return m[1], m[3].end_row
  end
end

--- Folds block `id` of `kind` in every zen window showing `buf`.
function M.fold_one(buf, kind, id)
  local first, last = range(buf, kinds[kind].ns, id)
  if not first then
    return
  end
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_buf(win) == buf and vim.wo[win].foldmethod == "manual" then
      fold(win, first, last)
    end
  end
end

--- Whether block `id` of `kind` exists in `buf`.
function M.has(buf, kind, id)
  return vim.api.nvim_buf_get_extmark_by_id(buf, kinds[kind].ns, id, {})[1] ~= nil
end

--- Makes `win`'s folds exactly the blocks of every kind in the buffer it shows.
function M.fold_all(win)
  local buf = vim.api.nvim_win_get_buf(win)
  pcall(vim.api.nvim_win_call, win, function()
    vim.cmd("normal! zE")
  end)
  for _, k in pairs(kinds) do
    for _, m in ipairs(k.open and {} or vim.api.nvim_buf_get_extmarks(buf, k.ns, 0, -1, { details = true })) do
      local d = m[4] or {}
      if d.end_row and d.end_row > m[2] then
        fold(win, m[2], d.end_row)
      end
    end
  end
end

--- 'foldtext' of zen's windows: "▸ reasoning · 12 lines" for a block, Vim's own otherwise.
function M.foldtext()
  local buf, first = vim.api.nvim_get_current_buf(), vim.v.foldstart - 1
  for _, k in pairs(kinds) do
    if #vim.api.nvim_buf_get_extmarks(buf, k.ns, { first, 0 }, { first, 0 }, {}) > 0 then
      if k.title then
        return "▸ " .. title_of(k, buf, first)
      end
      return ("▸ %s · %d lines"):format(k.label, vim.v.foldend - vim.v.foldstart - 1)
    end
  end
  return vim.fn.foldtext()
end

return M
