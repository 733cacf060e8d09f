package schema

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/pingcap/tidb/pkg/parser"
)

// The TiDB parser exports its lexer (parser.Scanner) but Scanner.Lex takes
// a *yySymType, an unexported type, so it cannot be called directly. The
// catalog needs the MySQL lexical rules (strings with every kind of quote and
// escape, backquoted identifiers, comments, /*! */ sections) to find a few
// words that the TiDB grammar lacks (MariaDB's UUID, spatial types, CREATE OR
// REPLACE, ...), so it calls Lex through reflection and reads the token's
// offset and text from the two fields the lexer fills in. A parser version
// that renames them makes lexing fail with an error, not a panic, and the
// package's tests fail.

// tokKind classifies a token for the rewrite rules.
type tokKind int

const (
	tokWord   tokKind = iota // an unquoted identifier or keyword
	tokQuoted                // a `backquoted` identifier
	tokString                // a string literal
	tokNumber                // a numeric, hex or bit literal
	tokPunct                 // an operator or punctuation
)

// token is one lexical token of a statement.
type token struct {
	kind  tokKind
	text  string // the identifier, keyword, literal or punctuation as lexed
	upper string // text in upper case, for keyword comparisons (tokWord only)
	start int    // byte offset of the token in the statement
}

// is reports whether t is the unquoted keyword kw (upper case).
func (t token) is(kw string) bool { return t.kind == tokWord && t.upper == kw }

// isName reports whether t can name a column or table: an identifier,
// quoted or not, or a keyword that is not reserved.
func (t token) isName() bool {
	return t.kind == tokQuoted || t.kind == tokWord && !reservedWords()[t.upper]
}

// lexer holds what reflection found out about parser.Scanner, once.
var lexer struct {
	once      sync.Once
	err       error
	symType   reflect.Type // yySymType
	identTok  int64        // the token id of identifiers
	stringTok int64        // the token id of string literals
}

// reservedWords is the set of the TiDB parser's reserved keywords.
var reservedWords = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	for _, k := range parser.Keywords {
		if k.Reserved {
			m[k.Word] = true
		}
	}
	return m
})

// initLexer finds yySymType and the token ids of identifiers and strings.
func initLexer() {
	m, ok := reflect.TypeOf(parser.NewScanner("")).MethodByName("Lex")
	if !ok || m.Type.NumIn() != 2 || m.Type.In(1).Kind() != reflect.Pointer {
		lexer.err = errors.New("parser.Scanner has no Lex(*yySymType) method")
		return
	}
	lexer.symType = m.Type.In(1).Elem()
	for _, f := range []string{"offset", "ident"} {
		if _, ok := lexer.symType.FieldByName(f); !ok {
			lexer.err = fmt.Errorf("the TiDB lexer's token has no field %q", f)
			return
		}
	}
	ids := make([]int64, 2)
	for i, sample := range []string{"abc", "'abc'"} {
		toks, err := rawLex(sample)
		if err != nil || len(toks) != 1 {
			lexer.err = fmt.Errorf("lexing %q: %d tokens, %v", sample, len(toks), err)
			return
		}
		ids[i] = toks[0].id
	}
	lexer.identTok, lexer.stringTok = ids[0], ids[1]
}

// rawToken is a token as the TiDB lexer returns it.
type rawToken struct {
	id     int64
	offset int
	ident  string
}

// rawLex runs the TiDB lexer over sql.
func rawLex(sql string) ([]rawToken, error) {
	s := parser.NewScanner(sql)
	lex := reflect.ValueOf(s).MethodByName("Lex")
	sym := reflect.New(lexer.symType)
	var out []rawToken
	for {
		id := lex.Call([]reflect.Value{sym})[0].Int()
		if id == 0 {
			break
		}
		v := sym.Elem()
		out = append(out, rawToken{id: id, offset: int(v.FieldByName("offset").Int()), ident: v.FieldByName("ident").String()})
	}
	if _, errs := s.Errors(); len(errs) > 0 {
		return out, errs[0]
	}
	return out, nil
}

// lex splits sql into tokens with the TiDB lexer (default SQL mode: double
// quotes delimit strings). On a lexical error it returns the tokens before
// it with the error.
func lex(sql string) ([]token, error) {
	lexer.once.Do(initLexer)
	if lexer.err != nil {
		return nil, lexer.err
	}
	raw, err := rawLex(sql)
	toks := make([]token, len(raw))
	for i, r := range raw {
		toks[i] = token{kind: classify(sql, r), text: r.ident, start: r.offset}
		if toks[i].kind == tokWord {
			toks[i].upper = strings.ToUpper(r.ident)
		}
	}
	return toks, err
}

// classify tells what kind of token r is, from its id and its first byte.
func classify(sql string, r rawToken) tokKind {
	var first byte
	if r.offset < len(sql) {
		first = sql[r.offset]
	}
	switch {
	case first == '`':
		return tokQuoted
	case r.id == lexer.stringTok || first == '\'' || first == '"':
		return tokString
	case r.id == lexer.identTok:
		return tokWord
	case first >= '0' && first <= '9' || first == '.' && len(r.ident) > 1:
		return tokNumber
	case isWordStart(first) && r.ident != "" && isWordStart(r.ident[0]):
		if (first == 'x' || first == 'X' || first == 'b' || first == 'B') && strings.Contains(r.ident, "'") {
			return tokNumber // x'0A', b'01'
		}
		return tokWord // a keyword
	default:
		return tokPunct
	}
}

// isWordStart reports whether b can start an unquoted identifier or keyword.
func isWordStart(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '_' || b == '$' || b >= 0x80
}

// edit replaces sql[start:end] with text.
type edit struct {
	start, end int
	text       string
}

// applyEdits returns sql with edits, which are sorted and do not overlap,
// applied.
func applyEdits(sql string, edits []edit) string {
	var b strings.Builder
	pos := 0
	for _, e := range edits {
		b.WriteString(sql[pos:e.start])
		b.WriteString(e.text)
		pos = e.end
	}
	b.WriteString(sql[pos:])
	return b.String()
}
