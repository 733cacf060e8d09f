package task

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// largestConfig is a valid config at every limit, its text made of the
// character that encoding/json expands most ('<' becomes \u003c).
func largestConfig() *Config {
	w := func(n int) string { return strings.Repeat("<", n) }
	c := &Config{
		TaskName: w(MaxTaskNameChars), TaskType: TypeMySQLCDC,
		SnapshotMode: SnapshotWhenNeeded, Format: FormatJSON,
		OutputMaxLen: MaxOutputMaxLen, Overflow: OverflowTrim, ServerID: MaxServerID,
	}
	for range MaxDataSources {
		c.DataSourceConfigs = append(c.DataSourceConfigs, DataSource{
			Host: strings.Repeat("h", MaxHostBytes), Port: 65535, Username: w(MaxUsernameBytes),
			Password: w(MaxPasswordBytes), Flavor: FlavorMariaDB,
			SSLMode: SSLVerifyIdentity, SSLCa: w(MaxSSLCaBytes),
		})
	}
	for range MaxCDCTables {
		c.CDCTables = append(c.CDCTables, w(MaxIdentifierChars)+"."+w(MaxIdentifierChars))
	}
	return c
}

// TestLargestValidConfigFits: the limits are consistent: the largest valid
// config, stored as the node stores it (plain or sealed), is within
// MaxConfigBytes, so it parses again.
func TestLargestValidConfigFits(t *testing.T) {
	c := largestConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("the largest config is invalid: %v", err)
	}
	sealed, err := mustSealer(t, key1).Seal("t1", c)
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]*Config{"plain": c, "sealed": sealed} {
		b, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes of %d", name, len(b), MaxConfigBytes)
		if len(b) > MaxConfigBytes {
			t.Errorf("%s: the largest valid config encodes to %d bytes, over MaxConfigBytes %d", name, len(b), MaxConfigBytes)
		}
		back, err := Parse(b)
		if err != nil {
			t.Errorf("%s: Parse of the encoded largest config: %.300v", name, err)
		} else if name == "plain" && back.Digest() != c.Digest() {
			t.Errorf("%s: digest changed", name)
		}
	}
	js, err := PrepareCommandConfig(mustSealer(t, key1), "t1", mustJSON(t, c))
	if err != nil || len(js) > MaxConfigBytes {
		t.Errorf("PrepareCommandConfig(largest) = %d bytes, %.300v", len(js), err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLimitsAccepted: a value at each limit is valid (the limits are
// inclusive), and one past it is not.
func TestLimitsAccepted(t *testing.T) {
	base := func() *Config {
		return &Config{TaskType: TypeMySQLCDC, CDCTables: []string{"a.b"},
			DataSourceConfigs: []DataSource{{Host: "db", Port: 3306, Username: "u"}}}
	}
	gen := func(rate, total int64) *Config {
		return &Config{TaskType: TypeDatagen, Datagen: &Datagen{Rate: rate, Total: total}}
	}
	ds := func(edit func(*DataSource)) *Config {
		c := base()
		edit(&c.DataSourceConfigs[0])
		return c
	}
	sealedMax, err := mustSealer(t, key1).Seal("t1", ds(func(d *DataSource) { d.Password = strings.Repeat("p", MaxPasswordBytes) }))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(sealedMax.DataSourceConfigs[0].Password); n != MaxSealedPasswordBytes {
		t.Errorf("a sealed %d-byte password is %d bytes, MaxSealedPasswordBytes is %d", MaxPasswordBytes, n, MaxSealedPasswordBytes)
	}
	tests := []struct {
		name     string
		at, over *Config
	}{
		{"datagen rate", gen(MaxDatagenRate, 0), gen(MaxDatagenRate+1, 0)},
		{"datagen rate low", gen(1, 0), gen(-1, 0)},
		{"datagen total", gen(1, MaxDatagenTotal), gen(1, MaxDatagenTotal+1)},
		{"output max len", func() *Config { c := base(); c.OutputMaxLen = MaxOutputMaxLen; return c }(),
			func() *Config { c := base(); c.OutputMaxLen = MaxOutputMaxLen + 1; return c }()},
		{"task name", func() *Config { c := base(); c.TaskName = strings.Repeat("é", MaxTaskNameChars); return c }(),
			func() *Config { c := base(); c.TaskName = strings.Repeat("n", MaxTaskNameChars+1); return c }()},
		{"data sources", func() *Config {
			c := base()
			c.DataSourceConfigs = make([]DataSource, MaxDataSources)
			fill(c)
			return c
		}(),
			func() *Config {
				c := base()
				c.DataSourceConfigs = make([]DataSource, MaxDataSources+1)
				fill(c)
				return c
			}()},
		{"tables", func() *Config { c := base(); c.CDCTables = tables(MaxCDCTables); return c }(),
			func() *Config { c := base(); c.CDCTables = tables(MaxCDCTables + 1); return c }()},
		{"identifier", func() *Config {
			c := base()
			c.CDCTables = []string{"a." + strings.Repeat("é", MaxIdentifierChars)}
			return c
		}(),
			func() *Config {
				c := base()
				c.CDCTables = []string{"a." + strings.Repeat("t", MaxIdentifierChars+1)}
				return c
			}()},
		{"host", ds(func(d *DataSource) { d.Host = strings.Repeat("h", MaxHostBytes) }),
			ds(func(d *DataSource) { d.Host = strings.Repeat("h", MaxHostBytes+1) })},
		{"username", ds(func(d *DataSource) { d.Username = strings.Repeat("u", MaxUsernameBytes) }),
			ds(func(d *DataSource) { d.Username = strings.Repeat("u", MaxUsernameBytes+1) })},
		{"password", ds(func(d *DataSource) { d.Password = strings.Repeat("p", MaxPasswordBytes) }),
			ds(func(d *DataSource) { d.Password = strings.Repeat("p", MaxPasswordBytes+1) })},
		{"sealed password", sealedMax, ds(func(d *DataSource) { d.Password = sealedMax.DataSourceConfigs[0].Password + "AAAA" })},
		{"ssl ca", ds(func(d *DataSource) { d.SSLMode, d.SSLCa = SSLVerifyCA, strings.Repeat("c", MaxSSLCaBytes) }),
			ds(func(d *DataSource) { d.SSLMode, d.SSLCa = SSLVerifyCA, strings.Repeat("c", MaxSSLCaBytes+1) })},
		{"port", ds(func(d *DataSource) { d.Port = 65535 }), ds(func(d *DataSource) { d.Port = 65536 })},
		{"port low", ds(func(d *DataSource) { d.Port = 1 }), ds(func(d *DataSource) { d.Port = 0 })},
	}
	for _, tt := range tests {
		if err := tt.at.Validate(); err != nil {
			t.Errorf("%s at the limit: %.300v", tt.name, err)
		}
		if err := tt.over.Validate(); err == nil {
			t.Errorf("%s past the limit: valid", tt.name)
		}
	}
	// The server id's limit is its type's: the decoder rejects more.
	if _, err := Parse([]byte(fmt.Sprintf(`{"taskType":"DATAGEN","serverId":%d}`, uint64(MaxServerID)))); err != nil {
		t.Errorf("serverId %d: %v", uint64(MaxServerID), err)
	}
	// A zero rate is the default, and is valid.
	c, err := Parse([]byte(`{"taskType":"DATAGEN","datagen":{"rate":0,"total":5}}`))
	if err != nil || c.Datagen.Rate != DefaultDatagenRate || c.Datagen.Total != 5 {
		t.Errorf("rate 0: %+v, %v", c, err)
	}
}

func fill(c *Config) {
	for i := range c.DataSourceConfigs {
		c.DataSourceConfigs[i] = DataSource{Host: "db", Port: 3306, Username: "u"}
	}
}

func tables(n int) []string {
	ts := make([]string, n)
	for i := range ts {
		ts[i] = fmt.Sprintf("db.t%d", i)
	}
	return ts
}
