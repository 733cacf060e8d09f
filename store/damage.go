package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrDamagedKey is matched (errors.Is) by a DamagedKeyError.
var ErrDamagedKey = errors.New("damaged key")

// DamagedKeyError means one of DataIngest's keys holds something it never
// writes: a value of another type (someone SET a stream's name), or a field
// that should be a number and is not. Scripts check for it before their
// first write, so a damaged key makes a write fail whole, never half-way.
type DamagedKeyError struct {
	Key  string
	Have string // the type found, or the field and its value
	Want string // the type or form expected
}

func (e *DamagedKeyError) Error() string {
	return fmt.Sprintf("key %s is damaged: it holds %s where DataIngest keeps %s", e.Key, e.Have, e.Want)
}

// Is makes errors.Is(err, ErrDamagedKey) true.
func (e *DamagedKeyError) Is(target error) bool { return target == ErrDamagedKey }

// luaTypes defines the checks scripts make before their first write.
// badType(key, want) is nil when key is absent or of type want, else the
// triple {key, type found, want} that damaged() returns to Go as
// {-3, key, have, want}.
const luaTypes = `
local function badType(key, want)
  local t = redis.call('TYPE', key)['ok']
  if t == 'none' or t == want then return nil end
  return {key, 'a ' .. t, 'a ' .. want}
end
local function damaged(d) return {-3, d[1], d[2], d[3]} end
`

// damagedReply turns a script's {-3, key, have, want} reply into an error.
func damagedReply(res []any) error {
	if len(res) < 4 {
		return &DamagedKeyError{Key: "?", Have: "?", Want: "?"}
	}
	return &DamagedKeyError{Key: toString(res[1]), Have: toString(res[2]), Want: toString(res[3])}
}

// wrongType turns a WRONGTYPE error of a plain command on key into a
// DamagedKeyError; other errors pass through.
func (s *Store) wrongType(ctx context.Context, err error, key, want string) error {
	if !IsWrongType(err) {
		return err
	}
	have := "another type"
	if t, terr := s.rdb.Type(ctx, key).Result(); terr == nil {
		have = "a " + t
	}
	return &DamagedKeyError{Key: key, Have: have, Want: "a " + want}
}

// IsWrongType reports whether err is Redis's WRONGTYPE error.
func IsWrongType(err error) bool {
	return err != nil && strings.Contains(err.Error(), "WRONGTYPE")
}
