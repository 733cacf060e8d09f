package task

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

var (
	key1 = bytes.Repeat([]byte{1}, KeySize)
	key2 = bytes.Repeat([]byte{2}, KeySize)
)

// twoSources is a config with a primary (password "hunter2") and a replica
// without a password.
func twoSources(t *testing.T) *Config {
	t.Helper()
	c, err := Parse([]byte(`{"taskType":"MYSQL_CDC","cdcTables":["a.b"],"dataSourceConfigs":[
		{"host":"p","port":1,"username":"u","password":"hunter2"},
		{"host":"r","port":2,"username":"u"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSealOpen(t *testing.T) {
	s := mustSealer(t, key1)
	c := twoSources(t)
	orig := c.Clone()

	sealed, err := s.Seal("t1", c)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, orig) {
		t.Errorf("Seal changed its argument: %+v", c)
	}
	pw := sealed.DataSourceConfigs[0].Password
	if !strings.HasPrefix(pw, SealedPrefix) || !IsSealed(pw) || strings.Contains(pw, "hunter2") {
		t.Errorf("sealed password = %q", pw)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(pw, SealedPrefix))
	if err != nil || len(raw) != 12+len("hunter2")+16 {
		t.Errorf("sealed payload: %d bytes, %v; want nonce(12)+ciphertext(7)+tag(16)", len(raw), err)
	}
	if got := sealed.DataSourceConfigs[1].Password; got != "" {
		t.Errorf("empty password sealed to %q", got)
	}
	if js, _ := json.Marshal(sealed); bytes.Contains(js, []byte("hunter2")) {
		t.Errorf("sealed JSON contains the password: %s", js)
	}

	// A fresh nonce each time.
	again, _ := s.Seal("t1", c)
	if again.DataSourceConfigs[0].Password == pw {
		t.Error("two seals gave the same ciphertext")
	}
	// Sealing a sealed config for the same task and endpoint keeps it.
	twice, err := s.Seal("t1", sealed)
	if err != nil || twice.DataSourceConfigs[0].Password != pw {
		t.Errorf("sealing a sealed config: %v, changed: %v", err, twice != nil && twice.DataSourceConfigs[0].Password != pw)
	}

	opened, err := s.Open("t1", sealed)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(opened, orig) {
		t.Errorf("Open(Seal(c)) = %+v, want %+v", opened, orig)
	}
	// Plain passwords pass through Open.
	if plain, err := s.Open("t1", c); err != nil || !reflect.DeepEqual(plain, orig) {
		t.Errorf("Open(plain) = %+v, %v", plain, err)
	}
	// The stored form survives JSON and Parse.
	back, err := Parse([]byte(jsonString(t, sealed)))
	if err != nil {
		t.Fatal(err)
	}
	if opened, err := s.Open("t1", back); err != nil || opened.DataSourceConfigs[0].Password != "hunter2" {
		t.Errorf("Open(Parse(JSON(sealed))) = %+v, %v", opened, err)
	}
}

// TestSealBinding: a sealed value opens only for the task id, host and
// port it was sealed for, in Open and in Seal (a value copied into another
// task's start command is refused, naming the field and not the value).
func TestSealBinding(t *testing.T) {
	s := mustSealer(t, key1)
	sealed, err := s.Seal("t1", twoSources(t))
	if err != nil {
		t.Fatal(err)
	}
	pw := sealed.DataSourceConfigs[0].Password
	moved := func(edit func(*DataSource)) *Config {
		c := sealed.Clone()
		edit(&c.DataSourceConfigs[0])
		return c
	}
	tests := []struct {
		name string
		id   string
		c    *Config
	}{
		{"another task", "t2", sealed},
		{"a task whose id extends it", "t1x", sealed},
		{"another host", "t1", moved(func(d *DataSource) { d.Host = "evil.example.com" })},
		{"another port", "t1", moved(func(d *DataSource) { d.Port = 3307 })},
		{"moved to the replica", "t1", moved(func(d *DataSource) { d.Host, d.Port = "r", 2 })},
		{"host and port shifted", "t1", moved(func(d *DataSource) { d.Host, d.Port = "p1", 0 })},
		{"another key", "t1", sealed}, // opened with key2 below
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := s
			if tt.name == "another key" {
				s = mustSealer(t, key2)
			}
			got, err := s.Open(tt.id, tt.c)
			if err == nil {
				t.Fatalf("Open(%s) = %+v, want an error", tt.id, got.DataSourceConfigs[0])
			}
			want := "opening dataSourceConfigs[0].password: it was sealed for another task or endpoint, or with another DATAINGEST_SECRET_KEY (while keys are rotated, give the old one in DATAINGEST_SECRET_KEY_PREVIOUS): sealed password cannot be opened"
			if err.Error() != want || !errors.Is(err, ErrSecretKey) {
				t.Errorf("Open error = %v, want %s", err, want)
			}
			_, err = s.Seal(tt.id, tt.c)
			want = "dataSourceConfigs[0].password: was sealed for another task or endpoint, or with another DATAINGEST_SECRET_KEY (while keys are rotated, give the old one in DATAINGEST_SECRET_KEY_PREVIOUS): send the plain password"
			if err == nil || err.Error() != want || !errors.Is(err, ErrInvalid) {
				t.Errorf("Seal error = %v, want %s", err, want)
			}
			if err != nil && strings.Contains(err.Error(), pw[len(SealedPrefix):len(SealedPrefix)+8]) {
				t.Errorf("Seal error shows the value: %v", err)
			}
		})
	}
}

// TestSealPrefixedPlaintext: a plain password that starts with a prefix but
// is no envelope is sealed like any other (it used to be stored as is).
func TestSealPrefixedPlaintext(t *testing.T) {
	s := mustSealer(t, key1)
	for _, pw := range []string{
		SealedPrefix, SealedPrefix + "hunter2", LegacySealedPrefix + "hunter2", LegacySealedPrefix,
		SealedPrefix + base64.StdEncoding.EncodeToString(make([]byte, 27)), // one byte short
		SealedPrefix + "AAAA" + strings.Repeat("A", 36) + "=",              // bad padding
		"ENC:V2:" + base64.StdEncoding.EncodeToString(make([]byte, 40)),
	} {
		c := twoSources(t)
		c.DataSourceConfigs[0].Password = pw
		sealed, err := s.Seal("t1", c)
		if err != nil {
			t.Errorf("Seal(%q): %v", pw, err)
			continue
		}
		got := sealed.DataSourceConfigs[0].Password
		if got == pw || !IsSealed(got) || !strings.HasPrefix(got, SealedPrefix) {
			t.Errorf("Seal(%q) = %q, want it sealed", pw, got)
		}
		opened, err := s.Open("t1", sealed)
		if err != nil || opened.DataSourceConfigs[0].Password != pw {
			t.Errorf("Open(Seal(%q)) = %v, %v", pw, opened, err)
		}
		// Without a key, Seal and Open leave it plain.
		for _, none := range []*Sealer{nil, mustSealer(t, nil)} {
			plain, err := none.Seal("t1", c)
			if err != nil || plain.DataSourceConfigs[0].Password != pw {
				t.Errorf("keyless Seal(%q) = %v, %v", pw, plain, err)
			}
			if opened, err := none.Open("t1", plain); err != nil || opened.DataSourceConfigs[0].Password != pw {
				t.Errorf("keyless Open(%q) = %v, %v", pw, opened, err)
			}
		}
	}
}

// legacySeal seals pw the way versions before the binding did.
func legacySeal(t *testing.T, key []byte, pw string) string {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	nonce := bytes.Repeat([]byte{7}, aead.NonceSize())
	return LegacySealedPrefix + base64.StdEncoding.EncodeToString(aead.Seal(nonce, nonce, []byte(pw), []byte("dataingest task password v1")))
}

// TestLegacySealed: a v1 value stored by an earlier version still opens
// from the stored config; an incoming one is refused (it is bound to
// nothing, so it could have been copied from any task).
func TestLegacySealed(t *testing.T) {
	s := mustSealer(t, key1)
	stored := twoSources(t)
	stored.DataSourceConfigs[0].Password = legacySeal(t, key1, "hunter2")
	if !stored.LegacySealed() || twoSources(t).LegacySealed() {
		t.Error("LegacySealed wrong")
	}
	opened, err := s.Open("t1", stored)
	if err != nil || opened.DataSourceConfigs[0].Password != "hunter2" {
		t.Fatalf("Open(v1) = %v, %v", opened, err)
	}
	if opened.LegacySealed() {
		t.Error("LegacySealed of the opened config")
	}
	_, err = mustSealer(t, key2).Open("t1", stored)
	want := "opening dataSourceConfigs[0].password: it was sealed (in the old enc:v1: format) with another DATAINGEST_SECRET_KEY (while keys are rotated, give the old one in DATAINGEST_SECRET_KEY_PREVIOUS): sealed password cannot be opened"
	if err == nil || err.Error() != want || !errors.Is(err, ErrSecretKey) {
		t.Errorf("Open(v1) with another key: %v, want %s", err, want)
	}
	_, err = s.Seal("t1", stored)
	want = "dataSourceConfigs[0].password: is sealed in the old enc:v1: format, which is bound to no task and endpoint: send the plain password"
	if err == nil || err.Error() != want || !errors.Is(err, ErrInvalid) {
		t.Errorf("Seal(v1) = %v, want %s", err, want)
	}
	// Sending the plain password binds it.
	resealed, err := s.Seal("t1", opened)
	if err != nil || !strings.HasPrefix(resealed.DataSourceConfigs[0].Password, SealedPrefix) {
		t.Errorf("Seal(opened v1) = %v, %v", resealed, err)
	}
}

func jsonString(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSealerWithoutKey(t *testing.T) {
	sealed, err := mustSealer(t, key1).Seal("t1", twoSources(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Sealer{mustSealer(t, nil), mustSealer(t, []byte{}), nil} {
		if s.Enabled() {
			t.Error("Enabled() = true without a key")
		}
		c := twoSources(t)
		plain, err := s.Seal("t1", c)
		if err != nil || !reflect.DeepEqual(plain, c) {
			t.Errorf("Seal without key = %+v, %v; want a plain copy", plain, err)
		}
		opened, err := s.Open("t1", c)
		if err != nil || !reflect.DeepEqual(opened, c) {
			t.Errorf("Open without key = %+v, %v", opened, err)
		}
		if s.Digest(c) != c.Digest() {
			t.Error("Sealer.Digest without key differs from Config.Digest")
		}
		_, err = s.Seal("t1", sealed)
		want := "dataSourceConfigs[0].password: is sealed, but DATAINGEST_SECRET_KEY is not set: send the plain password"
		if err == nil || err.Error() != want || !errors.Is(err, ErrInvalid) {
			t.Errorf("Seal(sealed) without key: %v, want %s", err, want)
		}
		_, err = s.Open("t1", sealed)
		want = "opening dataSourceConfigs[0].password: it is sealed, but DATAINGEST_SECRET_KEY is not set: sealed password cannot be opened"
		if err == nil || err.Error() != want || !errors.Is(err, ErrSecretKey) {
			t.Errorf("Open(sealed) without key: %v, want %s", err, want)
		}
	}
}

func TestSealBadTaskID(t *testing.T) {
	for _, s := range []*Sealer{mustSealer(t, key1), nil} {
		_, err := s.Seal("a b", twoSources(t))
		if !errors.Is(err, ErrInvalidID) {
			t.Errorf("Seal with a bad id: %v, want ErrInvalidID", err)
		}
	}
}

func mustSealer(t testing.TB, key []byte) *Sealer {
	t.Helper()
	s, err := NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewSealerBadKey(t *testing.T) {
	_, err := NewSealer([]byte("short key"))
	if err == nil || err.Error() != "secret key is 9 bytes, want 32" {
		t.Errorf("NewSealer(short) error = %v", err)
	}
}

func TestOpenErrorsShowNoSecret(t *testing.T) {
	sealed, err := mustSealer(t, key1).Seal("t1", twoSources(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Sealer{mustSealer(t, key2), mustSealer(t, nil)} {
		_, err := s.Open("t1", sealed)
		if err == nil {
			t.Fatal("Open succeeded")
		}
		for _, secret := range []string{"hunter2", string(key1), string(key2), base64.StdEncoding.EncodeToString(key1),
			sealed.DataSourceConfigs[0].Password[len(SealedPrefix):]} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error contains a secret: %v", err)
			}
		}
	}
}

func TestRedacted(t *testing.T) {
	c := twoSources(t)
	r := c.Redacted()
	if got := r.DataSourceConfigs[0].Password; got != RedactedPassword {
		t.Errorf("redacted password = %q", got)
	}
	if got := r.DataSourceConfigs[1].Password; got != "" {
		t.Errorf("redacted empty password = %q, want empty", got)
	}
	if c.DataSourceConfigs[0].Password != "hunter2" {
		t.Error("Redacted changed its receiver")
	}
	sealed, _ := mustSealer(t, key1).Seal("t1", c)
	for how, text := range map[string]string{
		"json":            jsonString(t, r),
		"json of sealed":  jsonString(t, sealed.Redacted()),
		"%v of config":    fmt.Sprintf("%v", c),
		"%+v of config":   fmt.Sprintf("%+v", *c),
		"%#v of config":   fmt.Sprintf("%#v", *c),
		"%v of source":    fmt.Sprint(c.DataSourceConfigs[0]),
		"string of slice": fmt.Sprint(c.DataSourceConfigs),
	} {
		if strings.Contains(text, "hunter2") || strings.Contains(text, SealedPrefix) {
			t.Errorf("%s shows the password: %s", how, text)
		}
	}
	if got := fmt.Sprint(c.DataSourceConfigs[0]); got != "u@p:1" {
		t.Errorf("DataSource.String() = %q", got)
	}
}

func TestPrepareCommandConfig(t *testing.T) {
	raw := []byte(`{"taskType":"MYSQL_CDC","cdcTables":["a.b"],"dataSourceConfigs":[{"host":"p","port":1,"username":"u","password":"hunter2"}]}`)
	s := mustSealer(t, key1)
	js, err := PrepareCommandConfig(s, "t1", raw)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(js, "hunter2") || !strings.Contains(js, SealedPrefix) {
		t.Errorf("prepared config = %s, want the password sealed", js)
	}
	// What the node does on receipt: parse, seal again (kept), open.
	c, err := Parse([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	stored, err := s.Seal("t1", c)
	if err != nil || stored.DataSourceConfigs[0].Password != c.DataSourceConfigs[0].Password {
		t.Fatalf("node's Seal of a prepared config: %v, %v", stored, err)
	}
	opened, err := s.Open("t1", stored)
	plain, _ := Parse(raw)
	if err != nil || !reflect.DeepEqual(opened, plain) || opened.Digest() != plain.Digest() {
		t.Errorf("Open(prepared) = %+v, %v; want %+v", opened, err, plain)
	}
	// A prepared config is for its task only.
	if _, err := s.Seal("t2", c); !errors.Is(err, ErrInvalid) {
		t.Errorf("prepared config of t1 sealed for t2: %v", err)
	}
	// Without a key it stays plain (the node has no key to seal with either).
	if js, err := PrepareCommandConfig(nil, "t1", raw); err != nil || !strings.Contains(js, `"password":"hunter2"`) {
		t.Errorf("keyless PrepareCommandConfig = %s, %v", js, err)
	}

	for _, tt := range []struct {
		name, id, raw string
		is            error
	}{
		{"bad id", "a/b", string(raw), ErrInvalidID},
		{"invalid config", "t1", `{"taskType":"X","password":"hunter2"}`, ErrInvalid},
		{"too large", "t1", strings.Repeat(" ", MaxConfigBytes+1), ErrInvalid},
		{"sealed elsewhere", "t2", js, ErrInvalid},
	} {
		_, err := PrepareCommandConfig(s, tt.id, []byte(tt.raw))
		if !errors.Is(err, tt.is) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.is)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: error shows the password: %v", tt.name, err)
		}
	}
}

func TestDigest(t *testing.T) {
	base := `{"taskType":"MYSQL_CDC","cdcTables":["shop.orders","crm.*"],"dataSourceConfigs":[{"host":"db","port":3306,"username":"u","password":"pw1"}]}`
	digest := func(in string) string {
		t.Helper()
		c, err := Parse([]byte(in))
		if err != nil {
			t.Fatalf("Parse(%s): %v", in, err)
		}
		return c.Digest()
	}
	d0 := digest(base)
	if len(d0) != 64 {
		t.Fatalf("Digest() = %q, want 64 hex digits", d0)
	}
	same := []struct{ name, in string }{
		{"key order", `{"dataSourceConfigs":[{"password":"pw1","username":"u","port":3306,"host":"db"}],"cdcTables":["shop.orders","crm.*"],"taskType":"MYSQL_CDC"}`},
		{"white space", strings.ReplaceAll(base, ",", " ,\n ")},
		{"explicit defaults", strings.TrimSuffix(base, "}") + `,"snapshotMode":"initial","format":"msgpack","overflow":"block","outputMaxLen":0,"serverId":0}`},
		{"table order", strings.Replace(base, `["shop.orders","crm.*"]`, `["crm.*","shop.orders"]`, 1)},
		{"duplicate table", strings.Replace(base, `["shop.orders","crm.*"]`, `["crm.*","shop.orders","crm.*"]`, 1)},
	}
	for _, tt := range same {
		if got := digest(tt.in); got != d0 {
			t.Errorf("%s: digest changed", tt.name)
		}
	}
	different := []struct{ name, in string }{
		{"password", strings.Replace(base, "pw1", "pw2", 1)},
		{"table added", strings.Replace(base, `"crm.*"]`, `"crm.*","shop.items"]`, 1)},
		{"table removed", strings.Replace(base, `"shop.orders",`, ``, 1)},
		{"port", strings.Replace(base, "3306", "3307", 1)},
		{"format", strings.TrimSuffix(base, "}") + `,"format":"json"}`},
		{"server id", strings.TrimSuffix(base, "}") + `,"serverId":7}`},
		{"name", strings.TrimSuffix(base, "}") + `,"taskName":"x"}`},
	}
	for _, tt := range different {
		if got := digest(tt.in); got == d0 {
			t.Errorf("%s: digest did not change", tt.name)
		}
	}

	// The digest of a config does not depend on SetDefaults having run.
	c, _ := Parse([]byte(`{"taskType":"DATAGEN"}`))
	raw := &Config{TaskType: TypeDatagen}
	if raw.Digest() != c.Digest() {
		t.Error("digest of an unparsed config differs from the parsed one")
	}
	// A default rate is the same config as that rate written out.
	if digest(`{"taskType":"DATAGEN","datagen":{"rate":0}}`) != digest(fmt.Sprintf(`{"taskType":"DATAGEN","datagen":{"rate":%d}}`, DefaultDatagenRate)) {
		t.Error("datagen rate 0 and the default rate differ")
	}

	// The keyed digest: stable, key-dependent, different from the plain one.
	pc, _ := Parse([]byte(base))
	s1, s2 := mustSealer(t, key1), mustSealer(t, key2)
	if s1.Digest(pc) != s1.Digest(pc.Clone()) || s1.Digest(pc) == s2.Digest(pc) || s1.Digest(pc) == pc.Digest() {
		t.Error("Sealer.Digest is not a stable keyed digest")
	}
	other, _ := Parse([]byte(strings.Replace(base, "pw1", "pw2", 1)))
	if s1.Digest(pc) == s1.Digest(other) {
		t.Error("Sealer.Digest ignores the password")
	}
}
