package source

import (
	"encoding/hex"
	"fmt"
)

// mariadbUUIDLen is the size of a MariaDB UUID value.
const mariadbUUIDLen = 16

// mariadbUUIDText renders a MariaDB (10.7+) UUID column value from the
// binlog as its canonical text, lower-case 8-4-4-4-12 hex, the text SELECT
// returns (and so the snapshot's value).
//
// The binlog row image holds the UUID as a BINARY(16) string (column type
// MYSQL_TYPE_STRING, real type 0xFE, length 16) in the order its text reads,
// with trailing zero bytes stripped: b is padded with zeros to 16 bytes, and
// more than 16 bytes is an error. No bytes are swapped. MariaDB does store
// some UUIDs with their segments swapped to make them index-friendly, but
// that is the storage (and sort) order only: observed on MariaDB 10.11.19,
// the binlog carries text order for every UUID, swapped in storage or not
// (see TestMariaDBUUIDText's fixtures).
func mariadbUUIDText(b []byte) (string, error) {
	if len(b) > mariadbUUIDLen {
		return "", fmt.Errorf("a UUID value of %d bytes, more than %d", len(b), mariadbUUIDLen)
	}
	var u [mariadbUUIDLen]byte
	copy(u[:], b)
	var text [36]byte
	hex.Encode(text[0:8], u[0:4])
	text[8] = '-'
	hex.Encode(text[9:13], u[4:6])
	text[13] = '-'
	hex.Encode(text[14:18], u[6:8])
	text[18] = '-'
	hex.Encode(text[19:23], u[8:10])
	text[23] = '-'
	hex.Encode(text[24:36], u[10:16])
	return string(text[:]), nil
}
