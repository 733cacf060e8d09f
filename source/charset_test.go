package source

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/encoding/unicode/utf32"
)

// TestTextDecoderSamples encodes real text with x/text's encoder for the
// charset and decodes it back.
func TestTextDecoderSamples(t *testing.T) {
	utf16be := unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM)
	tests := []struct {
		cs   string
		enc  encoding.Encoding // nil: the text is its own encoding (UTF-8)
		text string
	}{
		{"latin1", charmap.Windows1252, "Grüße, € 5 – “ok”"},
		{"latin2", charmap.ISO8859_2, "Žluťoučký kůň"},
		{"cp1250", charmap.Windows1250, "Žluťoučký kůň"},
		{"cp852", charmap.CodePage852, "Žluťoučký kůň"},
		{"cp1251", charmap.Windows1251, "Привет"},
		{"koi8r", charmap.KOI8R, "Привет"},
		{"koi8u", charmap.KOI8U, "Привіт"},
		{"cp866", charmap.CodePage866, "Привет"},
		{"greek", charmap.ISO8859_7, "Ω καλημέρα"},
		{"hebrew", charmap.ISO8859_8, "שלום"},
		{"latin5", charmap.ISO8859_9, "İstanbul ğüşöç"},
		{"latin7", charmap.ISO8859_13, "Ąžuolas ėė"},
		{"cp1256", charmap.Windows1256, "مرحبا"},
		{"cp1257", charmap.Windows1257, "Ąžuolas"},
		{"cp850", charmap.CodePage850, "Ça va, señor"},
		{"macroman", charmap.Macintosh, "Café ∑ π"},
		{"tis620", charmap.Windows874, "สวัสดี"},
		{"ascii", nil, "plain text"},
		{"sjis", japanese.ShiftJIS, "日本語ｶﾀｶﾅ"},
		{"cp932", japanese.ShiftJIS, "日本語①"},
		{"ujis", japanese.EUCJP, "日本語"},
		{"eucjpms", japanese.EUCJP, "日本語"},
		{"euckr", korean.EUCKR, "한국어"},
		{"gb2312", simplifiedchinese.GBK, "中文"},
		{"gbk", simplifiedchinese.GBK, "中文"},
		{"gb18030", simplifiedchinese.GB18030, "中文😀"},
		{"big5", traditionalchinese.Big5, "中文繁體"},
		{"ucs2", utf16be, "Ωmega"},
		{"utf16", utf16be, "😀 ok"},
		{"utf16le", unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), "😀 ok"},
		{"utf32", utf32.UTF32(utf32.BigEndian, utf32.IgnoreBOM), "😀 ok"},
		{"utf8mb4", nil, "😀 ok"},
		{"utf8mb3", nil, "žluť"},
		{"utf8", nil, "žluť"},
		{"UTF8MB4", nil, "mixed case name"},
	}
	for _, tt := range tests {
		t.Run(tt.cs, func(t *testing.T) {
			in := []byte(tt.text)
			if tt.enc != nil {
				var err error
				if in, err = tt.enc.NewEncoder().Bytes(in); err != nil {
					t.Fatalf("encoding %q: %v", tt.text, err)
				}
			}
			dec, err := textDecoder(tt.cs)
			if err != nil {
				t.Fatal(err)
			}
			got, err := dec(in)
			if err != nil {
				t.Fatalf("decoding % X: %v", in, err)
			}
			if got != tt.text {
				t.Errorf("decoding % X: got %q, want %q", in, got, tt.text)
			}
		})
	}
}

