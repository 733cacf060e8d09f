package task

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrInvalid is matched (errors.Is) by every error of Parse and Validate: the
// config cannot be used. A start command carrying it is dead-lettered.
var ErrInvalid = errors.New("invalid task config")

// FieldError is one problem with one field of a task config.
type FieldError struct {
	// Field is the path of the field, such as "dataSourceConfigs[0].port";
	// empty for a problem with the document as a whole.
	Field string
	// Msg says what is wrong, quoting the bad value unless it is a password.
	Msg string
}

// Error returns "field: message", or the message alone.
func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// ValidationError lists every problem found in one task config.
type ValidationError struct {
	Problems []*FieldError
}

// Error joins the problems with "; ", on one line, so that it fits a log
// field, a dead-letter entry's `error` and an API error: the first 20, then
// how many more there are.
func (e *ValidationError) Error() string {
	n := min(len(e.Problems), maxProblems)
	msgs := make([]string, n, n+1)
	for i, p := range e.Problems[:n] {
		msgs[i] = p.Error()
	}
	if more := len(e.Problems) - n; more > 0 {
		msgs = append(msgs, fmt.Sprintf("and %d more problems", more))
	}
	return strings.Join(msgs, "; ")
}

// Is makes a ValidationError match ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Unwrap returns the problems, for errors.As with *FieldError.
func (e *ValidationError) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return errs
}

// invalid is a ValidationError of one problem.
func invalid(field, msg string) error {
	return &ValidationError{Problems: []*FieldError{{Field: field, Msg: msg}}}
}

// Validate checks c against the rules and the limits (see limits.go) and
// returns a *ValidationError listing every problem, or nil. Empty
// SnapshotMode, Format and Overflow, and a zero datagen.rate, are valid
// (they mean the defaults that SetDefaults fills in). Validate does not
// change c. Messages quote bad values cut to their first 128 bytes, and
// never a password.
func (c *Config) Validate() error {
	var v validator
	if n := utf8.RuneCountInString(c.TaskName); n > MaxTaskNameChars {
		v.add("taskName", "is %d characters long, the most is %d", n, MaxTaskNameChars)
	}
	switch c.TaskType {
	case TypeMySQLCDC:
		if len(c.DataSourceConfigs) == 0 {
			v.add("dataSourceConfigs", "MYSQL_CDC needs at least one data source")
		}
		if len(c.CDCTables) == 0 {
			v.add("cdcTables", "MYSQL_CDC needs at least one table (\"db.table\" or \"db.*\")")
		}
		if c.Datagen != nil {
			v.add("datagen", "is only for taskType DATAGEN")
		}
	case TypeDatagen:
		if len(c.DataSourceConfigs) > 0 {
			v.add("dataSourceConfigs", "DATAGEN takes no data source")
		}
		if c.Datagen != nil {
			c.Datagen.validate(&v)
		}
	case "":
		v.add("taskType", "missing (want MYSQL_CDC or DATAGEN)")
	default:
		v.add("taskType", "unknown type %s (want MYSQL_CDC or DATAGEN)", quote(string(c.TaskType)))
	}
	sources := c.DataSourceConfigs
	if len(sources) > MaxDataSources {
		v.add("dataSourceConfigs", "has %d entries, the most is %d", len(sources), MaxDataSources)
		sources = sources[:MaxDataSources]
	}
	for i, ds := range sources {
		ds.validate(&v, fmt.Sprintf("dataSourceConfigs[%d]", i))
	}
	tables := c.CDCTables
	if len(tables) > MaxCDCTables {
		v.add("cdcTables", "has %d entries, the most is %d", len(tables), MaxCDCTables)
		tables = tables[:MaxCDCTables]
	}
	for i, t := range tables {
		if _, _, err := splitTable(t); err != nil {
			v.add(fmt.Sprintf("cdcTables[%d]", i), "%v", err)
		}
	}
	c.validateOutput(&v)
	if len(v.errs) == 0 {
		return nil
	}
	return &ValidationError{Problems: v.errs}
}

// validate checks the rate and the total of a DATAGEN task.
func (d *Datagen) validate(v *validator) {
	if d.Rate < 0 || d.Rate > MaxDatagenRate {
		v.add("datagen.rate", "%d is out of range (want 1 to %d rows per second; 0 or absent = %d)",
			d.Rate, MaxDatagenRate, DefaultDatagenRate)
	}
	if d.Total < 0 || d.Total > MaxDatagenTotal {
		v.add("datagen.total", "%d is out of range (want 0 to %d rows; 0 = no end)", d.Total, MaxDatagenTotal)
	}
}

// validateOutput checks snapshotMode, format, outputMaxLen and overflow.
func (c *Config) validateOutput(v *validator) {
	switch c.SnapshotMode {
	case "", SnapshotInitial, SnapshotNever, SnapshotWhenNeeded:
	default:
		v.add("snapshotMode", "unknown mode %s (want initial, never or when_needed)", quote(string(c.SnapshotMode)))
	}
	switch c.Format {
	case "", FormatMsgpack, FormatJSON:
	default:
		v.add("format", "unknown format %s (want msgpack or json)", quote(string(c.Format)))
	}
	switch {
	case c.OutputMaxLen < 0:
		v.add("outputMaxLen", "%d is negative (0 = unlimited)", c.OutputMaxLen)
	case c.OutputMaxLen > MaxOutputMaxLen:
		v.add("outputMaxLen", "%d is too large, the most is %d (0 = unlimited)", c.OutputMaxLen, MaxOutputMaxLen)
	}
	switch c.Overflow {
	case "", OverflowBlock:
	case OverflowTrim:
		if c.OutputMaxLen == 0 {
			v.add("overflow", "\"trim\" needs outputMaxLen > 0 (0 = unlimited, nothing to trim to)")
		}
	default:
		v.add("overflow", "unknown policy %s (want block or trim)", quote(string(c.Overflow)))
	}
}

