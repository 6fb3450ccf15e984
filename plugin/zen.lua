-- zen-portal commands. Nothing starts here: the backend starts on the first command.
if vim.g.loaded_zen_portal or vim.fn.has("nvim-0.7") == 0 then
  return
end
vim.g.loaded_zen_portal = true

local function cmd(name, fn, opts)
  vim.api.nvim_create_user_command(name, function(a)
    local commands = require("zen.commands")
    commands.guard(fn)(a, commands)
  end, opts)
end

cmd("ZenNew", function(a, c)
  require("zen").new(a.fargs[1], c.parse_args(vim.list_slice(a.fargs, 2)))
end, {
  nargs = "*",
  complete = function(...)
    return require("zen.commands").complete_new(...)
  end,
  desc = "zen: new session (:ZenNew openrouter model=... name=...)",
})
cmd("ZenSubmit", function()
  require("zen").submit()
end, { desc = "zen: send the chat buffer" })
cmd("ZenRetry", function()
  require("zen.retry").retry()
end, { desc = "zen: regenerate the last answer" })
cmd("ZenStop", function()
  require("zen").stop()
end, { desc = "zen: stop the current answer" })
cmd("ZenList", function()
  require("zen").list()
end, { desc = "zen: pick a session" })
cmd("ZenKill", function(a)
  require("zen").kill(a.args ~= "" and a.args or nil, a.bang)
end, {
  nargs = "?",
  bang = true,
  complete = function(...)
    return require("zen.commands").complete_names(...)
  end,
  desc = "zen: end a session and delete its history",
})
cmd("ZenRename", function(a)
  require("zen").rename(a.args)
end, { nargs = 1, desc = "zen: rename the current session" })
cmd("ZenWeb", function(a)
  require("zen").web(a.args)
end, {
  nargs = "?",
  complete = function()
    return { "on", "off" }
  end,
  desc = "zen: web search in this chat (on, off; nothing: toggle)",
})
cmd("ZenModel", function(a)
  require("zen").model(a.args, nil, a.bang)
end, {
  nargs = "?",
  bang = true,
  complete = function(...)
    return require("zen.commands").complete_models(...)
  end,
  desc = "zen: pick or set the model (! refreshes the catalogue)",
})
cmd("ZenSend", function(a)
  require("zen.send").command(a)
end, {
  range = true,
  nargs = "*",
  complete = function(arglead)
    return vim.tbl_map(function(n)
      return "session=" .. n
    end, require("zen.commands").complete_names((arglead:gsub("^session=", ""))))
  end,
  desc = "zen: send the range or selection (and text) as a prompt",
})
vim.keymap.set("n", "<Plug>(zen-send)", function()
  return require("zen.send").start_operator()
end, { expr = true, desc = "zen: send {motion}" })
vim.keymap.set("x", "<Plug>(zen-send)", ":<C-u>lua require('zen.send').visual()<CR>", {
  silent = true,
  desc = "zen: send the selection",
})

cmd("ZenEdit", function(a)
  require("zen.edit").command(a)
end, { range = true, nargs = "*", desc = "zen: rewrite the range (whole buffer) as a pending change" })
vim.keymap.set("n", "<Plug>(zen-edit)", function()
  return require("zen.edit").start_operator()
end, { expr = true, desc = "zen: edit {motion}" })
vim.keymap.set("x", "<Plug>(zen-edit)", ":<C-u>lua require('zen.edit').visual()<CR>", {
  silent = true,
  desc = "zen: edit the selected lines",
})
local function all_arg(a)
  if a.args ~= "" and a.args ~= "all" then
    error(("zen: unknown argument '%s'. Use 'all' or nothing."):format(a.args), 0)
  end
  return a.args == "all"
end
local function complete_all()
  return { "all" }
end
cmd("ZenAccept", function(a)
  require("zen").accept(all_arg(a), a.bang)
end, { nargs = "?", bang = true, complete = complete_all, desc = "zen: apply the pending change (all)" })
cmd("ZenReject", function(a)
  require("zen").reject(all_arg(a))
end, { nargs = "?", complete = complete_all, desc = "zen: drop the pending change (all)" })
cmd("ZenApply", function()
  require("zen").apply()
end, { desc = "zen: propose the chat's code block under the cursor as a pending change" })
cmd("ZenPending", function()
  require("zen").pending()
end, { desc = "zen: every pending change in the quickfix list" })

cmd("ZenUsage", function(a)
  require("zen").usage(a.args)
end, {
  nargs = "?",
  complete = function()
    return { "generation" }
  end,
  desc = "zen: tokens and cost (generation: ask OpenRouter about the last answers)",
})
cmd("ZenRestart", function()
  require("zen").restart()
end, { desc = "zen: restart the backend" })

vim.api.nvim_create_autocmd("VimLeavePre", {
  group = vim.api.nvim_create_augroup("zen_portal", { clear = true }),
  callback = function()
    if package.loaded["zen.backend"] then
      require("zen.backend").leaving()
    end
  end,
})
