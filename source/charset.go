package source

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/dataingest/dataingest/schema"
)

// Character data in the binlog is the column's bytes in the column's
// character set. textDecoder turns a MySQL/MariaDB character set name into
// the function that makes UTF-8 text of such bytes, mapping every byte
// sequence to the code point the server itself maps it to (its CONVERT(...
// USING utf8mb4), which is also what a utf8mb4 client reads in a snapshot).
//
// The decoders are golang.org/x/text's, corrected where MySQL's tables
// differ from them. The corrections were found by converting every byte
// (single-byte sets) and every two-byte code, every EUC-JP three-byte code
// and a sample of the GB18030 four-byte codes with CONVERT on MySQL 9.7.4
// and MariaDB 10.11.19 (which agree on every code both accept), and
// comparing each with x/text's result; testdata/mysql-charsets.txt.gz holds
// the codes where they differ and is checked by TestTextDecoderMatchesMySQL.

// errNoDecoder is wrapped by textDecoder's error for a character set that
// has no decoder here.
var errNoDecoder = errors.New("has no decoder")

// textDecoder returns the function that converts column bytes in the
// character set named cs (as information_schema's CHARACTER_SET_NAME spells
// it; "utf8" is utf8mb3) to UTF-8. The returned function is safe for
// concurrent use. Its rules:
//
//   - utf8mb4, utf8mb3: the bytes are returned as they are; invalid UTF-8 is
//     an error.
//   - Single-byte sets (latin1, latin2, latin5, latin7, greek, hebrew, koi8r,
//     koi8u, cp1250, cp1251, cp1256, cp1257, cp850, cp852, cp866, macroman,
//     tis620, ascii): every byte maps to MySQL's code point; a byte MySQL
//     leaves unmapped (cp1250 0x81, ascii 0x80-0xFF, ...) becomes U+FFFD,
//     never an error, since the server stores any byte in these sets. latin1
//     is MySQL's: Windows-1252 with 0x81, 0x8D, 0x8F, 0x90 and 0x9D mapped to
//     U+0081, U+008D, U+008F, U+0090 and U+009D.
//   - Multi-byte sets (big5, sjis, cp932, ujis, eucjpms, euckr, gb2312, gbk,
//     gb18030, ucs2, utf16, utf16le, utf32): a byte sequence that is not a
//     character of the set, or that MySQL maps but no decoder here can
//     (see charset_multibyte.go), is an error naming the set, the bytes and
//     their offset; the server does not store ill-formed text in these sets.
//   - Every other name (dec8, hp8, swe7, keybcs2, armscii8, geostd8, macce,
//     binary, unknown names): the error "character set %q has no decoder".
//
// Pure-ASCII input in an ASCII-compatible set (all but ucs2, utf16, utf16le,
// utf32) is returned as string(b), with no allocation besides the string.
func textDecoder(cs string) (func([]byte) (string, error), error) {
	name := strings.ToLower(cs)
	switch name {
	case "utf8mb4", "utf8mb3", "utf8":
		if name == "utf8" {
			name = "utf8mb3"
		}
		return func(b []byte) (string, error) { return decodeUTF8(name, b) }, nil
	}
	if table, ok := singleByteTables[name]; ok {
		t := table()
		return func(b []byte) (string, error) { return t.decode(b), nil }, nil
	}
	if mb := multiByteCharset(name); mb != nil {
		return mb.decode, nil
	}
	return nil, fmt.Errorf("character set %q %w", cs, errNoDecoder)
}

// decodeUTF8 returns b as a string if it is valid UTF-8.
func decodeUTF8(cs string, b []byte) (string, error) {
	if utf8.Valid(b) {
		return string(b), nil
	}
	off := 0
	for off < len(b) {
		r, n := utf8.DecodeRune(b[off:])
		if r == utf8.RuneError && n <= 1 {
			break
		}
		off += n
	}
	return "", fmt.Errorf("character set %q: invalid UTF-8 % X at offset %d", cs, b[off:min(off+4, len(b))], off)
}

