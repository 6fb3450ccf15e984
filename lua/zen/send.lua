-- Capturing code to send: a range, the exact visual selection (characterwise, linewise or
-- blockwise), or an operator's motion. Formatting and delivery happen in the backend.
local M = {}

-- Yanks with `motion` into register z (restored after) and returns the lines, as Vim itself
-- cuts them: exact for multi-byte text, `$` selections and blocks.
local function yank(motion)
  local saved, saved_type = vim.fn.getreg("z", 1, true), vim.fn.getregtype("z")
  local view = vim.fn.winsaveview()
  vim.cmd("silent noautocmd normal! " .. motion .. '"zy')
  local lines = vim.fn.getreg("z", 1, true)
  vim.fn.setreg("z", saved, saved_type)
  vim.fn.winrestview(view)
  return lines
end

-- `#buffer` in the text means this file, unless we are in a chat or a special buffer.
local function origin()
  if vim.b.zen_session or vim.bo.buftype ~= "" then
    return require("zen.ui").origin_buffer()
  end
  return vim.api.nvim_get_current_buf()
end

local function selection(lines, first, last)
  return {
    lines = lines,
    first = first,
    last = last,
    path = vim.api.nvim_buf_get_name(0),
    filetype = vim.bo.filetype,
    origin = origin(),
  }
end

local function parse_text(words)
  local name, rest = nil, {}
  for _, w in ipairs(words or {}) do
    local n = w:match("^session=(.+)$")
    if n then
      name = n
    else
      table.insert(rest, w)
    end
  end
  return table.concat(rest, " "), name
end

--- `:[range]ZenSend [session=name] [text]`. A range equal to the last visual selection sends
--- that exact selection (characterwise and blockwise too).
function M.command(opts)
  local mode = vim.fn.visualmode()
  local visual = opts.range == 2
    and opts.line1 == vim.fn.line("'<")
    and opts.line2 == vim.fn.line("'>")
    and (mode == "v" or mode == "\22")
  local sel
  if visual then
    sel = selection(yank("gv"), opts.line1, opts.line2)
  elseif opts.range > 0 then
    sel = selection(vim.api.nvim_buf_get_lines(0, opts.line1 - 1, opts.line2, false), opts.line1, opts.line2)
  else
    sel = selection({}, nil, nil)
  end
  sel.instruction, sel.name = parse_text(opts.fargs)
  return require("zen").send(sel)
end

-- Sends `sel` from the mapping: first asks for an instruction (`send.ask`, the default; Esc
-- cancels, an empty one sends the code alone), else at once.
local function deliver(sel)
  local send = require("zen.commands").guard(require("zen").send)
  sel.instruction = ""
  if not require("zen.config").get().send.ask then
    return send(sel)
  end
  vim.ui.input({ prompt = "zen: instruction (empty: none): " }, function(input)
    if input ~= nil then
      sel.instruction = input
      send(sel)
    end
  end)
end

--- `<Plug>(zen-send)` in visual mode.
function M.visual()
  deliver(selection(yank("gv"), vim.fn.line("'<"), vim.fn.line("'>")))
end

--- 'operatorfunc' of `<Plug>(zen-send)`: sends the text the motion covered.
function M.operator(kind)
  local motion = ({ line = "'[V']", char = "`[v`]", block = "`[\22`]" })[kind] or "'[V']"
  deliver(selection(yank(motion), vim.fn.line("'["), vim.fn.line("']")))
end

--- Starts the operator (`<Plug>(zen-send)ip`).
function M.start_operator()
  vim.o.operatorfunc = "v:lua.require'zen.send'.operator"
  return "g@"
end

return M
