-- The UI half of the backend: every function the Rust side calls (one RPC call each) plus the
-- windows and keymaps of chat buffers. Versioned with the backend (rpc::PROTOCOL).
local M = {}

local answers = require("zen.answers")
local look = require("zen.look")
local stream = require("zen.stream")
local levels = { info = vim.log.levels.INFO, warn = vim.log.levels.WARN, error = vim.log.levels.ERROR }

M.events = {} -- last payload per event name, for Neovim 0.7 (no autocmd data)
M.last_event = nil

local function find_buffer(name)
  for _, b in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_get_name(b) == name then
      return b
    end
  end
end

-- The first row changed in each chat buffer since the backend last read it (math.huge: none);
-- 0 until the buffer is watched, or after a reload.
local changed = {}

local function changed_since_read(buf)
  if changed[buf] == nil then
    changed[buf] = 0
    local watched = vim.api.nvim_buf_attach(buf, false, {
      on_lines = function(_, b, _, row)
        changed[b] = math.min(changed[b] or 0, row)
      end,
      on_reload = function(_, b)
        changed[b] = 0
      end,
      on_detach = function(_, b)
        changed[b] = nil
      end,
    })
    if not watched then
      changed[buf] = nil -- not watched: every read is whole
    end
    return 0
  end
  return changed[buf]
end

--- Creates the chat buffer of session `id` (not shown yet) with `lines` and the model's answers
--- in them (`regions`, see zen.answers.close); returns its number.
function M.create_chat_buffer(id, name, lines, regions)
  local bufname = "zen://" .. name
  local existing = find_buffer(bufname)
  if existing then
    if vim.api.nvim_buf_is_loaded(existing) and vim.b[existing].zen_session == id then
      return existing
    end
    if not vim.api.nvim_buf_is_loaded(existing) then
      pcall(vim.api.nvim_buf_delete, existing, { force = true })
    else
      bufname = bufname .. "#" .. id:sub(1, 8)
    end
  end
  local buf = vim.api.nvim_create_buf(true, false)
  vim.bo[buf].buftype = "nofile"
  vim.bo[buf].bufhidden = "hide"
  vim.bo[buf].swapfile = false
  vim.api.nvim_buf_set_name(buf, bufname)
  local undolevels = vim.bo[buf].undolevels
  vim.bo[buf].undolevels = -1 -- the loaded conversation is not an undoable edit
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].undolevels = undolevels
  for _, r in ipairs(regions or {}) do
    local id = vim.api.nvim_buf_set_extmark(buf, answers.ns_region, r.header, 0, {})
    answers.close(buf, id, r)
    look.line(buf, r.header, "ZenAssistantHeader")
    look.notes(buf, r.content_end[1] + 1, r.stop[1] - 1)
  end
  look.outside(buf, answers.rows(buf))
  vim.bo[buf].modified = false
  vim.bo[buf].filetype = "markdown"
  look.attach(buf)
  vim.b[buf].zen_session = id
  vim.bo[buf].omnifunc = "v:lua.require'zen.complete'.omni" -- @path, #buffer, #diagnostics
  require("zen.keys").map(buf)
  vim.api.nvim_create_autocmd({ "BufUnload", "BufWipeout" }, {
    buffer = buf,
    callback = function()
      require("zen.backend").notify("buffer_closed", { buf = buf })
    end,
  })
  return buf
end

--- `count` lines of a chat buffer from row `first` (0-based), its changedtick and line count,
--- and with the first slice where the answers and their content are (rows, byte columns: the
--- backend cuts the content from the lines, so no text crosses twice). The backend reads a big
--- chat in slices: nvim-rs decodes one huge reply in time that grows with its square.
--- The first slice names `cached`, how many lines the backend kept from its last read: it then
--- starts at `from`, the first row changed since that read (on_lines), so a submit sends only
--- what changed.
function M.read_chat(buf, first, count, cached)
  if not (vim.api.nvim_buf_is_valid(buf) and vim.api.nvim_buf_is_loaded(buf)) then
    return nil
  end
  local total = vim.api.nvim_buf_line_count(buf)
  if cached then
    first = math.min(changed_since_read(buf), cached, total)
    if changed[buf] then
      changed[buf] = math.huge
    end
  end
  local out = {
    tick = vim.api.nvim_buf_get_changedtick(buf),
    total = total,
    from = first,
    lines = vim.api.nvim_buf_get_lines(buf, first, first + count, false),
  }
  if cached then
    out.answers = answers.extents(buf)
  end
  return out
