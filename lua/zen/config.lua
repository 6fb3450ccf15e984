-- Settings: one defaults table, validated field by field (unknown key or wrong type: an error
-- naming it). The project file and per-session arguments are merged in the backend.
local M = {}

-- The options of setup(), for LuaLS completion. The schema itself is the backend's
-- (src/config/schema.rs); a test checks these defaults, types and fields against it.

---@class zen.Config
---@field openrouter? zen.OpenRouterConfig The chat backend (OpenRouter or an OpenAI-compatible API)
---@field agents? zen.AgentsConfig Terminal agents, one table per kind
---@field references? zen.ReferencesConfig Limits of `@file`, `@image` and `#buffer`
---@field tmux? "auto"|boolean Whether agents run in tmux ("auto": when installed)
---@field tmux_socket? string Name of zen's own tmux server (`tmux -L`)
---@field layout? "vsplit"|"split"|"tab"|"float"|"current" Where chats and agents open
---@field state_dir? string Where sessions are saved (default: stdpath("state")/zen-portal)
---@field binary? string Path of the backend program
---@field log_level? string Filter of the backend's log, e.g. "debug"
---@field send? zen.SendConfig `<Plug>(zen-send)`
---@field highlight? "auto"|"treesitter"|"syntax"|"off" How chats highlight code fences
---@field system_prompt? string First system message of chats without a `## System` turn

---@class zen.SendConfig
---@field ask? boolean Ask for an instruction before sending (default true)

