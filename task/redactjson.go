package task

import (
	"encoding/json"
	"fmt"
	"strings"
)

// RedactJSON returns raw, a task config as received, with the value of
// every "password" member replaced by RedactedPassword, for copies that
// operators read (dead letters). Text that is not JSON is replaced by a
// note of its length, since it may hold a password where it cannot be found.
func RedactJSON(raw string) string {
	var v any
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return fmt.Sprintf("(%d bytes of invalid JSON, not shown)", len(raw))
	}
	b, _ := json.Marshal(redactValue(v))
	return string(b)
}

func redactValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if strings.EqualFold(k, "password") {
				x[k] = RedactedPassword
			} else {
				x[k] = redactValue(e)
			}
		}
	case []any:
		for i := range x {
			x[i] = redactValue(x[i])
		}
	}
	return v
}
