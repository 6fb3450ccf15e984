-- While an answer has not begun: a live "waiting… 1.2 s" after its `## Assistant · model` header
-- (virtual text, so nothing is added to the chat), gone at the first text or at the end.
local M = {}

local ns = vim.api.nvim_create_namespace("zen_waiting")
local timers = {} -- "buf:mark" → uv timer
local uv = vim.uv or vim.loop

local function show(buf, row, started)
  if vim.api.nvim_buf_is_valid(buf) then
    local text = ("waiting… %.1f s"):format((uv.now() - started) / 1000)
    pcall(vim.api.nvim_buf_set_extmark, buf, ns, row, 0, {
      id = 1,
      virt_text = { { "  " .. text, "ZenWaiting" } },
      virt_text_pos = "eol",
    })
  end
end

--- Starts the line after the header at `row` (0-based) of the answer streamed at `mark`.
function M.start(buf, mark, row)
  M.stop(buf, mark)
  uv.update_time()
  local started, timer = uv.now(), uv.new_timer()
  timers[buf .. ":" .. mark] = timer
  show(buf, row, started)
  timer:start(100, 100, vim.schedule_wrap(function()
    if timers[buf .. ":" .. mark] == timer then
      show(buf, row, started)
    end
  end))
end

--- Ends it: text arrived, the answer ended, or the buffer is gone.
function M.stop(buf, mark)
  local key = buf .. ":" .. mark
  local timer = timers[key]
  if timer then
    timers[key] = nil
    timer:stop()
    timer:close()
    if vim.api.nvim_buf_is_valid(buf) then
      vim.api.nvim_buf_clear_namespace(buf, ns, 0, -1)
    end
  end
end

--- Ends them all (the backend is gone).
function M.stop_all()
  for key in pairs(timers) do
    local buf, mark = key:match("^(%d+):(%d+)$")
    M.stop(tonumber(buf), tonumber(mark))
  end
end

return M
