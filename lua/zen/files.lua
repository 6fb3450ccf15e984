-- Files through Neovim for agents (ACP `fs/*` and edit permissions). Reads see the loaded buffer's
-- unsaved text; writes go through the loaded buffer (one undo step) and then to disk atomically
-- from the same text, so buffer and disk agree; an edit the agent asks permission for is shown as
-- a pending change (zen.review) in the file's buffer. The backend calls these through zen.ui.
local M = {}

local api = vim.api
local uv = vim.loop

--- What each path's accepted agent edit turned the buffer from and into: the agent reads the file
--- after the user accepted (and its tool then replaces old by new itself), so that one read must
--- see the text the agent proposed against. path -> { before, after }
local accepted = {}

local function absolute(path)
  return vim.fn.fnamemodify(path, ":p")
end

local function same_file(a, b)
  if a == b then
    return true
  end
  local ra, rb = uv.fs_realpath(a), uv.fs_realpath(b)
  return ra ~= nil and ra == rb
end

--- The loaded buffer of `path`, or nil.
function M.loaded_buffer(path)
  local want = absolute(path)
  for _, buf in ipairs(api.nvim_list_bufs()) do
    local name = api.nvim_buf_get_name(buf)
    if name ~= "" and api.nvim_buf_is_loaded(buf) and vim.bo[buf].buftype == "" then
      if same_file(absolute(name), want) then
        return buf
      end
    end
  end
  return nil
end

local function newline(buf)
  return vim.bo[buf].fileformat == "dos" and "\r\n" or "\n"
end

--- The buffer's text as `:write` would put it on disk.
local function text_of(buf)
  local lines = api.nvim_buf_get_lines(buf, 0, -1, false)
  if #lines == 1 and lines[1] == "" then
    return ""
  end
  local nl = newline(buf)
  local eol = vim.bo[buf].eol or (vim.bo[buf].fixeol and not vim.bo[buf].binary)
  return table.concat(lines, nl) .. (eol and nl or "")
end

--- `text` as buffer lines (a final newline ends the last line) and whether it ended with one.
local function lines_of(text, nl)
  local eol = text:sub(-1) == "\n"
  local body = eol and text:sub(1, -2) or text
  if nl == "\r\n" then
    body = body:gsub("\r$", "")
    body = body:gsub("\r\n", "\n")
  end
  return vim.split(body, "\n", { plain = true }), eol
end

--- The text of `path`'s loaded buffer (unsaved text included), else nil: the backend reads disk.
function M.read_file(path)
  local buf = M.loaded_buffer(path)
  if not buf then
    return nil
  end
  local text = text_of(buf)
  local a = accepted[absolute(path)]
  accepted[absolute(path)] = nil
  if a and a.after == text then
    return a.before
  end
  return text
end

--- Writes `text` to `path` atomically: a temporary file in the same directory (the file's mode
--- kept), then renamed over it. Returns nil or the error.
local function write_atomic(path, text)
  local dir = vim.fn.fnamemodify(path, ":h")
  local tmp = ("%s/.%s.zen-%d.tmp"):format(dir, vim.fn.fnamemodify(path, ":t"), uv.os_getpid())
  local stat = uv.fs_stat(path)
  local fd, err = uv.fs_open(tmp, "w", stat and stat.mode % 4096 or 420)
  if not fd then
    return err
  end
  local ok, werr = uv.fs_write(fd, text, 0)
  ok = ok and uv.fs_fsync(fd)
  uv.fs_close(fd)
  if ok and stat then
    ok, werr = uv.fs_chmod(tmp, stat.mode % 4096) -- the umask may have narrowed it
  end
  if ok then
    ok, werr = uv.fs_rename(tmp, path)
  end
  if not ok then
    uv.fs_unlink(tmp)
    return werr or "write failed"
  end
end

--- Tells Neovim the file on disk is the buffer's again (no "file changed" prompt later, no reload
--- that would add an undo step): `:checktime` with 'autoread' off and a FileChangedShell handler
--- that keeps the buffer takes the new timestamp.
local function take_timestamp(buf)
  local group = api.nvim_create_augroup("zen_files_timestamp", { clear = true })
  api.nvim_create_autocmd("FileChangedShell", {
    group = group,
    buffer = buf,
    callback = function()
      vim.v.fcs_choice = ""
    end,
  })
  api.nvim_buf_call(buf, function()
    vim.cmd("setlocal noautoread")
    pcall(vim.cmd, "checktime " .. buf)
    vim.cmd("setlocal autoread<")
  end)
  api.nvim_del_augroup_by_id(group)
end

