-- What only agent chats (ACP, `:ZenNew claude mode=chat`) show: frames of the agent's answer
-- (text and block ops, in order, one call per frame), its tool calls, plan and permission lines
-- as blocks kept by key and replaced in place, thoughts folded, the agent's slash commands, and
-- :ZenAccept / :ZenReject / :ZenModel in the chat. The text comes from the backend
-- (src/agents/acp/updates.rs); all of it is inside the answer's region, so none of it is ever
-- read back as the user's prompt.
local blocks = require("zen.blocks")
local stream = require("zen.stream")

local M = {}

local ns = vim.api.nvim_create_namespace("zen_acp") -- each block's first and last row, by key

-- "::: tool · edit · Edit a.rs · done" shows as "edit · Edit a.rs · done".
local function tool_title(line)
  return (line:gsub("^:::%s*tool · ", ""))
end
blocks.kind("tool", "tool", tool_title)
blocks.kind("plan", "plan", nil, true)
blocks.kind("thought", "thought")

local state = {} -- buf → { keys = { [key] = { first, last, id, kind } }, next = n }

local function of(buf)
  state[buf] = state[buf] or { keys = {}, next = 1 }
  return state[buf]
end

local function undojoin(buf)
  vim.api.nvim_buf_call(buf, function()
    pcall(vim.cmd, "undojoin")
  end)
end

local function folded_anywhere(buf, row)
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_buf(win) == buf then
      local closed = vim.api.nvim_win_call(win, function()
        return vim.fn.foldclosed(row + 1)
      end)
      if closed ~= -1 then
        return true
      end
    end
  end
  return false
end

local function mark(buf, b, first, last, fold)
  if b.kind == "tool" or b.kind == "plan" or b.kind == "thought" then
    blocks.mark(buf, b.kind, b.id, first, last, b.kind == "thought" and "ZenReasoning" or nil)
    if fold then
      blocks.fold_one(buf, b.kind, b.id)
    end
  end
end

