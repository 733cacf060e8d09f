package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// NodeInfo is a node's heartbeat, as stored in P:node:heartbeat:NODE and
// shown by the CLI and the HTTP API.
type NodeInfo struct {
	NodeID        string   `json:"nodeId"`
	Address       string   `json:"address"`
	Version       string   `json:"version"`
	StartedAt     int64    `json:"startedAt"` // ms since the epoch
	Tasks         []string `json:"tasks"`
	MaxTasks      int      `json:"maxTasks"`      // 0: no limit
	LastHeartbeat int64    `json:"lastHeartbeat"` // ms since the epoch
	Alive         bool     `json:"alive"`
}

// Heartbeat records n as alive for ttl: its heartbeat key and its score in
// P:cluster:nodes.
func (s *Store) Heartbeat(ctx context.Context, n NodeInfo, ttl time.Duration) error {
	now := s.nowMs()
	n.LastHeartbeat = now
	n.Alive = true
	if n.Tasks == nil {
		n.Tasks = []string{}
	}
	b, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("encoding heartbeat of %s: %w", n.NodeID, err)
	}
	// Two keys in different Cluster slots: two commands in one pipeline.
	write := func() error {
		cmds, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, s.keys.NodeHeartbeat(n.NodeID), b, ttl)
			p.ZAdd(ctx, s.keys.ClusterNodes(), redis.Z{Score: float64(now), Member: n.NodeID})
			return nil
		})
		if err == nil {
			for _, c := range cmds {
				if err = c.Err(); err != nil {
					break
				}
			}
		}
		return err
	}
	err = write()
	if IsWrongType(err) {
		if _, err = s.RepairFleetKey(ctx, s.keys.ClusterNodes(), "zset"); err == nil {
			err = write()
		}
	}
	if err != nil {
		return fmt.Errorf("writing heartbeat of %s: %w", n.NodeID, err)
	}
	return nil
}

// DeleteHeartbeat deletes node's heartbeat key: the node no longer counts
// as alive.
func (s *Store) DeleteHeartbeat(ctx context.Context, node string) error {
	if err := s.rdb.Del(ctx, s.keys.NodeHeartbeat(node)).Err(); err != nil {
		return fmt.Errorf("removing heartbeat of %s: %w", node, err)
	}
	return nil
}

// RemoveNode deletes node's heartbeat and its entry in P:cluster:nodes, and
// its consumer in the command group when nothing is pending on it.
func (s *Store) RemoveNode(ctx context.Context, node string) error {
	if err := s.rdb.Del(ctx, s.keys.NodeHeartbeat(node)).Err(); err != nil {
		return fmt.Errorf("removing heartbeat of %s: %w", node, err)
	}
	if err := s.rdb.ZRem(ctx, s.keys.ClusterNodes(), node).Err(); err != nil {
		return fmt.Errorf("removing %s from %s: %w", node, s.keys.ClusterNodes(), err)
	}
	return s.DeleteConsumerIfIdle(ctx, node)
}

// delConsumerScript deletes a consumer of the command group that has no
// pending entries (XGROUP DELCONSUMER would drop pending entries).
//
// KEYS[1] P:commands
// ARGV[1] group, ARGV[2] consumer
// Returns 1 deleted, 0 kept (entries pending), -1 no such consumer.
var delConsumerScript = redis.NewScript(`
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local f = {}
  for i = 1, #c, 2 do f[c[i]] = c[i + 1] end
  if f['name'] == ARGV[2] then
    if tonumber(f['pending']) > 0 then return 0 end
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
    return 1
  end
end
return -1
`)

// DeleteConsumerIfIdle removes consumer from the command group if nothing
// is pending on it.
func (s *Store) DeleteConsumerIfIdle(ctx context.Context, consumer string) error {
	if err := delConsumerScript.Run(ctx, s.rdb, []string{s.keys.Commands()}, Group, consumer).Err(); err != nil {
		return fmt.Errorf("removing consumer %s: %w", consumer, err)
	}
	return nil
}

// Nodes lists the nodes of P:cluster:nodes with their heartbeats, sorted
// by id; a node whose heartbeat expired is listed with Alive false. The
// heartbeats are read in one pipeline.
func (s *Store) Nodes(ctx context.Context) ([]NodeInfo, error) {
	zs, err := s.rdb.ZRangeWithScores(ctx, s.keys.ClusterNodes(), 0, -1).Result()
	if IsWrongType(err) {
		if _, err = s.RepairFleetKey(ctx, s.keys.ClusterNodes(), "zset"); err == nil {
			zs, err = s.rdb.ZRangeWithScores(ctx, s.keys.ClusterNodes(), 0, -1).Result()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", s.keys.ClusterNodes(), err)
	}
	gets := make([]*redis.StringCmd, len(zs))
	if len(zs) > 0 {
		_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, z := range zs {
				gets[i] = p.Get(ctx, s.keys.NodeHeartbeat(fmt.Sprint(z.Member)))
			}
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) && !IsWrongType(err) {
			return nil, fmt.Errorf("reading heartbeats: %w", err)
		}
	}
	out := make([]NodeInfo, 0, len(zs))
	for i, z := range zs {
		id := fmt.Sprint(z.Member)
		n := NodeInfo{NodeID: id, LastHeartbeat: int64(z.Score), Tasks: []string{}}
		b, err := gets[i].Bytes()
		switch {
		case errors.Is(err, redis.Nil), IsWrongType(err): // no node's heartbeat: not alive
		case err != nil:
			return nil, fmt.Errorf("reading heartbeat of %s: %w", id, err)
		default:
			if json.Unmarshal(b, &n) == nil {
				n.Alive = true
			}
		}
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NodeID < out[j].NodeID })
	return out, nil
}