end

--- Types `text` as the prompt: under the last `## User` header (after what is typed there), or
--- under a new one. Headers inside an answer are the model's text, not the user's turn.
function M.append_prompt(buf, text)
  local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
  local in_answer = answers.rows(buf)
  local user = false
  for i = #lines, 1, -1 do
    if in_answer(i - 1) then
      break
    elseif lines[i] == "## User" then
      user = true
      break
    elseif lines[i]:match("^## Assistant") or lines[i] == "## System" then
      break
    end
  end
  local n = #lines
  while n > 0 and lines[n]:match("^%s*$") do
    n = n - 1
  end
  local insert = user and { "" } or { "", "## User", "" }
  vim.list_extend(insert, vim.split(text, "\n", { plain = true }))
  vim.api.nvim_buf_set_lines(buf, n, -1, false, insert)
  return true
end

--- Whether the user trusts the project file `path` (holding `text`) to set the system prompt;
--- asks once per version of the file (zen.trust).
function M.trust_project(path, text)
  return require("zen.trust").ask(path, text)
end

--- The code buffer the user came from: name, filetype, lines and diagnostics (nil if gone).
function M.code_buffer(buf)
  if not (vim.api.nvim_buf_is_valid(buf) and vim.api.nvim_buf_is_loaded(buf)) then
    return nil
  end
  local diagnostics = {}
  if vim.diagnostic then
    for _, d in ipairs(vim.diagnostic.get(buf)) do
      table.insert(diagnostics, { lnum = d.lnum, col = d.col, severity = d.severity, message = d.message, source = d.source })
    end
  end
  return {
    name = vim.api.nvim_buf_get_name(buf),
    filetype = vim.bo[buf].filetype,
    lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false),
    diagnostics = diagnostics,
  }
end

--- The buffer of the window the user came from (or the alternate buffer), if it holds code.
function M.origin_buffer()
  local current = vim.api.nvim_get_current_buf()
  for _, b in ipairs({ vim.fn.winbufnr(vim.fn.winnr("#")), vim.fn.bufnr("#") }) do
    if b > 0 and b ~= current and vim.api.nvim_buf_is_loaded(b) and not vim.b[b].zen_session and vim.bo[b].buftype == "" then
      return b
    end
  end
  return nil
end

-- Streaming an answer (zen.stream): begin_answer, append, end_answer, close_open_answers.
M.begin_answer = stream.begin_answer
M.append = stream.append
M.end_answer = stream.end_answer

-- Agent chats over ACP (zen.acp): a frame of text and block ops; the chat's kind and commands.
function M.acp_frame(buf, mark, ops)
  return require("zen.acp").frame(buf, mark, ops)
end
function M.acp_chat(buf, info)
  return require("zen.acp").chat(buf, info)
end
M.answered_by = stream.answered_by
M.close_open_answers = stream.close_open_answers
M.retrying = require("zen.waiting").retrying
local files = require("zen.files") -- agents' files: read_file, write_file, propose_agent_edit
M.read_file, M.write_file, M.drop_agent_edit = files.read_file, files.write_file, files.drop_agent_edit
function M.propose_agent_edit(o)
  local id, err = files.propose_agent_edit(o)
  return { id = id, error = err }
end

function M.set_title(buf, title)
  if vim.api.nvim_buf_is_loaded(buf) then
    local first = vim.api.nvim_buf_get_lines(buf, 0, 1, false)[1] or ""
    if first:match("^# zen") then
      vim.api.nvim_buf_set_lines(buf, 0, 1, false, { title })
      require("zen.meter").draw(buf) -- the rewritten line lost its virtual text
    end
  end
  return true
end