// TestTextDecoderBytes covers MySQL's own mappings byte by byte.
func TestTextDecoderBytes(t *testing.T) {
	tests := []struct {
		cs   string
		in   string // hex
		want string
	}{
		{"latin1", "80", "€"},
		{"latin1", "81", "\u0081"},
		{"latin1", "8D", "\u008D"},
		{"latin1", "8F", "\u008F"},
		{"latin1", "90", "\u0090"},
		{"latin1", "9D", "\u009D"},
		{"latin1", "41FF", "Aÿ"},
		{"latin2", "85", "\u0085"},
		{"greek", "D9", "Ω"},
		{"greek", "A1", "\u02BD"},
		{"greek", "A4", "\uFFFD"},
		{"hebrew", "AF", "\u203E"},
		{"koi8u", "AE", "\u255D"},
		{"cp866", "FC", "\u207F"},
		{"cp1250", "81", "\uFFFD"},
		{"cp1256", "8A", "\uFFFD"},
		{"tis620", "80", "\u0080"},
		{"tis620", "A0", "\uFFFD"},
		{"tis620", "A1", "ก"},
		{"ascii", "41C3", "A\uFFFD"},
		{"sjis", "815F", `\`},
		{"sjis", "8160", "\u301C"},
		{"sjis", "5C", `\`},
		{"cp932", "815F", "\uFF3C"},
		{"cp932", "F040", "\uE000"},
		{"cp932", "F9FC", "\uE757"},
		{"ujis", "A1C1", "\u301C"},
		{"ujis", "8FA2B7", "~"},
		{"ujis", "F5A1", "\uE000"},
		{"ujis", "8FFEFE", "\uE757"},
		{"eucjpms", "A1C1", "\uFF5E"},
		{"eucjpms", "8FA2C3", "\uFFE4"},
		{"eucjpms", "F9A1", "\uE178"},
		{"gb2312", "A1A4", "\u30FB"},
		{"gbk", "A1A4", "\u00B7"},
		{"gb18030", "A3A0", "\uE5E5"},
		{"gb18030", "AAA1", "\uE000"},
		{"gb18030", "FEFE", "\uE4C5"},
		{"gb18030", "8431A437", "\uFFFD"},
		{"gb18030", "90308130", "\U00010000"},
		{"big5", "A145", "\u2022"},
		{"big5", "A15A", "\uFFFD"},
		{"big5", "C6A5", "ぁ"},
		{"big5", "C7F3", "⑴"},
		{"big5", "41A4A442", "A中B"},
		{"ucs2", "FEFF0041", "\uFEFFA"},
		{"utf16", "D83DDE00", "😀"},
		{"utf16", "FFFD", "\uFFFD"},
		{"utf16le", "3DD800DE", "😀"},
		{"utf32", "0001F600", "😀"},
		{"utf32", "0000FFFD", "\uFFFD"},
		{"utf8mb4", "F09F9880", "😀"},
		{"sjis", "41815F93FA967B816042", "A\\日本\u301CB"},
		{"big5", "A4A4C6A5A4E5", "中ぁ文"},
		{"cp932", "93FAF04041", "日\uE000A"},
		{"latin1", "", ""},
		{"utf16", "", ""},
	}
	for _, tt := range tests {
		dec, err := textDecoder(tt.cs)
		if err != nil {
			t.Fatal(err)
		}
		got, err := dec(mustHex(t, tt.in))
		if err != nil {
			t.Errorf("%s %s: %v", tt.cs, tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s %s: got %+q, want %+q", tt.cs, tt.in, got, tt.want)
		}
	}
}

// TestTextDecoderErrors covers ill-formed and undecodable input.
func TestTextDecoderErrors(t *testing.T) {
	tests := []struct {
		cs, in, want string
	}{
		{"utf8mb4", "41FF42", `character set "utf8mb4": invalid UTF-8 FF 42 at offset 1`},
		{"utf8", "C3", `character set "utf8mb3": invalid UTF-8 C3 at offset 0`},
		{"sjis", "4181", `character set "sjis": cannot decode 81 at offset 1`},
		{"sjis", "41FD42", `character set "sjis": cannot decode FD at offset 1`},
		{"big5", "A4A4A4", `character set "big5": cannot decode A4 at offset 2`},
		{"gbk", "81FF", `character set "gbk": cannot decode 81 FF at offset 0`},
		{"ujis", "8FA1", `character set "ujis": cannot decode 8F A1 at offset 0`},
		// MySQL maps these, x/text cannot: an error, never U+FFFD.
		{"eucjpms", "8FF3F3", `character set "eucjpms": cannot decode 8F F3 F3 at offset 0`},
		{"gb18030", "41A2AB", `character set "gb18030": cannot decode A2 AB at offset 1`},
		{"ucs2", "D83DDE00", `character set "ucs2": cannot decode D8 3D at offset 0`},
		{"ucs2", "004100", `character set "ucs2": cannot decode 00 at offset 2`},
		{"utf16", "0041D83D0042", `character set "utf16": cannot decode D8 3D 00 42 at offset 2`},
		{"utf16", "DE00", `character set "utf16": cannot decode DE 00 at offset 0`},
		{"utf16le", "410000", `character set "utf16le": cannot decode 00 at offset 2`},
		{"utf32", "00110000", `character set "utf32": cannot decode 00 11 00 00 at offset 0`},
		{"utf32", "0000D800", `character set "utf32": cannot decode 00 00 D8 00 at offset 0`},
	}
	for _, tt := range tests {
		dec, err := textDecoder(tt.cs)
		if err != nil {
			t.Fatal(err)
		}
		got, err := dec(mustHex(t, tt.in))
		if err == nil {
			t.Errorf("%s %s: got %+q, want error %q", tt.cs, tt.in, got, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("%s %s: error %q, want %q", tt.cs, tt.in, err, tt.want)
		}
	}
}

func TestTextDecoderNoDecoder(t *testing.T) {
	for _, cs := range []string{"dec8", "hp8", "swe7", "keybcs2", "armscii8", "geostd8", "macce", "binary", "klingon", ""} {
		dec, err := textDecoder(cs)
		if dec != nil || err == nil {
			t.Errorf("textDecoder(%q): got a decoder", cs)
			continue
		}
		if want := `character set "` + cs + `" has no decoder`; err.Error() != want || !errors.Is(err, errNoDecoder) {
			t.Errorf("textDecoder(%q): error %q, want %q wrapping errNoDecoder", cs, err, want)
		}
	}
}

// TestTextDecoderMatchesMySQL checks the decoders against MySQL 9.7.4's own
// conversions (testdata/mysql-charsets.txt.gz, see its header): every byte
// of the single-byte sets, and for the multi-byte sets every code where
// MySQL and x/text disagree plus a sample of the others. The only codes
// allowed to fail are those MySQL maps that no decoder here can
// (unsupportedCode); they must fail rather than give other text.
func TestTextDecoderMatchesMySQL(t *testing.T) {
	f, err := os.Open("testdata/mysql-charsets.txt.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	decoders := map[string]func([]byte) (string, error){}
	perSet := map[string]int{}
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		cs, code := fields[0], mustHex(t, fields[1])
		want := "\uFFFD" // MySQL leaves the byte unmapped
		if fields[2] != "-" {
			want = string(mustHex(t, fields[2]))
		}
		dec, ok := decoders[cs]
		if !ok {
			if dec, err = textDecoder(cs); err != nil {
				t.Fatal(err)
			}
			decoders[cs] = dec
		}
		perSet[cs]++
		got, err := dec(code)
		switch {
		case unsupportedCode(cs, code, want):
			if err == nil {
				t.Errorf("%s %X: got %+q, want an error (MySQL has %+q)", cs, code, got, want)
			}
		case err != nil:
			t.Errorf("%s %X: %v, want %+q", cs, code, err, want)
		case got != want:
			t.Errorf("%s %X: got %+q, want %+q", cs, code, got, want)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, cs := range []string{"latin1", "latin2", "tis620", "sjis", "cp932", "ujis", "eucjpms", "euckr", "gb2312", "gbk", "gb18030", "big5"} {
		if perSet[cs] == 0 {
			t.Errorf("no fixture lines for %s", cs)
		}
	}
}

// unsupportedCode reports whether MySQL maps code in cs to want and the
// decoder cannot: eucjpms's IBM extensions, and gb18030's two-byte codes
// MySQL maps to the Private Use Area outside the three user-defined areas.
func unsupportedCode(cs string, code []byte, want string) bool {
	switch cs {
	case "eucjpms":
		c := code3(code)
		return c >= 0x8FF3F3 && c <= 0x8FF4FE
	case "gb18030":
		r, _ := utf8.DecodeRuneInString(want)
		_, inArea := gb18030Code(code)
		return len(code) == 2 && r >= 0xE000 && r <= 0xF8FF && !inArea
	}
	return false
}

// TestSingleByteTablesASCII checks that every single-byte table maps
// 0x00-0x7F to ASCII, which the pure-ASCII fast path relies on.
func TestSingleByteTablesASCII(t *testing.T) {
	for cs, table := range singleByteTables {
		tab := table()
		for c := range utf8.RuneSelf {
			if tab[c] != string(rune(c)) {
				t.Errorf("%s: byte %02X is %+q", cs, c, tab[c])
			}
		}
	}
}

func TestGB18030FFFD(t *testing.T) {
	want, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte("\uFFFD"))
	if err != nil {
		t.Fatal(err)
	}
	if got := multiByteCharset("gb18030").fffd; !bytes.Equal(got, want) {
		t.Errorf("gb18030 U+FFFD: have % X, x/text encodes % X", got, want)
	}
}

func TestCharsetOfCollation(t *testing.T) {
	data, err := os.ReadFile("testdata/collations.txt")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		id, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		n++
		if got, ok := charsetOfCollation(id); !ok || got != f[2] {
			t.Errorf("%s collation %d: got %q, %v; want %q", f[0], id, got, ok, f[2])
		}
	}
	if n < 1500 {
		t.Errorf("only %d collations in the fixture", n)
	}
	for _, id := range []uint64{0, 324, 579, 700, 1024, 1280, 2047, 3328, 1 << 40} {
		if cs, ok := charsetOfCollation(id); ok {
			t.Errorf("collation %d: got %q, want unknown", id, cs)
		}
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// asciiSample is 100 bytes of ASCII text.
var asciiSample = []byte(strings.Repeat("order #12345 ", 8)[:100])

// TestTextDecoderASCIIAllocs checks the fast path: pure ASCII in latin1 and
// utf8mb4 allocates the result string and nothing else.
func TestTextDecoderASCIIAllocs(t *testing.T) {
	for _, cs := range []string{"latin1", "utf8mb4", "cp1250", "sjis"} {
		dec, err := textDecoder(cs)
		if err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(100, func() {
			if s, err := dec(asciiSample); err != nil || len(s) != 100 {
				t.Fatalf("%s: %q, %v", cs, s, err)
			}
		})
		if allocs > 1 {
			t.Errorf("%s: %v allocations decoding 100 ASCII bytes, want 1 (the string)", cs, allocs)
		}
	}
}

func BenchmarkTextDecoderASCII(b *testing.B) {
	for _, cs := range []string{"latin1", "utf8mb4"} {
		b.Run(cs, func(b *testing.B) {
			dec, err := textDecoder(cs)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(asciiSample)))
			for b.Loop() {
				if _, err := dec(asciiSample); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkTextDecoderLatin2(b *testing.B) {
	in, err := charmap.ISO8859_2.NewEncoder().Bytes([]byte(strings.Repeat("Žluťoučký kůň ", 7)))
	if err != nil {
		b.Fatal(err)
	}
	dec, err := textDecoder("latin2")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := dec(in); err != nil {
			b.Fatal(err)
		}
	}
}
