// Package task is the configuration of one CDC task: the JSON that a start
// command carries in its `config` field and that the HTTP API takes as the
// body of POST .../task/{id}/start (field names follow the Java service), and
// the id rules for tasks. It is a wire type with no I/O.
//
// Parse decodes strictly (an unknown or misspelt field is an error, not a
// silently ignored setting), applies the defaults and validates against the
// limits of limits.go (at most MaxConfigBytes of JSON, bounded lengths,
// counts and rates); every error names the field path, the limit and the bad
// value (cut short), never a password. Digest says whether two configs are
// the same (a start with an unchanged config is a no-op, a changed one
// restarts the task). A Sealer encrypts the passwords (AES-256-GCM under
// DATAINGEST_SECRET_KEY, each bound to its task id and endpoint) before a
// config is stored in Redis, PrepareCommandConfig before a producer XADDs
// it, and decrypts them when a node loads it. Redacted is the form for
// logs, API responses and CLI output; RedactJSON and RedactCommand the form
// of a rejected command in P:deadletter, which keeps only the values of
// known non-secret fields. TableFilter is the cdcTables selection.
package task

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// Type is the kind of a task, its source.
type Type string

// The task types.
const (
	// TypeMySQLCDC streams the binlog of MySQL or MariaDB.
	TypeMySQLCDC Type = "MYSQL_CDC"
	// TypeDatagen is the built-in synthetic source: rows carrying a gap-free
	// sequence number, for fleet tests and benchmarks without a database.
	TypeDatagen Type = "DATAGEN"
)

// Flavor is the server kind of a data source.
type Flavor string

// The flavors. FlavorDetect (the empty string) means: ask the server.
const (
	FlavorDetect  Flavor = ""
	FlavorMySQL   Flavor = "mysql"
	FlavorMariaDB Flavor = "mariadb"
)

// SnapshotMode says whether a task first copies the existing rows.
type SnapshotMode string

// The snapshot modes.
const (
	// SnapshotInitial takes a consistent snapshot of the existing rows, then
	// follows the binlog. The default.
	SnapshotInitial SnapshotMode = "initial"
	// SnapshotNever follows the binlog from now on.
	SnapshotNever SnapshotMode = "never"
	// SnapshotWhenNeeded is SnapshotInitial, and snapshots again when the
	// checkpoint's binlog is gone.
	SnapshotWhenNeeded SnapshotMode = "when_needed"
)

// Format is the encoding of the `data` field of the output entries.
type Format string

// The output formats.
const (
	FormatMsgpack Format = "msgpack" // the default
	FormatJSON    Format = "json"
)

// Overflow is what a task does when its output stream holds OutputMaxLen
// entries that some consumer group has not read yet.
type Overflow string

// The overflow policies.
const (
	// OverflowBlock pauses the task (state BACKPRESSURE) until consumers catch
	// up; nothing unread is dropped. The default.
	OverflowBlock Overflow = "block"
	// OverflowTrim trims the stream approximately to OutputMaxLen, dropping
	// the oldest entries even if unread.
	OverflowTrim Overflow = "trim"
)

// Config is one task's configuration, as JSON.
type Config struct {
	// TaskName is a free label for humans, at most MaxTaskNameChars
	// characters.
	TaskName string `json:"taskName,omitempty"`
	// TaskType is TypeMySQLCDC or TypeDatagen; required.
	TaskType Type `json:"taskType"`
	// DataSourceConfigs are the endpoints of one logical source, primary
	// first; later entries are replicas to fall back to (by GTID). At least
	// one for MYSQL_CDC, none for DATAGEN; at most MaxDataSources.
	DataSourceConfigs []DataSource `json:"dataSourceConfigs,omitempty"`
	// CDCTables select the tables: "db.table" or "db.*" (see TableFilter).
	// At least one for MYSQL_CDC; optional for DATAGEN, whose source decides
	// what they mean. At most MaxCDCTables.
	CDCTables []string `json:"cdcTables,omitempty"`
	// SnapshotMode defaults to SnapshotInitial.
	SnapshotMode SnapshotMode `json:"snapshotMode,omitempty"`
	// Format defaults to FormatMsgpack.
	Format Format `json:"format,omitempty"`
	// OutputMaxLen is the length of the output stream at which Overflow
	// applies; 0 = unlimited, at most MaxOutputMaxLen.
	OutputMaxLen int64 `json:"outputMaxLen,omitempty"`
	// Overflow defaults to OverflowBlock. OverflowTrim needs OutputMaxLen > 0.
	Overflow Overflow `json:"overflow,omitempty"`
	// ServerID is the replication client's server id; 0 = chosen
	// automatically per task. A chosen id must be kept outside the Config,
	// or the config's Digest changes.
	ServerID uint32 `json:"serverId,omitempty"`
	// Datagen configures a DATAGEN task; absent for MYSQL_CDC.
	Datagen *Datagen `json:"datagen,omitempty"`
}

