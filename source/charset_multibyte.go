package source

import (
	"bytes"
	"fmt"
	"slices"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/encoding/unicode/utf32"
	"golang.org/x/text/transform"
)

// multiByte is one of MySQL's multi-byte character sets: an x/text
// encoding, how to find where each character ends, and the codes MySQL maps
// differently from x/text.
//
// x/text's East Asian decoders are WHATWG's, which differ from MySQL's
// tables in a few codes each (sjis's backslash, wave dash and currency
// signs, big5's ETEN kana, gb2312's middle dot and dash) and do not map the
// user-defined areas MySQL maps to the Private Use Area (cp932 F040-F9FC,
// ujis and eucjpms rows F5-FE and 8F F5-FE, gb18030's three user-defined
// areas). mysqlCode handles both. What is left that MySQL maps and x/text
// cannot decode is an error, never a silent U+FFFD: eucjpms's IBM
// extensions 8FF3F3-8FF4FE and the gb18030 two-byte codes MySQL maps to
// the PUA outside the user-defined areas (A2AB-A2B0, A2E4, ..., FEA0).
type multiByte struct {
	name string
	enc  encoding.Encoding
	// asciiSafe: bytes below 0x80 are always ASCII characters.
	asciiSafe bool
	// charLen returns the length of the character that starts b (b is not
	// empty; for asciiSafe sets b[0] >= 0x80). It may exceed len(b).
	charLen func(b []byte) int
	// mysqlCode returns MySQL's code point for the character c where it
	// differs from what enc decodes (nil: it never does).
	mysqlCode func(c []byte) (rune, bool)
	// check returns the offset of the first ill-formed character of b, or
	// -1, for sets whose x/text decoder accepts more than MySQL does.
	check func(b []byte) int
	// fffd is the set's encoding of U+FFFD, so that a decoded U+FFFD can be
	// told from a decoding failure (nil: the set cannot encode it).
	fffd []byte
}

// multiByteCharset returns the multi-byte character set named name, or nil.
func multiByteCharset(name string) *multiByte {
	switch name {
	case "sjis":
		return &multiByte{name: name, enc: japanese.ShiftJIS, asciiSafe: true, charLen: sjisLen, mysqlCode: sjisCode}
	case "cp932":
		return &multiByte{name: name, enc: japanese.ShiftJIS, asciiSafe: true, charLen: sjisLen, mysqlCode: cp932Code}
	case "ujis":
		return &multiByte{name: name, enc: japanese.EUCJP, asciiSafe: true, charLen: eucjpLen, mysqlCode: ujisCode}
	case "eucjpms":
		return &multiByte{name: name, enc: japanese.EUCJP, asciiSafe: true, charLen: eucjpLen, mysqlCode: eucjpmsCode}
	case "euckr":
		return &multiByte{name: name, enc: korean.EUCKR, asciiSafe: true, charLen: dbcsLen}
	case "gb2312":
		return &multiByte{name: name, enc: simplifiedchinese.GBK, asciiSafe: true, charLen: dbcsLen, mysqlCode: gb2312Code}
	case "gbk":
		return &multiByte{name: name, enc: simplifiedchinese.GBK, asciiSafe: true, charLen: dbcsLen}
	case "gb18030":
		return &multiByte{name: name, enc: simplifiedchinese.GB18030, asciiSafe: true, charLen: gb18030Len,
			mysqlCode: gb18030Code, fffd: []byte{0x84, 0x31, 0xA4, 0x37}}
	case "big5":
		return &multiByte{name: name, enc: traditionalchinese.Big5, asciiSafe: true, charLen: dbcsLen, mysqlCode: big5Code}
	case "ucs2":
		// UCS-2 is UTF-16BE without surrogates, which MySQL rejects.
		return &multiByte{name: name, enc: unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM),
			charLen: fixedLen(2), check: ucs2Check, fffd: []byte{0xFF, 0xFD}}
	case "utf16":
		return &multiByte{name: name, enc: unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM),
			charLen: utf16Len(0), fffd: []byte{0xFF, 0xFD}}
	case "utf16le":
		return &multiByte{name: name, enc: unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM),
			charLen: utf16Len(1), fffd: []byte{0xFD, 0xFF}}
	case "utf32":
		return &multiByte{name: name, enc: utf32.UTF32(utf32.BigEndian, utf32.IgnoreBOM),
			charLen: fixedLen(4), fffd: []byte{0, 0, 0xFF, 0xFD}}
	}
	return nil
}

