-- How a chat buffer looks: zen's highlight groups (linked to standard ones, :help zen-highlights)
-- put on zen's own rows by position (the title, role headers, `> [zen]` notes), never found by
-- reading what the model wrote; and code fences highlighted in their language, by treesitter
-- where Neovim has the markdown parser, else by the regex markdown syntax with the fences' languages.
local config = require("zen.config")

local M = {}

M.ns = vim.api.nvim_create_namespace("zen_look")

local links = {
  ZenTitle = "Title",
  ZenUserHeader = "Title",
  ZenAssistantHeader = "Identifier",
  ZenSystemHeader = "PreProc",
  ZenNote = "Comment",
  ZenError = "ErrorMsg",
  ZenReasoning = "Comment",
  ZenBlockMarker = "Folded",
  ZenWaiting = "Comment",
  ZenMeter = "Comment",
  ZenFloatTitle = "FloatTitle",
}

--- Links zen's groups to standard ones unless the user (or a colorscheme) set them.
function M.define()
  for group, target in pairs(links) do
    if target == "FloatTitle" and vim.fn.hlexists("FloatTitle") == 0 then
      target = "Title" -- FloatTitle is 0.9+
    end
    vim.cmd(("highlight default link %s %s"):format(group, target))
  end
end

M.define()
vim.api.nvim_create_autocmd("ColorScheme", {
  group = vim.api.nvim_create_augroup("zen_look", { clear = true }),
  callback = M.define,
})

--- Highlights row `row` (0-based) of `buf` as `group`.
function M.line(buf, row, group)
  local text = vim.api.nvim_buf_get_lines(buf, row, row + 1, false)[1]
  if text then
    vim.api.nvim_buf_clear_namespace(buf, M.ns, row, row + 1)
    vim.api.nvim_buf_set_extmark(buf, M.ns, row, 0, { end_row = row, end_col = #text, hl_group = group, priority = 150 })
  end
end

--- Highlights the notes zen wrote under an answer: rows `first` to `last` (0-based, inclusive).
function M.notes(buf, first, last)
  for i, text in ipairs(vim.api.nvim_buf_get_lines(buf, first, last + 1, false)) do
    if text:sub(1, 7) == "> [zen]" or text:match("^%[%d+%]: ") then -- notes, web footnotes
      M.line(buf, first + i - 1, text:match("^> %[zen%] error") and "ZenError" or "ZenNote")
    end
  end
end

local headers = { ["## User"] = "ZenUserHeader", ["## System"] = "ZenSystemHeader" }

--- Highlights zen's rows outside the answers (`in_answer(row)`): the title and role headers.
function M.outside(buf, in_answer)
  for i, text in ipairs(vim.api.nvim_buf_get_lines(buf, 0, -1, false)) do
    local row = i - 1
    if not in_answer(row) then
      if row == 0 and text:match("^# zen") then
        M.line(buf, row, "ZenTitle")
      elseif headers[text] then
        M.line(buf, row, headers[text])
      end
    end
  end
end

-- Code fences ---------------------------------------------------------------------------------

local function has_parser(lang)
  if vim.fn.has("nvim-0.10") == 0 then
    return false -- older treesitter markdown needs plugins; the regex syntax is the fallback
  end
  local ok, found = pcall(vim.treesitter.language.add, lang)
  return ok and found ~= false
end

--- How `buf`'s code is highlighted: "treesitter", "syntax" or "off" (the `highlight` option).
--- "auto" is the regex syntax: measured with a UI attached (make bench), treesitter re-parses
--- at every flush (probe p99 25-29 ms at 3000 tokens/s, 68 ms in the 1 MB flood); the regex
--- syntax only highlights the rows on screen (3.4 ms and 21 ms).
function M.mode()
  local want = config.get().highlight or "auto"
  if want == "auto" then
    return "syntax"
  end
  if want == "treesitter" and not has_parser("markdown") then
    return "syntax"
  end
  return want
end

-- The regex syntax includes the languages of `g:markdown_fenced_languages` when it loads: the
-- list is extended with the languages of this buffer's fences (those with a syntax file) while
-- the syntax reloads, then the user's list is put back.
local function reload_syntax(buf, langs)
  local saved = vim.g.markdown_fenced_languages
  local list = vim.deepcopy(saved or {})
  for _, l in ipairs(langs) do
    if not vim.tbl_contains(list, l) then
      table.insert(list, l)
    end
  end
  vim.g.markdown_fenced_languages = list
  vim.api.nvim_buf_call(buf, function()
    vim.cmd("syntax clear")
    vim.bo[buf].syntax = "markdown"
  end)
  vim.g.markdown_fenced_languages = saved
end

--- Notes the fence languages in rows `first`..`last` of `buf`; with the regex syntax, reloads it
--- when a new one (with a syntax file) appeared.
function M.fences(buf, first, last)
  if vim.b[buf].zen_highlight ~= "syntax" or vim.fn.exists("syntax_on") == 0 then
    return
  end
  local known = vim.b[buf].zen_fences or {}
  local added = false
  for _, text in ipairs(vim.api.nvim_buf_get_lines(buf, first, last < 0 and -1 or last + 1, false)) do
    local lang = text:match("^%s*```+%s*([%w_+-]+)") or text:match("^%s*~~~+%s*([%w_+-]+)")
    if lang and not vim.tbl_contains(known, lang) then
      if #vim.api.nvim_get_runtime_file("syntax/" .. lang .. ".vim", false) > 0 then
        table.insert(known, lang)
        added = true
      end
    end
  end
  if added then
    vim.b[buf].zen_fences = known
    reload_syntax(buf, known)
  end
end

--- Turns highlighting on for a new chat buffer (after its filetype is set).
function M.attach(buf)
  local mode = M.mode()
  vim.b[buf].zen_highlight = mode
  if mode == "treesitter" then
    if not pcall(vim.treesitter.start, buf, "markdown") then
      vim.b[buf].zen_highlight = "syntax"
    end
  elseif mode == "off" then
    vim.bo[buf].syntax = "off"
  end
  M.fences(buf, 0, -1)
end

return M
