-- What `require("zen").status()` shows, kept from stream events so statuslines never wait on RPC.
local M = {}

local sessions = {} -- id -> { name, model, cost, ctx (the context meter), streaming }

function M.on_event(name, p)
  if type(p) ~= "table" or type(p.session) ~= "string" then
    return
  end
  local s = sessions[p.session] or {}
  s.name, s.model = p.name or s.name, p.model or s.model
  if name == "ZenStreamStart" then
    s.streaming = true
  elseif name == "ZenStreamDone" then
    s.streaming = false
    if type(p.session_cost) == "number" then
      s.cost = p.session_cost
    end
  end
  sessions[p.session] = s
  -- Events arrive in scheduled callbacks, after which newer Neovims (0.12) do not redraw statuslines by
  -- itself: without this the last answer's `streaming` stays on screen.
  pcall(vim.cmd, "redrawstatus!")
end

--- A cost in USD as the backend writes it everywhere (notes, :ZenUsage): `$0`, `$0.000102`
--- under a cent, `$0.2500` from a cent up, `$?` unknown.
function M.cost(c)
  if type(c) ~= "number" then
    return "$?"
  elseif c == 0 then
    return "$0"
  elseif c >= 0.01 then
    return ("$%.4f"):format(c)
  end
  return ("$%.6f"):format(c)
end

function M.remember(id, info)
  sessions[id] = vim.tbl_extend("force", sessions[id] or {}, info)
end

--- A short line for the current buffer's session, or "" outside chats.
function M.line()
  local id = vim.b.zen_session
  local s = id and sessions[id]
  if not s then
    return ""
  end
  local cost = type(s.cost) == "number" and (" · " .. M.cost(s.cost)) or ""
  local ctx = s.ctx and (" · " .. s.ctx) or ""
  return ("zen %s · %s%s%s · %s"):format(s.name or "?", s.model or "?", cost, ctx, s.streaming and "streaming" or "idle")
end

return M
