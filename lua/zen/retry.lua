-- `:ZenRetry`: the last answer again. The old answer (with its notes) is taken out of the chat and
-- the conversation up to it is sent again; the history records the change as any edit.
local answers = require("zen.answers")

local M = {}

local stream_ns = vim.api.nvim_create_namespace("zen") -- zen.stream's marks: answers streaming

--- Regenerates the last answer of chat `buf` (default: the current buffer).
function M.retry(buf)
  buf = buf or vim.api.nvim_get_current_buf()
  if not vim.b[buf].zen_session or vim.b[buf].zen_agent then
    error("zen: :ZenRetry works in a chat buffer. Open one with :ZenList.", 0)
  end
  if #vim.api.nvim_buf_get_extmarks(buf, stream_ns, 0, -1, {}) > 0 then
    error("zen: an answer is streaming. Stop it with :ZenStop, then :ZenRetry.", 0)
  end
  local list = answers.extents(buf)
  local last = list[#list]
  if not last then
    error("zen: no answer to retry yet. Send the chat with <CR>.", 0)
  end
  -- Below the answer only zen's new `## User` header may be: text there is a new prompt.
  for _, line in ipairs(vim.api.nvim_buf_get_lines(buf, last.last + 1, -1, false)) do
    if not (line == "## User" or line:match("^%s*$")) then
      error("zen: you wrote after the last answer. Send it with <CR>, or delete it to retry.", 0)
    end
  end
  vim.api.nvim_buf_set_lines(buf, last.first, -1, false, {})
  answers.forget(buf, last.id)
  return require("zen").submit(buf)
end

return M