// decode converts b to UTF-8: runs of characters MySQL and x/text agree on
// go through the x/text decoder, the others are written from mysqlCode. A
// U+FFFD from the decoder that b does not spell is a decoding error.
func (m *multiByte) decode(b []byte) (string, error) {
	if m.asciiSafe && isASCII(b) {
		return string(b), nil
	}
	if m.check != nil {
		if off := m.check(b); off >= 0 {
			return "", m.errAt(b, off)
		}
	}
	dec := m.enc.NewDecoder()
	out := make([]byte, 0, len(b)+len(b)/2+utf8.UTFMax)
	var err error
	run := 0 // start of the bytes not yet decoded
	for i := 0; m.mysqlCode != nil && i < len(b); {
		if m.asciiSafe && b[i] < utf8.RuneSelf {
			i++
			continue
		}
		n := min(m.charLen(b[i:]), len(b)-i)
		if r, ok := m.mysqlCode(b[i : i+n]); ok {
			if out, err = m.decodeRun(out, dec, b, run, i); err != nil {
				return "", err
			}
			out = utf8.AppendRune(out, r)
			run = i + n
		}
		i += n
	}
	if out, err = m.decodeRun(out, dec, b, run, len(b)); err != nil {
		return "", err
	}
	return string(out), nil
}

// decodeRun appends the decoding of b[from:to] to out and checks that every
// U+FFFD in it is one that b spells.
func (m *multiByte) decodeRun(out []byte, dec *encoding.Decoder, b []byte, from, to int) ([]byte, error) {
	if from == to {
		return out, nil
	}
	start := len(out)
	out, err := appendTransform(out, dec, b[from:to])
	if err != nil {
		return nil, fmt.Errorf("character set %q: decoding: %w", m.name, err)
	}
	if bytes.Contains(out[start:], []byte("\uFFFD")) {
		if off := m.firstUndecodable(dec, b[from:to]); off >= 0 {
			return nil, m.errAt(b, from+off)
		}
	}
	return out, nil
}

// firstUndecodable returns the offset in b of the first character that
// x/text decodes to U+FFFD without being the set's U+FFFD, or -1.
func (m *multiByte) firstUndecodable(dec *encoding.Decoder, b []byte) int {
	var buf [16]byte
	for i := 0; i < len(b); {
		n := 1
		if !m.asciiSafe || b[i] >= utf8.RuneSelf {
			n = min(m.charLen(b[i:]), len(b)-i)
		}
		c := b[i : i+n]
		dec.Reset()
		d, _, _ := dec.Transform(buf[:], c, true)
		if bytes.Contains(buf[:d], []byte("\uFFFD")) && !bytes.Equal(c, m.fffd) {
			return i
		}
		i += n
	}
	return -1
}

// errAt is the error for the ill-formed or undecodable character at b[off].
func (m *multiByte) errAt(b []byte, off int) error {
	n := 1
	if !m.asciiSafe || b[off] >= utf8.RuneSelf {
		n = min(m.charLen(b[off:]), len(b)-off)
	}
	return fmt.Errorf("character set %q: cannot decode % X at offset %d", m.name, b[off:off+n], off)
}

// appendTransform appends t's transformation of src to dst.
func appendTransform(dst []byte, t transform.Transformer, src []byte) ([]byte, error) {
	t.Reset()
	for {
		n := len(dst)
		if cap(dst)-n < 4*utf8.UTFMax {
			dst = slices.Grow(dst, len(src)+4*utf8.UTFMax)
		}
		nDst, nSrc, err := t.Transform(dst[n:cap(dst)], src, true)
		dst = dst[:n+nDst]
		src = src[nSrc:]
		if err != transform.ErrShortDst {
			return dst, err
		}
		dst = slices.Grow(dst, 2*len(src)+4*utf8.UTFMax)
	}
}

// fixedLen is charLen for sets of fixed-width characters.
func fixedLen(n int) func([]byte) int { return func([]byte) int { return n } }

// utf16Len is charLen for UTF-16: 4 bytes from a high surrogate, else 2.
// hi is the index of a code unit's high byte (0 big-endian, 1 little-endian).
func utf16Len(hi int) func([]byte) int {
	return func(b []byte) int {
		if len(b) > hi && b[hi] >= 0xD8 && b[hi] <= 0xDB {
			return 4
		}
		return 2
	}
}

// ucs2Check returns the offset of the first surrogate code unit or of a
// trailing odd byte, or -1.
func ucs2Check(b []byte) int {
	for i := 0; i < len(b); i += 2 {
		if i+1 == len(b) || b[i] >= 0xD8 && b[i] <= 0xDF {
			return i
		}
	}
	return -1
}