// validate checks one data source; path is its field path. Of the password
// only the length is looked at, and never shown.
func (d DataSource) validate(v *validator, path string) {
	switch {
	case d.Host == "":
		v.add(path+".host", "missing")
	case len(d.Host) > MaxHostBytes:
		v.add(path+".host", "is %d bytes long, the most is %d", len(d.Host), MaxHostBytes)
	case hasBlank(d.Host):
		v.add(path+".host", "%s contains blanks", quote(d.Host))
	case net.ParseIP(d.Host) != nil:
	case strings.Contains(d.Host, ":"):
		v.add(path+".host", "%s is not a host name or IP address (the port is its own field)", quote(d.Host))
	case !isHostName(d.Host):
		v.add(path+".host", "%s is not a host name or IP address (want letters, digits, '-', '_' and '.')", quote(d.Host))
	}
	if d.Port < 1 || d.Port > 65535 {
		v.add(path+".port", "%d is not a port (want 1-65535)", d.Port)
	}
	switch {
	case d.Username == "":
		v.add(path+".username", "missing")
	case len(d.Username) > MaxUsernameBytes:
		v.add(path+".username", "is %d bytes long, the most is %d", len(d.Username), MaxUsernameBytes)
	}
	if _, _, sealed := envelope(d.Password); sealed && len(d.Password) > MaxSealedPasswordBytes {
		v.add(path+".password", "is sealed and %d bytes long, the most is %d (a plain text of %d)",
			len(d.Password), MaxSealedPasswordBytes, MaxPasswordBytes)
	} else if !sealed && len(d.Password) > MaxPasswordBytes {
		v.add(path+".password", "is %d bytes long, the most is %d", len(d.Password), MaxPasswordBytes)
	}
	switch d.Flavor {
	case FlavorDetect, FlavorMySQL, FlavorMariaDB:
	default:
		v.add(path+".flavor", "unknown flavor %s (want mysql, mariadb, or none to detect)", quote(string(d.Flavor)))
	}
	switch d.SSLMode {
	case "", SSLDisabled, SSLRequired, SSLVerifyCA, SSLVerifyIdentity:
	default:
		v.add(path+".sslMode", "unknown mode %s (want DISABLED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY)", quote(string(d.SSLMode)))
	}
	switch {
	case len(d.SSLCa) > MaxSSLCaBytes:
		v.add(path+".sslCa", "is %d bytes long, the most is %d", len(d.SSLCa), MaxSSLCaBytes)
	case d.SSLCa != "" && d.SSLMode != SSLVerifyCA && d.SSLMode != SSLVerifyIdentity:
		v.add(path+".sslCa", "set, but sslMode is %s: a CA file is used only by VERIFY_CA and VERIFY_IDENTITY", quote(string(d.SSLMode)))
	}
}

// isHostName reports whether s is made of the characters of a host name:
// ASCII letters, digits, '-', '_' and '.'.
func isHostName(s string) bool {
	for i := range len(s) {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_' || b == '.') {
			return false
		}
	}
	return true
}

// quote is s quoted with %q, its first maxEcho bytes only (cut at a
// character boundary) when longer, with its length.
func quote(s string) string {
	if len(s) <= maxEcho {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q... (%d bytes)", cut(s, maxEcho), len(s))
}

// cut is the longest prefix of s of at most n bytes that does not split a
// UTF-8 character.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// validator collects problems.
type validator struct{ errs []*FieldError }

func (v *validator) add(field, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
}

// hasBlank reports whether s contains white space or control characters.
func hasBlank(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0
}

// ErrInvalidID is matched (errors.Is) by the errors of ValidID.
var ErrInvalidID = errors.New("invalid task id")

// ValidID checks a task id against the contract: 1 to 128 characters, each
// an ASCII letter, digit, '.', '_' or '-'. The error quotes the id (its first
// 64 bytes when longer) and matches ErrInvalidID.
func ValidID(id string) error {
	ok := len(id) >= 1 && len(id) <= MaxIDLen
	for i := 0; ok && i < len(id); i++ {
		b := id[i]
		ok = b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '.' || b == '_' || b == '-'
	}
	if ok {
		return nil
	}
	return &idError{id: id}
}

// idError is a bad task id.
type idError struct{ id string }

// Error quotes the id, cut to its first 64 bytes when longer.
func (e *idError) Error() string {
	const show = 64
	var quoted string
	switch {
	case e.id == "":
		return "task id is empty (want 1 to 128 of A-Z a-z 0-9 . _ -)"
	case len(e.id) > show:
		quoted = fmt.Sprintf("%q... (%d bytes)", cut(e.id, show), len(e.id))
	default:
		quoted = fmt.Sprintf("%q", e.id)
	}
	return "task id " + quoted + " is invalid (want 1 to 128 of A-Z a-z 0-9 . _ -)"
}

// Is makes an idError match ErrInvalidID.
func (e *idError) Is(target error) bool { return target == ErrInvalidID }