// isASCII reports whether every byte of b is below 0x80.
func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// byteTable maps each byte of a single-byte character set to the UTF-8
// encoding of its code point.
type byteTable [256]string

// decode converts b, growing the result once to its exact size.
func (t *byteTable) decode(b []byte) string {
	if isASCII(b) {
		return string(b)
	}
	n := 0
	for _, c := range b {
		n += len(t[c])
	}
	var sb strings.Builder
	sb.Grow(n)
	for _, c := range b {
		sb.WriteString(t[c])
	}
	return sb.String()
}

// singleByte describes one of MySQL's single-byte character sets as an
// x/text charmap and MySQL's differences from it.
type singleByte struct {
	base *charmap.Charmap // nil: ASCII, bytes >= 0x80 unmapped
	// c1 maps 0x80-0x9F to the C1 controls U+0080-U+009F, as MySQL does
	// for its ISO 8859 sets, where x/text leaves them unmapped.
	c1 bool
	// fix holds MySQL's code point for the bytes it maps differently from
	// base; utf8.RuneError where MySQL leaves the byte unmapped.
	fix map[byte]rune
}

// table builds the byte table of s.
func (s singleByte) table() *byteTable {
	var t byteTable
	for i := range 256 {
		c := byte(i)
		r := rune(c)
		switch {
		case c < utf8.RuneSelf:
		case s.base == nil:
			r = utf8.RuneError
		default:
			r = s.base.DecodeByte(c)
		}
		if s.c1 && c >= 0x80 && c <= 0x9F {
			r = rune(c)
		}
		if f, ok := s.fix[c]; ok {
			r = f
		}
		t[i] = string(r)
	}
	return &t
}

// singleByteTables holds, per MySQL character set name, the lazily built
// byte table. The tables are built once and only read afterwards.
var singleByteTables = map[string]func() *byteTable{
	"ascii": sync.OnceValue(singleByte{}.table),
	// MySQL's latin1 is Windows-1252, with its five unassigned bytes
	// mapped to the C1 controls of the same value.
	"latin1": sync.OnceValue(singleByte{base: charmap.Windows1252,
		fix: map[byte]rune{0x81: 0x81, 0x8D: 0x8D, 0x8F: 0x8F, 0x90: 0x90, 0x9D: 0x9D}}.table),
	"latin2": sync.OnceValue(singleByte{base: charmap.ISO8859_2, c1: true}.table),
	"latin5": sync.OnceValue(singleByte{base: charmap.ISO8859_9}.table),
	"latin7": sync.OnceValue(singleByte{base: charmap.ISO8859_13, c1: true}.table),
	// MySQL's greek is ISO 8859-7:1987: 0xA1 and 0xA2 are the modifier
	// letters, and 0xA4, 0xA5, 0xAA (added in 2003) are unassigned.
	"greek": sync.OnceValue(singleByte{base: charmap.ISO8859_7, c1: true,
		fix: map[byte]rune{0xA1: 0x02BD, 0xA2: 0x02BC, 0xA4: utf8.RuneError, 0xA5: utf8.RuneError, 0xAA: utf8.RuneError}}.table),
	// MySQL's hebrew maps 0xAF to OVERLINE (the 1988 table).
	"hebrew": sync.OnceValue(singleByte{base: charmap.ISO8859_8, c1: true, fix: map[byte]rune{0xAF: 0x203E}}.table),
	"koi8r":  sync.OnceValue(singleByte{base: charmap.KOI8R}.table),
	// MySQL's koi8u is RFC 2319's: box drawing at 0xAE and 0xBE, where
	// x/text (WHATWG) has the Belarusian short u.
	"koi8u": sync.OnceValue(singleByte{base: charmap.KOI8U,
		fix: map[byte]rune{0x95: 0x2022, 0xAE: 0x255D, 0xBE: 0x256C}}.table),
	"cp1250": sync.OnceValue(singleByte{base: charmap.Windows1250}.table),
	"cp1251": sync.OnceValue(singleByte{base: charmap.Windows1251}.table),
	// MySQL's cp1256 predates the 1998 additions of eight letters.
	"cp1256": sync.OnceValue(singleByte{base: charmap.Windows1256, fix: map[byte]rune{
		0x8A: utf8.RuneError, 0x8F: utf8.RuneError, 0x98: utf8.RuneError, 0x9A: utf8.RuneError,
		0x9F: utf8.RuneError, 0xAA: utf8.RuneError, 0xC0: utf8.RuneError, 0xFF: utf8.RuneError}}.table),
	"cp1257": sync.OnceValue(singleByte{base: charmap.Windows1257}.table),
	"cp850":  sync.OnceValue(singleByte{base: charmap.CodePage850}.table),
	"cp852":  sync.OnceValue(singleByte{base: charmap.CodePage852}.table),
	// MySQL's cp866 has SUPERSCRIPT N and SUPERSCRIPT TWO at 0xFC and 0xFD.
	"cp866":    sync.OnceValue(singleByte{base: charmap.CodePage866, fix: map[byte]rune{0xFC: 0x207F, 0xFD: 0x00B2}}.table),
	"macroman": sync.OnceValue(singleByte{base: charmap.Macintosh}.table),
	// MySQL's tis620 is TIS-620 (ISO 8859-11 without NBSP): C1 controls
	// at 0x80-0x9F where Windows-874 has punctuation, U+FFFD at 0xA0.
	"tis620": sync.OnceValue(singleByte{base: charmap.Windows874, c1: true, fix: map[byte]rune{0xA0: utf8.RuneError}}.table),
}