// dbcsLen is charLen for big5, gbk, gb2312 and euckr: a lead byte
// 0x81-0xFE and one trail byte.
func dbcsLen(b []byte) int {
	if b[0] >= 0x81 && b[0] <= 0xFE {
		return 2
	}
	return 1
}

// sjisLen is charLen for sjis and cp932: lead bytes 0x81-0x9F and
// 0xE0-0xFC take a trail byte; 0xA1-0xDF are half-width katakana.
func sjisLen(b []byte) int {
	if b[0] >= 0x81 && b[0] <= 0x9F || b[0] >= 0xE0 && b[0] <= 0xFC {
		return 2
	}
	return 1
}

// eucjpLen is charLen for ujis and eucjpms: 0x8F starts a JIS X 0212
// three-byte code, 0x8E (half-width katakana) and 0xA1-0xFE two-byte ones.
func eucjpLen(b []byte) int {
	switch {
	case b[0] == 0x8F:
		return 3
	case b[0] == 0x8E || b[0] >= 0xA1 && b[0] <= 0xFE:
		return 2
	}
	return 1
}

// gb18030Len is charLen for gb18030: a lead byte and a digit start a
// four-byte code, a lead byte and another byte a two-byte one.
func gb18030Len(b []byte) int {
	if b[0] < 0x81 || b[0] > 0xFE {
		return 1
	}
	if len(b) > 1 && b[1] >= 0x30 && b[1] <= 0x39 {
		return 4
	}
	return 2
}

// code2 returns a two-byte character's code, or 0 for another length.
func code2(c []byte) uint32 {
	if len(c) != 2 {
		return 0
	}
	return uint32(c[0])<<8 | uint32(c[1])
}

// sjisFix holds the codes where MySQL's sjis (JIS X 0208 as Shift_JIS)
// differs from x/text's Shift_JIS (which is Windows-31J).
var sjisFix = map[uint32]rune{
	0x815F: 0x005C, 0x8160: 0x301C, 0x8161: 0x2016, 0x817C: 0x2212,
	0x8191: 0x00A2, 0x8192: 0x00A3, 0x81CA: 0x00AC,
}

func sjisCode(c []byte) (rune, bool) {
	r, ok := sjisFix[code2(c)]
	return r, ok
}

// cp932Code maps the user-defined area F040-F9FC (188 codes a row, trail
// bytes 0x40-0x7E and 0x80-0xFC) to U+E000-U+E757.
func cp932Code(c []byte) (rune, bool) {
	if len(c) != 2 || c[0] < 0xF0 || c[0] > 0xF9 {
		return 0, false
	}
	return pua(0xE000, c[0]-0xF0, 188, c[1], 0x40)
}

// pua returns base + row*perRow + the trail byte's index from first (rows
// that start below 0x7F skip it), or false for a trail byte outside the row.
func pua(base rune, row byte, perRow int, trail, first byte) (rune, bool) {
	idx := int(trail) - int(first)
	if first < 0x7F && trail > 0x7F {
		idx--
	}
	if trail < first || trail == 0x7F || idx >= perRow {
		return 0, false
	}
	return base + rune(int(row)*perRow+idx), true
}

// eucjpPUA maps EUC-JP's user-defined rows F5-FE to U+E000-U+E3AB and
// 8F F5-FE to U+E3AC-U+E757, as both ujis and eucjpms do in MySQL.
func eucjpPUA(c []byte) (rune, bool) {
	switch {
	case len(c) == 2 && c[0] >= 0xF5 && c[0] <= 0xFE:
		return pua(0xE000, c[0]-0xF5, 94, c[1], 0xA1)
	case len(c) == 3 && c[0] == 0x8F && c[1] >= 0xF5 && c[1] <= 0xFE:
		return pua(0xE3AC, c[1]-0xF5, 94, c[2], 0xA1)
	}
	return 0, false
}

// ujisFix holds the codes where MySQL's ujis (EUC-JP with JIS X 0208 and
// 0212) differs from x/text's EUC-JP (with Microsoft's mappings).
var ujisFix = map[uint32]rune{
	0xA1C0: 0x005C, 0xA1C1: 0x301C, 0xA1C2: 0x2016, 0xA1DD: 0x2212,
	0xA1F1: 0x00A2, 0xA1F2: 0x00A3, 0xA2CC: 0x00AC, 0x8FA2B7: 0x007E,
}

func ujisCode(c []byte) (rune, bool) {
	if r, ok := eucjpPUA(c); ok {
		return r, true
	}
	r, ok := ujisFix[code3(c)]
	return r, ok
}

