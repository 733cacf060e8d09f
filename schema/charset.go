package schema

import (
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/charset"
)

// The flavors a Catalog renders types for.
const (
	FlavorMySQL   = "mysql"   // MySQL 8.0 and later
	FlavorMariaDB = "mariadb" // MariaDB 10.5 and later (checked against 10.11)
)

// serverDefaultCollations are the default collations that MySQL and MariaDB
// give the character sets which the TiDB parser supports natively: for those
// its charset package answers with TiDB's own defaults (utf8mb4_bin,
// latin1_bin, ...), not the servers'. For every other character set the
// package's IsDefault flag is the servers' default. utf8mb4 is not here: its
// default depends on the flavor (see Catalog.defaultCollation).
var serverDefaultCollations = map[string]string{
	"utf8mb3": "utf8mb3_general_ci",
	"latin1":  "latin1_swedish_ci",
	"ascii":   "ascii_general_ci",
	"gbk":     "gbk_chinese_ci",
	"gb18030": "gb18030_chinese_ci",
	"binary":  "binary",
}

// canonicalCharset is a character set's name as information_schema shows it:
// lower case, and utf8 as utf8mb3.
func canonicalCharset(cs string) string {
	cs = strings.ToLower(cs)
	if cs == "utf8" {
		return "utf8mb3"
	}
	return cs
}

// canonicalCollation is a collation's name as information_schema shows it:
// lower case, and utf8_* as utf8mb3_*.
func canonicalCollation(co string) string {
	co = strings.ToLower(co)
	if rest, ok := strings.CutPrefix(co, "utf8_"); ok {
		return "utf8mb3_" + rest
	}
	return co
}

// tidbCharset is the name the TiDB charset package knows cs by.
func tidbCharset(cs string) string {
	if cs = strings.ToLower(cs); cs == "utf8mb3" {
		return "utf8"
	}
	return cs
}

// charsetInfo returns the TiDB charset package's entry for cs, also for the
// character sets it knows but does not support (it returns those with an
// error).
func charsetInfo(cs string) (*charset.Charset, error) {
	info, err := charset.GetCharsetInfo(tidbCharset(cs))
	if info == nil {
		return nil, fmt.Errorf("unknown character set %q: %w", cs, err)
	}
	return info, nil
}

// maxLen is the most bytes one character of cs takes.
func maxLen(cs string) (int, error) {
	info, err := charsetInfo(cs)
	if err != nil {
		return 0, err
	}
	return info.Maxlen, nil
}

// collationCharset returns the character set of collation co, canonical.
// A collation unknown to the TiDB parser (MariaDB's *_nopad_* ones, say) has
// the character set its name starts with: every MySQL and MariaDB collation
// name is the character set's name, an underscore and a suffix.
func collationCharset(co string) (string, error) {
	registry.once.Do(registerCharsets)
	registry.mu.RLock() // a parse may be adding collations
	c, err := charset.GetCollationByName(co)
	registry.mu.RUnlock()
	if err == nil && c.CharsetName != "" {
		return canonicalCharset(c.CharsetName), nil
	}
	if strings.EqualFold(co, "binary") {
		return "binary", nil
	}
	cs, _, ok := strings.Cut(strings.ToLower(co), "_")
	if ok {
		if _, err := charsetInfo(cs); err == nil {
			return canonicalCharset(cs), nil
		}
	}
	return "", fmt.Errorf("unknown collation %q", co)
}

// charsetless reports whether co is one of MariaDB's collations that fit
// several character sets (uca1400_ai_ci): the character set comes from the
// context (the column's, else the table's, else the database's) and the
// collation's full name is charset_co (utf8mb4_uca1400_ai_ci).
func charsetless(co string) bool { return strings.HasPrefix(strings.ToLower(co), "uca1400_") }

// defaultCollation returns the flavor's default collation of character set
// cs, canonical.
func (c *Catalog) defaultCollation(cs string) (string, error) {
	cs = canonicalCharset(cs)
	if cs == "utf8mb4" {
		if c.Flavor == FlavorMariaDB {
			return "utf8mb4_general_ci", nil
		}
		return "utf8mb4_0900_ai_ci", nil
	}
	if co, ok := serverDefaultCollations[cs]; ok {
		return co, nil
	}
	info, err := charsetInfo(cs)
	if err != nil {
		return "", err
	}
	registry.once.Do(registerCharsets)
	registry.mu.RLock() // a parse may be adding collations to info.Collations
	defer registry.mu.RUnlock()
	for _, co := range info.Collations {
		if co.IsDefault {
			return canonicalCollation(co.Name), nil
		}
	}
	return "", fmt.Errorf("no default collation known for character set %q", cs)
}

// binCollation is the _bin collation of cs, which the BINARY attribute of a
// character column (CHAR(3) BINARY) selects.
func binCollation(cs string) string {
	if cs == "binary" {
		return "binary"
	}
	return cs + "_bin"
}

// resolveCharset settles a charset and collation from an explicit CHARACTER
// SET cs and COLLATE co (either may be empty) and the defaults that apply
// when neither is given: a COLLATE alone implies its character set (a
// MariaDB charsetless one takes defCS), a CHARACTER SET alone its default
// collation. The names returned are canonical.
func (c *Catalog) resolveCharset(cs, co, defCS, defCO string) (string, string, error) {
	switch {
	case co != "" && charsetless(co):
		if cs != "" {
			defCS = canonicalCharset(cs)
		}
		if defCS == "" {
			return "", "", fmt.Errorf("collation %q without a character set", co)
		}
		return defCS, defCS + "_" + strings.ToLower(co), nil
	case co != "":
		co = canonicalCollation(co)
		coCS, err := collationCharset(co)
		if err != nil {
			return "", "", err
		}
		if cs != "" && canonicalCharset(cs) != coCS {
			return "", "", fmt.Errorf("collation %q is not of character set %q", co, cs)
		}
		return coCS, co, nil
	case cs != "":
		cs = canonicalCharset(cs)
		co, err := c.defaultCollation(cs)
		return cs, co, err
	default:
		return defCS, defCO, nil
	}
}
