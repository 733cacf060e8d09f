package task

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// contractExample is the task config of CONTRACT.md, "Task config".
const contractExample = `{
  "taskName": "orders to redis",
  "taskType": "MYSQL_CDC",
  "dataSourceConfigs": [{"host": "127.0.0.1", "port": 3306, "username": "cdc", "password": "secret", "flavor": "mariadb"}],
  "cdcTables": ["shop.orders", "shop.*"],
  "snapshotMode": "initial",
  "format": "msgpack",
  "outputMaxLen": 1000000
}`

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Config
	}{
		{
			name: "contract example",
			in:   contractExample,
			want: Config{
				TaskName: "orders to redis",
				TaskType: TypeMySQLCDC,
				DataSourceConfigs: []DataSource{
					{Host: "127.0.0.1", Port: 3306, Username: "cdc", Password: "secret", Flavor: FlavorMariaDB},
				},
				CDCTables:    []string{"shop.orders", "shop.*"},
				SnapshotMode: SnapshotInitial,
				Format:       FormatMsgpack,
				OutputMaxLen: 1000000,
				Overflow:     OverflowBlock,
			},
		},
		{
			name: "defaults",
			in:   `{"taskType":"MYSQL_CDC","dataSourceConfigs":[{"host":"db","port":3306,"username":"u"}],"cdcTables":["a.b"]}`,
			want: Config{
				TaskType:          TypeMySQLCDC,
				DataSourceConfigs: []DataSource{{Host: "db", Port: 3306, Username: "u"}},
				CDCTables:         []string{"a.b"},
				SnapshotMode:      SnapshotInitial,
				Format:            FormatMsgpack,
				Overflow:          OverflowBlock,
			},
		},
		{
			name: "every field",
			in: `{"taskName":"t","taskType":"MYSQL_CDC",
				"dataSourceConfigs":[{"host":"::1","port":1,"username":"u","password":"p","flavor":"mysql"},
				                     {"host":"replica.example.com","port":65535,"username":"u2"}],
				"cdcTables":["a.b","c.*"],"snapshotMode":"when_needed","format":"json",
				"outputMaxLen":10,"overflow":"trim","serverId":4294967295}`,
			want: Config{
				TaskName: "t",
				TaskType: TypeMySQLCDC,
				DataSourceConfigs: []DataSource{
					{Host: "::1", Port: 1, Username: "u", Password: "p", Flavor: FlavorMySQL},
					{Host: "replica.example.com", Port: 65535, Username: "u2"},
				},
				CDCTables:    []string{"a.b", "c.*"},
				SnapshotMode: SnapshotWhenNeeded,
				Format:       FormatJSON,
				OutputMaxLen: 10,
				Overflow:     OverflowTrim,
				ServerID:     4294967295,
			},
		},
		{
			name: "datagen defaults",
			in:   `{"taskType":"DATAGEN"}`,
			want: Config{TaskType: TypeDatagen, SnapshotMode: SnapshotInitial, Format: FormatMsgpack,
				Overflow: OverflowBlock, Datagen: &Datagen{Rate: DefaultDatagenRate}},
		},
		{
			name: "datagen",
			in:   `{"taskType":"DATAGEN","datagen":{"rate":1000,"total":50},"snapshotMode":"never","cdcTables":["gen.rows"]}`,
			want: Config{TaskType: TypeDatagen, CDCTables: []string{"gen.rows"}, SnapshotMode: SnapshotNever,
				Format: FormatMsgpack, Overflow: OverflowBlock, Datagen: &Datagen{Rate: 1000, Total: 50}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("Parse:\n got %s\nwant %s", jsonOf(t, got), jsonOf(t, &tt.want))
			}
			// The stored form parses back to the same config.
			again, err := Parse([]byte(jsonOf(t, got)))
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Errorf("round trip: %v, %v", again, err)
			}
		})
	}
}

