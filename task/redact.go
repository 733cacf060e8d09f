package task

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Redaction of rejected commands for P:deadletter.
//
// A dead letter is read by operators, so it must not carry a password, and
// a rejected config is one whose fields cannot be trusted to be where they
// belong: a misspelt "pasword", a "dbPassword", a "secret" anywhere. So the
// redaction is an allowlist: it keeps the values of the known non-secret
// fields at their known place (configShape) and replaces every other value,
// of any type, by RedactedPassword. Field names match as encoding/json
// matches them, case-insensitively, so "Password" is the password (masked)
// and "HOST" is the host (kept).

// shape is what the redaction knows of a place in a config document: an
// object with known fields, an array of elements of one shape, or a scalar.
type shape struct {
	fields map[string]*shape // an object's harmless fields; nil: not an object
	elem   *shape            // an array's elements; nil: not an array
}

var (
	// scalar is a harmless string, number, boolean or null.
	scalar = &shape{}

	// dataSourceShape is a data source without its password.
	dataSourceShape = &shape{fields: map[string]*shape{
		"host": scalar, "port": scalar, "username": scalar,
		"flavor": scalar, "sslMode": scalar, "sslCa": scalar,
	}}

	// configShape is a Config with every field but the passwords.
	configShape = &shape{fields: map[string]*shape{
		"taskName":          scalar,
		"taskType":          scalar,
		"dataSourceConfigs": {elem: dataSourceShape},
		"cdcTables":         {elem: scalar},
		"snapshotMode":      scalar,
		"format":            scalar,
		"outputMaxLen":      scalar,
		"overflow":          scalar,
		"serverId":          scalar,
		"datagen":           {fields: map[string]*shape{"rate": scalar, "total": scalar}},
	}}
)

// field is the shape of member name of an object of shape sh, matched
// case-insensitively like encoding/json does, or nil for a member whose
// value must be masked.
func (sh *shape) field(name string) *shape {
	for n, f := range sh.fields {
		if strings.EqualFold(n, name) {
			return f
		}
	}
	return nil
}

// redact replaces, in a decoded JSON value v of the place sh, every value
// that is not a harmless field by RedactedPassword. A null stays null. An
// object or array where a scalar belongs, and anything but an object
// (array) where an object (array) belongs, is masked whole.
func (sh *shape) redact(v any) any {
	if v == nil {
		return nil
	}
	switch x := v.(type) {
	case map[string]any:
		if sh.fields == nil {
			return RedactedPassword
		}
		for k, e := range x {
			if f := sh.field(k); f != nil {
				x[k] = f.redact(e)
			} else {
				x[k] = RedactedPassword
			}
		}
		return x
	case []any:
		if sh.elem == nil {
			return RedactedPassword
		}
		for i := range x {
			x[i] = sh.elem.redact(x[i])
		}
		return x
	default:
		if sh != scalar {
			return RedactedPassword
		}
		return v
	}
}

// RedactJSON returns raw, a task config as received, in the form a dead
// letter keeps: the values of the known non-secret fields at their place
// (taskName, taskType, dataSourceConfigs[].host, port, username, flavor,
// sslMode, sslCa, cdcTables, snapshotMode, format, outputMaxLen, overflow,
// serverId, datagen.rate and .total) kept, every other value, passwords
// and unknown members included, replaced by RedactedPassword, in JSON with
// sorted keys. Text that is not one JSON value is replaced by a note of its
// length, since it may hold a password where it cannot be found; so is a
// document longer than MaxConfigBytes, which is not even decoded. A result
// longer than MaxDeadLetterConfigBytes is cut there, followed by a note of
// its full length.
func RedactJSON(raw string) string {
	if len(raw) > MaxConfigBytes {
		return fmt.Sprintf("(%d bytes, over the %d-byte limit of a task config, not shown)", len(raw), MaxConfigBytes)
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.InputOffset() != int64(len(strings.TrimRight(raw, " \t\r\n"))) {
		return fmt.Sprintf("(%d bytes of invalid JSON, not shown)", len(raw))
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	// Encode cannot fail: v holds only what the decoder made.
	_ = enc.Encode(configShape.redact(v))
	out := strings.TrimSuffix(b.String(), "\n")
	if len(out) > MaxDeadLetterConfigBytes {
		return fmt.Sprintf("%s ... (cut: the redacted config is %d bytes, the first %d shown)",
			cut(out, MaxDeadLetterConfigBytes), len(out), MaxDeadLetterConfigBytes)
	}
	return out
}

// commandFields are the command entry fields other than config that a dead
// letter keeps (cut to MaxDeadLetterFieldBytes).
var commandFields = []string{"cmd", "task", "request_id", "reason", "tables", "handover"}

// OmittedFieldsField is the field of a dead letter that counts the unknown
// fields beyond MaxDeadLetterUnknownFields that it does not list.
const OmittedFieldsField = "omitted_fields"

// RedactCommand returns the copy of a command entry's fields to put in
// P:deadletter. Field names are matched exactly, as the node reads them:
//   - config: RedactJSON;
//   - cmd, task, request_id, reason, tables, handover: kept, each cut to its
//     first MaxDeadLetterFieldBytes bytes and followed by a note of its length
//     when longer;
//   - any other field: its name (cut to MaxDeadLetterNameBytes) with the
//     value RedactedPassword, for the first MaxDeadLetterUnknownFields of
//     them in name order; how many more there were is in OmittedFieldsField.
//
// fields is not changed.
func RedactCommand(fields map[string]string) map[string]string {
	out := make(map[string]string, min(len(fields), len(commandFields)+1+MaxDeadLetterUnknownFields+1))
	var unknown []string
	for k, v := range fields {
		switch {
		case k == "config":
			out[k] = RedactJSON(v)
		case slices.Contains(commandFields, k):
			out[k] = cutField(v, MaxDeadLetterFieldBytes)
		default:
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for i, k := range unknown {
		if i == MaxDeadLetterUnknownFields {
			out[OmittedFieldsField] = fmt.Sprintf("%d more fields not shown", len(unknown)-i)
			break
		}
		if len(k) > MaxDeadLetterNameBytes {
			k = cut(k, MaxDeadLetterNameBytes) + "..."
		}
		out[k] = RedactedPassword
	}
	return out
}

// cutField is v, or its first n bytes followed by a note of its length.
func cutField(v string, n int) string {
	if len(v) <= n {
		return v
	}
	return fmt.Sprintf("%s... (cut: %d bytes, the first %d shown)", cut(v, n), len(v), n)
}
