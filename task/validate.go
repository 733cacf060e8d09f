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
// field, a dead-letter entry's `error` and an API error.
func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Error()
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

// maxTaskName is the longest taskName, in characters.
const maxTaskName = 256

// Validate checks c and returns a *ValidationError listing every problem, or
// nil. Empty SnapshotMode, Format and Overflow are valid (they mean the
// defaults that SetDefaults fills in). Validate does not change c.
func (c *Config) Validate() error {
	var v validator
	if n := utf8.RuneCountInString(c.TaskName); n > maxTaskName {
		v.add("taskName", "is %d characters long, the most is %d", n, maxTaskName)
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
			if c.Datagen.Rate < 0 {
				v.add("datagen.rate", "%d is negative (0 = as fast as possible)", c.Datagen.Rate)
			}
			if c.Datagen.Total < 0 {
				v.add("datagen.total", "%d is negative (0 = unlimited)", c.Datagen.Total)
			}
		}
	case "":
		v.add("taskType", "missing (want MYSQL_CDC or DATAGEN)")
	default:
		v.add("taskType", "unknown type %q (want MYSQL_CDC or DATAGEN)", c.TaskType)
	}
	for i, ds := range c.DataSourceConfigs {
		ds.validate(&v, fmt.Sprintf("dataSourceConfigs[%d]", i))
	}
	for i, t := range c.CDCTables {
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

// validateOutput checks snapshotMode, format, outputMaxLen and overflow.
func (c *Config) validateOutput(v *validator) {
	switch c.SnapshotMode {
	case "", SnapshotInitial, SnapshotNever, SnapshotWhenNeeded:
	default:
		v.add("snapshotMode", "unknown mode %q (want initial, never or when_needed)", c.SnapshotMode)
	}
	switch c.Format {
	case "", FormatMsgpack, FormatJSON:
	default:
		v.add("format", "unknown format %q (want msgpack or json)", c.Format)
	}
	if c.OutputMaxLen < 0 {
		v.add("outputMaxLen", "%d is negative (0 = unlimited)", c.OutputMaxLen)
	}
	switch c.Overflow {
	case "", OverflowBlock:
	case OverflowTrim:
		if c.OutputMaxLen == 0 {
			v.add("overflow", "\"trim\" needs outputMaxLen > 0 (0 = unlimited, nothing to trim to)")
		}
	default:
		v.add("overflow", "unknown policy %q (want block or trim)", c.Overflow)
	}
}

// validate checks one data source; path is its field path. The password is
// never looked at, so it cannot end up in a message.
func (d DataSource) validate(v *validator, path string) {
	switch {
	case d.Host == "":
		v.add(path+".host", "missing")
	case hasBlank(d.Host):
		v.add(path+".host", "%q contains blanks", d.Host)
	case strings.Contains(d.Host, ":") && net.ParseIP(d.Host) == nil:
		v.add(path+".host", "%q is not a host name or IP address (the port is its own field)", d.Host)
	}
	if d.Port < 1 || d.Port > 65535 {
		v.add(path+".port", "%d is not a port (want 1-65535)", d.Port)
	}
	if d.Username == "" {
		v.add(path+".username", "missing")
	}
	switch d.Flavor {
	case FlavorDetect, FlavorMySQL, FlavorMariaDB:
	default:
		v.add(path+".flavor", "unknown flavor %q (want mysql, mariadb, or none to detect)", d.Flavor)
	}
	switch d.SSLMode {
	case "", SSLDisabled, SSLRequired, SSLVerifyCA, SSLVerifyIdentity:
	default:
		v.add(path+".sslMode", "unknown mode %q (want DISABLED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY)", d.SSLMode)
	}
	if d.SSLCa != "" && d.SSLMode != SSLVerifyCA && d.SSLMode != SSLVerifyIdentity {
		v.add(path+".sslCa", "set, but sslMode is %q: a CA file is used only by VERIFY_CA and VERIFY_IDENTITY", d.SSLMode)
	}
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

// maxIDLen is the longest task id.
const maxIDLen = 128

// ValidID checks a task id against the contract: 1 to 128 characters, each
// an ASCII letter, digit, '.', '_' or '-'. The error quotes the id (its first
// 64 bytes when longer) and matches ErrInvalidID.
func ValidID(id string) error {
	ok := len(id) >= 1 && len(id) <= maxIDLen
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
		cut := show
		for cut > 0 && !utf8.RuneStart(e.id[cut]) {
			cut--
		}
		quoted = fmt.Sprintf("%q... (%d bytes)", e.id[:cut], len(e.id))
	default:
		quoted = fmt.Sprintf("%q", e.id)
	}
	return "task id " + quoted + " is invalid (want 1 to 128 of A-Z a-z 0-9 . _ -)"
}

// Is makes an idError match ErrInvalidID.
func (e *idError) Is(target error) bool { return target == ErrInvalidID }
