package schema

import (
	"strings"
	"unicode"
)

// DDL is what a schema-changing statement does to which tables.
type DDL struct {
	Kind   string     // CREATE, ALTER, DROP, RENAME, TRUNCATE
	Tables []TableRef // the tables it changes; for RENAME, old and new names in pairs
}

// ParseDDL recognises the statements that change tables (CREATE TABLE,
// ALTER TABLE, DROP TABLE, RENAME TABLE, TRUNCATE) and the tables they name,
// qualified with defaultDB where the statement does not say. ok is false
// for any other statement. It reads names, not the whole grammar: enough to
// know which tables a binlog's DDL touches.
func ParseDDL(defaultDB, stmt string) (d DDL, ok bool) {
	toks := tokenize(stmt)
	word := func(i int) string {
		if i < len(toks) && !toks[i].quoted {
			return strings.ToUpper(toks[i].text)
		}
		return ""
	}
	i := 0
	skip := func(words ...string) {
		for i < len(toks) {
			match := false
			for _, w := range words {
				if word(i) == w {
					match = true
				}
			}
			if !match {
				return
			}
			i++
		}
	}
	// name reads [db.]table at i.
	name := func() (TableRef, bool) {
		if i >= len(toks) || toks[i].text == "" {
			return TableRef{}, false
		}
		ref := TableRef{DB: defaultDB, Name: toks[i].text}
		i++
		if i+1 < len(toks) && toks[i].text == "." && !toks[i].quoted {
			ref.DB, ref.Name = ref.Name, toks[i+1].text
			i += 2
		}
		return ref, true
	}
	names := func() {
		for {
			ref, ok := name()
			if !ok {
				return
			}
			d.Tables = append(d.Tables, ref)
			if i < len(toks) && toks[i].text == "," && !toks[i].quoted {
				i++
				continue
			}
			return
		}
	}
	switch word(0) {
	case "CREATE":
		i = 1
		skip("OR", "REPLACE", "TEMPORARY")
		if word(i) != "TABLE" {
			return d, false
		}
		i++
		skip("IF", "NOT", "EXISTS")
		d.Kind = "CREATE"
		if ref, ok := name(); ok {
			d.Tables = append(d.Tables, ref)
		}
	case "ALTER":
		i = 1
		skip("ONLINE", "IGNORE")
		if word(i) != "TABLE" {
			return d, false
		}
		i++
		skip("IF", "EXISTS")
		d.Kind = "ALTER"
		if ref, ok := name(); ok {
			d.Tables = append(d.Tables, ref)
		}
		// ALTER TABLE a RENAME [TO|AS] b
		for ; i < len(toks); i++ {
			if word(i) == "RENAME" && word(i+1) != "COLUMN" && word(i+1) != "INDEX" && word(i+1) != "KEY" {
				i++
				skip("TO", "AS")
				if ref, ok := name(); ok {
					d.Kind = "RENAME"
					d.Tables = append(d.Tables, ref)
				}
				break
			}
		}
	case "DROP":
		i = 1
		skip("TEMPORARY")
		if word(i) != "TABLE" {
			return d, false
		}
		i++
		skip("IF", "EXISTS")
		d.Kind = "DROP"
		names()
	case "RENAME":
		if word(1) != "TABLE" {
			return d, false
		}
		i = 2
		d.Kind = "RENAME"
		for {
			from, ok := name()
			if !ok || word(i) != "TO" {
				break
			}
			i++
			to, ok := name()
			if !ok {
				break
			}
			d.Tables = append(d.Tables, from, to)
			if i < len(toks) && toks[i].text == "," {
				i++
				continue
			}
			break
		}
	case "TRUNCATE":
		i = 1
		skip("TABLE")
		d.Kind = "TRUNCATE"
		if ref, ok := name(); ok {
			d.Tables = append(d.Tables, ref)
		}
	default:
		return d, false
	}
	return d, len(d.Tables) > 0
}

type token struct {
	text   string
	quoted bool
}

// tokenize splits SQL into words, `quoted` identifiers and punctuation,
// dropping comments and string literals' quotes are kept as one token.
func tokenize(s string) []token {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '`':
			j := i + 1
			var b strings.Builder
			for j < len(s) {
				if s[j] == '`' {
					if j+1 < len(s) && s[j+1] == '`' {
						b.WriteByte('`')
						j += 2
						continue
					}
					break
				}
				b.WriteByte(s[j])
				j++
			}
			out = append(out, token{text: b.String(), quoted: true})
			i = j + 1
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return out
			}
			i += end + 4
		case c == '-' && i+1 < len(s) && s[i+1] == '-', c == '#':
			end := strings.IndexByte(s[i:], '\n')
			if end < 0 {
				return out
			}
			i += end + 1
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(s) && s[j] != c {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			out = append(out, token{text: s[i:min(j+1, len(s))], quoted: true})
			i = j + 1
		case unicode.IsSpace(rune(c)):
			i++
		case isIdent(c):
			j := i
			for j < len(s) && isIdent(s[j]) {
				j++
			}
			out = append(out, token{text: s[i:j]})
			i = j
		default:
			out = append(out, token{text: string(c)})
			i++
		}
	}
	return out
}

func isIdent(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}
