-- zen-portal: AI sessions in Neovim. The public Lua API; every command calls one of these.
-- Logic lives in the Rust backend; this module forwards requests and shows results.
local backend = require("zen.backend")
local config = require("zen.config")
local ui = require("zen.ui")
local status = require("zen.status")

local M = {}

--- Whether setup() has run (`make run` calls it only when the user's config did not).
M.configured = false

--- Validates and stores options (see :help zen-options). Starts nothing.
---@param opts? zen.Config
function M.setup(opts)
  config.setup(opts)
  M.configured = true
  if backend.running() then
    vim.notify("zen: settings changed; they apply after :ZenRestart (or the next Neovim).", vim.log.levels.WARN)
  end
end

local function current_target()
  local buf = vim.api.nvim_get_current_buf()
  return { buf = buf, session = vim.b[buf].zen_session }
end

-- Where to show a session opened from a command: in this window when it already shows one of
-- zen's buffers (a chat, an agent, the usage), else per the `layout` option.
local function layout_here()
  if vim.b.zen_session or vim.api.nvim_buf_get_name(0) == "zen://usage" then
    return "current"
  end
  return config.get().layout
end

local function remember(result)
  if result and result.id then
    status.remember(result.id, { name = result.name, model = result.model })
  end
end

--- `:ZenNew {kind} [key=value ...]`: a new session, shown per `layout`.
function M.new(kind, args)
  kind = kind or "openrouter"
  if not args or next(args) == nil then
    args = vim.empty_dict()
  end
  if kind ~= "openrouter" then
    local r = backend.request("new_agent", { kind = kind, args = args, cwd = vim.fn.getcwd() })
    if r.chat then -- an agent over ACP: a chat buffer
      remember(r)
      ui.show(r.buf, config.get().layout)
      if r.submit then
        M.submit(r.buf)
      elseif vim.api.nvim_get_current_buf() == r.buf then
        vim.cmd("startinsert!")
      end
      return r
    end
    r.buf = ui.open_terminal(r, config.get().layout)
    vim.cmd("startinsert") -- terminal mode: the agent takes keys at once
    return r
  end
  local result = backend.request("new_chat", { args = args, cwd = vim.fn.getcwd() })
  remember(result)
  ui.show(result.buf, config.get().layout)
  if args.prompt == nil and vim.api.nvim_get_current_buf() == result.buf then
    vim.cmd("startinsert!") -- the cursor is under `## User`: type the prompt
  end
  return result
end

--- `:ZenSubmit`: sends the chat buffer's conversation.
function M.submit(buf)
  buf = buf or vim.api.nvim_get_current_buf()
  return backend.request("submit", { buf = buf, session = vim.b[buf].zen_session, origin = ui.origin_buffer() })
end

--- `:ZenSend`: sends `sel` (see zen.send) to a session; asks which one when there is no obvious
--- target. Shows the target's window.
function M.send(sel)
  local req = vim.tbl_extend("force", sel, { cwd = vim.fn.getcwd(), buf = vim.api.nvim_get_current_buf() })
  req.session = vim.b.zen_session
  local r = backend.request("send", req)
  if r.pick then
    local rows = r.pick
    table.insert(rows, { name = "new openrouter chat", new_chat = true })
    vim.ui.select(rows, {
      prompt = "zen: send to",
      kind = "zen_send_target",
      format_item = require("zen.picker").format_target,
    }, function(row)
      if row then
        local again = vim.tbl_extend("force", sel, { new_chat = row.new_chat == true, name = row.new_chat and nil or row.name })
        require("zen.commands").guard(M.send)(again)
      end
    end)
    return
  end
  if r.agent then
    if r.paste then -- a plain terminal: paste through its channel
      local open = M.open(r.id)
      if not (open.buf and ui.job_running(open.buf)) then
        error(("zen: %s is not running; it was revived, send again."):format(r.name), 0)
      end
      ui.paste_to_terminal(open.buf, r.paste, r.enter)
    else
      M.open(r.id)
    end
    return r
  end
  remember(r)
  ui.show(r.buf, config.get().layout)
  return r
end

--- `:ZenStop`: cancels the current chat's answer (the partial answer stays, marked), or the
--- edit streaming in this buffer (what arrived stays as the pending change).
function M.stop()
  local editing = package.loaded["zen.review"] and require("zen.review").streaming_in(vim.api.nvim_get_current_buf())
  if editing and editing.session then
    return backend.request("stop", { name = editing.session })
  end
  local r = backend.request("stop", current_target())
  if not r.stopped then
    vim.notify("zen: nothing is streaming in this chat.", vim.log.levels.INFO)
  end
  return r
end

--- `:ZenCompact`: the model summarises the earlier turns of the chat in `buf` (in the
--- background; a notification says when the `## Summary` is in).
function M.compact(buf)
  buf = buf or vim.api.nvim_get_current_buf()
  return backend.request("compact", { buf = buf, session = vim.b[buf].zen_session })
end

--- Opens a session by id or name (its live buffer, or rebuilt from history). `picked`: the user
--- chose it (:ZenList): shown in this window if it is zen's, an agent in terminal mode.
function M.open(name, picked)
  local r = backend.request("open", { name = name })
  local layout = picked and layout_here() or config.get().layout
  if r.run then -- an agent: show its live terminal, else attach (or revive) in a new one
    local live = ui.live_terminal(r.id)
    if live then
      ui.show(live, layout)
      -- The backend may have restarted: tell it again (the pid lets it watch a plain codex).
      local ok, pid = pcall(vim.fn.jobpid, vim.b[live].terminal_job_id)
      backend.notify("agent_started", { id = r.id, buf = live, pid = ok and pid or nil, tmux = r.tmux })
      r.buf = live
    else
      r.buf = ui.open_terminal(r, layout)
      r.revived = r.revived or not r.tmux
    end
    if picked then
      vim.cmd("startinsert")
    end
    if r.revived then
      local note = (type(r.note) == "string" and r.note ~= "") and ("; " .. r.note) or ""
      vim.notify(("zen: revived %s%s."):format(r.name, note), vim.log.levels.INFO)
    end
    return r
  end
  remember(r)
  status.remember(r.id, { cost = r.cost })
  ui.show(r.buf, layout)
  return r
end

local function wipe(buf)
  if type(buf) == "number" and vim.api.nvim_buf_is_valid(buf) then
    pcall(vim.api.nvim_buf_delete, buf, { force = true })
  end
end

--- How a kill prompt names a session: its name and kind (ids mean nothing to a reader).
local function describe(target, fallback)
  local key = target.name or target.session
  local ok, rows = pcall(backend.request, "list")
  for _, row in ipairs(ok and rows or {}) do
    if key and (row.id == key or row.name == key) then
      return ("%s (%s)"):format(row.name, row.kind)
    end
  end
  return fallback
end

--- `:ZenKill[!] [name]`: ends a session and deletes its history (asks first without `!`).
function M.kill(name, force)
  local target = (name and name ~= "") and { name = name } or current_target()
  if not force then
    local label = describe(target, (name and name ~= "") and name or "this session")
    if vim.fn.confirm(("Delete zen session %s and its history?"):format(label), "&Yes\n&No", 2) ~= 1 then
      return
    end
  end
  target.force = force == true
  local r = backend.request("kill", target)
  wipe(r.buf)
  local note = type(r.note) == "string" and ("; " .. r.note) or ""
  vim.notify(("zen: killed %s%s."):format(r.name, note), vim.log.levels.INFO)
  return r
end

--- `:ZenWeb [on|off]`: the current chat's web search (no argument: toggle). Says which it is now.
function M.web(state)
  local t = current_target()
  t.state = (state ~= nil and state ~= "") and state or nil
  local r = backend.request("set_web", t)
  vim.notify(("zen: web search %s for %s."):format(r.web and "on" or "off", r.name), vim.log.levels.INFO)
  return r
end

--- `:ZenRename {name}`: renames the current session (or `target`, a name).
function M.rename(new_name, target)
  local t = target and { name = target } or current_target()
  t.new_name = new_name
  return backend.request("rename", t)
end

--- `:ZenModel[!] [id]`: sets the model of the current chat (outside a chat: the default for new
--- chats, remembered). Without an id, opens the picker; with text that is not an id, the picker
--- narrowed to what matches it; `!` refreshes the catalogue first.
function M.model(id, target, refresh)
  if not target and vim.b.zen_acp then -- an agent chat: the agent's own models and modes
    return require("zen.acp").model(id)
  end
  target = target or current_target()
  if id and id:find(" ") and not id:find("%c") then -- words, not an id
    require("zen.models").pending = { text = id }
    id = nil
  end
  if not id or id == "" then
    backend.ensure()
    backend.notify("pick_model", vim.tbl_extend("force", target, { refresh = refresh == true }))
    return
  end
  local req = vim.tbl_extend("force", target, { model = id, refresh = refresh == true })
  local r = backend.request("set_model", req)
  if r.unknown then -- not an id: the picker, narrowed to what matches it
    require("zen.models").pending = { text = id, closest = r.closest }
    backend.notify("pick_model", vim.tbl_extend("force", target, { refresh = false }))
    return r
  end
  local unchecked = r.checked and "" or " (not checked: no model catalogue yet)"
  if r.scope == "session" then
    status.remember(r.id, { model = r.model })
    vim.notify(("zen: %s now uses %s%s."):format(r.name, r.model, unchecked), vim.log.levels.INFO)
  else
    vim.notify(("zen: new chats will use %s%s."):format(r.model, unchecked), vim.log.levels.INFO)
  end
  return r
end

--- `:ZenList`: pick a session, then open, rename or kill it.
function M.list()
  local rows = backend.request("list")
  if #rows == 0 then
    vim.notify("zen: no sessions yet. Start one with :ZenNew openrouter.", vim.log.levels.INFO)
    return
  end
  require("zen.picker").pick(rows, function(action, row)
    local run = require("zen.commands").guard(function()
      if action == "open" or action == "revive" then
        M.open(row.id, true)
      elseif action == "kill" then
        M.kill(row.id, false)
      elseif action == "rename" then
        vim.ui.input({ prompt = "New name: ", default = row.name }, function(input)
          if input and input ~= "" then
            require("zen.commands").guard(M.rename)(input, row.id)
          end
        end)
      end
    end)
    run()
  end)
  return rows
end

--- `:ZenUsage`: tokens and cost per session, model and day, and the key's remaining credit
--- (filled in when OpenRouter answers).
--- With `what` = "generation" (`:ZenUsage generation`, `gi` in the window), also asks OpenRouter
--- about the last answers (provider, latency, cache discount), appended when it answers.
function M.usage(what)
  if what ~= nil and what ~= "" and what ~= "generation" then
    error(("zen: :ZenUsage takes 'generation' or nothing, not '%s'."):format(what), 0)
  end
  local u = backend.request("usage")
  local buf = ui.show_usage(u.lines)
  ui.show(buf, config.get().layout)
  backend.notify("credit", vim.empty_dict())
  if what == "generation" then
    backend.notify("generations", vim.empty_dict())
  end
  return u
end

--- `:ZenRestart`: stops the backend; the next command starts it with the current settings.
function M.restart()
  backend.stop()
  backend.ensure()
end

--- `:[range]ZenEdit {instruction}`: lines `first`..`last` (1-based) rewritten by the model,
--- streamed in as a pending change.
function M.edit(first, last, instruction)
  return require("zen.edit").run(first, last, instruction)
end

--- `:ZenAccept[!] [all]`: applies this buffer's pending change (or every one); `!` is an agent's
--- "allow always".
function M.accept(all, always)
  local review = require("zen.review")
  if vim.b.zen_acp and not review.of_session(vim.b.zen_session) then -- its oldest chat permission
    return require("zen.acp").answer(always and "always" or "allow")
  end
  return review.accept(all, always)
end

--- `:ZenReject [all]`: drops this buffer's pending change (or every one).
function M.reject(all)
  if vim.b.zen_acp and not require("zen.review").of_session(vim.b.zen_session) then
    return require("zen.acp").answer("reject")
  end
  return require("zen.review").reject(all)
end

--- `:ZenApply`: the code block under the cursor in a chat answer, as a pending change.
function M.apply()
  return require("zen.apply").apply()
end

--- `:ZenPending`: every pending change in the quickfix list.
function M.pending()
  return require("zen.review").pending()
end

--- A short string for statuslines: session, model, cost, streaming or idle ("" outside chats).
function M.status()
  return status.line()
end

--- The payload of the last `User ZenStream*` event (Neovim 0.7 has no autocmd data).
function M.last_event(name)
  if name then
    return ui.events[name]
  end
  return ui.last_event
end

return M
