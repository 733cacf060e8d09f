package task

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestRedactJSON(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"contract example", contractExample,
			`{"cdcTables":["shop.orders","shop.*"],"dataSourceConfigs":[{"flavor":"mariadb","host":"127.0.0.1","password":"******","port":3306,"username":"cdc"}],"format":"msgpack","outputMaxLen":1000000,"snapshotMode":"initial","taskName":"orders to redis","taskType":"MYSQL_CDC"}`},
		{"every known field kept",
			`{"taskName":"n","taskType":"DATAGEN","snapshotMode":"never","format":"json","outputMaxLen":1.50,"overflow":"trim","serverId":7,"datagen":{"rate":5,"total":6},"cdcTables":["a.b"],"dataSourceConfigs":[{"host":"h","port":1,"username":"u","flavor":"mysql","sslMode":"VERIFY_CA","sslCa":"/ca.pem"}]}`,
			`{"cdcTables":["a.b"],"dataSourceConfigs":[{"flavor":"mysql","host":"h","port":1,"sslCa":"/ca.pem","sslMode":"VERIFY_CA","username":"u"}],"datagen":{"rate":5,"total":6},"format":"json","outputMaxLen":1.50,"overflow":"trim","serverId":7,"snapshotMode":"never","taskName":"n","taskType":"DATAGEN"}`},
		{"password", `{"dataSourceConfigs":[{"host":"h","password":"s3cret"}]}`, `{"dataSourceConfigs":[{"host":"h","password":"******"}]}`},
		{"password in any case", `{"dataSourceConfigs":[{"Password":"s3cret","PASSWORD":"s3cret","paſſword":"s3cret"}]}`,
			`{"dataSourceConfigs":[{"PASSWORD":"******","Password":"******","paſſword":"******"}]}`},
		{"misspelt and unknown keys", `{"dataSourceConfigs":[{"pasword":"s3cret","dbPassword":"s3cret","passwd":"s3cret","pwd":"s3cret","secret":"s3cret","x":"s3cret"}]}`,
			`{"dataSourceConfigs":[{"dbPassword":"******","passwd":"******","pasword":"******","pwd":"******","secret":"******","x":"******"}]}`},
		{"unknown top-level keys, any type", `{"password":"s3cret","token":{"a":"s3cret"},"list":["s3cret"],"n":12345,"b":true,"z":null}`,
			`{"b":"******","list":"******","n":"******","password":"******","token":"******","z":"******"}`},
		{"known field at another place", `{"host":"s3cret","datagen":{"host":"s3cret","taskName":"s3cret"},"dataSourceConfigs":[{"taskName":"s3cret","datagen":{"rate":1}}]}`,
			`{"dataSourceConfigs":[{"datagen":"******","taskName":"******"}],"datagen":{"host":"******","taskName":"******"},"host":"******"}`},
		{"known field in another case", `{"TASKNAME":"n","dataSourceConfigs":[{"HOST":"h"}]}`, `{"TASKNAME":"n","dataSourceConfigs":[{"HOST":"h"}]}`},
		{"composite where a scalar belongs", `{"taskName":{"password":"s3cret"},"cdcTables":[["s3cret"],{"a":"s3cret"},"a.b"],"dataSourceConfigs":[{"host":["s3cret"]}]}`,
			`{"cdcTables":["******","******","a.b"],"dataSourceConfigs":[{"host":"******"}],"taskName":"******"}`},
		{"scalar where an object or array belongs", `{"dataSourceConfigs":["s3cret",5,null],"datagen":"s3cret","cdcTables":"s3cret"}`,
			`{"cdcTables":"******","dataSourceConfigs":["******","******",null],"datagen":"******"}`},
		{"data sources as an object", `{"dataSourceConfigs":{"host":"h","password":"s3cret"}}`, `{"dataSourceConfigs":"******"}`},
		{"nulls of known fields", `{"taskName":null,"datagen":null,"cdcTables":null}`, `{"cdcTables":null,"datagen":null,"taskName":null}`},
		{"top-level string", `"s3cret"`, `"******"`},
		{"top-level array", `["s3cret"]`, `"******"`},
		{"escaped key", `{"pass\u0077ord":"s3cret","task\u004eame":"<n>"}`, `{"password":"******","taskName":"<n>"}`},
		{"invalid JSON", `{"password":"s3cret",`, `(21 bytes of invalid JSON, not shown)`},
		{"trailing data", `{"taskName":"x"} {"password":"s3cret"}`, `(38 bytes of invalid JSON, not shown)`},
		{"trailing blanks", "{\"taskName\":\"x\"} \n\t", `{"taskName":"x"}`},
		{"empty", ``, `(0 bytes of invalid JSON, not shown)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RedactJSON(tt.in)
			if got != tt.want {
				t.Errorf("RedactJSON(%s)\n got %s\nwant %s", tt.in, got, tt.want)
			}
			if strings.Contains(got, "s3cret") {
				t.Errorf("RedactJSON(%s) leaks the secret", tt.in)
			}
			if again := RedactJSON(got); strings.HasPrefix(got, "{") && again != got {
				t.Errorf("RedactJSON is not idempotent: %s -> %s", got, again)
			}
		})
	}
}

func TestRedactJSONSize(t *testing.T) {
	big := `{"taskName":"` + strings.Repeat("é", MaxDeadLetterConfigBytes) + `","password":"s3cret"}`
	got := RedactJSON(big)
	wantNote := fmt.Sprintf(" ... (cut: the redacted config is %d bytes, the first %d shown)", len(big)-len("s3cret")+len(RedactedPassword), MaxDeadLetterConfigBytes)
	if !strings.HasSuffix(got, wantNote) {
		t.Errorf("cut note = %q, want %q", got[max(0, len(got)-100):], wantNote)
	}
	if kept := strings.TrimSuffix(got, wantNote); len(kept) > MaxDeadLetterConfigBytes || len(kept) < MaxDeadLetterConfigBytes-3 ||
		!strings.HasPrefix(kept, `{"password":"******","taskName":"éé`) {
		t.Errorf("kept %d bytes: %q...", len(kept), kept[:40])
	}
	if strings.Contains(got, "s3cret") {
		t.Error("cut output leaks")
	}
	if !strings.HasSuffix(strings.TrimSuffix(got, wantNote), "é") {
		t.Error("cut in the middle of a character")
	}

	// Just at the cap: kept whole.
	pad := MaxDeadLetterConfigBytes - len(`{"taskName":""}`)
	exact := `{"taskName":"` + strings.Repeat("a", pad) + `"}`
	if got := RedactJSON(exact); got != exact {
		t.Errorf("a redacted config of exactly %d bytes was changed", MaxDeadLetterConfigBytes)
	}

	// Over the config limit: not parsed, a note only.
	huge := `{"password":"s3cret","x":"` + strings.Repeat("a", MaxConfigBytes) + `"}`
	want := fmt.Sprintf("(%d bytes, over the 1048576-byte limit of a task config, not shown)", len(huge))
	if got := RedactJSON(huge); got != want {
		t.Errorf("RedactJSON(huge) = %q, want %q", got, want)
	}
}