func jsonOf(t *testing.T, c *Config) string {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// valid is a minimal valid MYSQL_CDC config with its password set to
// "hunter2"; edit replaces parts of it.
func valid(edit string) string {
	base := map[string]string{
		"taskType":          `"MYSQL_CDC"`,
		"dataSourceConfigs": `[{"host":"db","port":3306,"username":"u","password":"hunter2"}]`,
		"cdcTables":         `["shop.orders"]`,
	}
	var edits map[string]json.RawMessage
	if err := json.Unmarshal([]byte("{"+edit+"}"), &edits); err != nil {
		panic(err)
	}
	for k, v := range edits {
		if string(v) == "null" {
			delete(base, k)
		} else {
			base[k] = string(v)
		}
	}
	var parts []string
	for k, v := range base {
		parts = append(parts, `"`+k+`":`+v)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func TestParseErrors(t *testing.T) {
	const ds = `"dataSourceConfigs":[{"host":"db","port":3306,"username":"u","password":"hunter2"}]`
	tests := []struct {
		name string
		in   string
		want string
	}{
		// The document.
		{"empty", ``, `task config is empty, want a JSON object`},
		{"blank", " \n", `task config is empty, want a JSON object`},
		{"truncated", `{"taskType":`, `invalid JSON at byte 12: unexpected end of JSON input`},
		{"syntax", `{"taskType": MYSQL}`, `invalid JSON at byte 14: invalid character 'M' looking for beginning of value`},
		{"trailing data", `{"taskType":"DATAGEN"} {}`, `invalid JSON at byte 24: invalid character '{' after top-level value`},
		{"null", `null`, `task config is null, want a JSON object`},
		{"array", `[]`, `task config is a JSON array, want an object`},
		{"string", `"x"`, `task config is a JSON string, want an object`},
		// Unknown fields.
		{"unknown field", valid(`"cdcTable":["a.b"]`), `unknown field "cdcTable" (did you mean "cdcTables"?)`},
		{"field in other case", valid(`"TaskType":"DATAGEN"`), `unknown field "TaskType" (did you mean "taskType"?)`},
		{"unrelated field", valid(`"database":"x"`), `unknown field "database"`},
		{"several unknown fields", valid(`"zz":1,"aa":2`), `unknown field "aa"; unknown field "zz"`},
		{"unknown data source field", valid(`"dataSourceConfigs":[{"host":"db","port":1,"username":"u"},{"hots":"x"}]`),
			`dataSourceConfigs[1]: unknown field "hots" (did you mean "host"?)`},
		{"unknown datagen field", `{"taskType":"DATAGEN","datagen":{"rows":5}}`, `datagen: unknown field "rows"`},
		// Types.
		{"port as string", valid(`"dataSourceConfigs":[{"host":"db","port":"3306","username":"u"}]`),
			`dataSourceConfigs.port: want an integer, got string`},
		{"password as number", valid(`"dataSourceConfigs":[{"host":"db","port":1,"username":"u","password":12345678}]`),
			`dataSourceConfigs.password: want a string, got number`},
		{"negative server id", valid(`"serverId":-1`), `serverId: want an integer from 0 to 4294967295, got number -1`},
		{"huge server id", valid(`"serverId":4294967296`), `serverId: want an integer from 0 to 4294967295, got number 4294967296`},
		{"tables as string", valid(`"cdcTables":"shop.orders"`), `cdcTables: want an array, got string`},
		{"data sources as object", valid(`"dataSourceConfigs":{}`), `dataSourceConfigs: want an array, got object`},
		{"datagen as number", `{"taskType":"DATAGEN","datagen":5}`, `datagen: want an object, got number`},
		// Values.
		{"task type missing", valid(`"taskType":null`), `taskType: missing (want MYSQL_CDC or DATAGEN)`},
		{"task type unknown", valid(`"taskType":"mysql_cdc"`), `taskType: unknown type "mysql_cdc" (want MYSQL_CDC or DATAGEN)`},
		{"task name too long", valid(`"taskName":"` + strings.Repeat("é", 257) + `"`), `taskName: is 257 characters long, the most is 256`},
		{"no data source", valid(`"dataSourceConfigs":[]`), `dataSourceConfigs: MYSQL_CDC needs at least one data source`},
		{"no data source field", valid(`"dataSourceConfigs":null`), `dataSourceConfigs: MYSQL_CDC needs at least one data source`},
		{"no tables", valid(`"cdcTables":[]`), `cdcTables: MYSQL_CDC needs at least one table ("db.table" or "db.*")`},
		{"datagen for mysql", valid(`"datagen":{"rate":1}`), `datagen: is only for taskType DATAGEN`},
		{"host missing", valid(`"dataSourceConfigs":[{"port":3306,"username":"u","password":"hunter2"}]`),
			`dataSourceConfigs[0].host: missing`},
		{"host with port", valid(`"dataSourceConfigs":[{"host":"db:3306","port":3306,"username":"u"}]`),
			`dataSourceConfigs[0].host: "db:3306" is not a host name or IP address (the port is its own field)`},
		{"host with blank", valid(`"dataSourceConfigs":[{"host":"d b","port":3306,"username":"u"}]`),
			`dataSourceConfigs[0].host: "d b" contains blanks`},
		{"port too big", valid(`"dataSourceConfigs":[{"host":"db","port":70000,"username":"u","password":"hunter2"}]`),
			`dataSourceConfigs[0].port: 70000 is not a port (want 1-65535)`},
		{"port missing", valid(`"dataSourceConfigs":[{"host":"db","username":"u"}]`),
			`dataSourceConfigs[0].port: 0 is not a port (want 1-65535)`},
		{"username missing", valid(`"dataSourceConfigs":[{"host":"db","port":3306,"password":"hunter2"}]`),
			`dataSourceConfigs[0].username: missing`},
		{"flavor", valid(`"dataSourceConfigs":[{"host":"db","port":3306,"username":"u","flavor":"percona"}]`),
			`dataSourceConfigs[0].flavor: unknown flavor "percona" (want mysql, mariadb, or none to detect)`},
		{"second data source", valid(`"dataSourceConfigs":[{"host":"db","port":3306,"username":"u"},{"host":"r","port":-1,"username":"u"}]`),
			`dataSourceConfigs[1].port: -1 is not a port (want 1-65535)`},
		{"table without db", valid(`"cdcTables":["shop.orders","shop"]`), `cdcTables[1]: "shop" is not db.table or db.*`},
		{"table empty", valid(`"cdcTables":[""]`), `cdcTables[0]: "" is not db.table or db.*`},
		{"table three parts", valid(`"cdcTables":["a.b.c"]`), `cdcTables[0]: "a.b.c" is not db.table or db.*`},
		{"table empty db", valid(`"cdcTables":[".t"]`), `cdcTables[0]: ".t" is not db.table or db.*`},
		{"table empty table", valid(`"cdcTables":["db."]`), `cdcTables[0]: "db." is not db.table or db.*`},
		{"table any db", valid(`"cdcTables":["*.*"]`), `cdcTables[0]: "*.*" is not db.table or db.* (the database must be named)`},
		{"table glob", valid(`"cdcTables":["shop.ord*"]`),
			`cdcTables[0]: "shop.ord*" is not db.table or db.* ("*" is a wildcard only as the whole table name)`},
		{"table backquotes", valid("\"cdcTables\":[\"`shop`.`orders`\"]"),
			"cdcTables[0]: \"`shop`.`orders`\" is not db.table or db.* (write names without backquotes)"},
		{"table too long", valid(`"cdcTables":["shop.` + strings.Repeat("t", 65) + `"]`),
			`cdcTables[0]: "shop.` + strings.Repeat("t", 65) + `" is not db.table or db.* (table name is longer than 64 characters)`},
		{"table blank end", valid(`"cdcTables":["shop .orders"]`),
			`cdcTables[0]: "shop .orders" is not db.table or db.* (database name has blanks at an end)`},
		{"table control", valid(`"cdcTables":["shop.or\tders"]`),
			`cdcTables[0]: "shop.or\tders" is not db.table or db.* (table name has control characters)`},
		{"snapshot mode", valid(`"snapshotMode":"always"`), `snapshotMode: unknown mode "always" (want initial, never or when_needed)`},
		{"format", valid(`"format":"avro"`), `format: unknown format "avro" (want msgpack or json)`},
		{"output max len", valid(`"outputMaxLen":-5`), `outputMaxLen: -5 is negative (0 = unlimited)`},
		{"overflow", valid(`"overflow":"drop"`), `overflow: unknown policy "drop" (want block or trim)`},
		{"trim without max len", valid(`"overflow":"trim"`), `overflow: "trim" needs outputMaxLen > 0 (0 = unlimited, nothing to trim to)`},
		{"datagen with data source", `{"taskType":"DATAGEN",` + ds + `}`, `dataSourceConfigs: DATAGEN takes no data source`},
		{"datagen rate", `{"taskType":"DATAGEN","datagen":{"rate":-1}}`,
			`datagen.rate: -1 is out of range (want 1 to 1000000 rows per second; 0 or absent = 1000)`},
		{"datagen rate too high", `{"taskType":"DATAGEN","datagen":{"rate":1000001}}`,
			`datagen.rate: 1000001 is out of range (want 1 to 1000000 rows per second; 0 or absent = 1000)`},
		{"datagen rate max int", `{"taskType":"DATAGEN","datagen":{"rate":9223372036854775807}}`,
			`datagen.rate: 9223372036854775807 is out of range (want 1 to 1000000 rows per second; 0 or absent = 1000)`},
		{"datagen total", `{"taskType":"DATAGEN","datagen":{"total":-2}}`, `datagen.total: -2 is out of range (want 0 to 1000000000000 rows; 0 = no end)`},
		{"datagen total too high", `{"taskType":"DATAGEN","datagen":{"total":1000000000001}}`,
			`datagen.total: 1000000000001 is out of range (want 0 to 1000000000000 rows; 0 = no end)`},
		// Limits.
		{"config too large", `{"taskType":"DATAGEN","taskName":"` + strings.Repeat("x", MaxConfigBytes-35) + `"}`,
			`task config is 1048577 bytes, the most is 1048576`},
		{"config at the size limit is decoded", `{"taskType":"DATAGEN","taskName":"` + strings.Repeat("x", MaxConfigBytes-36) + `"}`,
			`taskName: is 1048540 characters long, the most is 256`},
		{"too many data sources", valid(`"dataSourceConfigs":[` + strings.Repeat(`{"host":"db","port":3306,"username":"u"},`, 16) + `{"host":"db","port":0,"username":"u"}]`),
			`dataSourceConfigs: has 17 entries, the most is 16`},
		{"too many tables", valid(`"cdcTables":[` + strings.Repeat(`"a.b",`, 1024) + `"bad"]`), `cdcTables: has 1025 entries, the most is 1024`},
		{"host too long", valid(`"dataSourceConfigs":[{"host":"` + strings.Repeat("h", 256) + `","port":3306,"username":"u"}]`),
			`dataSourceConfigs[0].host: is 256 bytes long, the most is 255`},
		{"host characters", valid(`"dataSourceConfigs":[{"host":"db/x<y>","port":3306,"username":"u"}]`),
			`dataSourceConfigs[0].host: "db/x<y>" is not a host name or IP address (want letters, digits, '-', '_' and '.')`},
		{"username too long", valid(`"dataSourceConfigs":[{"host":"db","port":3306,"username":"` + strings.Repeat("u", 257) + `"}]`),
			`dataSourceConfigs[0].username: is 257 bytes long, the most is 256`},
		{"password too long", valid(`"dataSourceConfigs":[{"host":"db","port":3306,"username":"u","password":"hunter2` + strings.Repeat("p", 1018) + `"}]`),
			`dataSourceConfigs[0].password: is 1025 bytes long, the most is 1024`},
		{"sealed password too long", valid(`"dataSourceConfigs":[{"host":"db","port":3306,"username":"u","password":"enc:v2:` + strings.Repeat("AAAA", 352) + `"}]`),
			`dataSourceConfigs[0].password: is sealed and 1415 bytes long, the most is 1411 (a plain text of 1024)`},
		{"ssl ca too long", valid(`"dataSourceConfigs":[{"host":"db","port":3306,"username":"u","sslMode":"VERIFY_CA","sslCa":"/` + strings.Repeat("c", 1024) + `"}]`),
			`dataSourceConfigs[0].sslCa: is 1025 bytes long, the most is 1024`},
		{"output max len too large", valid(`"outputMaxLen":1000000001`), `outputMaxLen: 1000000001 is too large, the most is 1000000000 (0 = unlimited)`},
		// Echoed values are cut short.
		{"long unknown field", valid(`"` + strings.Repeat("k", 200) + `":1`), `unknown field "` + strings.Repeat("k", 128) + `"... (200 bytes)`},
		{"long task type", valid(`"taskType":"` + strings.Repeat("T", 1000) + `"`),
			`taskType: unknown type "` + strings.Repeat("T", 128) + `"... (1000 bytes) (want MYSQL_CDC or DATAGEN)`},
		{"long table", valid(`"cdcTables":["` + strings.Repeat("t", 300) + `"]`),
			`cdcTables[0]: "` + strings.Repeat("t", 128) + `"... (300 bytes) is not db.table or db.*`},
		{"long host", valid(`"dataSourceConfigs":[{"host":"a:` + strings.Repeat("h", 200) + `","port":3306,"username":"u"}]`),
			`dataSourceConfigs[0].host: "a:` + strings.Repeat("h", 126) + `"... (202 bytes) is not a host name or IP address (the port is its own field)`},
		{"long number", valid(`"dataSourceConfigs":[{"host":"db","port":1` + strings.Repeat("0", 300) + `,"username":"u"}]`),
			`dataSourceConfigs.port: want an integer, got number 1` + strings.Repeat("0", 120)},
		{"many problems", valid(`"cdcTables":[` + strings.Repeat(`"x",`, 24) + `"x"]`),
			manyTables(20) + `and 5 more problems`},
		{"several problems", valid(`"format":"xml","outputMaxLen":-1,"cdcTables":["x"]`),
			`cdcTables[0]: "x" is not db.table or db.*; format: unknown format "xml" (want msgpack or json); outputMaxLen: -1 is negative (0 = unlimited)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.in))
			if err == nil {
				t.Fatalf("Parse(%s) = %+v, want error %q", cut(tt.in, 300), c, tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("Parse(%s):\n got %s\nwant %s", cut(tt.in, 300), got, tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Errorf("errors.As(%v, *FieldError) = false", err)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "12345678") {
				t.Errorf("error contains the password: %v", err)
			}
		})
	}
}

func manyTables(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `cdcTables[%d]: "x" is not db.table or db.*; `, i)
	}
	return b.String()
}

func TestValidateAcceptsEmptyDefaults(t *testing.T) {
	c := &Config{TaskType: TypeDatagen}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
	if c.Format != "" || c.Datagen != nil {
		t.Errorf("Validate changed the config: %+v", c)
	}
}

func TestValidID(t *testing.T) {
	long := strings.Repeat("a", 129)
	tests := []struct {
		id   string
		want string // "" = valid
	}{
		{"t1", ""},
		{"orders.v2_EU-1", ""},
		{"...", ""},
		{strings.Repeat("a", 128), ""},
		{long, `task id "` + strings.Repeat("a", 64) + `"... (129 bytes) is invalid (want 1 to 128 of A-Z a-z 0-9 . _ -)`},
		{"", `task id is empty (want 1 to 128 of A-Z a-z 0-9 . _ -)`},
		{"a b", `task id "a b" is invalid (want 1 to 128 of A-Z a-z 0-9 . _ -)`},
		{"t{1}", `task id "t{1}" is invalid (want 1 to 128 of A-Z a-z 0-9 . _ -)`},
		{"a:b", `task id "a:b" is invalid (want 1 to 128 of A-Z a-z 0-9 . _ -)`},
		{"tâche", `task id "tâche" is invalid (want 1 to 128 of A-Z a-z 0-9 . _ -)`},
		{"a\nb", `task id "a\nb" is invalid (want 1 to 128 of A-Z a-z 0-9 . _ -)`},
		{strings.Repeat("a", 63) + "é" + strings.Repeat("b", 70),
			`task id "` + strings.Repeat("a", 63) + `"... (135 bytes) is invalid (want 1 to 128 of A-Z a-z 0-9 . _ -)`},
	}
	for _, tt := range tests {
		err := ValidID(tt.id)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("ValidID(%q) = %v, want nil", tt.id, err)
		case tt.want != "" && err == nil:
			t.Errorf("ValidID(%q) = nil, want %s", tt.id, tt.want)
		case err != nil && err.Error() != tt.want:
			t.Errorf("ValidID(%q):\n got %s\nwant %s", tt.id, err, tt.want)
		case err != nil && !errors.Is(err, ErrInvalidID):
			t.Errorf("errors.Is(ValidID(%q), ErrInvalidID) = false", tt.id)
		}
	}
}

func TestTableFilter(t *testing.T) {
	f, err := NewTableFilter([]string{"shop.orders", "shop.items", "crm.*", "Shop.Customers", "shop.orders"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		db, table string
		want      bool
	}{
		{"shop", "orders", true},
		{"shop", "items", true},
		{"shop", "users", false},
		{"shop", "Orders", false},
		{"SHOP", "orders", false},
		{"Shop", "Customers", true},
		{"Shop", "orders", false},
		{"crm", "anything", true},
		{"crm", "", true},
		{"crm2", "x", false},
		{"", "", false},
		{"shop", "*", false},
	}
	for _, tt := range tests {
		if got := f.Match(tt.db, tt.table); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.db, tt.table, got, tt.want)
		}
	}
	if got, want := f.Databases(), []string{"Shop", "crm", "shop"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Databases() = %q, want %q", got, want)
	}

	var zero TableFilter
	var nilFilter *TableFilter
	if zero.Match("a", "b") || nilFilter.Match("a", "b") || len(zero.Databases()) != 0 || nilFilter.Databases() != nil {
		t.Error("zero or nil filter matches something")
	}

	_, err = NewTableFilter([]string{"a.b", "nodb"})
	if err == nil || err.Error() != `cdcTables[1]: "nodb" is not db.table or db.*` || !errors.Is(err, ErrInvalid) {
		t.Errorf("NewTableFilter error = %v", err)
	}
	c, _ := Parse([]byte(contractExample))
	cf, err := c.TableFilter()
	if err != nil || !cf.Match("shop", "anything") || cf.Match("other", "orders") {
		t.Errorf("Config.TableFilter() = %v, %v", cf, err)
	}
}

func TestClone(t *testing.T) {
	c, err := Parse([]byte(`{"taskType":"DATAGEN","cdcTables":["a.b"],"datagen":{"rate":1}}`))
	if err != nil {
		t.Fatal(err)
	}
	d := c.Clone()
	d.CDCTables[0] = "x.y"
	d.Datagen.Rate = 9
	if c.CDCTables[0] != "a.b" || c.Datagen.Rate != 1 {
		t.Errorf("Clone shares memory: %+v", c)
	}
}
