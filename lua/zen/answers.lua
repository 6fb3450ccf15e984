-- Where the model's answers are in a chat buffer. Each answer is an extmark range (its region,
-- from the `## Assistant` header to just before the next header) with, under the same id, the
-- range of the model's content and of zen's reasoning block. The backend parses only the text
-- outside regions (what the user typed); an answer is sent back as exactly its content text, so
-- nothing the model writes (a `## User` header, a `> [zen]` note, `{{{`) changes the conversation.
local blocks = require("zen.blocks")

local M = {}

M.ns_region = vim.api.nvim_create_namespace("zen_answer")
M.ns_content = vim.api.nvim_create_namespace("zen_content")
M.ns_reasoning = blocks.kind("reasoning", "reasoning") -- a zen block (zen.blocks): folds

local function loaded(buf)
  return vim.api.nvim_buf_is_valid(buf) and vim.api.nvim_buf_is_loaded(buf)
end

--- Opens the region of a streaming answer whose header is at `row` (0-based): its end follows the
--- text streamed at the stream mark `id` (same row), and text inserted before the header stays out.
function M.open(buf, id, row, stream_row)
  vim.api.nvim_buf_set_extmark(buf, M.ns_region, row, 0, {
    id = id,
    right_gravity = true,
    end_row = stream_row,
    end_col = 0,
    end_right_gravity = true,
  })
end

--- Fixes answer `id`: region from row `r.header` to `r.stop` ({row, col}: the next header's
--- row, col 0), content from `r.lead` rows under the header's blank line to `r.content_end`
--- ({row, col}), the reasoning block above it when `r.lead` > 0. Text typed after the region
--- stays outside.
function M.close(buf, id, r)
  local count = vim.api.nvim_buf_line_count(buf)
  local function clamp(row)
    return math.max(0, math.min(row, count))
  end
  vim.api.nvim_buf_set_extmark(buf, M.ns_region, clamp(r.header), 0, {
    id = id,
    right_gravity = true,
    end_row = clamp(r.stop[1]),
    end_col = r.stop[2],
    end_right_gravity = false,
  })
  local row, col = r.header + 2 + r.lead, 0
  local end_row, end_col = r.content_end[1], r.content_end[2]
  if row > end_row then -- no content: an empty range where it would have been
    row, col = end_row, end_col
  end
  -- Left gravity at the start: a line the user opens above the first one is part of the answer.
  vim.api.nvim_buf_set_extmark(buf, M.ns_content, clamp(row), col, {
    id = id,
    right_gravity = false,
    end_row = clamp(end_row),
    end_col = end_col,
  })
  M.mark_reasoning(buf, id, r.header, r.lead)
end

--- Marks answer `id`'s reasoning block, `lead` rows (with the blank line after it) under the
--- header's blank line: `::: reasoning {{{` at `header` + 2 … `::: }}}` at `header` + `lead`.
function M.mark_reasoning(buf, id, header, lead)
  if lead > 0 then
    local last = math.min(header + lead, vim.api.nvim_buf_line_count(buf) - 1)
    blocks.mark(buf, "reasoning", id, header + 2, last, "ZenReasoning")
  end
end

local function region_rows(mark)
  local d = mark[4] or {}
  local r0, c0, r1, c1 = mark[2], mark[3], d.end_row or mark[2], d.end_col or mark[3]
  if r0 == r1 and c0 == c1 then
    return nil -- collapsed: the user deleted or undid the answer
  end
  if r1 < r0 or (r1 == r0 and c1 < c0) then
    -- Inverted: a redo put the answer back where its region had collapsed; the start moved
    -- past the text, the end stayed before it. The text between is the answer.
    r0, r1, c1 = r1, r0, c0
  end
  return r0, (c1 == 0 and r1 > r0) and r1 - 1 or r1
end

--- The answers of `buf`, in buffer order: `{first, last, content, id}` (rows 0-based, inclusive;
--- `content`: where the model's text is, `{row, col, end_row, end_col}`).
function M.extents(buf)
  local out = {}
  for _, mark in ipairs(vim.api.nvim_buf_get_extmarks(buf, M.ns_region, 0, -1, { details = true })) do
    local first, last = region_rows(mark)
    if first then
      local m = vim.api.nvim_buf_get_extmark_by_id(buf, M.ns_content, mark[1], { details = true })
      local extent = (m[1] and m[3] and m[3].end_row) and { m[1], m[2], m[3].end_row, m[3].end_col } or nil
      table.insert(out, { first = first, last = last, content = extent, id = mark[1] })
    end
  end
  return out
end

--- Forgets answer `id` (its text was taken out: :ZenRetry), so no empty region is left behind
--- to be read as an answer put back.
function M.forget(buf, id)
  for _, ns in ipairs({ M.ns_region, M.ns_content, M.ns_reasoning }) do
    pcall(vim.api.nvim_buf_del_extmark, buf, ns, id)
  end
end

--- A function telling whether a 0-based row of `buf` is inside an answer (as the buffer is now).
function M.rows(buf)
  local spans = {}
  for _, mark in ipairs(vim.api.nvim_buf_get_extmarks(buf, M.ns_region, 0, -1, { details = true })) do
    local first, last = region_rows(mark)
    if first then
      table.insert(spans, { first, last })
    end
  end
  return function(row)
    for _, span in ipairs(spans) do
      if row >= span[1] and row <= span[2] then
        return true
      end
    end
    return false
  end
end

-- Rows from the header's blank line to the content of an answer that never ended: past zen's
-- reasoning block when it has one (its first `::: }}}` line).
local function lead_of(buf, header, upto)
  local lines = vim.api.nvim_buf_get_lines(buf, header + 2, upto + 1, false)
  if lines[1] ~= "::: reasoning {{{" then
    return 0
  end
  for i, line in ipairs(lines) do
    if line == "::: }}}" then
      return i + 1
    end
  end
  return 0
end

--- The backend died mid-stream: ends every still-open answer where it stands, so the user's next
--- prompt is not taken into it. `stream_ns` holds the stream marks (same ids as the regions).
function M.close_open(stream_ns)
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if loaded(buf) and vim.b[buf].zen_session then
      for _, s in ipairs(vim.api.nvim_buf_get_extmarks(buf, stream_ns, 0, -1, {})) do
        local header = vim.api.nvim_buf_get_extmark_by_id(buf, M.ns_region, s[1], {})[1]
        if header then
          local tail = { s[2], s[3] }
          M.close(buf, s[1], { header = header, lead = lead_of(buf, header, s[2]), content_end = tail, stop = tail })
        end
        vim.api.nvim_buf_del_extmark(buf, stream_ns, s[1])
      end
    end
  end
end

--- Folds answer `id`'s reasoning block in every window showing `buf`.
function M.fold_one(buf, id)
  blocks.fold_one(buf, "reasoning", id)
end

--- Makes `win`'s folds exactly zen's blocks (zen.blocks) of the buffer it shows.
M.fold_all = blocks.fold_all

return M
