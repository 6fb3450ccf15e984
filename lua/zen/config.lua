-- Settings: one defaults table, validated field by field (unknown key or wrong type: an error
-- naming it). The project file and per-session arguments are merged in the backend.
local M = {}

M.defaults = {
  openrouter = {
    base_url = "https://openrouter.ai/api/v1",
    api_key_env = "OPENROUTER_API_KEY",
    api_key_cmd = nil,
    default_model = "anthropic/claude-sonnet-4",
    temperature = 0.7,
    max_tokens = nil,
    fallback_models = {},
    provider = nil,
    reasoning = nil,
    app_title = "zen-portal",
    app_url = "https://github.com/zen-portal/zen-portal.nvim",
    stall_timeout_ms = 120000,
    connect_timeout_ms = 10000,
    max_retries = 2,
    retry_base_ms = 1000,
    catalogue_ttl_s = 86400,
  },
  agents = {
    claude = { cmd = { "claude" } },
    codex = { cmd = { "codex" } },
    gemini = { cmd = { "gemini" } },
    shell = { cmd = nil }, -- nil: 'shell'
  },
  references = {
    max_file_bytes = 512 * 1024,
    max_image_bytes = 5 * 1024 * 1024,
  },
  tmux = "auto",
  tmux_socket = "zen-portal",
  layout = "vsplit",
  state_dir = nil,
  binary = nil,
  log_level = "info",
  -- Chat surface (Lua only; not sent to the backend, see ui_only below).
  send = { ask = true }, -- <Plug>(zen-send) asks for an instruction before sending
  highlight = "auto", -- code fences: "auto", "treesitter", "syntax" or "off"
}

-- Allowed types per dotted key. "table" values in `free` are passed through unchecked inside.
local types = {
  ["openrouter"] = "table",
  ["openrouter.base_url"] = "string",
  ["openrouter.api_key_env"] = "string",
  ["openrouter.api_key_cmd"] = "list of strings",
  ["openrouter.default_model"] = "string",
  ["openrouter.temperature"] = "number",
  ["openrouter.max_tokens"] = "number",
  ["openrouter.fallback_models"] = "list of strings",
  ["openrouter.provider"] = "table",
  ["openrouter.reasoning"] = "table",
  ["openrouter.app_title"] = "string",
  ["openrouter.app_url"] = "string",
  ["openrouter.stall_timeout_ms"] = "number",
  ["openrouter.connect_timeout_ms"] = "number",
  ["openrouter.max_retries"] = "number",
  ["openrouter.retry_base_ms"] = "number",
  ["openrouter.catalogue_ttl_s"] = "number",
  ["agents"] = "table",
  ["agents.*"] = "table",
  ["agents.*.cmd"] = "list of strings",
  ["references"] = "table",
  ["references.max_file_bytes"] = "number",
  ["references.max_image_bytes"] = "number",
  ["tmux"] = "tmux",
  ["tmux_socket"] = "string",
  ["agents.*.send_enter"] = "boolean",
  ["layout"] = "layout",
  ["state_dir"] = "string",
  ["binary"] = "string",
  ["log_level"] = "string",
  -- Chat surface (Lua only).
  ["send"] = "table",
  ["send.ask"] = "boolean",
  ["highlight"] = "highlight",
}
local free = { ["openrouter.provider"] = true, ["openrouter.reasoning"] = true }
-- Inclusive bounds of numbers that must not run away (a retry storm); the backend caps them too.
local bounds = {
  ["openrouter.max_retries"] = { 0, 5 },
  ["openrouter.retry_base_ms"] = { 100, 10000 },
}
-- Model ids: no control characters or whitespace, at most 200 bytes (the backend also refuses
-- invisible Unicode controls such as U+202E).
local function bad_model_id(id)
  return id == "" or #id > 200 or id:find("[%c%s]") ~= nil
