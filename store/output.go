package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Entry is one output stream entry: the change's op, its db.table and the
// encoded envelope. An entry whose Op is OpSchema is a schema history
// record instead: it goes to the task's schema stream P:task:schema:{ID}
// (fields table, data, event: the id of the output entry written just
// before it in the same write, "" when none), not to the output.
type Entry struct {
	Op    string
	Table string
	Data  []byte
}

// OpSchema marks an Entry as a schema history record.
const OpSchema = "schema"

// Batch is what one fenced write puts in Redis: entries for the output
// stream, the checkpoint after them, and the task's status.
type Batch struct {
	Entries  []Entry
	Offset   []string // checkpoint field/value pairs, after the last entry
	State    string   // RUNNING or SNAPSHOTTING
	Position string   // human-readable position for the status
	LagMs    int64
}

// OutputEntries counts the entries that go to the output stream: all but
// the schema history records.
func (b *Batch) OutputEntries() int {
	n := 0
	for i := range b.Entries {
		if b.Entries[i].Op != OpSchema {
			n++
		}
	}
	return n
}

// Overflow policies of a bounded output stream.
const (
	OverflowBlock = "block"
	OverflowTrim  = "trim"
)

// OutputLimit bounds a task's output stream: MaxLen 0 is unbounded.
type OutputLimit struct {
	MaxLen   int64
	Overflow string
}

var (
	// ErrBackpressure means the output stream is full of entries that a
	// consumer group has not read yet; nothing was written.
	ErrBackpressure = errors.New("output stream full: waiting for consumers")
	// ErrCheckpointMoved means the stored checkpoint is not the one this
	// writer last wrote (Redis lost writes, or another writer): the caller
	// must resume from the stored checkpoint. Nothing was written.
	ErrCheckpointMoved = errors.New("stored checkpoint moved")
)

