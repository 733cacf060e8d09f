package task

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse: Parse never panics, and a config it accepts re-encodes (as the
// node stores it) to JSON that parses to the same config and Digest.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		contractExample,
		`{"taskType":"DATAGEN"}`,
		`{"taskType":"DATAGEN","datagen":{"rate":0,"total":100},"outputMaxLen":10,"overflow":"trim"}`,
		`{"taskType":"MYSQL_CDC","dataSourceConfigs":[{"host":"::1","port":1,"username":"u","password":"p","sslMode":"VERIFY_CA","sslCa":"/ca"}],"cdcTables":["a.b","a.*","a.b"],"serverId":4294967295}`,
		`{"taskType":"MYSQL_CDC","dataSourceConfigs":[{"host":"h","port":1,"username":"u","password":"enc:v2:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="}],"cdcTables":["a.b"]}`,
		`{"taskType":"DATAGEN","taskName":"\u2028<\ud800>","datagen":{"rate":1e3}}`,
		`{"taskType":"DATAGEN","taskName":"a","taskName":"b"}`,
		`{"taskType":"DATAGEN","Datagen":{}}`,
		`[]`, `null`, ``, `{`, `{"dataSourceConfigs":[{"hots":1}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse error %v does not match ErrInvalid", err)
			}
			return
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("Marshal of an accepted config: %v", err)
		}
		again, err := Parse(b)
		if err != nil {
			t.Fatalf("Parse(%s) accepted, its encoding %s not: %v", data, b, err)
		}
		if again.Digest() != c.Digest() || !reflect.DeepEqual(again, c) {
			t.Fatalf("re-parsed config differs:\n%s\n%s", b, mustJSON(t, again))
		}
		if err := again.Validate(); err != nil {
			t.Fatalf("a parsed config does not validate: %v", err)
		}
	})
}

// safeSecret makes a fuzzed secret distinctive and free of characters that
// JSON escapes, so it shows up verbatim wherever it leaks.
func safeSecret(s string) string { return fmt.Sprintf("S3CR3T%x", s) }

// FuzzRedact: whatever the document, a secret planted under a key that is
// not an allowlisted field at that place never appears in RedactJSON's
// output (nor in RedactCommand's), and the output stays within
// MaxDeadLetterConfigBytes and a short note.
func FuzzRedact(f *testing.F) {
	seeds := []struct {
		doc, key, secret string
		where            uint8
		wrap             uint8
	}{
		{contractExample, "password", "hunter2", 1, 0},
		{contractExample, "pasword", "hunter2", 1, 0},
		{contractExample, "Password", "x", 1, 1},
		{`{"taskType":"DATAGEN"}`, "secret", "s", 0, 2},
		{`{"taskType":"DATAGEN","datagen":{"rate":1}}`, "pwd", "p", 2, 3},
		{`{"dataSourceConfigs":"x"}`, "dbPassword", "p", 1, 0},
		{`"text"`, "", "", 0, 0},
		{`{"cdcTables":[{"a":1}]}`, "cdcTable", "t", 0, 1},
		{`{"taskName":"` + strings.Repeat("n", 70000) + `"}`, "k", "v", 0, 0},
		// Values of the wrong type under allowlisted keys.
		{`{"taskType":"DATAGEN"}`, "dataSourceConfigs", "s", 0, 0},
		{`{}`, "datagen", "s", 0, 1},
		{`{}`, "taskName", "s", 0, 1},
		{`{}`, "HOST", "s", 1, 2},
		{`{}`, "cdcTables", "s", 0, 3},
	}
	for _, s := range seeds {
		f.Add(s.doc, s.key, s.secret, s.where, s.wrap)
	}
	f.Fuzz(func(t *testing.T, doc, key, secretIn string, where, wrap uint8) {
		// Any text: no panic, bounded output.
		checkSize(t, RedactJSON(doc))

		secret := safeSecret(secretIn)
		var top map[string]any
		if json.Unmarshal([]byte(doc), &top) != nil || top == nil {
			top = map[string]any{}
		}
		// The place to plant at, and what is allowlisted there.
		obj, sh := top, configShape
		switch where % 3 {
		case 1:
			sources, _ := top["dataSourceConfigs"].([]any)
			if len(sources) == 0 {
				sources = []any{map[string]any{}}
			}
			first, ok := sources[0].(map[string]any)
			if !ok {
				first = map[string]any{}
				sources[0] = first
			}
			top["dataSourceConfigs"] = sources
			obj, sh = first, dataSourceShape
		case 2:
			gen, ok := top["datagen"].(map[string]any)
			if !ok {
				gen = map[string]any{}
				top["datagen"] = gen
			}
			obj, sh = gen, configShape.fields["datagen"]
		}
		// Keys the redaction must keep at this place are not planted
		// under, except where the value's type forbids keeping it.
		var value any = secret
		switch wrap % 4 {
		case 1:
			value = []any{secret}
		case 2:
			value = map[string]any{"host": secret}
		case 3:
			value = map[string]any{"x": []any{secret}}
		}
		if f := sh.field(key); f != nil {
			switch wrap % 4 {
			case 0: // a string is kept in a scalar field
				if f == scalar {
					return
				}
			case 1: // an array of strings in an array of scalars
				if f.elem == scalar {
					return
				}
			case 2: // an object with a host where such an object belongs
				if f.fields != nil && f.field("host") != nil {
					return
				}
			}
		}
		before := RedactJSON(mustJSONString(t, top))
		if strings.Contains(before, secret) {
			return // the document holds the secret where it may be shown
		}
		obj[key] = value
		planted := mustJSONString(t, top)
		got := RedactJSON(planted)
		if strings.Contains(got, secret) {
			t.Fatalf("RedactJSON leaks the value of %q:\n in %s\nout %s", key, planted, got)
		}
		checkSize(t, got)

		// The same secret as an unknown command field, and in a config.
		fields := map[string]string{"cmd": "start", "config": planted}
		if !strings.Contains(" cmd task request_id reason tables handover config ", " "+key+" ") {
			fields[key] = secret
		}
		for k, v := range RedactCommand(fields) {
			if strings.Contains(v, secret) {
				t.Fatalf("RedactCommand leaks the value of %q in field %q: %s", key, k, v)
			}
		}
	})
}

func checkSize(t *testing.T, out string) {
	t.Helper()
	if len(out) > MaxDeadLetterConfigBytes+100 {
		t.Fatalf("RedactJSON output is %d bytes", len(out))
	}
}

func mustJSONString(t *testing.T, v any) string { return string(mustJSON(t, v)) }

// FuzzSeal: Seal then Open round-trips for the same task and endpoint; Open
// for another task id, host or port fails; the sealed JSON never holds the
// plain text; without a key Seal and Open leave plain texts alone.
func FuzzSeal(f *testing.F) {
	f.Add("t1", "db", 3306, "hunter2", "t2", "evil", 3307)
	f.Add("t1", "db", 3306, "", "t2", "db", 3306)
	f.Add("a", "h", 1, SealedPrefix+"hunter2", "b", "h2", 2)
	f.Add("a", "h", 1, LegacySealedPrefix+"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", "a.", "h", 1)
	f.Add("a", "h", 1, SealedPrefix+"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", "a", "h", 11)
	f.Add("x y", "h", 1, "p", "x", "h", 1)
	f.Add(strings.Repeat("i", 128), "h", 65535, strings.Repeat("\xff", 100), "i", "H", 65535)
	s := mustSealer(f, key1)
	f.Fuzz(func(t *testing.T, id, host string, port int, pw, otherID, otherHost string, otherPort int) {
		// As Parse would give it: through JSON (invalid UTF-8 replaced).
		var c Config
		if err := json.Unmarshal(mustJSON(t, &Config{TaskType: TypeMySQLCDC, CDCTables: []string{"a.b"},
			DataSourceConfigs: []DataSource{{Host: host, Port: port, Username: "u", Password: pw}}}), &c); err != nil {
			t.Fatal(err)
		}
		ds := c.DataSourceConfigs[0]
		host, pw = ds.Host, ds.Password
		sealed, err := s.Seal(id, &c)
		switch {
		case ValidID(id) != nil:
			if !errors.Is(err, ErrInvalidID) {
				t.Fatalf("Seal(%q) = %v, want ErrInvalidID", id, err)
			}
			return
		case err != nil:
			// Only a value that looks sealed is refused, and the error
			// does not show it.
			looksSealed := strings.HasPrefix(pw, SealedPrefix) || strings.HasPrefix(pw, LegacySealedPrefix)
			if !looksSealed || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Seal(%q) = %v", pw, err)
			}
			if body := pw[len(SealedPrefix):]; len(body) > 4 && strings.Contains(err.Error(), body) {
				t.Fatalf("Seal error shows the value: %v", err)
			}
			return
		}
		got := sealed.DataSourceConfigs[0].Password
		if pw != "" && !strings.HasPrefix(got, SealedPrefix) {
			t.Fatalf("Seal(%q) = %q, not sealed", pw, got)
		}
		// The plain text is nowhere in the sealed JSON (unless it is in
		// the rest of the config anyway).
		if enc := mustJSONString(t, pw); len(pw) >= 8 {
			enc = enc[1 : len(enc)-1]
			rest := c.Clone()
			rest.DataSourceConfigs[0].Password = ""
			if js := mustJSONString(t, sealed); strings.Contains(js, enc) && !strings.Contains(mustJSONString(t, rest), enc) {
				t.Fatalf("sealed JSON holds the password: %s", js)
			}
		}
		// Through the stored form, back to exactly the plain text.
		var stored Config
		if err := json.Unmarshal(mustJSON(t, sealed), &stored); err != nil {
			t.Fatal(err)
		}
		opened, err := s.Open(id, &stored)
		if err != nil || opened.DataSourceConfigs[0].Password != pw {
			t.Fatalf("Open(Seal(%q)) = %v, %v", pw, opened, err)
		}
		// Sealing the sealed config again for the same task keeps it.
		if again, err := s.Seal(id, sealed); err != nil || again.DataSourceConfigs[0].Password != got {
			t.Fatalf("Seal(Seal(%q)) = %v, %v", pw, again, err)
		}
		if pw == "" {
			return
		}
		moved := func(id, host string, port int) error {
			m := sealed.Clone()
			m.DataSourceConfigs[0].Host, m.DataSourceConfigs[0].Port = host, port
			_, err := s.Open(id, m)
			if err != nil && !errors.Is(err, ErrSecretKey) {
				t.Fatalf("Open error %v does not match ErrSecretKey", err)
			}
			return err
		}
		if otherID != id && moved(otherID, host, port) == nil {
			t.Fatalf("a password sealed for task %q opens for task %q", id, otherID)
		}
		if otherHost != host && moved(id, otherHost, port) == nil {
			t.Fatalf("a password sealed for host %q opens for host %q", host, otherHost)
		}
		if otherPort != port && moved(id, host, otherPort) == nil {
			t.Fatalf("a password sealed for port %d opens for port %d", port, otherPort)
		}

		// Without a key: a plain text stays plain.
		plain, err := (*Sealer)(nil).Seal(id, &c)
		if err != nil {
			t.Fatalf("keyless Seal(%q): %v (it sealed with a key, so it is no envelope)", pw, err)
		}
		if back, err := (*Sealer)(nil).Open(id, plain); err != nil || back.DataSourceConfigs[0].Password != pw {
			t.Fatalf("keyless round trip of %q: %v, %v", pw, back, err)
		}
	})
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// FuzzValidID: ValidID agrees with the contract's pattern, and its error is
// short, matches ErrInvalidID and is valid UTF-8.
func FuzzValidID(f *testing.F) {
	for _, s := range []string{"t1", "", "a b", "t{1}", strings.Repeat("a", 128), strings.Repeat("a", 129),
		"tâche", "\xff", strings.Repeat("é", 100), "a\nb", "..."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		err := ValidID(id)
		if want := idPattern.MatchString(id); (err == nil) != want {
			t.Fatalf("ValidID(%q) = %v, the pattern says valid=%v", id, err, want)
		}
		if err == nil {
			return
		}
		msg := err.Error()
		if !errors.Is(err, ErrInvalidID) || len(msg) > 400 || !utf8.ValidString(msg) {
			t.Fatalf("ValidID(%q) error %q", id, msg)
		}
	})
}
