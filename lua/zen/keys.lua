-- The keys of a chat buffer, and what they do that the commands do not: the key list (`?`),
-- yanking the code block under the cursor, and the outline of turns.
local answers = require("zen.answers")
local float = require("zen.float")

local M = {}

-- `q` closes a chat shown in a float; elsewhere it stays Vim's (macro recording).
local function q()
  return float.is_float() and "<Cmd>close<CR>" or "q"
end

--- The chat keys: mode, lhs, rhs, what it does (shown by `?`, :help zen-keys).
M.chat = {
  { "n", "<CR>", "<Cmd>ZenSubmit<CR>", "send the chat" },
  { "i", "<C-s>", "<Esc><Cmd>ZenSubmit<CR>", "send the chat" },
  { "n", "gR", "<Cmd>ZenRetry<CR>", "regenerate the last answer (:ZenRetry)" },
  { "n", "gy", function() M.yank_code() end, "yank the code block under the cursor" },
  { "n", "ga", "<Cmd>ZenApply<CR>", "apply the code block under the cursor as a pending change (:ZenApply)" },
  { "n", "gO", function() M.outline() end, "outline of the turns (location list)" },
  { "n", "?", function() M.help() end, "show these keys" },
  { "n", "q", q, "close the chat's float", { expr = true } },
}

--- Maps the chat keys in `buf`.
function M.map(buf)
  for _, k in ipairs(M.chat) do
    local opts = vim.tbl_extend("force", { buffer = buf, silent = true, desc = "zen: " .. k[4] }, k[5] or {})
    vim.keymap.set(k[1], k[2], k[3], opts)
  end
end

--- `?`: the chat keys and the commands, in a float.
function M.help()
  local lines = {}
  if vim.fn.has("nvim-0.9") == 0 then
    lines = { "zen keys", "" } -- no float titles before 0.9
  end
  for _, k in ipairs(M.chat) do
    local mode = k[1] == "i" and "insert " or ""
    table.insert(lines, ("  %-7s %s%s"):format(k[2], mode, k[4]))
  end
  vim.list_extend(lines, {
    "",
    "  :ZenStop  :ZenModel  :ZenList  :ZenUsage  :ZenSend",
    "  :help zen-keys",
  })
  return float.text(lines, "zen keys")
end

-- The code fences of `lines`: { first, last } rows (1-based) of each block's fence lines.
local function fences(lines)
  local out, open, ticks = {}, nil, nil
  for i, l in ipairs(lines) do
    local fence = l:match("^%s*(```+)") or l:match("^%s*(~~~+)")
    if fence and not open then
      open, ticks = i, fence
    elseif fence and l:match("^%s*[`~]+%s*$") and fence:sub(1, 1) == ticks:sub(1, 1) and #fence >= #ticks then
      table.insert(out, { open, i })
      open = nil
    end
  end
  return out
end

--- `gy`: yanks the code inside the fence under the cursor (into the register given, else `"`).
function M.yank_code()
  local lines = vim.api.nvim_buf_get_lines(0, 0, -1, false)
  local row = vim.api.nvim_win_get_cursor(0)[1]
  for _, f in ipairs(fences(lines)) do
    if row >= f[1] and row <= f[2] then
      local code = vim.list_slice(lines, f[1] + 1, f[2] - 1)
      vim.fn.setreg(vim.v.register, code, "l")
      local lang = lines[f[1]]:match("[`~]+%s*([%w_+-]+)")
      vim.notify(("zen: yanked %d lines%s."):format(#code, lang and (" of " .. lang) or ""), vim.log.levels.INFO)
      return code
    end
  end
  vim.notify("zen: no code block under the cursor. Put it inside a ``` fence and press gy again.", vim.log.levels.WARN)
end

--- `gO`: the turns of the chat in the location list (headers zen wrote or the user typed, never
--- one inside an answer), each with its first line.
function M.outline()
  local buf = vim.api.nvim_get_current_buf()
  local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
  local headers = {}
  for _, a in ipairs(answers.extents(buf)) do
    headers[a.first + 1] = true
  end
  local in_answer = answers.rows(buf)
  local items = {}
  for i, l in ipairs(lines) do
    local user = (l == "## User" or l == "## System") and not in_answer(i - 1)
    if headers[i] or user then
      local first = ""
      for j = i + 1, math.min(i + 6, #lines) do
        if lines[j]:match("%S") and not lines[j]:match("^#") then
          first = lines[j]:sub(1, 60)
          break
        end
      end
      local role = l:gsub("^## ", "")
      table.insert(items, { bufnr = buf, lnum = i, col = 1, text = first ~= "" and (role .. ": " .. first) or role })
    end
  end
  vim.fn.setloclist(0, {}, " ", { title = "zen turns", items = items })
  vim.cmd("lopen")
  return items
end

return M
