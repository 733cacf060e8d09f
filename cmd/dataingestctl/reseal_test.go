package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/dataingest/dataingest/internal/testenv"
	"github.com/dataingest/dataingest/store"
	"github.com/dataingest/dataingest/task"
)

// TestReseal: reseal --check reports the configs not under the current key
// (exit 1) and changes nothing; reseal seals them under it (the old key
// alone then opens nothing, gen and the rest of the hash stay), reports a
// config no key opens (exit 1), and afterwards --check passes.
func TestReseal(t *testing.T) {
	r := testenv.StartRedis(t)
	rdb := r.Client(t)
	st := store.New(rdb, "debezium")
	ctx := context.Background()
	keyA, keyB, keyC := bytes.Repeat([]byte{0xa}, 32), bytes.Repeat([]byte{0xb}, 32), bytes.Repeat([]byte{0xc}, 32)
	b64 := base64.StdEncoding.EncodeToString
	const password = "pw-reseal-7c1d"
	cdc := `{"taskType":"MYSQL_CDC","dataSourceConfigs":[{"host":"db1","port":3306,"username":"u","password":"` + password + `"}],"cdcTables":["a.b"]}`

	store1 := func(id string, key []byte, raw string) {
		t.Helper()
		s, _ := task.NewSealer(key)
		c, err := task.Parse([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		sc, err := s.Seal(id, c)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(sc)
		if _, _, err := st.PutConfig(ctx, "1-1", id, string(b), s.Digest(c), "", string(c.TaskType), true); err != nil {
			t.Fatal(err)
		}
	}
	store1("r1", keyA, cdc)
	store1("r2", keyB, cdc)
	store1("r3", keyA, `{"taskType":"DATAGEN"}`)
	store1("r4", keyC, cdc)
	l, _, _, _ := st.AcquireLease(ctx, "r5", "n", 0) // a status without a config
	st.SetStatus(ctx, l, "state", "STOPPED")

	opens := func(id string, key []byte) bool {
		sc, err := st.LoadConfig(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var c task.Config
		json.Unmarshal([]byte(sc.Config), &c)
		s, _ := task.NewSealer(key)
		o, err := s.Open(id, &c)
		return err == nil && o.DataSourceConfigs[0].Password == password
	}
	env := []string{"DATAINGEST_REDIS_ADDRS=" + r.Addr, "DATAINGEST_SECRET_KEY=" + b64(keyB), "DATAINGEST_SECRET_KEY_PREVIOUS=" + b64(keyA)}
	hash := func(id string) map[string]string {
		m, _ := rdb.HGetAll(ctx, st.Keys().TaskConfig(id)).Result()
		return m
	}
	r1Before := hash("r1")

	// reseal runs the CLI; its table's columns are padded with blanks,
	// squashed here to one.
	reseal := func(env []string, args ...string) (int, string, string) {
		code, out, errOut := ctlEnv(t, env, append([]string{"reseal"}, args...)...)
		return code, regexp.MustCompile(` +`).ReplaceAllString(out, " "), errOut
	}
	code, out, errOut := reseal(env, "--check")
	for _, want := range []string{"r1 not sealed under the current key", "r2 up to date",
		"r3 up to date", "r4 cannot be opened: opening dataSourceConfigs[0].password",
		"0 sealed anew, 2 up to date, 1 not under the current key, 1 cannot be opened"} {
		if !strings.Contains(out, want) {
			t.Errorf("reseal --check: output lacks %q:\n%s", want, out)
		}
	}
	if code != 1 || strings.Contains(out, "r5") {
		t.Errorf("reseal --check: exit %d, output %s %s; want 1, without r5", code, out, errOut)
	}
	if !opens("r1", keyA) || opens("r1", keyB) {
		t.Fatal("reseal --check changed r1")
	}

	code, out, errOut = reseal(env)
	if code != 1 || !strings.Contains(out, "r1 sealed anew under the current key") ||
		!strings.Contains(errOut, "task configs that neither DATAINGEST_SECRET_KEY nor DATAINGEST_SECRET_KEY_PREVIOUS opens: 1;") {
		t.Errorf("reseal: exit %d, %s %s; want 1, r1 sealed anew, r4 reported", code, out, errOut)
	}
	if opens("r1", keyA) || !opens("r1", keyB) {
		t.Errorf("after reseal r1 opens with A %v, with B %v; want only B", opens("r1", keyA), opens("r1", keyB))
	}
	r1After := hash("r1")
	for k, v := range r1Before {
		if k != "config" && k != "digest" && r1After[k] != v {
			t.Errorf("reseal changed r1's %s from %q to %q", k, v, r1After[k])
		}
	}
	if c, _ := task.Parse([]byte(cdc)); r1After["digest"] != mustDigest(t, keyB, c) {
		t.Error("r1's digest is not the current key's")
	}
	if !opens("r4", keyC) {
		t.Error("reseal changed r4, which it cannot open")
	}
	for _, s := range []string{out, errOut} {
		if strings.Contains(s, password) {
			t.Errorf("reseal output shows the password: %s", s)
		}
	}
	keys, _ := rdb.Keys(ctx, "*").Result()
	for _, k := range keys {
		if typ, _ := rdb.Type(ctx, k).Result(); typ == "hash" {
			m, _ := rdb.HGetAll(ctx, k).Result()
			for f, v := range m {
				if strings.Contains(v, password) {
					t.Errorf("%s field %s holds the plain password", k, f)
				}
			}
		}
	}

	// Without r4 (which no key opens) but with another config under A:
	// --check fails on it alone; once resealed, it passes.
	rdb.Del(ctx, st.Keys().TaskConfig("r4"))
	store1("r6", keyA, cdc)
	if code, out, errOut := reseal(env, "--check"); code != 1 || !strings.Contains(out, "r6 not sealed under the current key") ||
		!strings.Contains(errOut, "task configs not sealed under the current DATAINGEST_SECRET_KEY: 1; run dataingestctl reseal") {
		t.Errorf("reseal --check with r6 under A: exit %d, %s %s; want 1 naming r6", code, out, errOut)
	}
	if code, out, errOut := reseal(env); code != 0 || !strings.Contains(out, "1 sealed anew, 3 up to date, 0 not under the current key, 0 cannot") {
		t.Errorf("reseal of r6: exit %d, %s %s; want 0", code, out, errOut)
	}
	if code, out, errOut := reseal(env, "--check"); code != 0 || !strings.Contains(out, "0 sealed anew, 4 up to date, 0 not") {
		t.Errorf("reseal --check after: exit %d, %s %s; want 0", code, out, errOut)
	}
	if code, _, errOut := reseal(env[:1]); code != 2 || !strings.Contains(errOut, "reseal needs DATAINGEST_SECRET_KEY") {
		t.Errorf("reseal without a key: exit %d, %s; want 2", code, errOut)
	}
}

func mustDigest(t *testing.T, key []byte, c *task.Config) string {
	t.Helper()
	s, err := task.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	return s.Digest(c)
}
