package store

// luaStreams defines helpers for scripts on streams:
// idLess(a, b) compares entry ids "ms-seq"; lastDelivered(key, group) is
// the group's last delivered id, nil when the stream has no such group.
const luaStreams = `
local function idLess(a, b)
  local am, as = string.match(a, '(%d+)-(%d+)')
  local bm, bs = string.match(b, '(%d+)-(%d+)')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am < bm or (am == bm and as < bs)
end
local function lastDelivered(key, group)
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', key)) do
    local f = {}
    for i = 1, #g, 2 do f[g[i]] = g[i + 1] end
    if f['name'] == group then return f['last-delivered-id'] end
  end
  return nil
end
`