// writeScript appends a batch of entries to a task's output stream and sets
// its checkpoint and status, atomically and fenced by the task's lock. It
// makes every check that can fail before its first write (Redis does not
// undo a script's writes when it fails half-way), so a batch is written
// whole or not at all.
//
// KEYS[1] P:lock:task:{ID}
// KEYS[2] P:task:events:{ID}
// KEYS[3] P:task:offset:{ID} (field batch: count of batches written)
// KEYS[4] P:task:status:{ID}
// KEYS[5] P:task:schema:{ID} (schema history: entries of op "schema")
// ARGV[1] lock value
// ARGV[2] batch number b: the write expects the offset's batch to be b-1
// ARGV[3] now, ms since the epoch
// ARGV[4] max entries of the output stream (0: unbounded)
// ARGV[5] overflow: block | trim
// ARGV[6] state to record; ARGV[7] position text; ARGV[8] lag, ms
// ARGV[9] the last output entry id this writer knows of ("0-0": the stream
// was empty; "": unknown), to tell a deleted checkpoint from a moved one
// ARGV[10] k, the number of checkpoint fields, then k field/value pairs
// then n, the number of entries, then n triples op, table, data; an entry
// of op "schema" goes to KEYS[5] instead of the output
//
// Returns {1, last entry id, repairs} written, repairs naming what it
// rebuilt ("" for nothing): "status" (a status key of another type,
// replaced), "events" (a non-numeric events counter, restarted), "offset" (a
// deleted checkpoint whose writes are all still in the output: rewritten);
// {2, ""} batch b was already written (a retry after a lost reply); {0,
// holder} lease lost; {-1, length} stream full, nothing written; {-2,
// stored batch} checkpoint moved; {-3, key, found, wanted} a damaged key,
// nothing written.
var writeScript = redis.NewScript(luaTypes + luaStreams + luaLease + `
local lt = redis.call('TYPE', KEYS[1])['ok']
if lt ~= 'string' then
  if lt == 'none' then return {0, ''} end
  return {0, '(' .. KEYS[1] .. ' is a ' .. lt .. ')'}
end
local cur = redis.call('GET', KEYS[1])
if cur ~= ARGV[1] then return {0, cur} end
local bad = badType(KEYS[2], 'stream') or badType(KEYS[3], 'hash') or badType(KEYS[5], 'stream')
if bad then return damaged(bad) end

local repairs = {}
local b = tonumber(ARGV[2])
local bs = redis.call('HGET', KEYS[3], 'batch')
if bs and not string.match(bs, '^%d+$') then
  return damaged({KEYS[3], 'batch "' .. string.sub(bs, 1, 32) .. '"', 'a count of batches in field batch'})
end
local stored = tonumber(bs or '0')
if stored == b then return {2, ''} end
if stored ~= b - 1 then
  local rebuild = false
  if not bs and b > 1 and ARGV[9] ~= '' then
    local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
    if (#last == 0 and ARGV[9] == '0-0') or (#last == 1 and last[1][1] == ARGV[9]) then rebuild = true end
  end
  if not rebuild then return {-2, tostring(stored)} end
  table.insert(repairs, 'offset')
end

local k = tonumber(ARGV[10])
local ni = 11 + 2 * k
local n = tonumber(ARGV[ni])
local maxlen = tonumber(ARGV[4])
local out = 0 -- output entries, schema records not counted
for i = ni + 1, ni + 3 * n, 3 do
  if ARGV[i] ~= 'schema' then out = out + 1 end
end

-- The oldest entry some consumer group still needs: its first pending
-- entry, else the entry after its last delivered one.
local function readFloor()
  local floor = nil
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[2])) do
    local f = {}
    for i = 1, #g, 2 do f[g[i]] = g[i + 1] end
    local need = f['last-delivered-id']
    local ms, sq = string.match(need, '(%d+)-(%d+)')
    need = ms .. '-' .. (tonumber(sq) + 1)
    if tonumber(f['pending']) > 0 then
      local p = redis.call('XPENDING', KEYS[2], f['name'])
      if idLess(p[2], need) then need = p[2] end
    end
    if floor == nil or idLess(need, floor) then floor = need end
  end
  return floor
end

if maxlen > 0 and ARGV[5] == 'block' then
  local len = redis.call('XLEN', KEYS[2])
  if len + out > maxlen then
    local floor = readFloor()
    if floor then
      redis.call('XTRIM', KEYS[2], 'MINID', floor)
      len = redis.call('XLEN', KEYS[2])
    end
    if len + out > maxlen then return {-1, tostring(len)} end
  end
end

-- The status is DataIngest's own report: rebuilt when damaged, keeping the
-- fencing counter at least at the token in use.
rebuildStatus(KEYS[4], tokenOf(ARGV[1]), repairs)
local events = redis.call('HGET', KEYS[4], 'events')
if events and not string.match(events, '^%-?%d+$') then
  redis.call('HSET', KEYS[4], 'events', '0')
  table.insert(repairs, 'events')
end

local id = ''
for i = ni + 1, ni + 3 * n, 3 do
  if ARGV[i] == 'schema' then
    redis.call('XADD', KEYS[5], '*', 'table', ARGV[i + 1], 'data', ARGV[i + 2], 'event', id)
  else
    id = redis.call('XADD', KEYS[2], '*', 'op', ARGV[i], 'table', ARGV[i + 1], 'data', ARGV[i + 2])
  end
end
if maxlen > 0 and ARGV[5] == 'trim' then
  redis.call('XTRIM', KEYS[2], 'MAXLEN', '~', maxlen)
end
if k > 0 then
  redis.call('HSET', KEYS[3], 'batch', b, unpack(ARGV, 11, 10 + 2 * k))
else
  redis.call('HSET', KEYS[3], 'batch', b)
end
redis.call('HINCRBY', KEYS[4], 'events', out)
redis.call('HSET', KEYS[4], 'state', ARGV[6], 'position', ARGV[7], 'lag_ms', ARGV[8], 'error', '', 'updated_at', ARGV[3])
return {1, id, table.concat(repairs, ',')}
`)

