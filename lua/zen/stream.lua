-- An answer streaming into a chat buffer: its header and region, each batch of text at the stream
-- mark (one undo step), and its end (notes, the new `## User`, the region fixed). Called by the
-- backend through zen.ui.
local answers = require("zen.answers")
local look = require("zen.look")
local waiting = require("zen.waiting")

local M = {}

local ns = vim.api.nvim_create_namespace("zen") -- stream marks: where each streaming answer grows
M.ns = ns

-- Windows showing `buf` whose cursor is at or below `row` (1-based): they follow the tail.
local function followers(buf, row)
  local wins = {}
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_buf(win) == buf and vim.api.nvim_win_get_cursor(win)[1] >= row then
      table.insert(wins, win)
    end
  end
  return wins
end

local function follow(wins, buf)
  local last = vim.api.nvim_buf_line_count(buf)
  for _, win in ipairs(wins) do
    if vim.api.nvim_win_is_valid(win) then
      pcall(vim.api.nvim_win_set_cursor, win, { last, 0 })
    end
  end
end

--- Appends a role header for the answer and opens its region; returns the extmark the answer
--- streams in at (the region has the same id).
function M.begin_answer(buf, header)
  if not (vim.api.nvim_buf_is_valid(buf) and vim.api.nvim_buf_is_loaded(buf)) then
    return nil
  end
  local last = vim.api.nvim_buf_line_count(buf)
  while last > 0 and vim.api.nvim_buf_get_lines(buf, last - 1, last, false)[1]:match("^%s*$") do
    last = last - 1
  end
  local wins = followers(buf, last)
  vim.api.nvim_buf_set_lines(buf, last, -1, false, { "", header, "", "" })
  follow(wins, buf)
  local mark = vim.api.nvim_buf_set_extmark(buf, ns, last + 3, 0, { right_gravity = true })
  answers.open(buf, mark, last + 1, last + 3)
  look.line(buf, last + 1, "ZenAssistantHeader")
  waiting.start(buf, mark, last + 1)
  return mark
end

--- Ends the answer streamed at `mark`: appends `info.footer` (notes, then the new `## User`
--- header) in the answer's undo step, and fixes where the model's content is (`info.lead` rows of
--- reasoning block above it) and where the answer ends (before that header). False when gone.
function M.end_answer(buf, mark, info)
  if not (vim.api.nvim_buf_is_valid(buf) and vim.api.nvim_buf_is_loaded(buf)) then
    waiting.finish(buf, mark, 0, -1) -- only stops its clock
    return false
  end
  local pos = vim.api.nvim_buf_get_extmark_by_id(buf, ns, mark, {})
  local header = vim.api.nvim_buf_get_extmark_by_id(buf, answers.ns_region, mark, {})[1]
  if not pos[1] or not header then
    waiting.finish(buf, mark, 0, -1)
    return false
  end
  local wins = followers(buf, vim.api.nvim_buf_line_count(buf))
  vim.api.nvim_buf_call(buf, function()
    pcall(vim.cmd, "undojoin")
  end)
  local footer = vim.split(info.footer, "\n", { plain = true })
  vim.api.nvim_buf_set_text(buf, pos[1], pos[2], pos[1], pos[2], footer)
  vim.api.nvim_buf_del_extmark(buf, ns, mark)
  -- The footer ends with "## User\n": the header is the row before its last (empty) part.
  local user_row = pos[1] + #footer - 2
  local folded = vim.api.nvim_buf_get_extmark_by_id(buf, answers.ns_reasoning, mark, {})[1] ~= nil
  answers.close(buf, mark, { header = header, lead = info.lead, content_end = pos, stop = { user_row, 0 } })
  if not folded then -- the stream ended inside the reasoning block
    answers.fold_one(buf, mark)
  end
  look.notes(buf, pos[1] + 1, user_row - 1)
  waiting.finish(buf, mark, pos[1], user_row - 1)
  look.line(buf, user_row, "ZenUserHeader")
  look.fences(buf, header, user_row)
  follow(wins, buf)
  return true
end

--- Appends streamed text at the answer's mark, as part of the answer's one undo step. `lead` is
--- given once, with the text that closes zen's reasoning block (its line count): it folds.
function M.append(buf, mark, text, lead)
  if not (vim.api.nvim_buf_is_valid(buf) and vim.api.nvim_buf_is_loaded(buf)) then
    return false
  end
  local pos = vim.api.nvim_buf_get_extmark_by_id(buf, ns, mark, {})
  if not pos[1] then
    return false
  end
  waiting.text(buf, mark)
  local wins = followers(buf, vim.api.nvim_buf_line_count(buf))
  vim.api.nvim_buf_call(buf, function()
    pcall(vim.cmd, "undojoin") -- E790 right after an undo: then this edit starts its own step
  end)
  vim.api.nvim_buf_set_text(buf, pos[1], pos[2], pos[1], pos[2], vim.split(text, "\n", { plain = true }))
  local header = vim.api.nvim_buf_get_extmark_by_id(buf, answers.ns_region, mark, {})[1]
  if type(lead) == "number" and header then
    answers.mark_reasoning(buf, mark, header, lead)
    answers.fold_one(buf, mark)
  end
  follow(wins, buf)
  return true
end

--- Appends `suffix` (` → model`) to the header of the answer streaming at `mark`: the model
--- that answered is not the one asked for. Part of the answer's undo step.
function M.answered_by(buf, mark, suffix)
  if not (vim.api.nvim_buf_is_valid(buf) and vim.api.nvim_buf_is_loaded(buf)) then
    return false
  end
  local header = vim.api.nvim_buf_get_extmark_by_id(buf, answers.ns_region, mark, {})[1]
  local line = header and vim.api.nvim_buf_get_lines(buf, header, header + 1, false)[1]
  if not (line and line:match("^## Assistant")) then
    return false
  end
  vim.api.nvim_buf_call(buf, function()
    pcall(vim.cmd, "undojoin")
  end)
  vim.api.nvim_buf_set_text(buf, header, #line, header, #line, { suffix })
  look.line(buf, header, "ZenAssistantHeader")
  return true
end

--- The backend is gone: answers still streaming end where they stand.
function M.close_open_answers()
  waiting.stop_all()
  answers.close_open(ns)
end

return M