// DataSource is one MySQL/MariaDB endpoint.
type DataSource struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Username string `json:"username"`
	// Password is plain text (at most MaxPasswordBytes), SealedPrefix+...
	// when sealed (LegacySealedPrefix+... when sealed by a version before
	// the binding), "******" when redacted. Never put it in an error or a
	// log line.
	Password string `json:"password,omitempty"`
	Flavor   Flavor `json:"flavor,omitempty"`
	// SSLMode is how the task uses TLS to this server, as the MySQL
	// client's --ssl-mode names it: "" or DISABLED (plain TCP), REQUIRED
	// (TLS, the server's certificate not checked), VERIFY_CA (checked
	// against SSLCa, else the system's roots), VERIFY_IDENTITY (also the
	// host name).
	SSLMode SSLMode `json:"sslMode,omitempty"`
	// SSLCa is the path, on the nodes, of a PEM file of the CA
	// certificates that VERIFY_CA and VERIFY_IDENTITY trust.
	SSLCa string `json:"sslCa,omitempty"`
}

// SSLMode is a data source's TLS mode.
type SSLMode string

// The TLS modes.
const (
	SSLDisabled       SSLMode = "DISABLED"
	SSLRequired       SSLMode = "REQUIRED"
	SSLVerifyCA       SSLMode = "VERIFY_CA"
	SSLVerifyIdentity SSLMode = "VERIFY_IDENTITY"
)

// String shows the endpoint as user@host:port without the password, so that
// printing a DataSource by mistake leaks nothing.
func (d DataSource) String() string {
	s := fmt.Sprintf("%s@%s:%d", d.Username, d.Host, d.Port)
	if d.Flavor != FlavorDetect {
		s += " (" + string(d.Flavor) + ")"
	}
	return s
}

// GoString is String, for %#v.
func (d DataSource) GoString() string { return d.String() }

// Datagen configures the synthetic source.
type Datagen struct {
	// Rate is rows per second, 1 to MaxDatagenRate; 0 (or absent) is
	// DefaultDatagenRate, filled in by SetDefaults.
	Rate int64 `json:"rate"`
	// Total is the number of rows after which the task stops producing,
	// at most MaxDatagenTotal; 0 = no end.
	Total int64 `json:"total"`
}

// Parse decodes a task config strictly, applies the defaults and validates
// it. A document longer than MaxConfigBytes is rejected without being
// decoded. Unknown fields (compared case-sensitively, unlike encoding/json)
// are errors naming them. Every error is a *ValidationError matching
// ErrInvalid.
func Parse(data []byte) (*Config, error) {
	if len(data) > MaxConfigBytes {
		return nil, invalid("", fmt.Sprintf("task config is %d bytes, the most is %d", len(data), MaxConfigBytes))
	}
	if err := checkFields(data); err != nil {
		return nil, err
	}
	var c Config
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, decodeError(err)
	}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// SetDefaults fills the fields whose empty value means a default:
