-- How a pending change looks (zen.review holds the state): the old lines highlighted as
-- removed, the new ones as virtual lines per hunk, a header line naming the source and keys.
local M = {}

local api = vim.api

--- The namespace of everything drawn.
M.ns = api.nvim_create_namespace("zen_review")
local ns_draw = M.ns

--- Buffer-local keys while a change is pending (documented in :help zen-review).
M.keys = { accept = "ga", reject = "gr", next = "]h", prev = "[h" }

--- Links the groups (default links: a colorscheme may set its own).
function M.set_highlights()
  api.nvim_set_hl(0, "ZenDiffAdd", { link = "DiffAdd", default = true })
  api.nvim_set_hl(0, "ZenDiffDelete", { link = "DiffDelete", default = true })
  api.nvim_set_hl(0, "ZenReviewHeader", { link = "Comment", default = true })
end

--- The change's hunks: { old_start, old_count, new_start, new_count } (1-based, as vim.diff).
local function hunks(c)
  if c.whole or c.streaming then
    return { { 1, #c.old, 1, #c.new } }
  end
  local a = table.concat(c.old, "\n") .. "\n"
  local b = table.concat(c.new, "\n") .. (#c.new > 0 and "\n" or "")
  return vim.diff(a, b, { result_type = "indices" })
end

local function virt(lines, hl, buf)
  local tab = string.rep(" ", vim.bo[buf].tabstop)
  local out = {}
  for _, l in ipairs(lines) do
    table.insert(out, { { (l:gsub("\t", tab)), hl } })
  end
  return out
end

local function header(c)
  local k = M.keys
  local state = c.streaming and " · streaming… (:ZenStop keeps what arrived)" or (c.note and (" · " .. c.note) or "")
  local hunk_keys = c.whole and "" or (" %s/%s hunk · %s %s jump ·"):format(k.accept, k.reject, k.next, k.prev)
  local accept = c.always and ":ZenAccept (once) / :ZenAccept! (always)" or ":ZenAccept"
  return ("zen · %s%s ·%s %s / :ZenReject"):format(c.source, state, hunk_keys, accept)
end

-- While an edit streams, a frame only extends the added lines: the new lines' virtual text is
-- built once per line and set on one extmark (a 2,000-line rewrite stays cheap per frame).
local function draw_streaming(c, last)
  c.virt = c.virt or {}
  local tab = string.rep(" ", vim.bo[c.buf].tabstop)
  for i = #c.virt + 1, #c.new do
    c.virt[i] = { { (c.new[i]:gsub("\t", tab)), "ZenDiffAdd" } }
  end
  if #c.virt == 0 then
    return
  end
  local ok, id = pcall(api.nvim_buf_set_extmark, c.buf, ns_draw, last, 0, { id = c.stream_mark, virt_lines = c.virt })
  if ok and not c.stream_mark then
    c.stream_mark = id
    table.insert(c.drawn, id)
  end
end

--- Draws change `c` whose old lines are rows `first`..`last` now (nil: its anchors collapsed,
--- only clear). While it streams, only its new lines are redrawn.
function M.draw(c, first, last)
  if c.streaming and c.stream_base and last then
    return draw_streaming(c, last)
  end
  for _, id in ipairs(c.drawn or {}) do
    pcall(api.nvim_buf_del_extmark, c.buf, ns_draw, id)
  end
  c.drawn = {}
  if not first then
    return
  end
  local function mark(row, opts)
    local ok, id = pcall(api.nvim_buf_set_extmark, c.buf, ns_draw, row, 0, opts)
    if ok then
      table.insert(c.drawn, id)
    end
  end
  mark(first, { virt_lines = { { { header(c), "ZenReviewHeader" } } }, virt_lines_above = true })
  c.hunks = hunks(c)
  if c.streaming then -- the old lines, once; the new ones come through draw_streaming
    c.stream_base, c.stream_mark, c.virt = true, nil, nil
    mark(first, { end_row = last + 1, end_col = 0, hl_group = "ZenDiffDelete", hl_eol = true })
    return draw_streaming(c, last)
  end
  for _, h in ipairs(c.hunks) do
    local as, ac, bs, bc = h[1], h[2], h[3], h[4]
    local whole_new = bs == 1 and bc == #c.new and c.virt and #c.virt == bc
    local added = whole_new and c.virt or virt(vim.list_slice(c.new, bs, bs + bc - 1), "ZenDiffAdd", c.buf)
    if ac > 0 then
      local top = first + as - 1
      mark(top, { end_row = top + ac, end_col = 0, hl_group = "ZenDiffDelete", hl_eol = true })
      if #added > 0 then
        mark(top + ac - 1, { virt_lines = added })
      end
    elseif #added > 0 then
      -- A pure insertion after old line `as` (0: before the first line).
      if as == 0 then
        mark(first, { virt_lines = added, virt_lines_above = true })
      else
        mark(first + as - 1, { virt_lines = added })
      end
    end
  end
end

return M
