-- `:ZenApply`: a fenced code block of a chat answer proposed as a pending change (zen.review).
-- Where it goes: the `path:first-last` the answered `:ZenSend` came from (the user's prompt
-- carries that label), else the file the block's label names (model text: only inside the
-- project, and only after the user confirms), else a place the user types.
local M = {}

local api = vim.api

local function fence(line)
  local ticks = line:match("^%s*(```+)") or line:match("^%s*(~~~+)")
  return ticks and #ticks or nil
end

--- The fenced blocks of `lines`: { open = i, close = j } (1-based; close is nil when unclosed).
local function blocks(lines)
  local out, open, ticks = {}, nil, nil
  for i, line in ipairs(lines) do
    local n = fence(line)
    if open and n and n >= ticks and vim.trim(line):match("^[`~]+$") then
      table.insert(out, { open = open, close = i })
      open = nil
    elseif not open and n then
      open, ticks = i, n
    end
  end
  if open then
    table.insert(out, { open = open, close = #lines + 1 })
  end
  return out
end

--- `path:first-last` (or `path:line`, or a bare path) in a label line.
local function parse_label(line)
  line = vim.trim((line or ""):gsub("^`(.*)`$", "%1"))
  local path, a, b = line:match("^(%S+):(%d+)%-(%d+)$")
  if not path then
    path, a = line:match("^(%S+):(%d+)$")
    b = a
  end
  if not path and line:match("^[%w%._/%-]+%.%w+$") then
    path = line
  end
  if not path then
    return nil
  end
  return { path = path, first = tonumber(a), last = tonumber(b) }
end

local function project_root()
  local dir = vim.fn.getcwd()
  local git = vim.fn.finddir(".git", dir .. ";")
  if git ~= "" then
    return vim.fn.fnamemodify(git, ":p:h:h")
  end
  return dir
end

--- A loaded buffer whose file is `path` (relative to the project root, or absolute).
local function loaded_buffer(path)
  local full = vim.fn.fnamemodify(path:sub(1, 1) == "/" and path or (project_root() .. "/" .. path), ":p")
  for _, b in ipairs(api.nvim_list_bufs()) do
    if api.nvim_buf_is_loaded(b) and api.nvim_buf_get_name(b) == full then
      return b, full
    end
  end
  return nil, full
end

--- The file `path` inside the project, loaded (nil when it lies outside or does not exist, or
--- `question` was asked and declined: nothing is read before the user agrees).
local function project_buffer(path, question)
  local buf, full = loaded_buffer(path)
  local root = project_root() .. "/"
  if not buf and (full:sub(1, #root) ~= root or vim.fn.filereadable(full) == 0) then
    return nil
  end
  if question and vim.fn.confirm(question, "&Yes\n&No", 2) ~= 1 then
    return nil
  end
  if buf then
    return buf
  end
  buf = vim.fn.bufadd(full)
  vim.fn.bufload(buf)
  vim.bo[buf].buflisted = true
  return buf
end

--- The label of the `:ZenSend` this answer replies to: the last `path:first-last` line followed
--- by a fence in the user's text between the previous answer and this one.
local function sent_label(buf, answer, answers)
  local top = 0
  for _, a in ipairs(answers) do
    if a.last < answer.first and a.last + 1 > top then
      top = a.last + 1
    end
  end
  local lines = api.nvim_buf_get_lines(buf, top, answer.first, false)
  for i = #lines - 1, 1, -1 do
    if fence(lines[i + 1]) then
      local label = parse_label(lines[i])
      if label and label.first then
        return label
      end
    end
  end
end

local function show(buf)
  local win = vim.fn.bufwinid(buf)
  if win == -1 then
    vim.cmd("wincmd p")
    if vim.b.zen_session or vim.fn.winnr("$") == 1 then
      vim.cmd("vsplit")
    end
    api.nvim_win_set_buf(0, buf)
  else
    api.nvim_set_current_win(win)
  end
end

local function propose(buf, label, code, source)
  local opts = { lines = code, source = source }
  if label.first then
    opts.first, opts.last = label.first - 1, label.last - 1
  end
  local id, err = require("zen.review").propose(buf, opts)
  if not id then
    error(err, 0)
  end
  show(buf)
  if label.first then
    pcall(api.nvim_win_set_cursor, 0, { label.first, 0 })
  end
  return id
end

--- `:ZenApply`: the code block under the cursor (or the answer's only one) as a pending change.
function M.apply()
  local chat = api.nvim_get_current_buf()
  if not vim.b[chat].zen_session then
    error("zen: :ZenApply works in a chat buffer, on a code block of an answer.", 0)
  end
  local row = api.nvim_win_get_cursor(0)[1] - 1
  local answers = require("zen.answers").extents(chat)
  local answer
  for _, a in ipairs(answers) do
    if row >= a.first and row <= a.last then
      answer = a
    end
  end
  if not answer then
    error("zen: the cursor is not in an answer. Put it on a code block of the model's answer.", 0)
  end
  local lines = api.nvim_buf_get_lines(chat, answer.first, answer.last + 1, false)
  local found = blocks(lines)
  local block = #found == 1 and found[1] or nil
  for _, b in ipairs(found) do
    if row - answer.first + 1 >= b.open and row - answer.first + 1 <= b.close then
      block = b
    end
  end
  if not block then
    error("zen: no code block under the cursor. Put it on the block to apply.", 0)
  end
  local code = vim.list_slice(lines, block.open + 1, block.close - 1)
  local source = "from " .. api.nvim_buf_get_name(chat):gsub("^zen://", "")

  local sent = sent_label(chat, answer, answers)
  if sent then
    local buf = project_buffer(sent.path)
    if buf then
      return propose(buf, sent, code, source)
    end
  end
  -- The block's own label is the model's text: only a project file, and only if the user agrees.
  local named = parse_label(lines[block.open - 1])
  if named then
    local q = ("zen: apply this block to %s (named by the model)?"):format(named.path)
    local buf = project_buffer(named.path, q)
    if buf then
      return propose(buf, named, code, source)
    end
  end
  vim.ui.input({ prompt = "zen: apply to (file[:first-last]): " }, function(text)
    local picked = text and parse_label(text)
    if not picked then
      return
    end
    require("zen.commands").guard(function()
      local buf = project_buffer(picked.path)
      if not buf then
        error(("zen: %s is not a file of this project. Give a path inside %s."):format(picked.path, project_root()), 0)
      end
      propose(buf, picked, code, source)
    end)()
  end)
end

return M
