package schema

import (
	"fmt"
	"strings"
)

// describe renders a table one line per column, for want/got diffs.
func describe(t *Table) string {
	if t == nil {
		return "<nil>"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s/%s key%q", t.Ref(), t.Charset, t.Collation, t.PrimaryKey)
	for _, c := range t.Columns {
		fmt.Fprintf(&b, "\n  %q %s (%s)", c.Name, c.Type, c.DataType)
		if c.Unsigned {
			b.WriteString(" unsigned")
		}
		if c.Charset != "" || c.Collation != "" {
			fmt.Fprintf(&b, " %s/%s", c.Charset, c.Collation)
		}
		if c.Length != 0 {
			fmt.Fprintf(&b, " len=%d", c.Length)
		}
		if c.Precision != 0 || c.Scale != 0 {
			fmt.Fprintf(&b, " p=%d s=%d", c.Precision, c.Scale)
		}
		if c.Labels != nil {
			fmt.Fprintf(&b, " labels%q", c.Labels)
		}
		if c.Nullable {
			b.WriteString(" null")
		} else {
			b.WriteString(" not-null")
		}
		if c.JSON {
			b.WriteString(" json")
		}
	}
	return b.String()
}
