-- The backend process: started on the first command, checked by a protocol handshake, restarted
-- by the next command if it dies. Requests raise "zen: ..." errors; commands turn them into notes.
local config = require("zen.config")

local M = {}

M.PROTOCOL = 6

local state = { chan = nil, pid = nil, stderr = {}, leaving = false }

--- The plugin's root directory (where `cargo build --release` puts the binary).
function M.root()
  local source = debug.getinfo(1, "S").source:sub(2)
  return vim.fn.fnamemodify(source, ":p:h:h:h")
end

function M.binary()
  return config.get().binary or (M.root() .. "/target/release/zen-portal")
end

function M.build_hint()
  return ("cd %s && cargo build --release"):format(vim.fn.fnameescape(M.root()))
end

local function on_exit(job, code)
  if job ~= state.chan then
    return -- an earlier backend, already replaced or stopped on purpose
  end
  state.chan, state.pid = nil, nil
  if state.leaving then
    return
  end
  pcall(require("zen.ui").close_open_answers) -- the user's next prompt must not join a dead answer
  if package.loaded["zen.review"] then
    pcall(require("zen.review").backend_gone) -- its edits' pending changes cannot finish
  end
  local last = state.stderr[#state.stderr]
  vim.schedule(function()
    vim.notify(
      ("zen: the backend exited (code %d%s). The next zen command restarts it; log: %s"):format(
        code,
        last and (": " .. last) or "",
        config.log_file()
      ),
      vim.log.levels.ERROR
    )
  end)
end

local function on_stderr(_, data)
  for _, line in ipairs(data or {}) do
    if line ~= "" then
      table.insert(state.stderr, line)
      if #state.stderr > 20 then
        table.remove(state.stderr, 1)
      end
    end
  end
end

--- Starts the backend if it is not running; returns the RPC channel.
function M.ensure()
  if state.chan then
    return state.chan
  end
  local bin = M.binary()
  if vim.fn.executable(bin) ~= 1 then
    error(("zen: the backend is not built (%s is missing). Build it: %s"):format(bin, M.build_hint()), 0)
  end
  local opts = config.get()
  state.stderr = {}
  local chan = vim.fn.jobstart({ bin, "--log-file", config.log_file(), "--log-level", opts.log_level }, {
    rpc = true,
    on_exit = on_exit,
    on_stderr = on_stderr,
  })
  if chan <= 0 then
    error(("zen: could not start the backend %s. Rebuild it: %s"):format(bin, M.build_hint()), 0)
  end
  state.chan = chan
  local ok, info = pcall(vim.rpcrequest, chan, "hello", { protocol = M.PROTOCOL, config = config.for_backend() })
  if not ok then
    M.stop()
    error(("zen: the backend failed its handshake (%s). Rebuild it: %s"):format(M.clean_error(info), M.build_hint()), 0)
  end
  if type(info) ~= "table" or info.protocol ~= M.PROTOCOL then
    M.stop()
    error(
      ("zen: the backend speaks protocol %s but the plugin needs %d. Rebuild it: %s"):format(
        type(info) == "table" and tostring(info.protocol) or "?",
        M.PROTOCOL,
        M.build_hint()
      ),
      0
    )
  end
  state.pid = info.pid
  return chan
end

--- Extracts our one-line message from an RPC error ("Error invoking ...: zen: ...").
function M.clean_error(err)
  local text = tostring(err)
  local at = text:find("zen: ", 1, true)
  if at then
    return (text:sub(at):gsub("\n.*", ""))
  end
  if text:find("closed", 1, true) or text:find("Invalid channel", 1, true) then
    return "zen: the backend went away. The next zen command restarts it."
  end
  return "zen: " .. text:gsub("\n", " ")
end

--- Sends a request and returns its result; raises "zen: ..." on failure.
function M.request(method, args)
  local chan = M.ensure()
  local ok, result = pcall(vim.rpcrequest, chan, method, args or vim.empty_dict())
  if not ok then
    error(M.clean_error(result), 0)
  end
  return result
end

--- Sends a notification if the backend runs (never starts it). Not while Neovim quits (v:exiting
--- is set before buffers unload, VimLeavePre fires after): those buffers are not chats being
--- closed; the backend saves and marks running answers "interrupted" when told to exit.
function M.notify(method, args)
  if state.chan and not state.leaving and vim.v.exiting == vim.NIL then
    pcall(vim.rpcnotify, state.chan, method, args)
  end
end

function M.running()
  return state.chan ~= nil
end

function M.pid()
  return state.pid
end

function M.stop()
  if state.chan then
    local chan = state.chan
    state.chan, state.pid = nil, nil
    pcall(vim.fn.jobstop, chan)
    pcall(require("zen.ui").close_open_answers) -- its answers end here
    if package.loaded["zen.review"] then
      pcall(require("zen.review").backend_gone)
    end
  end
end

--- Neovim is leaving: the backend exits on its own when stdin closes; do not report it.
function M.leaving()
  state.leaving = true
end

return M