func eucjpmsCode(c []byte) (rune, bool) {
	if r, ok := eucjpPUA(c); ok {
		return r, true
	}
	if code3(c) == 0x8FA2C3 {
		return 0xFFE4, true // FULLWIDTH BROKEN BAR, where x/text has U+00A6
	}
	return 0, false
}

// code3 returns a two- or three-byte character's code.
func code3(c []byte) uint32 {
	if len(c) == 3 {
		return uint32(c[0])<<16 | uint32(c[1])<<8 | uint32(c[2])
	}
	return code2(c)
}

func gb2312Code(c []byte) (rune, bool) {
	switch code2(c) {
	case 0xA1A4:
		return 0x30FB, true // KATAKANA MIDDLE DOT, where GBK has U+00B7
	case 0xA1AA:
		return 0x2015, true // HORIZONTAL BAR, where GBK has U+2014
	}
	return 0, false
}

// gb18030Code maps GB18030's three user-defined areas to the PUA: AAA1-AFFE
// to U+E000-U+E233, F8A1-FEFE to U+E234-U+E4C5, and A140-A7A0 (96 codes a
// row) to U+E4C6-U+E765. x/text maps A3A0 of the last to U+3000 (as GBK
// does), MySQL to U+E5E5. A8BC is U+1E3F (GB18030-2005), which x/text's
// GBK table lacks.
func gb18030Code(c []byte) (rune, bool) {
	if len(c) != 2 {
		return 0, false
	}
	switch l, t := c[0], c[1]; {
	case l == 0xA8 && t == 0xBC:
		return 0x1E3F, true
	case l >= 0xAA && l <= 0xAF && t >= 0xA1:
		return pua(0xE000, l-0xAA, 94, t, 0xA1)
	case l >= 0xF8 && t >= 0xA1:
		return pua(0xE234, l-0xF8, 94, t, 0xA1)
	case l >= 0xA1 && l <= 0xA7 && t <= 0xA0:
		return pua(0xE4C6, l-0xA1, 96, t, 0x40)
	}
	return 0, false
}

// big5Fix holds the single codes where MySQL's big5 differs from x/text's
// (WHATWG's, which is Big5-HKSCS); U+FFFD where MySQL maps the code to it.
var big5Fix = map[uint32]rune{
	0xA145: 0x2022, 0xA14E: 0xFF64, 0xA15A: 0xFFFD, 0xA1C2: 0x203E, 0xA1C3: 0xFFFD, 0xA1C5: 0xFFFD,
	0xA1E3: 0x223C, 0xA1F2: 0x2641, 0xA1F3: 0x2609, 0xA1FE: 0xFFFD, 0xA240: 0xFFFD, 0xA241: 0xFF0F,
	0xA242: 0xFF3C, 0xA244: 0x00A5, 0xA246: 0x00A2, 0xA247: 0x00A3, 0xA2CC: 0xFFFD, 0xA2CE: 0xFFFD,
}

// big5Range is a run of consecutive codes within one row that MySQL maps to
// consecutive code points from first.
type big5Range struct {
	lo, hi uint32
	first  rune
}

// big5ETEN holds MySQL's mapping of C6A1-C7FC, the ETEN extension (kana,
// Cyrillic, circled and parenthesised numbers), where HKSCS has other
// characters.
var big5ETEN = []big5Range{
	{0xC6A1, 0xC6A1, 0x30FE}, {0xC6A2, 0xC6A3, 0x309D}, {0xC6A4, 0xC6A4, 0x3005},
	{0xC6A5, 0xC6F7, 0x3041}, {0xC6F8, 0xC6FE, 0x30A1}, {0xC740, 0xC77E, 0x30A8},
	{0xC7A1, 0xC7B0, 0x30E7}, {0xC7B1, 0xC7B2, 0x0414}, {0xC7B3, 0xC7B3, 0x0401},
	{0xC7B4, 0xC7BA, 0x0416}, {0xC7BB, 0xC7CD, 0x0423}, {0xC7CE, 0xC7CE, 0x0451},
	{0xC7CF, 0xC7E8, 0x0436}, {0xC7E9, 0xC7F2, 0x2460}, {0xC7F3, 0xC7FC, 0x2474},
}

func big5Code(c []byte) (rune, bool) {
	code := code2(c)
	if r, ok := big5Fix[code]; ok {
		return r, true
	}
	if code < 0xC6A1 || code > 0xC7FC {
		return 0, false
	}
	for _, rg := range big5ETEN {
		if code >= rg.lo && code <= rg.hi {
			return rg.first + rune(code-rg.lo), true
		}
	}
	return 0, false
}
