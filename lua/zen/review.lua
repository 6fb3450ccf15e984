-- The review surface: a proposed change to a buffer, shown beside the old text and taken or left
-- by the user. `:ZenEdit`, `:ZenApply` and agents' edit proposals all go through `propose`.
--
-- A pending change is an old range anchored by two extmarks (edits above move it) and the new
-- lines. The buffer's text does not change until it is accepted: removed lines are highlighted
-- (ZenDiffDelete), added ones are virtual lines (ZenDiffAdd), with a header line naming the source
-- and the keys. Accepting checks the old text is still what was proposed against (never a silent
-- clobber); an accepted change or hunk is one buffer change, so one undo step.
local M = {}

local ns_anchor = vim.api.nvim_create_namespace("zen_review_anchor")
local api = vim.api
local view = require("zen.review_view")

--- Buffer-local keys while a change is pending (documented in :help zen-review).
M.keys = view.keys

local changes = {} -- id -> change
local next_id = 0
local augroup = api.nvim_create_augroup("zen_review", { clear = true })
view.set_highlights()
api.nvim_create_autocmd("ColorScheme", { group = augroup, callback = view.set_highlights })

local function notify(msg, level)
  vim.notify(msg, level or vim.log.levels.INFO)
end

--- The lines of `text` (a last line without a newline counts; no empty line after a final one).
local function lines_of(text)
  local lines, rest = {}, 1
  for line, after in text:gmatch("([^\n]*)\n()") do
    lines[#lines + 1] = line
    rest = after
  end
  if rest <= #text then
    lines[#lines + 1] = text:sub(rest)
  end
  return lines
end

--- Rows (0-based, inclusive) the change's old text spans now; nil when its anchors collapsed.
local function rows(c)
  if not api.nvim_buf_is_loaded(c.buf) then
    return nil
  end
  local s = api.nvim_buf_get_extmark_by_id(c.buf, ns_anchor, c.start_mark, {})
  local e = api.nvim_buf_get_extmark_by_id(c.buf, ns_anchor, c.end_mark, {})
  if not s[1] or not e[1] or e[1] < s[1] then
    return nil
  end
  return s[1], e[1]
end

local function anchor(c, first, last)
  local end_col = #(api.nvim_buf_get_lines(c.buf, last, last + 1, false)[1] or "")
  -- Right gravity at the start, left at the end: text typed just outside stays outside.
  c.start_mark = api.nvim_buf_set_extmark(c.buf, ns_anchor, first, 0, { id = c.start_mark, right_gravity = true })
  c.end_mark = api.nvim_buf_set_extmark(c.buf, ns_anchor, last, end_col, { id = c.end_mark, right_gravity = false })
end

--- Whether the text under the change is still the text it was proposed against.
local function intact(c)
  local first, last = rows(c)
  if not first then
    return false
  end
  return vim.deep_equal(api.nvim_buf_get_lines(c.buf, first, last + 1, false), c.old)
end

local function draw(c)
  view.draw(c, rows(c))
end

local function has_changes(buf)
  for _, c in pairs(changes) do
    if c.buf == buf then
      return true
    end
  end
  return false
end

local function unmap(buf)
  if not api.nvim_buf_is_valid(buf) or has_changes(buf) then
    return
  end
  for _, lhs in pairs(M.keys) do
    pcall(vim.keymap.del, "n", lhs, { buffer = buf })
  end
  vim.b[buf].zen_review_keys = nil
end

local function map(buf)
  if vim.b[buf].zen_review_keys then
    return
  end
  vim.b[buf].zen_review_keys = true
  local function key(lhs, fn, desc)
    vim.keymap.set("n", lhs, function()
      require("zen.commands").guard(fn)()
    end, { buffer = buf, desc = "zen: " .. desc })
  end
  key(M.keys.accept, function()
    M.hunk("accept")
  end, "accept the hunk under the cursor")
  key(M.keys.reject, function()
    M.hunk("reject")
  end, "reject the hunk under the cursor")
  key(M.keys.next, function()
    M.jump(1)
  end, "next hunk")
  key(M.keys.prev, function()
    M.jump(-1)
  end, "previous hunk")
  if vim.b[buf].zen_review_watched then
    return
  end
  vim.b[buf].zen_review_watched = true
  api.nvim_create_autocmd({ "BufUnload", "BufWipeout" }, {
    group = augroup,
    buffer = buf,
    callback = function()
      M.drop_buffer(buf, "its buffer was unloaded")
    end,
  })
end

--- Ends a change: clears its marks and tells its owner (`on_decide(decision, change)`).
local function finish(c, decision)
  changes[c.id] = nil
  if api.nvim_buf_is_valid(c.buf) then
    pcall(api.nvim_buf_clear_namespace, c.buf, view.ns, 0, -1)
    pcall(api.nvim_buf_del_extmark, c.buf, ns_anchor, c.start_mark)
    pcall(api.nvim_buf_del_extmark, c.buf, ns_anchor, c.end_mark)
    for _, other in pairs(changes) do
      if other.buf == c.buf then
        draw(other)
      end
    end
    unmap(c.buf)
  end
  M.last_decision = { id = c.id, decision = decision, source = c.source }
  if c.on_decide then
    pcall(c.on_decide, decision, c)
  end
  pcall(vim.api.nvim_exec_autocmds, "User", { pattern = "ZenReviewDone", modeline = false })
end

local function overlapping(buf, first, last)
  for _, c in pairs(changes) do
    if c.buf == buf then
      local s, e = rows(c)
      if s and first <= e and last >= s then
        return c
      end
    end
  end
  return nil
end

--- Proposes a change to `buf`: `opts.first`/`opts.last` (0-based rows, inclusive) are replaced by
--- `opts.lines`. `opts.source` names the model or agent; `opts.whole` (agents) allows only
--- accepting or rejecting it whole; `opts.streaming` marks it as still arriving (see `stream`);
--- `opts.backend` drops it when the backend goes; `opts.on_decide(decision, change)` is called
--- once with "accepted", "rejected", "always" (`:ZenAccept!`), "partial" or "dropped". Agents:
--- `opts.always` shows `:ZenAccept!`; `opts.session` lets `:ZenAccept` in that chat take it;
--- `opts.tool_call_id` names the tool call it answers.
--- Returns the change's id, or nil and a message when it overlaps a pending change.
function M.propose(buf, opts)
  buf = (buf == 0 or buf == nil) and api.nvim_get_current_buf() or buf
  if not api.nvim_buf_is_loaded(buf) then
    return nil, "zen: that buffer is not loaded. Open the file and try again."
  end
  local count = api.nvim_buf_line_count(buf)
  local first = math.max(0, math.min(opts.first or 0, count - 1))
  local last = math.max(first, math.min(opts.last or count - 1, count - 1))
  if overlapping(buf, first, last) then
    return nil,
      "zen: those lines already have a pending change. Accept or reject it first (:ZenAccept / :ZenReject)."
  end
  next_id = next_id + 1
  local c = {
    id = next_id,
    buf = buf,
    old = api.nvim_buf_get_lines(buf, first, last + 1, false),
    new = opts.lines or {},
    raw = "",
    source = opts.source or "zen",
    whole = opts.whole == true,
    streaming = opts.streaming == true,
    backend = opts.backend == true,
    on_decide = opts.on_decide,
    always = opts.always == true,
    session = opts.session,
    tool_call_id = opts.tool_call_id,
    accepted_some = false,
  }
  anchor(c, first, last)
  changes[c.id] = c
  map(buf)
  draw(c)
  return c.id
end

--- The backend streams an edit's replacement: `text` is appended (or replaces all with `reset`).
--- `done` ends the stream (`note`: why it ended early). Returns false when the change is gone.
function M.stream(id, text, reset, done, note)
  local c = changes[id]
  if not c then
    return false
  end
  if reset or (c.raw ~= "" and c.raw:sub(-1) ~= "\n") then
    c.raw = reset and text or (c.raw .. text)
    c.new = lines_of(c.raw)
    c.stream_base, c.virt = nil, nil -- redrawn whole
  else -- whole lines so far: the new ones are appended
    c.raw = c.raw .. text
    vim.list_extend(c.new, lines_of(text))
  end
  if done then
    c.streaming = false
    if type(note) == "string" and note ~= "" then
      c.note = note
      if c.raw == "" then -- failed or stopped before any code: nothing to propose
        finish(c, "dropped")
        return true
      end
    end
    if vim.deep_equal(c.new, c.old) then
      draw(c)
      finish(c, "rejected")
      notify("zen: the edit changed nothing.")
      return true
    end
  end
  draw(c)
  return true
end

--- Sets the source label (the model, once the backend named it).
function M.set_source(id, source)
  local c = changes[id]
  if c then
    c.source = source
    draw(c)
  end
end

--- Removes a change without a decision (its edit could not start).
function M.discard(id)
  local c = changes[id]
  if c then
    c.on_decide = nil
    finish(c, "dropped")
  end
end

--- The change with `id`, or nil (read-only use: tests, status lines).
function M.get(id)
  return changes[id]
end

--- Every pending change, oldest first.
function M.list()
  local out = {}
  for _, c in pairs(changes) do
    table.insert(out, c)
  end
  table.sort(out, function(a, b)
    return a.id < b.id
  end)
  return out
end

local function of_buffer(buf)
  return vim.tbl_filter(function(c)
    return c.buf == buf
  end, M.list())
end

--- The pending change under the cursor, else the buffer's only (or first) one; in an agent's
--- chat, the oldest change that agent proposed.
local function current()
  local buf = api.nvim_get_current_buf()
  local row = api.nvim_win_get_cursor(0)[1] - 1
  local mine = of_buffer(buf)
  for _, c in ipairs(mine) do
    local s, e = rows(c)
    if s and row >= s and row <= e then
      return c
    end
  end
  return mine[1] or M.of_session(vim.b[buf].zen_session)
end

local function refuse_conflict(c)
  if c.streaming then
    error("zen: this edit is still streaming. Wait for it, or :ZenStop to keep what arrived.", 0)
  end
  if not intact(c) then
    draw(c)
    error(
      "zen: the text under this pending change was edited since it was proposed; not applied. Undo your edit, or :ZenReject it.",
      0
    )
  end
end

local function accept(c, decision)
  refuse_conflict(c)
  local first, last = rows(c)
  api.nvim_buf_set_lines(c.buf, first, last + 1, false, c.new)
  finish(c, decision or "accepted")
end

local function reject(c)
  finish(c, c.accepted_some and "partial" or "rejected")
end

local function act_all(fn, verb)
  local done, failed = 0, {}
  for _, c in ipairs(M.list()) do
    local ok, err = pcall(fn, c)
    if ok then
      done = done + 1
    else
      table.insert(failed, tostring(err))
    end
  end
  if #failed > 0 then
    error(("zen: %d change(s) %s, %d refused: %s"):format(done, verb, #failed, failed[1]), 0)
  end
  notify(("zen: %d change(s) %s."):format(done, verb))
end

--- `:ZenAccept[!] [all]`: applies the pending change here (`all`: every one). `bang`: an agent's
--- "allow always" (the decision is "always").
function M.accept(all, bang)
  local decision = bang and "always" or "accepted"
  if all then
    return act_all(function(c)
      accept(c, decision)
    end, "accepted")
  end
  local c = current()
  if not c then
    error("zen: no pending change in this buffer. :ZenPending lists them all.", 0)
  end
  accept(c, decision)
end

--- `:ZenReject [all]`: drops the pending change here (the buffer is left as it was).
function M.reject(all)
  if all then
    return act_all(reject, "rejected")
  end
  local c = current()
  if not c then
    error("zen: no pending change in this buffer. :ZenPending lists them all.", 0)
  end
  reject(c)
end

local function hunk_at(c, row)
  local first = rows(c)
  for i, h in ipairs(c.hunks or {}) do
    local top = first + math.max(h[1], 1) - 1
    local bottom = h[2] > 0 and top + h[2] - 1 or top
    if row >= top and row <= bottom then
      return i, h
    end
  end
end

local function splice(list, start, count, with)
  local out = vim.list_slice(list, 1, start - 1)
  vim.list_extend(out, with)
  vim.list_extend(out, list, start + count)
  return out
end

--- The hunk keys: accepts or rejects the hunk under the cursor (a pure insertion: on the line it
--- follows). Whole changes (agents) are taken or left whole.
function M.hunk(action)
  local c = current()
  if not c then
    error("zen: no pending change in this buffer.", 0)
  end
  if c.whole or c.streaming then
    return action == "accept" and accept(c) or reject(c)
  end
  local row = api.nvim_win_get_cursor(0)[1] - 1
  local _, h = hunk_at(c, row)
  if not h then
    error(("zen: no hunk under the cursor. %s / %s jump to one."):format(M.keys.next, M.keys.prev), 0)
  end
  local as, ac, bs, bc = h[1], h[2], h[3], h[4]
  local with_new = vim.list_slice(c.new, bs, bs + bc - 1)
  if action == "accept" then
    refuse_conflict(c)
    local first = rows(c)
    -- An insertion (ac == 0) goes after old line `as`.
    local at = ac > 0 and (as - 1) or as
    api.nvim_buf_set_lines(c.buf, first + at, first + at + ac, false, with_new)
    c.old = splice(c.old, at + 1, ac, with_new)
    c.accepted_some = true
    if #c.old == 0 then -- the whole range went: nothing left to anchor
      return finish(c, "accepted")
    end
    anchor(c, first, first + #c.old - 1)
  else
    local at = bc > 0 and bs or bs + 1
    c.new = splice(c.new, at, bc, vim.list_slice(c.old, math.max(as, 1), math.max(as, 1) + ac - 1))
    c.virt = nil -- the new lines changed: no cached virtual lines
  end
  if vim.deep_equal(c.old, c.new) then
    return finish(c, c.accepted_some and (action == "accept" and "accepted" or "partial") or "rejected")
  end
  draw(c)
end

--- `]h` / `[h`: moves the cursor to the next (1) or previous (-1) hunk in this buffer.
function M.jump(dir)
  local buf = api.nvim_get_current_buf()
  local row = api.nvim_win_get_cursor(0)[1] - 1
  local tops = {}
  for _, c in ipairs(of_buffer(buf)) do
    local first = rows(c)
    for _, h in ipairs(first and c.hunks or {}) do
      table.insert(tops, first + math.max(h[1], 1) - 1)
    end
  end
  table.sort(tops)
  local target
  for i = (dir > 0 and 1 or #tops), (dir > 0 and #tops or 1), dir do
    if (dir > 0 and tops[i] > row) or (dir < 0 and tops[i] < row) then
      target = tops[i]
      break
    end
  end
  if target then
    api.nvim_win_set_cursor(0, { target + 1, 0 })
  end
end

--- `:ZenPending`: every pending change of every buffer in the quickfix list.
function M.pending()
  local items = {}
  for _, c in ipairs(M.list()) do
    local first, last = rows(c)
    local state = c.streaming and "streaming" or (#(c.hunks or {}) .. " hunk(s)")
    table.insert(items, {
      bufnr = c.buf,
      lnum = (first or 0) + 1,
      end_lnum = (last or 0) + 1,
      text = ("zen: %s · %d → %d lines · %s"):format(c.source, #c.old, #c.new, state),
    })
  end
  vim.fn.setqflist({}, " ", { title = "zen: pending changes", items = items })
  if #items == 0 then
    notify("zen: no pending changes.")
  else
    vim.cmd("botright copen")
  end
  return items
end

--- Drops every change of `buf` (unloaded buffer), with a notice.
function M.drop_buffer(buf, why)
  for _, c in ipairs(of_buffer(buf)) do
    finish(c, "dropped")
    notify(("zen: pending change from %s dropped: %s."):format(c.source, why), vim.log.levels.WARN)
  end
end

--- The backend went away (`:ZenRestart`, a crash): its changes are dropped with a notice (the
--- proposal stays in the edit's history).
function M.backend_gone()
  local n = 0
  for _, c in ipairs(M.list()) do
    if c.backend then
      finish(c, "dropped")
      n = n + 1
    end
  end
  if n > 0 then
    notify(
      ("zen: %d pending change(s) dropped: the backend stopped. They are kept in the edit history (:ZenList)."):format(n),
      vim.log.levels.WARN
    )
  end
end

--- The oldest pending change an agent of `session` proposed, if any.
function M.of_session(session)
  for _, c in ipairs(M.list()) do
    if session and c.session == session then
      return c
    end
  end
end

--- The streaming change of `buf`, if any (for `:ZenStop`).
function M.streaming_in(buf)
  for _, c in ipairs(of_buffer(buf)) do
    if c.streaming then
      return c
    end
  end
end

return M
