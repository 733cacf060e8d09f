package source

import "testing"

// TestMariaDBUUIDText checks bytes observed on MariaDB 10.11.19: a table
// with a UUID column, each value INSERTed as text, read back with SELECT
// and from the binlog with go-mysql's BinlogSyncer (flavor mariadb). The
// binlog bytes are the text's bytes in order, with trailing zero bytes
// stripped, for every version and variant.
//
// The storage order (seen through ORDER BY u) is different: MariaDB swaps
// the segments (llllllll-mmmm-Vhhh-vsss-nnnnnnnnnnnn is stored as
// nnnnnnnnnnnn-vsss-Vhhh-mmmm-llllllll) exactly when byte 6 is 0x01-0x5F
// and byte 8 has its top bit set: versions 1 to 5 of the RFC 4122 and
// Microsoft variants, and also version 0 UUIDs whose byte 6 is not 0x00.
// Rows 0 and 9 are swapped in storage, row 10 is not; both arrive in text
// order.
func TestMariaDBUUIDText(t *testing.T) {
	tests := []struct {
		binlog string // hex, as go-mysql gave the row value
		text   string // as SELECT returned it
	}{
		{"6CCD780CBABA102695645B8C656024DB", "6ccd780c-baba-1026-9564-5b8c656024db"}, // v1, RFC variant
		{"123E4567E89B42D3A4564266141740", "123e4567-e89b-42d3-a456-426614174000"},   // v4, trailing zero stripped
		{"01890A5DAC96774BBCCEB302099A8057", "01890a5d-ac96-774b-bcce-b302099a8057"}, // v7, never swapped
		{"123E4567E89B42D3C4564266141740", "123e4567-e89b-42d3-c456-426614174000"},   // v4, Microsoft variant
		{"123E4567E89B02D3A4564266141740", "123e4567-e89b-02d3-a456-426614174000"},   // version 0
		{"123E4567E89B52D3A4564266141740", "123e4567-e89b-52d3-a456-426614174000"},   // v5
		{"", "00000000-0000-0000-0000-000000000000"},                                 // nil: all bytes stripped
		{"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", "ffffffff-ffff-ffff-ffff-ffffffffffff"}, // max
		{"112233445566178899", "11223344-5566-1788-9900-000000000000"},               // v1, 7 zero bytes stripped
		{"11223344000010008000AABBCCDDEEFF", "11223344-0000-1000-8000-aabbccddeeff"}, // v1
		{"1122", "11220000-0000-0000-0000-000000000000"},                             // not RFC 4122
		{"01890A5DAC96700080", "01890a5d-ac96-7000-8000-000000000000"},               // v7
		{"FFFFFFFFFFFF0100C00000000000000001", ""},                                   // 17 bytes: an error
	}
	for _, tt := range tests {
		got, err := mariadbUUIDText(mustHex(t, tt.binlog))
		switch {
		case tt.text == "" && err == nil:
			t.Errorf("%s: got %q, want an error", tt.binlog, got)
		case tt.text == "":
		case err != nil:
			t.Errorf("%s: %v", tt.binlog, err)
		case got != tt.text:
			t.Errorf("%s: got %q, want %q", tt.binlog, got, tt.text)
		}
	}
}