// OutputWriter writes one task's batches under one lease, one at a time
// (Write) or with several in flight (Send). It reuses its argument
// buffers, so it is for one goroutine.
type OutputWriter struct {
	s     *Store
	lease Lease
	limit OutputLimit
	batch int64  // batches written so far, as stored in the checkpoint
	sent  int64  // the number of the last batch sent: batch while none is in flight
	tail  string // last output entry id known: "0-0" empty stream, "" not read yet
	keys  []string
	args  [][]any        // argument buffers not in use
	boxed map[string]any // op and table names as interface values, made once
}

// box returns s as an interface value, reusing the one made for an equal
// string before: a batch's entries share a few ops and tables, and boxing
// each anew made two allocations per entry.
func (w *OutputWriter) box(s string) any {
	if v, ok := w.boxed[s]; ok {
		return v
	}
	if w.boxed == nil || len(w.boxed) >= 256 {
		w.boxed = make(map[string]any, 16)
	}
	var v any = s
	w.boxed[s] = v
	return v
}

// NewOutputWriter returns a writer for l's task that continues after the
// stored checkpoint's batch count (the "batch" field of LoadOffset).
func (s *Store) NewOutputWriter(l Lease, limit OutputLimit, storedBatch int64) *OutputWriter {
	k := s.keys
	return &OutputWriter{
		s: s, lease: l, limit: limit, batch: storedBatch, sent: storedBatch,
		keys: []string{k.TaskLock(l.Task), k.TaskEvents(l.Task), k.TaskOffset(l.Task), k.TaskStatus(l.Task), k.TaskSchema(l.Task)},
	}
}

// Write appends b to the output stream, sets the checkpoint and status, all
// in one fenced script. It returns the last entry's id ("" when b had no
// entries or was written by an earlier attempt). ErrLeaseLost,
// ErrBackpressure, ErrCheckpointMoved and ErrDamagedKey mean nothing was
// written; any other error may or may not have written b, and calling Write
// again with the same b is safe: a batch is never written twice. No write
// Send started may be in flight.
func (w *OutputWriter) Write(ctx context.Context, b *Batch) (string, error) {
	w.sent = w.batch // the batch after the last written, also after a failed attempt
	return w.Send(ctx, b).Wait()
}

// Pending is a write Send started.
type Pending struct {
	w      *OutputWriter
	number int64 // the batch's number
	args   []any
	done   chan struct{}
	res    []any
	err    error
}

// Number is the batch's number: the count of batches written with it.
func (p *Pending) Number() int64 { return p.number }

// Done is closed when the write has ended; Wait then returns at once.
func (p *Pending) Done() <-chan struct{} { return p.done }