-- Puts block `op.key` (`op.lines`): a new one at the stream mark, a known one in place.
local function put(buf, stream_mark, op)
  local st = of(buf)
  local b = st.keys[op.block]
  local lines = op.lines
  if b then
    local first = vim.api.nvim_buf_get_extmark_by_id(buf, ns, b.first, {})[1]
    local last = vim.api.nvim_buf_get_extmark_by_id(buf, ns, b.last, {})[1]
    if not (first and last) then
      return
    end
    local was_folded = folded_anywhere(buf, first)
    undojoin(buf)
    vim.api.nvim_buf_set_lines(buf, first, last + 1, false, lines)
    vim.api.nvim_buf_set_extmark(buf, ns, first, 0, { id = b.first })
    vim.api.nvim_buf_set_extmark(buf, ns, first + #lines - 1, 0, { id = b.last })
    mark(buf, b, first, first + #lines - 1, was_folded)
    return
  end
  local pos = vim.api.nvim_buf_get_extmark_by_id(buf, stream.ns, stream_mark, {})
  if not pos[1] then
    return
  end
  local row = pos[1]
  local text = vim.list_extend(vim.deepcopy(lines), { "" })
  undojoin(buf)
  vim.api.nvim_buf_set_text(buf, pos[1], pos[2], pos[1], pos[2], text)
  b = { id = st.next, kind = op.kind }
  st.next = st.next + 1
  b.first = vim.api.nvim_buf_set_extmark(buf, ns, row, 0, {})
  b.last = vim.api.nvim_buf_set_extmark(buf, ns, row + #lines - 1, 0, {})
  st.keys[op.block] = b
  mark(buf, b, row, row + #lines - 1, op.fold)
end

-- The thought block that just closed (its `:::` is the row above the stream mark) folds.
local function close_thought(buf, stream_mark)
  local pos = vim.api.nvim_buf_get_extmark_by_id(buf, stream.ns, stream_mark, {})
  if not pos[1] then
    return
  end
  local last = pos[1] - 1
  for row = last - 1, math.max(0, last - 100000), -1 do
    local line = vim.api.nvim_buf_get_lines(buf, row, row + 1, false)[1]
    if line == "::: thought" then
      local st = of(buf)
      local b = { id = st.next, kind = "thought" }
      st.next = st.next + 1
      mark(buf, b, row, last, true)
      return
    end
  end
end

--- One frame of an agent's answer at `stream_mark`: `{text = ...}`, `{block = key, lines, kind,
--- fold}` and `{close = "thought"}` ops, in order. False when the buffer is gone.
function M.frame(buf, stream_mark, ops)
  if not (vim.api.nvim_buf_is_valid(buf) and vim.api.nvim_buf_is_loaded(buf)) then
    return false
  end
  require("zen.waiting").text(buf, stream_mark)
  for _, op in ipairs(ops) do
    if op.text then
      if not stream.append(buf, stream_mark, op.text, nil) then
        return false
      end
    elseif op.block then
      put(buf, stream_mark, op)
    elseif op.close then
      close_thought(buf, stream_mark)
    end
  end
  return true
end

-- A buffer rebuilt from history: the blocks in its answers are marked (tool calls and thoughts
-- fold) as they were when they streamed in.
local function mark_saved(buf)
  local inside = require("zen.answers").rows(buf)
  local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
  local st = of(buf)
  local row = 1
  while row <= #lines do
    local kind = lines[row]:match("^::: (%a+)")
    if kind and (kind == "tool" or kind == "thought" or kind == "plan") and inside(row - 1) then
      local last = row + 1
      while last <= #lines and lines[last] ~= ":::" do
        last = last + 1
      end
      if last <= #lines and inside(last - 1) then
        local b = { id = st.next, kind = kind }
        st.next = st.next + 1
        mark(buf, b, row - 1, last - 1, false)
        row = last
      end
    end
    row = row + 1
  end
end

--- Marks `buf` as an agent chat of `info.kind` and gives it the agent's slash commands
--- (`info.commands`: `{name, description}`), completed after `/` (zen.complete). The first time,
--- the blocks of answers already in it (a chat rebuilt from history) are marked.
function M.chat(buf, info)
  if not vim.api.nvim_buf_is_valid(buf) then
    return
  end
  if not vim.b[buf].zen_acp then
    mark_saved(buf)
    for _, win in ipairs(vim.api.nvim_list_wins()) do
      if vim.api.nvim_win_get_buf(win) == buf and vim.wo[win].foldmethod == "manual" then
        blocks.fold_all(win)
      end
    end
  end
  vim.b[buf].zen_acp = info.kind or true
  vim.b[buf].zen_acp_commands = info.commands or {}
end

--- The agent's slash commands matching `base` (`/na...`), for completion.
function M.complete_commands(buf, base)
  local items = {}
  for _, c in ipairs(vim.b[buf].zen_acp_commands or {}) do
    local word = "/" .. c.name
    if vim.startswith(word, base) then
      table.insert(items, { word = word, menu = c.description })
    end
  end
  return items
end

--- `:ZenAccept[!]` / `:ZenReject` in an agent chat: answers its oldest waiting permission.
function M.answer(decision)
  local buf = vim.api.nvim_get_current_buf()
  local r = require("zen.backend").request(
    "acp_permission",
    { buf = buf, session = vim.b[buf].zen_session, decision = decision }
  )
  local more = (r.waiting or 0) > 0 and (" (%d more waiting)"):format(r.waiting) or ""
  vim.notify(("zen: answered %s%s."):format(tostring(r.answered), more), vim.log.levels.INFO)
  return r
end

--- `:ZenModel [id]` in an agent chat: sets one of the agent's models or modes; without an id,
--- picks among them.
function M.model(id)
  local buf = vim.api.nvim_get_current_buf()
  local backend = require("zen.backend")
  local req = { buf = buf, session = vim.b[buf].zen_session, model = (id ~= "" and id) or nil }
  local r = backend.request("agent_model", req)
  if r.choices then
    if #r.choices == 0 then
      vim.notify("zen: this agent offers no models or modes to pick from.", vim.log.levels.INFO)
      return r
    end
    vim.ui.select(r.choices, {
      prompt = "zen: agent model or mode",
      kind = "zen_agent_model",
      format_item = function(c)
        return ("%s%s · %s%s"):format(c.current and "● " or "  ", c.kind, c.name ~= "" and c.name or c.id,
          c.name ~= c.id and (" (" .. c.id .. ")") or "")
      end,
    }, function(choice)
      if choice then
        require("zen.commands").guard(M.model)(choice.id)
      end
    end)
    return r
  end
  require("zen.status").remember(r.id, { model = r.model })
  vim.notify(("zen: %s now uses %s %s."):format(r.name, r.kind, r.chosen), vim.log.levels.INFO)
  return r
end

return M