end
local model_keys = { ["openrouter.default_model"] = true, ["openrouter.fallback_models"] = true }
local layouts = { vsplit = true, split = true, tab = true, float = true, current = true }

local function is_list_of_strings(v)
  if type(v) ~= "table" then
    return false
  end
  for k, item in pairs(v) do
    if type(k) ~= "number" or type(item) ~= "string" then
      return false
    end
  end
  return true
end

local function check(kind, v)
  if kind == "list of strings" then
    return is_list_of_strings(v)
  elseif kind == "tmux" then
    return v == "auto" or type(v) == "boolean"
  elseif kind == "layout" then
    return layouts[v] == true
  elseif kind == "highlight" then
    return ({ auto = true, treesitter = true, syntax = true, off = true })[v] == true
  end
  return type(v) == kind
end

local function expected(kind)
  if kind == "tmux" then
    return '"auto", true or false'
  elseif kind == "layout" then
    return "one of vsplit, split, tab, float, current"
  elseif kind == "highlight" then
    return "one of auto, treesitter, syntax, off"
  end
  return "a " .. kind
end

local function validate(tbl, prefix)
  for key, value in pairs(tbl) do
    local path = prefix and (prefix .. "." .. key) or tostring(key)
    local pattern = path:gsub("^agents%.[^.]+", "agents.*")
    local kind = types[path] or types[pattern]
    if not kind then
      error(("zen: unknown option `%s`. See :help zen-options."):format(path), 0)
    end
    if not check(kind, value) then
      error(("zen: option `%s` must be %s, got %s."):format(path, expected(kind), vim.inspect(value)), 0)
    end
    local range = bounds[path]
    if range and (value < range[1] or value > range[2]) then
      error(("zen: option `%s` must be between %d and %d, got %s."):format(path, range[1], range[2], value), 0)
    end
    if model_keys[path] then
      for _, id in ipairs(type(value) == "table" and value or { value }) do
        if bad_model_id(id) then
          error(("zen: option `%s`: %s is not a model id (no spaces or control characters, at most 200 bytes)."):format(path, vim.inspect(id)), 0)
        end
      end
    end
    if kind == "table" and not free[path] then
      validate(value, path)
    end
  end
end

local function default_dir(kind, fallback)
  local ok, dir = pcall(vim.fn.stdpath, kind) -- "state" and "log" exist from Neovim 0.8
  return (ok and type(dir) == "string") and dir or vim.fn.stdpath(fallback)
end

M.options = vim.deepcopy(M.defaults)

--- Validates `opts` and merges them over the defaults. Errors name the offending field.
function M.setup(opts)
  opts = opts or {}
  if type(opts) ~= "table" then
    error("zen: setup() takes a table of options.", 0)
  end
  validate(opts, nil)
  M.options = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts)
  if opts.openrouter and opts.openrouter.fallback_models then
    M.options.openrouter.fallback_models = opts.openrouter.fallback_models -- lists replace, not merge
  end
  return M.options
end

function M.get()
  return M.options
end

function M.state_dir()
  return M.options.state_dir or (default_dir("state", "data") .. "/zen-portal")
end

function M.log_file()
  return default_dir("log", "cache") .. "/zen-portal.log"
end

-- Empty tables would cross as arrays; the backend defaults what is absent.
local function prune(v)
  if type(v) ~= "table" then
    return v
  end
  local out = {}
  for k, item in pairs(v) do
    local p = prune(item)
    if not (type(p) == "table" and next(p) == nil) then
      out[k] = p
    end
  end
  return out
end

--- The settings as the backend reads them at handshake.
function M.for_backend()
  local opts = vim.deepcopy(M.options)
  opts.send, opts.highlight = nil, nil -- chat surface options stay in Lua
  opts.state_dir = M.state_dir()
  if opts.agents and opts.agents.shell and not opts.agents.shell.cmd then
    opts.agents.shell.cmd = { vim.o.shell }
  end
  return prune(opts)
end

return M
