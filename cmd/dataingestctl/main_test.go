package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dataingest/dataingest/events"
	"github.com/dataingest/dataingest/internal/testenv"
	"github.com/dataingest/dataingest/store"
)

func ctl(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestCLI(t *testing.T) {
	r := testenv.StartRedis(t)
	t.Setenv("DATAINGEST_REDIS_ADDRS", r.Addr)
	t.Setenv("DATAINGEST_NODE_ID", "cli")
	rdb := r.Client(t)
	st := store.New(rdb, "debezium")
	ctx := context.Background()

	cfgFile := filepath.Join(t.TempDir(), "task.json")
	os.WriteFile(cfgFile, []byte(`{"taskType":"DATAGEN","datagen":{"rate":10}}`), 0o600)
	badFile := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(badFile, []byte(`{"taskType":"DATAGEN","rate":10}`), 0o600)

	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"start", "t1", "-f", cfgFile}, 0, "start t1 queued as"},
		{[]string{"start", "-f", cfgFile, "t1"}, 0, "start t1 queued as"},
		{[]string{"start", "t1", "-f", badFile}, 1, `unknown field "rate"`},
		{[]string{"start", "t9"}, 2, "needs -f CONFIG.json"},
		{[]string{"stop", "t1"}, 0, "stop t1 queued"},
		{[]string{"stop"}, 2, "one task id"},
		{[]string{"stop", "bad id"}, 2, "task id"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"status", "nope"}, 1, "unknown task"},
	}
	for _, tt := range tests {
		code, out, errOut := ctl(t, tt.args...)
		if code != tt.code || !strings.Contains(out+errOut, tt.want) {
			t.Errorf("%v: exit %d, %q %q; want exit %d containing %q", tt.args, code, out, errOut, tt.code, tt.want)
		}
	}

	// tail decodes both formats, in order, one JSON object a line.
	stream := st.Keys().TaskEvents("t1")
	for i, format := range []string{"msgpack", "json", "msgpack"} {
		codec, _ := events.NewCodec(format)
		data, err := codec.Append(nil, &events.Change{
			Op: events.OpCreate, DB: "db", Table: "t", Columns: []string{"id", "big", "bin"}, Key: []int{0},
			After: []any{int64(i), uint64(18446744073709551615), []byte{0, 0xff}},
		})
		if err != nil {
			t.Fatal(err)
		}
		rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []any{"op", "c", "table", "db.t", "data", data}})
	}
	code, out, errOut := ctl(t, "tail", "t1")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 {
		t.Fatalf("tail: exit %d, %q %q", code, out, errOut)
	}
	for i, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %d is not JSON: %s", i, l)
		}
		if !strings.Contains(l, `"big":18446744073709551615`) || !strings.Contains(l, `"bin":"AP8="`) || m["table"] != "db.t" || m["id"] == "" {
			t.Errorf("line %d = %s", i, l)
		}
	}
	if _, out, _ := ctl(t, "tail", "t1", "--count", "1"); strings.Count(out, "\n") != 1 {
		t.Errorf("tail --count 1 printed %q", out)
	}
	// --follow prints entries added later, until interrupted.
	done := make(chan string)
	go func() {
		var buf bytes.Buffer
		c := &cli{store: st, out: &buf}
		fctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		c.tail(fctx, []string{"t1", "--from", "$", "--follow", "--count", "1"})
		done <- buf.String()
	}()
	time.Sleep(300 * time.Millisecond)
	codec, _ := events.NewCodec("json")
	data, _ := codec.Append(nil, &events.Change{Op: events.OpDelete, DB: "db", Table: "t", Columns: []string{"id"}, Before: []any{int64(42)}})
	rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []any{"op", "d", "table", "db.t", "data", data}})
	if got := <-done; !strings.Contains(got, `"before":{"id":42}`) {
		t.Errorf("tail --follow printed %q", got)
	}

	// Dead letters never show a password.
	st.DeadLetter(ctx, "cli", store.Command{ID: "1-1", Fields: map[string]string{"cmd": "start", "config": `{"password":"s3cret"`}}, os.ErrInvalid)
	if _, out, _ := ctl(t, "deadletters"); strings.Contains(out, "s3cret") || !strings.Contains(out, "invalid argument") {
		t.Errorf("deadletters printed %q", out)
	}
}
