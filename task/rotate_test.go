package task

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

var key3 = bytes.Repeat([]byte{3}, KeySize)

func mustSealers(t *testing.T, key []byte, previous ...[]byte) *Sealer {
	t.Helper()
	s, err := NewSealer(key, previous...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// opensWith reports whether a sealer with only key opens the stored JSON of
// task t1 to the password hunter2.
func opensWith(t *testing.T, key []byte, stored string) bool {
	t.Helper()
	var c Config
	if err := json.Unmarshal([]byte(stored), &c); err != nil {
		t.Fatal(err)
	}
	o, err := mustSealer(t, key).Open("t1", &c)
	return err == nil && o.DataSourceConfigs[0].Password == "hunter2"
}

// TestResealMovesToTheCurrentKey: a config sealed under a key that is now
// previous opens, and Reseal seals it under the current key (with the
// current key's digest); one already under the current key, or a sealer
// without a current key, changes nothing; and no result holds the plain
// password.
func TestResealMovesToTheCurrentKey(t *testing.T) {
	plain := twoSources(t)
	sealedUnder := func(key []byte) string {
		c, err := mustSealer(t, key).Seal("t1", plain)
		if err != nil {
			t.Fatal(err)
		}
		return jsonString(t, c)
	}
	under1, under2 := sealedUnder(key1), sealedUnder(key2)
	legacy := plain.Clone()
	legacy.DataSourceConfigs[0].Password = legacySeal(t, key1, "hunter2")
	v1Under1 := jsonString(t, legacy)
	plainJSON := jsonString(t, plain)

	tests := []struct {
		name    string
		sealer  *Sealer
		stored  string
		changed bool
		opensBy []byte // the one key that opens the result, when changed
	}{
		{"old key now previous", mustSealers(t, key2, key1), under1, true, key2},
		{"already under the current key", mustSealers(t, key2, key1), under2, false, nil},
		{"new key not yet current (first step of a rotation)", mustSealers(t, key1, key2), under2, true, key1},
		{"the key alone, its own config", mustSealers(t, key1), under1, false, nil},
		{"v1 under a previous key", mustSealers(t, key2, key1), v1Under1, true, key2},
		{"v1 under the current key", mustSealers(t, key1), v1Under1, true, key1},
		{"stored plain, now a key", mustSealers(t, key1), plainJSON, true, key1},
		{"no current key: never back to plain", mustSealers(t, nil, key1), under1, false, nil},
		{"no key at all, plain", mustSealers(t, nil), plainJSON, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, digest, changed, err := tt.sealer.Reseal("t1", tt.stored)
			if err != nil {
				t.Fatal(err)
			}
			if changed != tt.changed {
				t.Fatalf("changed = %v, want %v", changed, tt.changed)
			}
			if !changed {
				if out != "" || digest != "" {
					t.Errorf("unchanged, yet Reseal returned %q, %q", out, digest)
				}
				return
			}
			if strings.Contains(out, "hunter2") {
				t.Fatalf("resealed config holds the plain password: %s", out)
			}
			for _, k := range [][]byte{key1, key2, key3} {
				if got, want := opensWith(t, k, out), bytes.Equal(k, tt.opensBy); got != want {
					t.Errorf("key %d opens the result: %v, want %v", k[0], got, want)
				}
			}
			if !strings.Contains(out, SealedPrefix) {
				t.Errorf("resealed password is not %s: %s", SealedPrefix, out)
			}
			if want := mustSealer(t, tt.opensBy).Digest(plain); digest != want {
				t.Errorf("digest %s, want the current key's %s", digest, want)
			}
			// The rest of the config is as it was.
			var got Config
			_ = json.Unmarshal([]byte(out), &got)
			got.DataSourceConfigs[0].Password = "hunter2"
			if jsonString(t, &got) != plainJSON {
				t.Errorf("resealed config %s, want %s with the password sealed", jsonString(t, &got), plainJSON)
			}
			// Once resealed, the same sealer leaves it alone.
			if _, _, again, err := tt.sealer.Reseal("t1", out); err != nil || again {
				t.Errorf("Reseal of its own result: changed %v, %v", again, err)
			}
		})
	}
}

// TestOpenWithPreviousKeys: every key a sealer has opens, the order does
// not matter, and a password that none opens is an error naming both
// variables, never a value.
func TestOpenWithPreviousKeys(t *testing.T) {
	sealed, err := mustSealer(t, key1).Seal("t1", twoSources(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Sealer{mustSealers(t, key2, key3, key1), mustSealers(t, key2, key1, key3), mustSealers(t, nil, key1)} {
		o, err := s.Open("t1", sealed)
		if err != nil || o.DataSourceConfigs[0].Password != "hunter2" {
			t.Errorf("Open with key1 among the previous keys: %v", err)
		}
	}
	_, err = mustSealers(t, key2, key3).Open("t1", sealed)
	want := "opening dataSourceConfigs[0].password: it was sealed for another task or endpoint, or with a key that is " +
		"neither DATAINGEST_SECRET_KEY nor one of DATAINGEST_SECRET_KEY_PREVIOUS: sealed password cannot be opened"
	if err == nil || err.Error() != want || !errors.Is(err, ErrSecretKey) {
		t.Errorf("Open with unknown keys: %v, want %s", err, want)
	}
	// A previous key opens only for the task and endpoint it sealed for.
	if _, err := mustSealers(t, key2, key1).Open("t2", sealed); !errors.Is(err, ErrSecretKey) {
		t.Errorf("Open for another task with a previous key: %v, want ErrSecretKey", err)
	}
	if _, _, _, err := mustSealers(t, key2, key3).Reseal("t1", jsonString(t, sealed)); !errors.Is(err, ErrSecretKey) {
		t.Errorf("Reseal with unknown keys: %v, want ErrSecretKey", err)
	}
	if _, err := NewSealer(key1, key2, []byte("short")); err == nil || err.Error() != "previous secret key 2 is 5 bytes, want 32" {
		t.Errorf("NewSealer with a short previous key: %v", err)
	}
}

// TestSealUnderPreviousKey: a start whose password a producer sealed under
// a key that is now previous is stored under the current key; without a
// current key it is kept sealed as it came.
func TestSealUnderPreviousKey(t *testing.T) {
	plain := twoSources(t)
	old, err := mustSealer(t, key1).Seal("t1", plain)
	if err != nil {
		t.Fatal(err)
	}
	got, err := mustSealers(t, key2, key1).Seal("t1", old)
	if err != nil {
		t.Fatal(err)
	}
	if js := jsonString(t, got); !opensWith(t, key2, js) || opensWith(t, key1, js) {
		t.Errorf("Seal of a config sealed under the previous key: %s opens with key1 %v, key2 %v", js, opensWith(t, key1, js), opensWith(t, key2, js))
	}
	kept, err := mustSealers(t, nil, key1).Seal("t1", old)
	if err != nil || kept.DataSourceConfigs[0].Password != old.DataSourceConfigs[0].Password {
		t.Errorf("Seal without a current key of a sealed password: %v, changed %v", err, kept != nil)
	}
	// Still refused: another task's, and an unknown key's.
	for _, s := range []*Sealer{mustSealers(t, key2, key3)} {
		if _, err := s.Seal("t1", old); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "DATAINGEST_SECRET_KEY_PREVIOUS") {
			t.Errorf("Seal of a password no key opens: %v", err)
		}
	}
	if _, err := mustSealers(t, key2, key1).Seal("t2", old); !errors.Is(err, ErrInvalid) {
		t.Errorf("Seal of another task's password with a previous key: %v", err)
	}
}

// TestPreviousDigests: the digest a config was stored with under a key now
// previous is among PreviousDigests, so a start of the same config is no
// change.
func TestPreviousDigests(t *testing.T) {
	c := twoSources(t)
	s := mustSealers(t, key2, key3, key1)
	got := s.PreviousDigests(c)
	want := []string{mustSealer(t, key3).Digest(c), mustSealer(t, key1).Digest(c)}
	if !slices.Equal(got, want) {
		t.Errorf("PreviousDigests = %v, want %v", got, want)
	}
	if slices.Contains(got, s.Digest(c)) {
		t.Error("the current digest is among the previous ones")
	}
	other := c.Clone()
	other.DataSourceConfigs[0].Password = "other"
	if slices.Contains(got, mustSealer(t, key1).Digest(other)) {
		t.Error("another config's digest matches")
	}
	if (*Sealer)(nil).PreviousDigests(c) != nil || len(mustSealer(t, key1).PreviousDigests(c)) != 0 {
		t.Error("PreviousDigests without previous keys")
	}
}