// charsetOfCollation returns the character set of the collation whose id
// the binlog's table map (COLLATION metadata) or the protocol carries. Ids
// are the same on MySQL and MariaDB where both have them (checked against
// information_schema of MySQL 9.7.4 and MariaDB 10.11.19). Rules:
//
//   - 1-323: MySQL's ids, looked up in the TiDB parser's table (MariaDB's
//     ids below 256 are the same collations); 310-323, MySQL 8.0.30+'s
//     utf8mb4 language collations the TiDB table lacks, are utf8mb4.
//   - MariaDB's: 576-578 utf8mb3, 608-610 utf8mb4, 640-642 ucs2, 672-674
//     utf16, 736-738 utf32 (the _mysql561 and _520_w2 ones); 1024+n is the
//     NO PAD variant of collation n (n < 256); 2048-3327 the UCA 14.0.0
//     collations, whose id is 2048 + 256*k + tailoring with k = 0 utf8mb3,
//     1 utf8mb4, 2 ucs2, 3 utf16, 4 utf32.
//
// The character set is spelled as information_schema spells it ("utf8mb3",
// never "utf8"); ok is false for an id none of these rules know.
func charsetOfCollation(id uint64) (cs string, ok bool) {
	switch {
	case id == 0:
		return "", false
	case id >= 310 && id <= 323:
		return "utf8mb4", true
	case id <= 323:
		name, ok := schema.CollationCharsetByID(int(id))
		if !ok {
			return "", false
		}
		if name == "utf8" {
			return "utf8mb3", true
		}
		return name, true
	case id >= 576 && id <= 738:
		switch (id - 576) / 32 {
		case 0:
			cs = "utf8mb3"
		case 1:
			cs = "utf8mb4"
		case 2:
			cs = "ucs2"
		case 3:
			cs = "utf16"
		case 5:
			cs = "utf32"
		default:
			return "", false
		}
		return cs, (id-576)%32 <= 2
	case id >= 1024+1 && id < 1024+256:
		return charsetOfCollation(id - 1024)
	case id >= 2048 && id < 2048+5*256:
		return [...]string{"utf8mb3", "utf8mb4", "ucs2", "utf16", "utf32"}[(id-2048)/256], true
	}
	return "", false
}
