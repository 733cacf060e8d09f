package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// redactedText is what a set secret prints as.
const redactedText = "******"

// Secret is a string that must not be logged: a password or a token. Its
// String and MarshalText show "******" (or "" when unset), so that printing or
// JSON-encoding a Config cannot leak it. Use string(s) where the value is
// needed.
type Secret string

// String returns "******" when s is set and "" when it is empty.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redactedText
}

// GoString is String, for %#v.
func (s Secret) GoString() string { return s.String() }

// MarshalText is String, for encoding/json and loggers.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// SecretKeySize is the length of DATAINGEST_SECRET_KEY after base64 decoding:
// an AES-256 key.
const SecretKeySize = 32

// SecretKey is the decoded DATAINGEST_SECRET_KEY: empty, or exactly
// SecretKeySize bytes. Like Secret it prints as "******". It converts to
// []byte implicitly where a []byte parameter is expected.
type SecretKey []byte

// UnmarshalText decodes a base64 key (standard or URL alphabet, padded or not,
// blanks around it ignored) of exactly SecretKeySize bytes. Its errors never
// contain the text.
func (k *SecretKey) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	if s == "" {
		*k = nil
		return nil
	}
	var key []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err = enc.DecodeString(s); err == nil {
			break
		}
	}
	if err != nil {
		return errors.New("not valid base64 (make a key with: openssl rand -base64 32)")
	}
	if len(key) != SecretKeySize {
		return fmt.Errorf("decodes to %d bytes, want %d (make a key with: openssl rand -base64 32)", len(key), SecretKeySize)
	}
	*k = key
	return nil
}

// String returns "******" when k is set and "" when it is empty.
func (k SecretKey) String() string {
	if len(k) == 0 {
		return ""
	}
	return redactedText
}

// GoString is String, for %#v.
func (k SecretKey) GoString() string { return k.String() }

// MarshalText is String, for encoding/json and loggers.
func (k SecretKey) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// SecretKeys is the decoded DATAINGEST_SECRET_KEY_PREVIOUS: a comma-separated
// list of keys in the format of SecretKey. Like SecretKey it prints as
// "******".
type SecretKeys []SecretKey

// UnmarshalText decodes each comma-separated element as SecretKey does,
// ignoring blanks around it and empty elements. An error says which key of
// the list is bad, never its text.
func (ks *SecretKeys) UnmarshalText(text []byte) error {
	parts := strings.Split(string(text), ",")
	var out SecretKeys
	for i, p := range parts {
		if strings.TrimSpace(p) == "" {
			continue
		}
		var k SecretKey
		if err := k.UnmarshalText([]byte(p)); err != nil {
			if len(parts) == 1 {
				return err
			}
			return fmt.Errorf("key %d of the comma-separated list: %w", i+1, err)
		}
		out = append(out, k)
	}
	*ks = out
	return nil
}

// Keys returns the keys as byte slices, the form task.NewSealer takes.
func (ks SecretKeys) Keys() [][]byte {
	out := make([][]byte, len(ks))
	for i, k := range ks {
		out[i] = k
	}
	return out
}

// String returns "******" when ks holds a key and "" when it is empty.
func (ks SecretKeys) String() string {
	if len(ks) == 0 {
		return ""
	}
	return redactedText
}

// GoString is String, for %#v.
func (ks SecretKeys) GoString() string { return ks.String() }

// MarshalText is String, for encoding/json and loggers.
func (ks SecretKeys) MarshalText() ([]byte, error) { return []byte(ks.String()), nil }

// count is how Redacted shows ks: "unset", "1 key", "2 keys", ...
func (ks SecretKeys) count() string {
	switch len(ks) {
	case 0:
		return "unset"
	case 1:
		return "1 key"
	}
	return strconv.Itoa(len(ks)) + " keys"
}