// LastHeartbeat returns when node last beat (ms since the epoch, 0 when
// P:cluster:nodes does not know it) and whether its heartbeat key is
// still there.
func (s *Store) LastHeartbeat(ctx context.Context, node string) (ms int64, alive bool, err error) {
	var score *redis.FloatCmd
	var exists *redis.IntCmd
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		score = p.ZScore(ctx, s.keys.ClusterNodes(), node)
		exists = p.Exists(ctx, s.keys.NodeHeartbeat(node))
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, false, fmt.Errorf("reading the heartbeat of %s: %w", node, err)
	}
	return int64(score.Val()), exists.Val() == 1, nil
}

// TaskInfo is a task as the CLI and the HTTP API show it.
type TaskInfo struct {
	TaskID    string `json:"taskId"`
	TaskName  string `json:"taskName"`
	TaskType  string `json:"taskType"`
	Status    string `json:"status"`
	Desired   string `json:"desired"`
	Node      string `json:"node"`
	Events    int64  `json:"events"`
	LagMs     int64  `json:"lagMs"`
	Position  string `json:"position"`
	Error     string `json:"error"`
	UpdatedAt int64  `json:"updatedAt"`
}

// Task returns one task's info; ErrUnknownTask when it has neither config
// nor status.
func (s *Store) Task(ctx context.Context, id string) (TaskInfo, error) {
	ts, err := s.tasks(ctx, []string{id})
	if err != nil {
		return TaskInfo{}, err
	}
	if len(ts) == 0 {
		return TaskInfo{}, fmt.Errorf("task %s: %w", id, ErrUnknownTask)
	}
	return ts[0], nil
}

// Tasks lists every task of P:cluster:tasks, sorted by id. A set of
// another type is repaired (rebuilt by a SCAN).
func (s *Store) Tasks(ctx context.Context) ([]TaskInfo, error) {
	ids, err := s.rdb.SMembers(ctx, s.keys.ClusterTasks()).Result()
	if IsWrongType(err) {
		if err = s.RepairTaskSet(ctx); err == nil {
			ids, err = s.rdb.SMembers(ctx, s.keys.ClusterTasks()).Result()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", s.keys.ClusterTasks(), err)
	}
	sort.Strings(ids)
	return s.tasks(ctx, ids)
}

// StateUnknown is the state shown for a task whose status key cannot be
// read (a value of another type); its error says which key.
const StateUnknown = "UNKNOWN"

// tasks reads the status and the config's name, type and desired state of
// each task in one pipeline, leaving out tasks that have neither. One
// task's damaged keys show in its own row (state UNKNOWN, error naming the
// key), never failing the list.
func (s *Store) tasks(ctx context.Context, ids []string) ([]TaskInfo, error) {
	out := make([]TaskInfo, 0, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	sts := make([]*redis.MapStringStringCmd, len(ids))
	cfs := make([]*redis.SliceCmd, len(ids))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			sts[i] = p.HGetAll(ctx, s.keys.TaskStatus(id))
			cfs[i] = p.HMGet(ctx, s.keys.TaskConfig(id), "name", "type", "desired")
		}
		return nil
	})
	if err != nil && !IsWrongType(err) {
		return nil, fmt.Errorf("reading tasks: %w", err)
	}
	for i, id := range ids {
		var problems []string
		status, serr := sts[i].Result()
		if serr != nil {
			if !IsWrongType(serr) {
				return nil, fmt.Errorf("reading status of task %s: %w", id, serr)
			}
			problems = append(problems, s.wrongType(ctx, serr, s.keys.TaskStatus(id), "hash").Error())
		}
		conf, cerr := cfs[i].Result()
		if cerr != nil {
			if !IsWrongType(cerr) {
				return nil, fmt.Errorf("reading config of task %s: %w", id, cerr)
			}
			problems = append(problems, s.wrongType(ctx, cerr, s.keys.TaskConfig(id), "hash").Error())
			conf = make([]any, 3)
		}
		name, typ, desired := toString(conf[0]), toString(conf[1]), toString(conf[2])
		if len(status) == 0 && desired == "" && len(problems) == 0 {
			continue
		}
		state := status["state"]
		switch {
		case serr != nil:
			state = StateUnknown
		case state == "":
			state = "PENDING"
		}
		t := TaskInfo{
			TaskID: id, TaskName: name, TaskType: typ, Desired: desired,
			Status: state, Node: status["node"], Events: toInt(status["events"]), LagMs: toInt(status["lag_ms"]),
			Position: status["position"], Error: status["error"], UpdatedAt: toInt(status["updated_at"]),
		}
		if len(problems) > 0 {
			if t.Error != "" && !slices.Contains(problems, t.Error) {
				problems = append(problems, t.Error)
			}
			t.Error = strings.Join(problems, "; ")
		}
		out = append(out, t)
	}
	return out, nil
}
