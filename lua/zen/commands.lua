-- User commands: argument parsing, completion, and turning "zen: ..." errors into notes.
local backend = require("zen.backend")

local M = {}

M.kinds = { "openrouter", "claude", "codex", "gemini", "opencode", "shell" }
M.new_keys = { "model=", "temperature=", "name=", "dir=", "prompt=", "worktree=", "mode=", "web=", "via=" }

--- Runs `fn`; an error becomes one notification line, never a stack trace.
function M.guard(fn)
  return function(...)
    local ok, err = pcall(fn, ...)
    if not ok then
      local text = tostring(err)
      if not text:find("^zen: ") then
        text = backend.clean_error(text)
      end
      vim.notify(text, vim.log.levels.ERROR)
    end
  end
end

--- `key=value` words into a table; words without `=` continue the previous value
--- (so `prompt=explain this code` works unquoted).
function M.parse_args(words)
  local out, last = {}, nil
  for _, word in ipairs(words) do
    local key, value = word:match("^([%w_]+)=(.*)$")
    if key then
      out[key], last = value, key
    elseif last then
      out[last] = out[last] .. " " .. word
    else
      error(("zen: expected key=value, got '%s'."):format(word), 0)
    end
  end
  return out
end

local function session_names()
  if not backend.running() then
    return {}
  end
  local ok, rows = pcall(backend.request, "list")
  local names = {}
  for _, row in ipairs(ok and rows or {}) do
    table.insert(names, row.name)
  end
  return names
end

local function filter(items, prefix)
  return vim.tbl_filter(function(item)
    return vim.startswith(item, prefix)
  end, items)
end

local function model_ids()
  local ok, ids = pcall(backend.request, "model_ids")
  return ok and ids or {}
end

function M.complete_new(arglead, cmdline)
  local words = vim.split(cmdline, "%s+")
  if #words <= 2 then
    return filter(M.kinds, arglead)
  end
  if vim.startswith(arglead, "mode=") then
    return filter({ "mode=terminal", "mode=chat" }, arglead)
  end
  if vim.startswith(arglead, "model=") then
    return vim.tbl_map(function(id)
      return "model=" .. id
    end, filter(model_ids(), arglead:sub(7)))
  end
  return filter(M.new_keys, arglead)
end

function M.complete_models(arglead)
  return filter(model_ids(), arglead)
end

function M.complete_names(arglead)
  return filter(session_names(), arglead)
end

return M