// Send starts writing b as the batch after the last one sent and returns
// without waiting for Redis: Redis runs the scripts of the writes in
// flight one after the other, each after the one before it, so the next
// batch is there when Redis has run the previous one. b's entries must not
// change until the write has ended. Each write expects the checkpoint of
// the one sent before it, so batches are written in order, once each, also
// when Redis runs them in another order (the pool may send them on
// different connections): a write that comes too early fails with
// ErrCheckpointMoved and writes nothing. The caller waits for the writes
// in the order sent; after any error it waits for all of them, calls
// Resync and writes the batches not written again one at a time.
func (w *OutputWriter) Send(ctx context.Context, b *Batch) *Pending {
	w.sent++
	p := &Pending{w: w, number: w.sent, done: make(chan struct{})}
	if w.tail == "" {
		// The output's last entry, so that a checkpoint deleted from
		// under this writer can be told from one that moved.
		last, err := w.s.rdb.XRevRangeN(ctx, w.keys[1], "+", "-", 1).Result()
		switch {
		case IsWrongType(err):
		case err != nil:
			p.err = fmt.Errorf("reading the last entry of %s: %w", w.keys[1], err)
			close(p.done)
			return p
		case len(last) == 0:
			w.tail = "0-0"
		default:
			w.tail = last[0].ID
		}
	}
	// The tail tells a deleted checkpoint from one that moved, and the
	// script rewrites a deleted one when the output still ends at the
	// tail. Behind a write in flight the tail is not known: were this
	// write run first, the output would end at the old tail and the
	// script would take the checkpoint the earlier write has not yet
	// made for a deleted one, and skip that write's batch.
	tail := w.tail
	if p.number > w.batch+1 {
		tail = ""
	}
	var args []any
	if n := len(w.args); n > 0 {
		args, w.args = w.args[n-1][:0], w.args[:n-1]
	}
	args = append(args, w.lease.Value, p.number, w.s.nowMs(), w.limit.MaxLen, w.limit.Overflow,
		b.State, b.Position, b.LagMs, tail, len(b.Offset)/2)
	for _, f := range b.Offset {
		args = append(args, f)
	}
	args = append(args, len(b.Entries))
	for i := range b.Entries {
		e := &b.Entries[i]
		args = append(args, w.box(e.Op), w.box(e.Table), e.Data)
	}
	p.args = args
	go func() {
		defer close(p.done)
		p.res, p.err = writeScript.Run(ctx, w.s.rdb, w.keys, args...).Slice()
	}()
	return p
}

// Wait waits for the write to end and returns what Write would have.
func (p *Pending) Wait() (string, error) {
	<-p.done
	w := p.w
	if p.args != nil {
		clear(p.args) // drop references to the batch's data
		w.args = append(w.args, p.args)
		p.args = nil
	}
	res, err := p.res, p.err
	next := p.number
	if err != nil {
		return "", fmt.Errorf("writing batch %d of task %s: %w", next, w.lease.Task, err)
	}
	switch toInt(res[0]) {
	case 1:
		w.batch = max(w.batch, next) // a batch written means every one before it was
		id := toString(res[1])
		if id != "" {
			w.tail = id
		}
		w.s.repaired(w.lease.Task, res, 2) // the repair hook logs what the write rebuilt
		return id, nil
	case 2:
		w.batch = max(w.batch, next)
		w.tail = "" // written by an earlier attempt: read the tail again
		return "", nil
	case 0:
		return "", fmt.Errorf("writing task %s (lock held by %q): %w", w.lease.Task, toString(res[1]), ErrLeaseLost)
	case -1:
		return "", fmt.Errorf("writing task %s (%s entries, outputMaxLen %d): %w", w.lease.Task, toString(res[1]), w.limit.MaxLen, ErrBackpressure)
	case -3:
		return "", fmt.Errorf("writing batch %d of task %s: %w", next, w.lease.Task, damagedReply(res))
	default:
		return "", fmt.Errorf("writing task %s (stored batch %s, expected %d): %w", w.lease.Task, toString(res[1]), next-1, ErrCheckpointMoved)
	}
}

// Written is the number of batches known written, the last one's number.
func (w *OutputWriter) Written() int64 { return w.batch }

// Resync makes the next batch sent the one after the last known written
// and reads the output's tail again: after a failed write, once every
// write sent has ended.
func (w *OutputWriter) Resync() {
	w.sent, w.tail = w.batch, ""
}

// LoadSchema returns the data of every record of a task's schema history
// (P:task:schema:{ID}), oldest first.
func (s *Store) LoadSchema(ctx context.Context, task string) ([][]byte, error) {
	key := s.keys.TaskSchema(task)
	msgs, err := s.rdb.XRange(ctx, key, "-", "+").Result()
	if err != nil {
		err = s.wrongType(ctx, err, key, "stream")
		return nil, fmt.Errorf("reading the schema history %s: %w", key, err)
	}
	out := make([][]byte, 0, len(msgs))
	for _, m := range msgs {
		if d, ok := m.Values["data"].(string); ok {
			out = append(out, []byte(d))
		}
	}
	return out, nil
}