// TestRedactShapeCoversConfig: every JSON field of Config, DataSource and
// Datagen is either kept by the redaction or a known secret, and the
// redaction keeps no field that does not exist. A new field fails this
// test until someone decides whether a dead letter may show it.
func TestRedactShapeCoversConfig(t *testing.T) {
	secret := map[string]bool{"password": true}
	check := func(name string, typ reflect.Type, sh *shape) {
		names := jsonNames(typ)
		for _, n := range names {
			if kept := sh.fields[n] != nil; kept != secret[n] {
				continue
			}
			t.Errorf("%s.%s: kept=%v secret=%v: decide whether a dead letter shows it", name, n, sh.fields[n] != nil, secret[n])
		}
		for _, n := range slices.Sorted(maps.Keys(sh.fields)) {
			if !slices.Contains(names, n) {
				t.Errorf("%s: the redaction keeps %q, which is no field", name, n)
			}
		}
	}
	check("Config", reflect.TypeFor[Config](), configShape)
	check("DataSource", reflect.TypeFor[DataSource](), configShape.fields["dataSourceConfigs"].elem)
	check("Datagen", reflect.TypeFor[Datagen](), configShape.fields["datagen"])
}

func TestRedactCommand(t *testing.T) {
	long := strings.Repeat("r", MaxDeadLetterFieldBytes+10)
	in := map[string]string{
		"cmd": "start", "task": "t1", "request_id": "q1", "reason": long, "tables": "a.b,c.d", "handover": "1",
		"config":   `{"taskType":"MYSQL_CDC","dataSourceConfigs":[{"host":"h","pasword":"s3cret"}]}`,
		"password": "s3cret", "Config": "s3cret", "CMD": "s3cret",
		strings.Repeat("k", 100): "s3cret",
	}
	orig := maps.Clone(in)
	got := RedactCommand(in)
	want := map[string]string{
		"cmd": "start", "task": "t1", "request_id": "q1", "tables": "a.b,c.d", "handover": "1",
		"reason":   strings.Repeat("r", MaxDeadLetterFieldBytes) + fmt.Sprintf("... (cut: %d bytes, the first 256 shown)", len(long)),
		"config":   `{"dataSourceConfigs":[{"host":"h","pasword":"******"}],"taskType":"MYSQL_CDC"}`,
		"password": RedactedPassword, "Config": RedactedPassword, "CMD": RedactedPassword,
		strings.Repeat("k", MaxDeadLetterNameBytes) + "...": RedactedPassword,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("RedactCommand:\n got %q\nwant %q", got, want)
	}
	if !reflect.DeepEqual(in, orig) {
		t.Error("RedactCommand changed its argument")
	}
	for k, v := range got {
		if strings.Contains(k+v, "s3cret") {
			t.Errorf("field %q leaks", k)
		}
	}

	// Many unknown fields: the first ones by name, and a count.
	many := map[string]string{"cmd": "stop"}
	for i := range MaxDeadLetterUnknownFields + 5 {
		many[fmt.Sprintf("f%03d", i)] = "s3cret"
	}
	got = RedactCommand(many)
	if len(got) != 1+MaxDeadLetterUnknownFields+1 || got[OmittedFieldsField] != "5 more fields not shown" ||
		got["f000"] != RedactedPassword || got[fmt.Sprintf("f%03d", MaxDeadLetterUnknownFields)] != "" || got["cmd"] != "stop" {
		t.Errorf("RedactCommand(many) = %v", got)
	}
}

