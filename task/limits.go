package task

// The limits of a task config. Parse and Validate enforce every one of them
// before a config is stored; the errors name the field and the limit. They
// are chosen so that the largest valid config, encoded the way the node
// stores it (json.Marshal, passwords sealed), still fits MaxConfigBytes
// (TestLargestValidConfigFits checks it).
const (
	// MaxConfigBytes is the largest task config, in bytes of JSON, that
	// Parse accepts: the `config` field of a start command, the body of POST
	// .../task/{id}/start. Parse rejects a longer one without decoding it.
	MaxConfigBytes = 1 << 20

	// MaxIDLen is the longest task id, in bytes (ids are ASCII).
	MaxIDLen = 128

	// MaxTaskNameChars is the longest taskName, in characters.
	MaxTaskNameChars = 256

	// MaxDataSources is the most dataSourceConfigs entries (a primary and
	// its replicas).
	MaxDataSources = 16

	// MaxHostBytes is the longest dataSourceConfigs[].host, in bytes (a DNS
	// name has at most 253).
	MaxHostBytes = 255

	// MaxUsernameBytes is the longest dataSourceConfigs[].username, in bytes
	// (MySQL allows 32 characters, MariaDB 80 of utf8mb3).
	MaxUsernameBytes = 256

	// MaxPasswordBytes is the longest plain-text dataSourceConfigs[].password,
	// in bytes.
	MaxPasswordBytes = 1024

	// MaxSealedPasswordBytes is the longest sealed password: the envelope of
	// a MaxPasswordBytes plain text (1411 bytes).
	MaxSealedPasswordBytes = len(SealedPrefix) + 4*((nonceSize+MaxPasswordBytes+tagSize+2)/3)

	// MaxSSLCaBytes is the longest dataSourceConfigs[].sslCa path, in bytes.
	MaxSSLCaBytes = 1024

	// MaxCDCTables is the most cdcTables entries.
	MaxCDCTables = 1024

	// MaxIdentifierChars is the longest database or table name in a
	// cdcTables entry, in characters (MySQL's limit), so an entry has at
	// most 2*64+1 characters.
	MaxIdentifierChars = 64

	// MaxOutputMaxLen is the largest outputMaxLen; 0 still means unlimited.
	MaxOutputMaxLen = 1_000_000_000

	// MaxServerID is the largest serverId (a MySQL server_id is 1 to
	// 2^32-1); 0 means chosen automatically.
	MaxServerID = 1<<32 - 1

	// DefaultDatagenRate is the rate of a DATAGEN task whose datagen.rate
	// is 0 or absent, in rows per second. (Before the limits, 0 meant "as
	// fast as possible", which filled Redis with a gigabyte in seconds.)
	DefaultDatagenRate = 1000

	// MaxDatagenRate is the largest datagen.rate, in rows per second.
	MaxDatagenRate = 1_000_000

	// MaxDatagenTotal is the largest datagen.total (rows); 0 still means no
	// end, which at most MaxDatagenRate rows a second is bounded by
	// outputMaxLen and the consumers, not by the config.
	MaxDatagenTotal = 1_000_000_000_000
)

// The limits of a dead-lettered command (RedactCommand, RedactJSON).
const (
	// MaxDeadLetterConfigBytes is the most of a (redacted) config that a
	// dead letter keeps; a longer one is cut there and says so.
	MaxDeadLetterConfigBytes = 64 << 10

	// MaxDeadLetterFieldBytes is the most of each known command field (cmd,
	// task, request_id, reason, tables, handover) that a dead letter keeps;
	// a longer value is cut there and says so.
	MaxDeadLetterFieldBytes = 256

	// MaxDeadLetterUnknownFields is the most unknown fields (value masked)
	// that a dead letter lists; the rest are counted in the field
	// OmittedFieldsField.
	MaxDeadLetterUnknownFields = 32

	// MaxDeadLetterNameBytes is the most of an unknown field's name that a
	// dead letter keeps.
	MaxDeadLetterNameBytes = 64
)

// Limits of error messages.
const (
	// maxEcho is the most bytes of a bad value quoted in an error.
	maxEcho = 128
	// maxProblems is the most problems ValidationError.Error lists.
	maxProblems = 20
)