--- The context meter of a chat (`{used, estimate, limit}`), see zen.meter.
function M.meter(buf, session, meter)
  require("zen.meter").set(buf, session, meter)
  return true
end

function M.rename_buffer(buf, name)
  if vim.api.nvim_buf_is_valid(buf) then
    pcall(vim.api.nvim_buf_set_name, buf, "zen://" .. name)
  end
  return true
end

function M.buffer_alive(buf)
  return vim.api.nvim_buf_is_valid(buf) and vim.api.nvim_buf_is_loaded(buf)
end

--- One-line message to the user (scheduled: never blocks the backend's call).
function M.notify(message, level)
  vim.schedule(function()
    vim.notify(message, levels[level] or vim.log.levels.INFO)
  end)
  return true
end

--- Fires `User <name>`; the payload is autocmd data (0.8+) and `require("zen").last_event()`.
function M.emit(name, payload)
  vim.schedule(function()
    M.events[name] = payload
    M.last_event = payload
    require("zen.status").on_event(name, payload)
    if vim.fn.has("nvim-0.8") == 1 then
      vim.api.nvim_exec_autocmds("User", { pattern = name, data = payload, modeline = false })
    else
      vim.cmd("doautocmd <nomodeline> User " .. name)
    end
  end)
  return true
end

--- Opens the model picker (zen.models) over the catalogue rows the backend prepared, narrowed
--- by a pending `:ZenModel {text}`; the choice sets the model of the chat the command came from
--- (or the default outside a chat).
function M.show_model_picker(payload)
  vim.schedule(function()
    local models = require("zen.models")
    local pending = models.pending
    models.pending = nil
    if pending then
      payload.closest = pending.closest
    end
    models.show(payload, pending and pending.text)
  end)
  return true
end

local usage_buf_name = "zen://usage"

--- Shows `:ZenUsage` lines in a scratch buffer.
function M.show_usage(lines)
  local buf = find_buffer(usage_buf_name)
  if not buf or not vim.api.nvim_buf_is_loaded(buf) then
    buf = vim.api.nvim_create_buf(false, true)
    vim.api.nvim_buf_set_name(buf, usage_buf_name)
    vim.keymap.set("n", "q", function()
      require("zen.float").close()
    end, { buffer = buf, silent = true, nowait = true, desc = "zen: close" })
    vim.keymap.set("n", "gi", function()
      require("zen").usage("generation")
    end, { buffer = buf, silent = true, desc = "zen: ask OpenRouter about the last answers" })
  end
  vim.bo[buf].modifiable = true
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].bufhidden = "wipe"
  return buf
end

--- Appends `lines` to the usage window (what `GET /generation` said of the last answers).
function M.append_usage(lines)
  local buf = find_buffer(usage_buf_name)
  if buf and vim.api.nvim_buf_is_loaded(buf) then
    vim.bo[buf].modifiable = true
    vim.api.nvim_buf_set_lines(buf, -1, -1, false, lines)
    vim.bo[buf].modifiable = false
  end
  return true
end

--- Replaces the credit line of the usage window once `/key` answered.
function M.set_credit(line)
  local buf = find_buffer(usage_buf_name)
  if buf and vim.api.nvim_buf_is_loaded(buf) then
    for i, l in ipairs(vim.api.nvim_buf_get_lines(buf, 0, -1, false)) do
      if l:match("^credit:") then
        vim.bo[buf].modifiable = true
        vim.api.nvim_buf_set_lines(buf, i - 1, i, false, { line })
        vim.bo[buf].modifiable = false
        break
      end
    end
  end
  return true
end