--- When `path` is loaded: replaces its buffer's text by `text` (one undo step; nothing when the
--- same), writes the file atomically from that text and marks the buffer unmodified. Returns
--- true when it handled the write, false when the file is not loaded (the backend writes disk).
--- Raises "zen: …" when the disk refused.
function M.write_file(path, text)
  local buf = M.loaded_buffer(path)
  if not buf then
    return false
  end
  accepted[absolute(path)] = nil
  local lines, eol = lines_of(text, newline(buf))
  if not vim.deep_equal(lines, api.nvim_buf_get_lines(buf, 0, -1, false)) then
    api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  end
  vim.bo[buf].eol = eol
  local err = write_atomic(api.nvim_buf_get_name(buf), text)
  if err then
    error(("zen: could not write %s: %s. The agent's text is in its buffer; :write it."):format(path, err), 0)
  end
  vim.bo[buf].modified = false
  take_timestamp(buf)
  return true
end

--- Rows (0-based, inclusive) of `text` that `old` spans, and the new lines for them: those rows
--- with `old` replaced by `new` (whole lines). nil when `old` is not in `text`; an empty `old`
--- means the whole text.
local function replacement(text, old, new)
  local count = #vim.split(text, "\n", { plain = true }) - (text:sub(-1) == "\n" and 1 or 0)
  if old == "" then
    return 0, math.max(count - 1, 0), (lines_of(new, "\n"))
  end
  local s = text:find(old, 1, true)
  if not s then
    return nil
  end
  local e = s + #old - 1
  local first = select(2, text:sub(1, s - 1):gsub("\n", ""))
  local last = select(2, text:sub(1, e - 1):gsub("\n", ""))
  local line_start = (text:sub(1, s - 1):match(".*\n()") or 1)
  local suffix = ""
  if old:sub(-1) ~= "\n" then -- the rest of the last row stays
    local line_end = text:find("\n", e + 1, true) or (#text + 1)
    suffix = text:sub(e + 1, line_end - 1)
  end
  local rows = text:sub(line_start, s - 1) .. new .. suffix
  if rows == "" and old:sub(-1) == "\n" then -- whole lines removed
    return first, last, {}
  end
  return first, last, (lines_of(rows, "\n"))
end

local decisions = { accepted = "once", always = "always" }

--- Shows an agent's proposed edit of `o.path` (`o.old_text` → `o.new_text`, as ACP's diff content:
--- a fragment of the file, or the whole file; empty/nil old text: a new file) as a pending change
--- in the file's buffer (loaded if needed, shown per `o.layout` (default: the `layout` option;
--- never a float or the chat's window) without taking the focus). The
--- user's decision goes to the backend as the notification `acp_permission {session,
--- tool_call_id, decision: "once"|"always"|"reject"}`. Returns the change id, or nil and a message.
function M.propose_agent_edit(o)
  local path = absolute(o.path)
  local buf = M.loaded_buffer(path)
  if not buf then
    buf = vim.fn.bufadd(path)
    vim.bo[buf].buflisted = true
    vim.fn.bufload(buf)
  end
  local text = text_of(buf):gsub("\r\n", "\n")
  local old = type(o.old_text) == "string" and o.old_text or ""
  local new = type(o.new_text) == "string" and o.new_text or ""
  local first, last, lines = replacement(text, old, new)
  if not first then
    return nil,
      ("zen: %s: the text it replaces is not in %s (changed since the agent read it?). :ZenReject tells the agent."):format(
        o.title or "the agent's edit",
        vim.fn.fnamemodify(path, ":~:.")
      )
  end
  local win = vim.fn.bufwinid(buf)
  if win == -1 then
    local from = api.nvim_get_current_win()
    local layout = (o.layout ~= nil and o.layout ~= "") and o.layout or require("zen.config").get().layout
    -- Not over the chat: a float or the current window would hide it.
    layout = (layout == "float" or layout == "current") and "vsplit" or layout
    require("zen.ui").show(buf, layout)
    win = api.nvim_get_current_win()
    pcall(api.nvim_set_current_win, from)
  end
  local before = text_of(buf)
  local id, err = require("zen.review").propose(buf, {
    first = first,
    last = last,
    lines = lines,
    source = o.title or "agent",
    whole = true,
    always = true,
    session = o.session,
    tool_call_id = o.tool_call_id,
    on_decide = function(decision)
      local answer = decisions[decision] or "reject"
      if answer ~= "reject" then
        accepted[path] = { before = before, after = text_of(buf) }
      end
      require("zen.backend").notify(
        "acp_permission",
        { session = o.session, tool_call_id = o.tool_call_id, decision = answer }
      )
    end,
  })
  if id and win ~= -1 then
    pcall(api.nvim_win_set_cursor, win, { first + 1, 0 })
  end
  return id, err
end

--- Drops the pending change of `tool_call_id` (the turn was stopped: the agent was answered
--- "cancelled"), without telling the backend again.
function M.drop_agent_edit(session, tool_call_id)
  for _, c in ipairs(require("zen.review").list()) do
    if c.session == session and (tool_call_id == nil or c.tool_call_id == tool_call_id) then
      require("zen.review").discard(c.id)
    end
  end
end

return M
