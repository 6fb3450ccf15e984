-- `:[range]ZenEdit {instruction}` and `<Plug>(zen-edit)`: captures the lines, their context and
-- diagnostics, opens a pending change (zen.review) and asks the backend to stream the model's
-- replacement into it. Nothing in the buffer changes until the user accepts.
local M = {}

--- Lines of context sent above and below the range.
M.context = 5

local function diagnostics(buf, first, last)
  local out = {}
  if not vim.diagnostic then
    return out
  end
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    if d.lnum >= first - 1 and d.lnum <= last - 1 then
      table.insert(out, { lnum = d.lnum, severity = d.severity, message = d.message })
    end
  end
  return out
end

--- Starts an edit of lines `first`..`last` (1-based) of the current buffer.
function M.run(first, last, instruction)
  local buf = vim.api.nvim_get_current_buf()
  if vim.b[buf].zen_session or vim.bo[buf].buftype ~= "" then
    error("zen: :ZenEdit works on a file's buffer, not a chat or special buffer.", 0)
  end
  if not instruction or vim.trim(instruction) == "" then
    error("zen: :ZenEdit needs an instruction, e.g. :ZenEdit add error handling.", 0)
  end
  local review = require("zen.review")
  local id, err = review.propose(buf, {
    first = first - 1,
    last = last - 1,
    lines = {},
    streaming = true,
    backend = true,
    source = "zen edit",
  })
  if not id then
    error(err, 0)
  end
  local get = vim.api.nvim_buf_get_lines
  local ok, r = pcall(require("zen.backend").request, "edit", {
    review = id,
    path = vim.api.nvim_buf_get_name(buf),
    filetype = vim.bo[buf].filetype,
    first = first,
    last = last,
    lines = get(buf, first - 1, last, false),
    before = get(buf, math.max(0, first - 1 - M.context), first - 1, false),
    after = get(buf, last, last + M.context, false),
    diagnostics = diagnostics(buf, first, last),
    instruction = instruction,
    cwd = vim.fn.getcwd(),
  })
  local change = review.get(id)
  if not ok then
    if change then
      review.discard(id)
    end
    error(r, 0)
  end
  if change then
    change.session = r.name
    review.set_source(id, r.model)
  end
  return r
end

--- `:[range]ZenEdit {instruction}` (no range: the whole buffer).
function M.command(opts)
  local first, last = 1, vim.api.nvim_buf_line_count(0)
  if opts.range > 0 then
    first, last = opts.line1, opts.line2
  end
  return M.run(first, last, opts.args)
end

local function ask(first, last)
  vim.ui.input({ prompt = "zen edit: " }, function(text)
    if text and vim.trim(text) ~= "" then
      require("zen.commands").guard(M.run)(first, last, text)
    end
  end)
end

--- `<Plug>(zen-edit)` in visual mode: the selected lines.
function M.visual()
  ask(vim.fn.line("'<"), vim.fn.line("'>"))
end

--- 'operatorfunc' of `<Plug>(zen-edit)`: the lines the motion covered.
function M.operator()
  ask(vim.fn.line("'["), vim.fn.line("']"))
end

--- Starts the operator (`<Plug>(zen-edit)ip`).
function M.start_operator()
  vim.o.operatorfunc = "v:lua.require'zen.edit'.operator"
  return "g@"
end

return M