---@class zen.OpenRouterConfig
---@field base_url? string Endpoint of the chat completions API (the key is sent there)
---@field api_key_env? string Environment variable holding the API key
---@field api_key_cmd? string[] Program and arguments that print the key
---@field default_model? string Model of new sessions, e.g. "openai/gpt-4o"
---@field edit_model? string Model of :ZenEdit (nil: the last chat's model, else default_model)
---@field temperature? number Sent as `temperature`
---@field max_tokens? integer Sent as `max_tokens` when set
---@field fallback_models? string[] Models OpenRouter falls back to, in order
---@field provider? table Sent unchanged as `provider`
---@field reasoning? table Sent unchanged as `reasoning`, e.g. { effort = "high" }
---@field app_title? string Sent in the `X-Title` header
---@field app_url? string Sent in the `HTTP-Referer` header
---@field stall_timeout_ms? integer A stream with no bytes for this long has stalled
---@field connect_timeout_ms? integer Time allowed to connect
---@field max_retries? integer Retries before the first token (0 to 5)
---@field retry_base_ms? integer Wait before the first retry, doubled for each further one (100 to 10000)
---@field catalogue_ttl_s? integer Seconds the saved model catalogue stays fresh
---@field cache? "auto"|false Prompt caching: "auto" marks cache breakpoints for Anthropic and Gemini models
---@field pdf_engine? "pdf-text"|"mistral-ocr"|"native" How OpenRouter reads attached PDFs (nil: the model does)

---@class zen.AgentsConfig
---@field claude? zen.AgentConfig
---@field codex? zen.AgentConfig
---@field gemini? zen.AgentConfig
---@field opencode? zen.AgentConfig
---@field shell? zen.AgentConfig

---@class zen.AgentConfig
---@field cmd? string[] The program and fixed arguments (nil for shell: 'shell')
---@field send_enter? boolean Press Enter after :ZenSend pastes (default true)
---@field acp_cmd? string[] The Agent Client Protocol adapter (mode "chat"); setup() only
---@field mode? "terminal"|"chat" How :ZenNew runs it without mode=: its CLI in a terminal, or a zen chat over ACP

---@class zen.ReferencesConfig
---@field max_file_bytes? integer Largest file an `@path` or `#buffer` may add
---@field max_image_bytes? integer Largest image an `@image` may attach
---@field max_pdf_bytes? integer Largest PDF an `@paper.pdf` may attach

---@type zen.Config
M.defaults = {
  openrouter = {
    base_url = "https://openrouter.ai/api/v1",
    api_key_env = "OPENROUTER_API_KEY",
    api_key_cmd = nil,
    default_model = "anthropic/claude-sonnet-4",
    edit_model = nil,
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
    cache = "auto",
    pdf_engine = nil,
  },
  agents = {
    claude = { cmd = { "claude" }, acp_cmd = { "claude-code-acp" }, mode = "terminal" },
    codex = { cmd = { "codex" }, acp_cmd = { "codex-acp" }, mode = "terminal" },
    gemini = { cmd = { "gemini" }, acp_cmd = { "gemini", "--acp" }, mode = "terminal" },
    opencode = { cmd = { "opencode" }, acp_cmd = { "opencode", "acp" }, mode = "terminal" },
    shell = { cmd = nil, mode = "terminal" }, -- nil: 'shell'
  },
  references = {
    max_file_bytes = 512 * 1024,
    max_image_bytes = 5 * 1024 * 1024,
    max_pdf_bytes = 10 * 1024 * 1024,
  },
  tmux = "auto",
  tmux_socket = "zen-portal",
  layout = "vsplit",
  state_dir = nil,
  binary = nil,
  log_level = "info",
  send = { ask = true }, -- <Plug>(zen-send) asks for an instruction before sending
  highlight = "auto", -- code fences: "auto" (the regex syntax), "treesitter", "syntax", "off"
  system_prompt = nil,
}

-- Allowed types per dotted key (`agents.*`: each agent kind). Tables in `free` are passed
-- through unchecked inside.
M.types = {
  ["openrouter"] = "table",
  ["openrouter.base_url"] = "string",
  ["openrouter.api_key_env"] = "string",
  ["openrouter.api_key_cmd"] = "list of strings",
  ["openrouter.default_model"] = "string",
  ["openrouter.edit_model"] = "string",
  ["openrouter.temperature"] = "number",
  ["openrouter.max_tokens"] = "whole number",
  ["openrouter.fallback_models"] = "list of strings",
  ["openrouter.provider"] = "table",
  ["openrouter.reasoning"] = "table",
  ["openrouter.app_title"] = "string",
  ["openrouter.app_url"] = "string",
  ["openrouter.stall_timeout_ms"] = "whole number",
  ["openrouter.connect_timeout_ms"] = "whole number",
  ["openrouter.max_retries"] = "whole number",
  ["openrouter.retry_base_ms"] = "whole number",
  ["openrouter.catalogue_ttl_s"] = "whole number",
  ["openrouter.cache"] = "cache",
  ["openrouter.pdf_engine"] = "pdf_engine",
  ["agents"] = "table",
  ["agents.*"] = "table",
  ["agents.*.cmd"] = "list of strings",
  ["agents.*.send_enter"] = "boolean",
  ["agents.*.acp_cmd"] = "list of strings",
  ["agents.*.mode"] = "mode",
  ["references"] = "table",
  ["references.max_file_bytes"] = "whole number",
  ["references.max_image_bytes"] = "whole number",
  ["references.max_pdf_bytes"] = "whole number",
  ["tmux"] = "tmux",
  ["tmux_socket"] = "string",
  ["layout"] = "layout",
  ["state_dir"] = "string",
  ["binary"] = "string",
  ["log_level"] = "string",
  ["send"] = "table",
  ["send.ask"] = "boolean",
  ["highlight"] = "highlight",
  ["system_prompt"] = "string",
}
local types = M.types
M.free = { ["openrouter.provider"] = true, ["openrouter.reasoning"] = true }
local free = M.free
-- Inclusive bounds of numbers that must not run away (a retry storm); the backend caps them too.
M.bounds = {
  ["openrouter.max_retries"] = { 0, 5 },
  ["openrouter.retry_base_ms"] = { 100, 10000 },
}
local bounds = M.bounds
local agent_kinds = { claude = true, codex = true, gemini = true, opencode = true, shell = true }
-- Model ids: no control characters or whitespace, at most 200 bytes (the backend also refuses
-- invisible Unicode controls such as U+202E).
local function bad_model_id(id)
  return id == "" or #id > 200 or id:find("[%c%s]") ~= nil
end
local model_keys = {
  ["openrouter.default_model"] = true,
  ["openrouter.edit_model"] = true,
  ["openrouter.fallback_models"] = true,
}
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
  elseif kind == "whole number" then
    return type(v) == "number" and v >= 0 and math.floor(v) == v
  elseif kind == "tmux" then
    return v == "auto" or type(v) == "boolean"
  elseif kind == "layout" then
    return layouts[v] == true
  elseif kind == "highlight" then
    return ({ auto = true, treesitter = true, syntax = true, off = true })[v] == true
  elseif kind == "cache" then
    return v == "auto" or v == false
  elseif kind == "mode" then
    return v == "terminal" or v == "chat"
  elseif kind == "pdf_engine" then
    return ({ ["pdf-text"] = true, ["mistral-ocr"] = true, native = true })[v] == true
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
  elseif kind == "cache" then
    return '"auto" or false'
  elseif kind == "mode" then
    return "one of terminal, chat"
  elseif kind == "pdf_engine" then
    return "one of pdf-text, mistral-ocr, native"
  end
  return "a " .. kind
end

local function validate(tbl, prefix)
  for key, value in pairs(tbl) do
    local path = prefix and (prefix .. "." .. key) or tostring(key)
    local kind_name = path:match("^agents%.([^.]+)")
    local pattern = agent_kinds[kind_name] and path:gsub("^agents%.[^.]+", "agents.*") or path
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
---@param opts? zen.Config
---@return zen.Config
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
  opts.state_dir = M.state_dir()
  if opts.agents and opts.agents.shell and not opts.agents.shell.cmd then
    opts.agents.shell.cmd = { vim.o.shell }
  end
  return prune(opts)
end

return M
