package store

// luaStreams defines helpers for scripts on streams:
// idLess(a, b) compares entry ids "ms-seq"; lastDelivered(key, group) is
// the group's last delivered id, nil when the stream has no such group.
// luaLease defines the lock and status helpers of the per-task scripts:
// holds(key, value): the lock key is a string holding value (a lock of
// another type is nobody's);
// readLock(key, ttl, repairs): the lock's value (nil when free) after
// repairing what no holder can have written: a lock of another type is
// deleted ("lock"), one without a TTL gets ttl ms ("lock-ttl"), so that it
// expires like any lease;
// rebuildStatus(key, fence, repairs): a status of another type is replaced
// by a hash holding only the fencing counter fence ("status").
const luaLease = `
local function holds(key, value)
  return redis.call('TYPE', key)['ok'] == 'string' and redis.call('GET', key) == value
end
local function readLock(key, ttl, repairs)
  local t = redis.call('TYPE', key)['ok']
  if t == 'none' then return nil end
  if t ~= 'string' then
    redis.call('DEL', key)
    table.insert(repairs, 'lock')
    return nil
  end
  if redis.call('PTTL', key) == -1 then
    redis.call('PEXPIRE', key, ttl)
    table.insert(repairs, 'lock-ttl')
  end
  return redis.call('GET', key)
end
local function rebuildStatus(key, fence, repairs)
  local t = redis.call('TYPE', key)['ok']
  if t == 'none' or t == 'hash' then return end
  redis.call('DEL', key)
  redis.call('HSET', key, 'fence', fence)
  table.insert(repairs, 'status')
end
local function tokenOf(value) return string.match(value, '(%d+)$') or '0' end
`

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