// SnapshotMode, Format, Overflow, and Datagen (with its Rate) for a DATAGEN
// task.
func (c *Config) SetDefaults() {
	if c.SnapshotMode == "" {
		c.SnapshotMode = SnapshotInitial
	}
	if c.Format == "" {
		c.Format = FormatMsgpack
	}
	if c.Overflow == "" {
		c.Overflow = OverflowBlock
	}
	if c.TaskType == TypeDatagen && c.Datagen == nil {
		c.Datagen = &Datagen{}
	}
	if c.Datagen != nil && c.Datagen.Rate == 0 {
		c.Datagen.Rate = DefaultDatagenRate
	}
}

// Clone returns a deep copy of c.
func (c *Config) Clone() *Config {
	d := *c
	d.DataSourceConfigs = slices.Clone(c.DataSourceConfigs)
	d.CDCTables = slices.Clone(c.CDCTables)
	if c.Datagen != nil {
		g := *c.Datagen
		d.Datagen = &g
	}
	return &d
}

// checkFields rejects a document that is not a JSON object or that has a key
// Config does not know, at the top level, in a data source or in datagen.
// Type mismatches are left to json.Unmarshal.
func checkFields(data []byte) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return invalid("", "task config is empty, want a JSON object")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return decodeError(err)
	}
	if top == nil {
		return invalid("", "task config is null, want a JSON object")
	}
	var errs []*FieldError
	errs = append(errs, unknownFields("", top, reflect.TypeFor[Config]())...)
	var sources []map[string]json.RawMessage
	if json.Unmarshal(top["dataSourceConfigs"], &sources) == nil {
		for i, s := range sources {
			errs = append(errs, unknownFields(fmt.Sprintf("dataSourceConfigs[%d]", i), s, reflect.TypeFor[DataSource]())...)
		}
	}
	var gen map[string]json.RawMessage
	if json.Unmarshal(top["datagen"], &gen) == nil {
		errs = append(errs, unknownFields("datagen", gen, reflect.TypeFor[Datagen]())...)
	}
	if len(errs) > 0 {
		return &ValidationError{Problems: errs}
	}
	return nil
}

// unknownFields reports the keys of obj that are not JSON field names of t,
// in sorted order, suggesting the field probably meant.
func unknownFields(path string, obj map[string]json.RawMessage, t reflect.Type) []*FieldError {
	known := jsonNames(t)
	var errs []*FieldError
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		if slices.Contains(known, k) {
			continue
		}
		msg := "unknown field " + quote(k)
		if guess := closest(k, known); guess != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", guess)
		}
		errs = append(errs, &FieldError{Field: path, Msg: msg})
	}
	return errs
}

// jsonNames lists the JSON names of the fields of struct type t.
func jsonNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}

// closest is the name in names that s most likely misspells (same letters in
// another case, or at most two edits away), or "". Names much longer than
// any field are no misspelling, and are not compared.
func closest(s string, names []string) string {
	best, bestDist := "", 3
	if len(s) > 64 {
		return ""
	}
	for _, n := range names {
		if strings.EqualFold(s, n) {
			return n
		}
		if d := editDistance(strings.ToLower(s), strings.ToLower(n)); d < bestDist {
			best, bestDist = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// decodeError turns an encoding/json error into a *ValidationError naming the
// field and the expected type. JSON type errors carry only the kind of the
// bad value ("string", "number 5000000000"), never a string's text, so no
// password can leak through here.
func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return invalid("", fmt.Sprintf("invalid JSON at byte %d: %s", syn.Offset, strings.TrimPrefix(syn.Error(), "json: ")))
	case errors.As(err, &typ) && typ.Field == "":
		return invalid("", fmt.Sprintf("task config is a JSON %s, want an object", cut(typ.Value, maxEcho)))
	case errors.As(err, &typ):
		return invalid(cut(typ.Field, maxEcho), fmt.Sprintf("want %s, got %s", typeName(typ.Type), cut(typ.Value, maxEcho)))
	default:
		return invalid("", "invalid JSON: "+strings.TrimPrefix(err.Error(), "json: "))
	}
}

// typeName says in JSON terms what a value of Go type t must be.
func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Uint32:
		return "an integer from 0 to 4294967295"
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.Slice:
		return "an array"
	case reflect.Struct, reflect.Pointer, reflect.Map:
		return "an object"
	default:
		return t.Kind().String()
	}
}
