-- `:checkhealth zen`: binary, protocol, key (presence only), base URL, tmux and agent CLIs, and
-- the project file of the current directory (checked by the backend against its schema).
local M = {}

local h = vim.health or require("health")
local start = h.start or h.report_start
local ok = h.ok or h.report_ok
local warn = h.warn or h.report_warn
local err = h.error or h.report_error
local info = h.info or h.report_info

-- The project file (`.zen-portal.json`) that applies to the current directory: which file,
-- the keys it may not set, unknown keys and type errors (`zen-portal --check-project` reports
-- them).
local function check_project(bin)
  start("zen-portal: project file")
  local cwd = vim.fn.getcwd()
  local out = vim.fn.system({ bin, "--check-project", cwd })
  local good, report = pcall(vim.fn.json_decode, out)
  if vim.v.shell_error ~= 0 or not good or type(report) ~= "table" then
    err("could not check the project file: " .. vim.trim(tostring(out)))
    return
  end
  if type(report.file) ~= "string" then
    ok("no project file (.zen-portal.json) for " .. cwd)
    return nil
  end
  info("project file: " .. report.file)
  for _, problem in ipairs(report.problems) do
    err(problem)
  end
  if #report.problems == 0 then
    ok("project file is valid")
  else
    warn("sessions in this project are refused until the file is fixed: see :help zen-project-file")
  end
  return report.file
end

-- Which system prompt chats here get: setup, project (trusted), project (not trusted: ignored)
-- or none, and its first line. Never asks to trust.
local function check_system_prompt(file)
  start("zen-portal: system prompt")
  local trust = require("zen.trust")
  local setup = require("zen.config").get().system_prompt
  local setup_line = type(setup) == "string" and vim.trim(setup) ~= "" and setup:match("^%s*([^\n]*)")
  local f = file and io.open(file, "rb")
  local text = f and f:read("*a") or ""
  if f then
    f:close()
  end
  local project_line = trust.first_line(text)
  if project_line ~= "" then
    if trust.status(file, text) == "trusted" then
      ok(("in force: project (trusted) %s: %s"):format(file, project_line))
      return
    end
    warn(("project (not trusted: ignored) %s: %s"):format(file, project_line), {
      "a submit asks whether to trust it; see :help zen-trust",
    })
  end
  if setup_line then
    ok("in force: setup: " .. setup_line)
  else
    info("in force: none")
  end
end

function M.check()
  local backend = require("zen.backend")
  local config = require("zen.config")
  start("zen-portal")
  if vim.fn.has("nvim-0.7") == 1 then
    ok("Neovim " .. tostring(vim.version().major) .. "." .. tostring(vim.version().minor))
  else
    err("Neovim 0.7 or newer is required")
  end
  local bin = backend.binary()
  if vim.fn.executable(bin) ~= 1 then
    err(("backend not built: %s is missing"):format(bin), { "Build it: " .. backend.build_hint() })
    return
  end
  ok("backend binary: " .. bin)
  local protocol = tonumber((vim.fn.system({ bin, "--protocol" }):gsub("%s+", "")))
  if protocol ~= backend.PROTOCOL then
    err(("backend protocol %s, plugin needs %d"):format(tostring(protocol), backend.PROTOCOL), { backend.build_hint() })
    return
  end
  ok("protocol " .. backend.PROTOCOL)
  local good, facts = pcall(backend.request, "health")
  if not good then
    err(tostring(facts))
    check_system_prompt(check_project(bin))
    return
  end
  ok(("backend %s running (log: %s)"):format(facts.version, config.log_file()))
  if facts.key_present == true then
    ok("API key present in " .. facts.key_source)
  elseif type(facts.key_present) == "string" then
    info("API key from " .. facts.key_source .. ": " .. facts.key_present)
  else
    warn("no API key: " .. facts.key_source .. " is not set", { "export it before starting Neovim, or set openrouter.api_key_cmd" })
  end
  info("base URL: " .. facts.base_url)
  info("default model: " .. facts.default_model)
  info("state: " .. facts.state_dir .. " (" .. facts.sessions .. " sessions)")
  start("zen-portal: terminal agents")
  if vim.fn.executable("tmux") == 1 then
    ok("tmux found (agents outlive the editor)")
  else
    warn("tmux not found: agents run in plain terminals and end with Neovim")
  end
  if vim.fn.executable("git") == 1 then
    ok("git found (worktree=true)")
  else
    warn("git not found: worktree=true cannot be used")
  end
  for _, kind in ipairs({ "claude", "codex", "gemini" }) do
    local cmd = (config.get().agents[kind] or {}).cmd or { kind }
    if vim.fn.executable(cmd[1]) == 1 then
      ok(kind .. ": " .. vim.fn.exepath(cmd[1]))
    else
      warn(("%s: `%s` not found (needed only for %s sessions; see agents.%s.cmd)"):format(kind, cmd[1], kind, kind))
    end
  end
  check_system_prompt(check_project(bin))
end

return M
