-- Trusting a project file's `system_prompt` (`:help zen-trust`). `.zen-portal.json` comes from a
-- cloned repository, so its prompt is sent only once the user trusts that exact text, remembered
-- by its sha256: in Neovim's trust database on 0.9+ (`vim.secure.trust`, the one `:trust` uses),
-- else in zen's state_dir (`trust`, the same "<sha256> <path>" lines, replaced atomically). A
-- changed file has a new hash and is asked again; "Not now" holds until Neovim restarts.
local M = {}

local uv = vim.uv or vim.loop

-- path -> hash the user said "Not now" to in this Neovim.
local declined = {}

local function use_secure()
  return vim.secure ~= nil and vim.secure.trust ~= nil
end

local function db_path()
  if use_secure() then
    return vim.fn.stdpath("state") .. "/trust"
  end
  return require("zen.config").state_dir() .. "/trust"
end

-- path -> hash ("!" when denied).
local function read_db()
  local db = {}
  local f = io.open(db_path(), "r")
  if f then
    for line in (f:read("*a") or ""):gmatch("[^\n]+") do
      local hash, file = line:match("^(%S+) (.+)$")
      if hash then
        db[file] = hash
      end
    end
    f:close()
  end
  return db
end

-- zen's own database (0.7/0.8): written beside, then renamed over, so it is never half written.
local function write_db(db)
  local lines = {}
  for file, hash in pairs(db) do
    table.insert(lines, hash .. " " .. file .. "\n")
  end
  local path = db_path()
  local tmp = path .. ".tmp-" .. tostring(uv.os_getpid())
  local f = io.open(tmp, "w")
  if not f then
    return false
  end
  f:write(table.concat(lines))
  f:close()
  return os.rename(tmp, path) ~= nil
end

-- Neovim's database hashes the file's buffer: load it unseen (no autocmds, no LSP), trust it.
local function secure_allow(full)
  local existing = vim.fn.bufnr(full)
  local buf = existing ~= -1 and existing or vim.fn.bufadd(full)
  local ignore = vim.o.eventignore
  vim.o.eventignore = "all"
  pcall(vim.fn.bufload, buf)
  vim.o.eventignore = ignore
  pcall(vim.secure.trust, { action = "allow", bufnr = buf })
  if existing == -1 then
    pcall(vim.api.nvim_buf_delete, buf, { force = true })
  end
end

--- "trusted", "denied" or "unknown": whether the file at `path`, holding `text`, is trusted.
--- Never asks.
function M.status(path, text)
  local full = uv.fs_realpath(path)
  local good, hash = pcall(vim.fn.sha256, text)
  if not full or not good then
    return "unknown"
  end
  local entry = read_db()[full]
  if entry == "!" then
    return "denied"
  end
  return entry == hash and "trusted" or "unknown"
end

--- The first line of the project's `system_prompt` in `text` (the file's JSON), for showing.
function M.first_line(text)
  local good, json = pcall(vim.fn.json_decode, text)
  local prompt = good and type(json) == "table" and json.system_prompt
  if type(prompt) ~= "string" then
    return ""
  end
  return (prompt:match("^%s*([^\n]*)") or ""):sub(1, 120)
end

--- Whether to use the `system_prompt` of the project file `path` whose text is `text`: asks the
--- user (a confirm) when this version of the file is neither trusted nor denied.
function M.ask(path, text)
  local status = M.status(path, text)
  if status ~= "unknown" then
    return status == "trusted"
  end
  local full = uv.fs_realpath(path) or path
  local hash = vim.fn.sha256(text)
  if declined[full] == hash then
    return false
  end
  local question = ("zen: %s sets a system_prompt for every chat in this project:\n  %s\nTrust this file?")
    :format(full, M.first_line(text))
  if vim.fn.confirm(question, "&Trust\n&Not now", 2) ~= 1 then
    declined[full] = hash
    return false
  end
  if use_secure() then
    secure_allow(full)
  else
    local db = read_db()
    db[full] = hash
    write_db(db)
  end
  return M.status(path, text) == "trusted"
end

return M
