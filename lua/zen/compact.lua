-- The turns `:ZenCompact` summarised: a zen block (zen.blocks) `::: compacted · not sent {{{` …
-- `::: }}}`, folded, followed by the `## Summary` that is sent instead of them. The backend's
-- transcript parser skips the block, so what the buffer shows as sent is what is sent.
local M = {}

local blocks = require("zen.blocks")
local ns = blocks.kind("compacted", "compacted · not sent")

M.open_marker = "::: compacted · not sent {{{"

--- Rows `first`..`last` (the summarised turns) go inside the block, folded, and `lines` (the
--- `## Summary` and its note) under it. One undo step. Answers "ok", "gone" (no buffer) or
--- "changed" (the prompt's `## User` header is no longer right below `last`: edited meanwhile).
function M.show(buf, first, last, lines)
  if not vim.api.nvim_buf_is_loaded(buf) then
    return "gone"
  end
  local header = vim.api.nvim_buf_get_lines(buf, last + 1, last + 2, false)[1]
  if not (header or ""):match("^## User%s*$") then
    return "changed"
  end
  local below = { "::: }}}", "" }
  vim.list_extend(below, lines)
  -- The bottom first, so `first` stays where it is.
  vim.api.nvim_buf_set_lines(buf, last + 1, last + 1, false, below)
  vim.api.nvim_buf_set_lines(buf, first, first, false, { M.open_marker })
  local id = #vim.api.nvim_buf_get_extmarks(buf, ns, 0, -1, {}) + 1
  blocks.mark(buf, "compacted", id, first, last + 2, "ZenCompacted")
  blocks.fold_one(buf, "compacted", id)
  return "ok"
end

--- Marks the compacted blocks of a chat rebuilt from its history (`{first, last}` rows).
function M.mark_all(buf, ranges)
  for i, r in ipairs(ranges) do
    blocks.mark(buf, "compacted", i, r[1], r[2], "ZenCompacted")
  end
end

return M
