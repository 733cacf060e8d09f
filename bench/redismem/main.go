// Command redismem measures what a task's output stream costs Redis in
// memory: it XADDs N change events, encoded by the node's own codecs with
// the node's fields (op, table, data), to a stream of the Redis at -addr,
// and reports used_memory before and after and MEMORY USAGE of the stream,
// per million entries. The rows have the shape of `make bench`'s tables
// (eight columns: BIGINT key, INT, two VARCHARs, DECIMAL, DATETIME(6),
// DOUBLE, a status) from a MariaDB binlog with GTIDs.
//
// Run it against a private, empty redis-server, never a production one:
//
//	redis-server --port 16400 --dir "$(mktemp -d)" --save '' --appendonly no &
//	go run ./bench/redismem -addr 127.0.0.1:16400 -n 1000000
//
// It deletes its own stream (redismem:events:{FORMAT}) before and after.
package main

import (
	"bufio"
	"context"
	"crypto/md5"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dataingest/dataingest/events"
)

func main() {
	addr := flag.String("addr", "", "host:port of a private Redis (required)")
	n := flag.Int("n", 1_000_000, "entries to write per format and shape")
	formats := flag.String("formats", "msgpack,json", "comma-separated formats")
	shapes := flag.String("shapes", "insert,update", "comma-separated row shapes: insert (after only), update (before and after)")
	flag.Parse()
	if *addr == "" {
		fmt.Fprintln(os.Stderr, "redismem: -addr is required")
		os.Exit(2)
	}
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: *addr})
	defer rdb.Close()
	if err := report(ctx, rdb, *n, strings.Split(*formats, ","), strings.Split(*shapes, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "redismem:", err)
		os.Exit(1)
	}
}

// report measures every format and shape in turn and prints one line each.
func report(ctx context.Context, rdb *redis.Client, n int, formats, shapes []string) error {
	cfg, err := rdb.ConfigGet(ctx, "stream-node-max-*").Result()
	if err != nil {
		return err
	}
	ver, _ := info(ctx, rdb, "server", "redis_version")
	fmt.Printf("redis %s, stream-node-max-bytes %s, stream-node-max-entries %s, %d entries each\n",
		ver, cfg["stream-node-max-bytes"], cfg["stream-node-max-entries"], n)
	fmt.Printf("%-8s %-7s %10s %14s %14s %12s\n", "format", "shape", "data B/ent", "used MiB/1M", "stream MiB/1M", "B/entry")
	for _, f := range formats {
		for _, shape := range shapes {
			r, err := measure(ctx, rdb, f, shape, n)
			if err != nil {
				return fmt.Errorf("%s %s: %w", f, shape, err)
			}
			perM := float64(1_000_000) / float64(n) / (1 << 20)
			fmt.Printf("%-8s %-7s %10.0f %14.1f %14.1f %12.0f\n", f, shape, float64(r.dataBytes)/float64(n),
				float64(r.usedDelta)*perM, float64(r.streamBytes)*perM, float64(r.streamBytes)/float64(n))
		}
	}
	return nil
}

type result struct {
	dataBytes   int64 // sum of the data fields' lengths
	usedDelta   int64 // used_memory after minus before
	streamBytes int64 // MEMORY USAGE of the stream, every node sampled
}

// measure writes n events of one format and shape to a fresh stream.
func measure(ctx context.Context, rdb *redis.Client, format, shape string, n int) (result, error) {
	codec, err := events.NewCodec(format)
	if err != nil {
		return result{}, err
	}
	key := "redismem:events:{" + format + "}"
	if err := rdb.Del(ctx, key).Err(); err != nil {
		return result{}, err
	}
	defer rdb.Del(context.WithoutCancel(ctx), key)
	before, err := usedMemory(ctx, rdb)
	if err != nil {
		return result{}, err
	}
	var r result
	const batch = 1000
	var data []byte
	for lo := 1; lo <= n; lo += batch {
		p := rdb.Pipeline()
		for id := lo; id < lo+batch && id <= n; id++ {
			c := change(int64(id), shape)
			if data, err = codec.Append(data[:0], c); err != nil {
				return result{}, err
			}
			r.dataBytes += int64(len(data))
			p.XAdd(ctx, &redis.XAddArgs{Stream: key, Values: []any{"op", string(c.Op), "table", c.DB + "." + c.Table, "data", string(data)}})
		}
		if _, err := p.Exec(ctx); err != nil {
			return result{}, err
		}
	}
	after, err := usedMemory(ctx, rdb)
	if err != nil {
		return result{}, err
	}
	r.usedDelta = after - before
	r.streamBytes, err = rdb.MemoryUsage(ctx, key, 0).Result()
	return r, err
}

// change is row id of the bench table as a MariaDB binlog task sees it:
// an insert, or an update of every non-key column but one.
func change(id int64, shape string) *events.Change {
	sum := md5.Sum([]byte(strconv.FormatInt(id, 10)))
	created := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(id)*time.Second + time.Duration(id%1_000_000)*time.Microsecond)
	row := []any{
		id, (id * 7919) % 1_000_000,
		fmt.Sprintf("customer-%09d-%s", id, hex.EncodeToString(sum[:])[:16]),
		fmt.Sprintf("%d.%02d", (id%1_000_000)/100, id%100),
		created.Format("2006-01-02T15:04:05.000000"),
		fmt.Sprintf("user%d@example.com", id), float64(id) / 7,
		[]string{"NEW", "PAID", "SHIPPED", "DONE"}[id%4],
	}
	gtid := "0-1-" + strconv.FormatInt(1000+id/100, 10)
	ts := created.UnixMilli()
	c := &events.Change{
		Op: events.OpCreate, TsMs: ts + 3, DB: "shop", Table: "orders",
		Columns: []string{"id", "customer_id", "customer", "amount", "created_at", "email", "score", "status"},
		Key:     []int{0}, After: row,
		Source: events.Source{Flavor: "mariadb", ServerID: 1, File: "mysql-bin.000042", Pos: uint32(4 + id*97%1_000_000_000),
			GTID: gtid, Row: int(id % 100), TsMs: ts},
		Tx: events.Tx{ID: gtid, Seq: id % 100},
	}
	if shape == "update" {
		before := append([]any(nil), row...)
		before[1], before[3], before[7] = row[1].(int64)-1, "0.00", "NEW"
		c.Op, c.Before = events.OpUpdate, before
	}
	return c
}

func usedMemory(ctx context.Context, rdb *redis.Client) (int64, error) {
	v, err := info(ctx, rdb, "memory", "used_memory")
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(v, 10, 64)
}

// info returns one field of an INFO section.
func info(ctx context.Context, rdb *redis.Client, section, field string) (string, error) {
	text, err := rdb.Info(ctx, section).Result()
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":"); ok && k == field {
			return v, nil
		}
	}
	return "", fmt.Errorf("INFO %s has no %s", section, field)
}