--- Runs an agent (`r.run`, from the backend: the CLI itself, or `tmux attach`) in a new terminal
--- buffer shown per `layout`. The buffer is the session's (`b:zen_session`).
function M.open_terminal(r, layout)
  local old = find_buffer("zen://" .. r.name)
  if old and not M.job_running(old) then
    pcall(vim.api.nvim_buf_delete, old, { force = true })
  end
  local buf = vim.api.nvim_create_buf(true, false)
  vim.b[buf].zen_agent = true
  M.show(buf, layout)
  local backend = require("zen.backend")
  local opts = {
    cwd = r.cwd,
    on_exit = function(_, code)
      backend.notify("agent_exited", { id = r.id, code = code, tmux = r.tmux })
    end,
  }
  local job
  if vim.fn.has("nvim-0.11") == 1 then
    opts.term = true
    job = vim.fn.jobstart(r.run, opts)
  else
    job = vim.fn.termopen(r.run, opts)
  end
  if job <= 0 then
    error(("zen: could not start %s in a terminal."):format(r.run[1]), 0)
  end
  vim.b[buf].zen_session = r.id
  vim.b[buf].zen_agent = true
  pcall(vim.api.nvim_buf_set_name, buf, "zen://" .. r.name)
  -- The pid lets the backend learn which conversation a codex in a plain terminal is in.
  local ok, pid = pcall(vim.fn.jobpid, job)
  backend.notify("agent_started", { id = r.id, buf = buf, pid = ok and pid or nil, tmux = r.tmux })
  return buf
end

--- The terminal of agent session `id` whose program still runs, if any.
function M.live_terminal(id)
  for _, b in ipairs(vim.api.nvim_list_bufs()) do
    if vim.b[b].zen_session == id and vim.b[b].zen_agent and M.job_running(b) then
      return b
    end
  end
  return nil
end

--- Whether the terminal job of `buf` still runs.
function M.job_running(buf)
  local ok, job = pcall(function()
    return vim.b[buf].terminal_job_id
  end)
  return ok and job and vim.fn.jobwait({ job }, 0)[1] == -1 or false
end

--- Pastes `text` into an agent's terminal whole (bracketed paste), then Enter if asked, once
--- the program has taken the paste.
function M.paste_to_terminal(buf, text, enter)
  local job = vim.b[buf].terminal_job_id
  local function screen()
    return table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n")
  end
  local before = screen()
  vim.fn.chansend(job, "\27[200~" .. text .. "\27[201~")
  if not enter then
    return
  end
  -- An Enter that arrives while the program is still reading the paste is lost (claude keeps
  -- the text in its input box, unsent): wait until the screen has changed and settled, at most
  -- 3 s, polling on a timer so the editor never blocks.
  local last, same, waited = before, 0, 0
  local function poll()
    if not vim.api.nvim_buf_is_valid(buf) then
      return
    end
    local now = screen()
    same = now == last and same + 1 or 0
    last, waited = now, waited + 50
    if (now ~= before and same >= 3) or waited >= 3000 then
      pcall(vim.fn.chansend, job, "\r")
    else
      vim.defer_fn(poll, 50)
    end
  end
  vim.defer_fn(poll, 50)
end

--- Shows `buf` per `layout` (focusing a window that already shows it) and puts the cursor at the end.
function M.show(buf, layout)
  local win = vim.fn.bufwinid(buf)
  local shown = win ~= -1
  if shown then
    vim.api.nvim_set_current_win(win)
  elseif layout == "float" then
    win = require("zen.float").open(buf, (vim.api.nvim_buf_get_name(buf):gsub("^zen://", "zen · ")))
  else
    local cmd = ({ vsplit = "botright vsplit", split = "botright split", tab = "tab split" })[layout]
    if cmd then
      vim.cmd(cmd)
    end
    win = vim.api.nvim_get_current_win()
    vim.api.nvim_win_set_buf(win, buf)
  end
  if vim.b[buf].zen_session and not vim.b[buf].zen_agent then
    vim.wo[win].wrap = true
    vim.wo[win].linebreak = true
    if not shown then
      -- Only zen's reasoning blocks fold: a `{{{` the model writes is text.
      vim.wo[win].foldmethod = "manual"
      vim.wo[win].foldlevel = 0
      vim.wo[win].foldtext = "v:lua.require'zen.blocks'.foldtext()"
      answers.fold_all(win)
    end
    pcall(vim.api.nvim_win_set_cursor, win, { vim.api.nvim_buf_line_count(buf), 0 })
  else
    vim.wo[win].wrap = false
  end
  return win
end

return M
