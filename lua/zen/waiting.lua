-- Timing of an answer as the user sees it: before its first text, a live "waiting… 1.2 s" after
-- its `## Assistant · model` header ("retrying 1/2 in 0.8 s" while the backend waits to retry); at its end, the speed (tokens/s from the first text) and the
-- time to the first text after zen's usage note. Both are virtual text: not part of the chat.
local M = {}

local ns = vim.api.nvim_create_namespace("zen_waiting")
local ns_speed = vim.api.nvim_create_namespace("zen_speed")
local uv = vim.uv or vim.loop
local answers = {} -- "buf:mark" → { timer, row, started, first, retry }

local function line(a)
  local now = uv.now()
  local r = a.retry
  if not r then
    return ("waiting… %.1f s"):format((now - a.started) / 1000)
  elseif now < r.at then
    return ("retrying %d/%d in %.1f s"):format(r.attempt, r.max, (r.at - now) / 1000)
  end
  return ("retrying %d/%d · waiting… %.1f s"):format(r.attempt, r.max, (now - a.started) / 1000)
end

local function show(buf, a)
  if vim.api.nvim_buf_is_valid(buf) then
    local text = line(a)
    pcall(vim.api.nvim_buf_set_extmark, buf, ns, a.row, 0, {
      id = 1,
      virt_text = { { "  " .. text, "ZenWaiting" } },
      virt_text_pos = "eol",
    })
  end
end

local function stop_timer(a, buf)
  if a and a.timer then
    a.timer:stop()
    a.timer:close()
    a.timer = nil
    if vim.api.nvim_buf_is_valid(buf) then
      vim.api.nvim_buf_del_extmark(buf, ns, 1)
    end
  end
end

--- Starts the line after the header at `row` (0-based) of the answer streamed at `mark`.
function M.start(buf, mark, row)
  local key = buf .. ":" .. mark
  stop_timer(answers[key], buf)
  uv.update_time()
  local a = { row = row, started = uv.now(), timer = uv.new_timer() }
  answers[key] = a
  show(buf, a)
  a.timer:start(100, 100, vim.schedule_wrap(function()
    if a.timer then
      show(buf, a)
    end
  end))
end

--- The backend retries the request: retry `attempt` of `max`, sent after `delay_ms`.
function M.retrying(buf, mark, attempt, max, delay_ms)
  local a = answers[buf .. ":" .. mark]
  if a and a.timer then
    uv.update_time()
    a.retry = { attempt = attempt, max = max, at = uv.now() + delay_ms }
    show(buf, a)
  end
end

--- The first text arrived (called at every flush; only the first counts).
function M.text(buf, mark)
  local a = answers[buf .. ":" .. mark]
  if a and not a.first then
    uv.update_time()
    a.first = uv.now()
    stop_timer(a, buf)
  end
end

--- The answer ended: its usage note (rows `first`..`last`, zen's footer) gets the speed and the
--- time to the first text, e.g. "· 42 tokens/s · first text after 0.8 s".
function M.finish(buf, mark, first, last)
  local key = buf .. ":" .. mark
  local a = answers[key]
  answers[key] = nil
  if not a then
    return
  end
  stop_timer(a, buf)
  if not a.first or last < first or not vim.api.nvim_buf_is_valid(buf) then
    return
  end
  uv.update_time()
  for i, line in ipairs(vim.api.nvim_buf_get_lines(buf, first, last + 1, false)) do
    local out = line:match("^> %[zen%].- (%d+) out ·")
    if out then
      local secs = math.max((uv.now() - a.first) / 1000, 0.001)
      local text = ("  · %d tokens/s · first text after %.1f s"):format(
        math.floor(tonumber(out) / secs + 0.5),
        (a.first - a.started) / 1000
      )
      vim.api.nvim_buf_set_extmark(buf, ns_speed, first + i - 1, 0, {
        virt_text = { { text, "ZenNote" } },
        virt_text_pos = "eol",
      })
      return
    end
  end
end

--- Ends them all (the backend is gone).
function M.stop_all()
  for key, a in pairs(answers) do
    stop_timer(a, tonumber(key:match("^(%d+):")))
    answers[key] = nil
  end
end

return M
