package task

import (
	"bytes"
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
	s, err := NewSealer(key1)
	if err != nil {
		t.Fatal(err)
	}
	c := twoSources(t)
	orig := c.Clone()

	sealed, err := s.Seal(c)
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
	again, _ := s.Seal(c)
	if again.DataSourceConfigs[0].Password == pw {
		t.Error("two seals gave the same ciphertext")
	}
	// Sealing twice does not double-encrypt.
	twice, _ := s.Seal(sealed)
	if twice.DataSourceConfigs[0].Password != pw {
		t.Error("sealing a sealed config changed it")
	}

	opened, err := s.Open(sealed)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(opened, orig) {
		t.Errorf("Open(Seal(c)) = %+v, want %+v", opened, orig)
	}
	// Plain passwords pass through Open.
	if plain, err := s.Open(c); err != nil || !reflect.DeepEqual(plain, orig) {
		t.Errorf("Open(plain) = %+v, %v", plain, err)
	}
	// The stored form survives JSON and Parse.
	back, err := Parse([]byte(jsonString(t, sealed)))
	if err != nil {
		t.Fatal(err)
	}
	if opened, err := s.Open(back); err != nil || opened.DataSourceConfigs[0].Password != "hunter2" {
		t.Errorf("Open(Parse(JSON(sealed))) = %+v, %v", opened, err)
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
	for _, s := range []*Sealer{mustSealer(t, nil), mustSealer(t, []byte{}), nil} {
		if s.Enabled() {
			t.Error("Enabled() = true without a key")
		}
		c := twoSources(t)
		sealed, err := s.Seal(c)
		if err != nil || !reflect.DeepEqual(sealed, c) {
			t.Errorf("Seal without key = %+v, %v; want a plain copy", sealed, err)
		}
		opened, err := s.Open(c)
		if err != nil || !reflect.DeepEqual(opened, c) {
			t.Errorf("Open without key = %+v, %v", opened, err)
		}
		if s.Digest(c) != c.Digest() {
			t.Error("Sealer.Digest without key differs from Config.Digest")
		}
	}
}

func mustSealer(t *testing.T, key []byte) *Sealer {
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

func TestOpenErrors(t *testing.T) {
	sealed, err := mustSealer(t, key1).Seal(twoSources(t))
	if err != nil {
		t.Fatal(err)
	}
	corrupt := sealed.Clone()
	corrupt.DataSourceConfigs[0].Password = SealedPrefix + "!!!"
	short := sealed.Clone()
	short.DataSourceConfigs[0].Password = SealedPrefix + base64.StdEncoding.EncodeToString([]byte("tiny"))

	tests := []struct {
		name   string
		sealer *Sealer
		c      *Config
		want   string
		keyErr bool
	}{
		{"wrong key", mustSealer(t, key2), sealed,
			"opening dataSourceConfigs[0].password: cannot decrypt: DATAINGEST_SECRET_KEY does not match the key it was sealed with", true},
		{"no key", mustSealer(t, nil), sealed,
			"opening dataSourceConfigs[0].password: it is encrypted but DATAINGEST_SECRET_KEY is not set: DATAINGEST_SECRET_KEY does not match", true},
		{"corrupt", mustSealer(t, key1), corrupt, "opening dataSourceConfigs[0].password: the sealed value is corrupt", false},
		{"too short", mustSealer(t, key1), short, "opening dataSourceConfigs[0].password: the sealed value is corrupt", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.sealer.Open(tt.c)
			if err == nil {
				t.Fatalf("Open = %+v, want error", got)
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n got %s\nwant %s", err, tt.want)
			}
			if errors.Is(err, ErrSecretKey) != tt.keyErr {
				t.Errorf("errors.Is(ErrSecretKey) = %v, want %v", !tt.keyErr, tt.keyErr)
			}
			for _, secret := range []string{"hunter2", string(key1), string(key2), base64.StdEncoding.EncodeToString(key1)} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error contains a secret: %v", err)
				}
			}
		})
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
	sealed, _ := mustSealer(t, key1).Seal(c)
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