// TestRedactMatchesDecoder: the redaction reads a member as the field
// encoding/json would decode it into, whatever the case (Unicode folding
// included: K is the Kelvin sign, ſ the long s).
func TestRedactMatchesDecoder(t *testing.T) {
	for _, key := range []string{"password", "Password", "PASSWORD", "paſſword", "PAſſWORD"} {
		var ds DataSource
		if err := json.Unmarshal([]byte(`{"`+key+`":"s3cret"}`), &ds); err != nil || ds.Password != "s3cret" {
			t.Fatalf("the decoder does not take %q as the password: %v", key, err)
		}
		if got := RedactJSON(`{"dataSourceConfigs":[{"` + key + `":"s3cret"}]}`); strings.Contains(got, "s3cret") {
			t.Errorf("%q: %s", key, got)
		}
	}
	for _, key := range []string{"taskName", "TASKNAME", "tasKName", "taſkName"} {
		var c Config
		if err := json.Unmarshal([]byte(`{"`+key+`":"n"}`), &c); err != nil || c.TaskName != "n" {
			t.Fatalf("the decoder does not take %q as taskName: %v", key, err)
		}
		if got, want := RedactJSON(`{"`+key+`":"n"}`), `{"`+key+`":"n"}`; got != want {
			t.Errorf("RedactJSON = %s, want %s", got, want)
		}
	}
}
