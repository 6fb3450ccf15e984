-- The `:ZenModel` picker: the backend's catalogue rows through `vim.ui.select` (any picker plugin,
-- or Neovim's own list), narrowed by `:ZenModel {text}` (fuzzy), under a header row naming the
-- columns; choosing the header sorts by price, context or recency.
local M = {}

--- The text of `:ZenModel {text}` waiting for the picker the backend opens next.
M.pending = nil

local function price(row)
  local p, c = tonumber(row.price_in), tonumber(row.price_out)
  return (p and c) and (p + c) or math.huge
end

local function context(row)
  return tonumber(row.context) or -1
end

local sorts = {
  { "recently used first, then by id" },
  { "price (in + out), cheapest first", price },
  { "context, largest first", context, true },
}

-- `rows` ordered by `key(row)` (ascending, or descending with `down`), ties in the backend's order.
local function sorted(rows, key, down)
  local out = vim.list_slice(rows) -- rows hold vim.NIL (deepcopy refuses userdata on 0.7)
  if key then
    table.sort(out, function(a, b)
      local x, y = key(a), key(b)
      if x == y then
        return a.rank < b.rank
      end
      if down then
        return x > y
      end
      return x < y
    end)
  end
  return out
end

--- The header row, aligned as the backend aligns its labels.
function M.header(rows)
  local width = 2
  for _, r in ipairs(rows) do
    width = math.max(width, vim.fn.strchars(r.id))
  end
  width = math.min(width, 48)
  local text = ("%-" .. width .. "s  %-32s  %6s  %-16s  %-10s  %s"):format(
    "id",
    "name",
    "context",
    "$/M in/out",
    "inputs",
    "flags (choose to sort)"
  )
  return { header = true, label = text }
end

--- Opens the picker over `payload.rows` (see zen.ui.show_model_picker), narrowed to `filter`,
--- sorted per `sort` (an index of `sorts`).
function M.show(payload, filter, sort)
  local rows = payload.rows
  for i, r in ipairs(rows) do
    r.rank = r.rank or i -- the backend's order: recently used first
  end
  if filter and filter ~= "" then
    rows = vim.fn.matchfuzzy(rows, filter, { key = "label" })
    if #rows == 0 then
      local close = type(payload.closest) == "table" and #payload.closest > 0
          and (" Closest: " .. table.concat(payload.closest, ", ") .. ".")
        or ""
      vim.notify(("zen: no model matches '%s'.%s :ZenModel lists them all."):format(filter, close), vim.log.levels.WARN)
      return
    end
  end
  local by = sorts[sort or 1]
  rows = sorted(rows, by[2], by[3])
  local items = { M.header(rows) }
  vim.list_extend(items, rows)
  local prompt = payload.prompt
  if filter and filter ~= "" then
    prompt = ("%s, %d matching '%s'"):format(prompt, #rows, filter)
  end
  vim.ui.select(items, {
    prompt = prompt,
    kind = "zen_models",
    format_item = function(row)
      return row.label
    end,
  }, function(row)
    if not row then
      return
    end
    if row.header then
      local names = vim.tbl_map(function(s)
        return s[1]
      end, sorts)
      vim.ui.select(names, { prompt = "zen: sort models by" }, function(_, i)
        if i then
          M.show(payload, filter, i)
        end
      end)
      return
    end
    require("zen.commands").guard(require("zen").model)(row.id, payload.target)
  end)
end

return M
