package task

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// SealedPrefix starts every password sealed by Seal.
//
// A sealed password is SealedPrefix + base64(nonce || AES-256-GCM ciphertext
// and tag), standard alphabet with padding. Its additional data binds it to
// the task id and the endpoint (host and port) it was sealed for
// (sealedAAD), so that a sealed value copied into another task's config, or
// into a data source pointing at another host or port, does not decrypt: a
// node never sends a password to a server it was not given for.
//
// A value is a sealed envelope only when it is well formed: a known prefix,
// then strict base64 of at least nonce and tag. Anything else, a plain text
// that merely starts with a prefix included, is a plain text; Seal seals it.
//
// Values of the old format (LegacySealedPrefix, bound to nothing) stay
// readable where earlier versions stored them: Open opens them with the old
// additional data. That is sound because nothing writes them any more: Seal
// never produces one and refuses one in an incoming config (the plain
// password must be sent, and is then bound), and the stored config of a task
// is written only from what Seal returned for that task. So a v1 value that
// Open sees was stored by an earlier version in that very task's config,
// where it belongs. (A copy made before the upgrade cannot be told apart;
// LegacySealed tells a node which configs still hold v1 values, so it can
// ask the operator to send the plain password once, which binds it.)
const SealedPrefix = "enc:v2:"

// LegacySealedPrefix started the passwords sealed by versions before the
// binding to task and endpoint; Open still opens them, Seal refuses them.
const LegacySealedPrefix = "enc:v1:"

// RedactedPassword replaces a set password in Redacted output, and every
// value that is not known to be harmless in a dead letter.
const RedactedPassword = "******"

// KeySize is the length of a Sealer's key: AES-256.
const KeySize = 32

// The AES-GCM sizes of an envelope: a 96-bit nonce and a 128-bit tag.
const (
	nonceSize = 12
	tagSize   = 16
)

// ErrSecretKey is matched (errors.Is) by Open's errors when a sealed password
// cannot be decrypted: DATAINGEST_SECRET_KEY is unset or is not the key it
// was sealed with, or it was sealed for another task or endpoint.
var ErrSecretKey = errors.New("sealed password cannot be opened")

// legacyAAD is the additional data of LegacySealedPrefix values: a purpose
// label only.
var legacyAAD = []byte("dataingest task password v1")

// sealedAAD is the additional data of a SealedPrefix value: a purpose label,
// then the task id, the host and the port, each preceded by its length (so
// that no two different triples give the same bytes).
func sealedAAD(taskID string, ds *DataSource) []byte {
	b := []byte("dataingest task password v2")
	for _, s := range []string{taskID, ds.Host, strconv.Itoa(ds.Port)} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	return b
}

// envelope splits a well-formed sealed value into its version (1 or 2) and
// its decoded bytes (nonce, ciphertext, tag); ok is false for a plain text.
func envelope(v string) (version int, raw []byte, ok bool) {
	var rest string
	switch {
	case strings.HasPrefix(v, SealedPrefix):
		version, rest = 2, v[len(SealedPrefix):]
	case strings.HasPrefix(v, LegacySealedPrefix):
		version, rest = 1, v[len(LegacySealedPrefix):]
	default:
		return 0, nil, false
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(rest)
	if err != nil || len(raw) < nonceSize+tagSize {
		return 0, nil, false
	}
	return version, raw, true
}

// Sealer encrypts and decrypts the passwords of task configs with one key.
// A Sealer without a key (and a nil *Sealer) stores passwords in plain text:
// Seal copies plain ones unchanged, and Seal and Open refuse sealed ones. A Sealer is safe for
// concurrent use.
type Sealer struct {
	aead      cipher.AEAD // nil: no key
	digestKey []byte      // HMAC key for Digest, derived from the key
}

// NewSealer makes a Sealer from a KeySize-byte key (such as the decoded
// DATAINGEST_SECRET_KEY); a nil or empty key makes one that does not
// encrypt. The error does not contain the key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) == 0 {
		return &Sealer{}, nil
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("making AES cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("making GCM: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("dataingest config digest v1"))
	return &Sealer{aead: aead, digestKey: mac.Sum(nil)}, nil
}

// Enabled reports whether s encrypts.
func (s *Sealer) Enabled() bool { return s != nil && s.aead != nil }

// Seal returns a copy of c, for the stored config of task taskID (or the
// config of its start command), whose non-empty passwords are sealed for
// taskID and their data source's host and port. A plain password is sealed
// with a fresh random nonce. A sealed envelope already in c is kept when it
// opens for this task and endpoint, and is otherwise an error naming the
// field (it was sealed for another task or endpoint, or with another key,
// or in the unbound LegacySealedPrefix format): the plain password must be
// sent. Without a key, plain passwords stay as they are and a sealed one is
// an error. The errors are *ValidationError (ErrInvalid), except a bad task
// id (ErrInvalidID) and a failing random source; none shows a value. Take
// the Digest of the plain config, not of the sealed one.
func (s *Sealer) Seal(taskID string, c *Config) (*Config, error) {
	if err := ValidID(taskID); err != nil {
		return nil, fmt.Errorf("sealing config: %w", err)
	}
	out := c.Clone()
	var v validator
	for i := range out.DataSourceConfigs {
		ds := &out.DataSourceConfigs[i]
		if ds.Password == "" {
			continue
		}
		field := fmt.Sprintf("dataSourceConfigs[%d].password", i)
		version, raw, sealed := envelope(ds.Password)
		switch {
		case !sealed && !s.Enabled():
		case !sealed:
			p, err := s.seal(taskID, ds)
			if err != nil {
				return nil, fmt.Errorf("sealing %s: %w", field, err)
			}
			ds.Password = p
		case !s.Enabled():
			v.add(field, "is sealed, but DATAINGEST_SECRET_KEY is not set: send the plain password")
		case version == 1:
			v.add(field, "is sealed in the old %s format, which is bound to no task and endpoint: send the plain password", LegacySealedPrefix)
		default:
			if _, err := s.open(sealedAAD(taskID, ds), raw); err != nil {
				v.add(field, "was sealed for another task or endpoint, or with another DATAINGEST_SECRET_KEY: send the plain password")
			}
		}
	}
	if len(v.errs) > 0 {
		return nil, &ValidationError{Problems: v.errs}
	}
	return out, nil
}

// seal encrypts ds.Password for taskID and ds's endpoint.
func (s *Sealer) seal(taskID string, ds *DataSource) (string, error) {
	nonce := make([]byte, nonceSize, nonceSize+len(ds.Password)+tagSize)
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("reading random nonce: %w", err)
	}
	sealed := s.aead.Seal(nonce, nonce, []byte(ds.Password), sealedAAD(taskID, ds))
	return SealedPrefix + base64.StdEncoding.EncodeToString(sealed), nil
}

// open decrypts the bytes of an envelope under aad.
func (s *Sealer) open(aad, raw []byte) ([]byte, error) {
	return s.aead.Open(nil, raw[:nonceSize], raw[nonceSize:], aad)
}

// Open returns a copy of c, the stored config of task taskID, with its
// sealed passwords decrypted: exactly the plain texts Seal sealed for the
// same task and endpoint. A SealedPrefix value opens only for the task id,
// host and port it was sealed for; a LegacySealedPrefix value, stored by an
// earlier version, opens with the old unbound additional data (see the
// comment on SealedPrefix for why that is safe). Plain passwords are copied
// unchanged. A sealed password that does not open (or any sealed password
// when s has no key) is an error matching ErrSecretKey; the error names the
// field, never a key or a password.
func (s *Sealer) Open(taskID string, c *Config) (*Config, error) {
	out := c.Clone()
	for i := range out.DataSourceConfigs {
		ds := &out.DataSourceConfigs[i]
		version, raw, sealed := envelope(ds.Password)
		if !sealed {
			continue
		}
		field := fmt.Sprintf("dataSourceConfigs[%d].password", i)
		if !s.Enabled() {
			return nil, fmt.Errorf("opening %s: it is sealed, but DATAINGEST_SECRET_KEY is not set: %w", field, ErrSecretKey)
		}
		aad, why := sealedAAD(taskID, ds), "it was sealed for another task or endpoint, or with another DATAINGEST_SECRET_KEY"
		if version == 1 {
			aad, why = legacyAAD, "it was sealed (in the old "+LegacySealedPrefix+" format) with another DATAINGEST_SECRET_KEY"
		}
		plain, err := s.open(aad, raw)
		if err != nil {
			return nil, fmt.Errorf("opening %s: %s: %w", field, why, ErrSecretKey)
		}
		ds.Password = string(plain)
	}
	return out, nil
}

// IsSealed reports whether password is a well-formed sealed envelope, of
// either format.
func IsSealed(password string) bool {
	_, _, ok := envelope(password)
	return ok
}

// LegacySealed reports whether a password of c is sealed in the unbound
// LegacySealedPrefix format of earlier versions: the config still opens,
// but it is worth a warning asking the operator to send the plain password
// once, which Seal then binds to the task and endpoint.
func (c *Config) LegacySealed() bool {
	for _, ds := range c.DataSourceConfigs {
		if v, _, ok := envelope(ds.Password); ok && v == 1 {
			return true
		}
	}
	return false
}

// Redacted returns a copy of c whose non-empty passwords are
// RedactedPassword: the form for logs, API responses and CLI output.
func (c *Config) Redacted() *Config {
	out := c.Clone()
	for i := range out.DataSourceConfigs {
		if out.DataSourceConfigs[i].Password != "" {
			out.DataSourceConfigs[i].Password = RedactedPassword
		}
	}
	return out
}

// Digest is the hex SHA-256 of the canonical JSON of c: defaults applied,
// cdcTables sorted and deduplicated (their order means nothing), every other
// field as is, including the plain-text password, so that changing only the
// password is a config change. Two configs with the same Digest are the same
// config. Take it from a parsed or opened config, never a sealed one (a
// sealed password differs each time it is sealed).
//
// The digest is a hash of the password plus known text: do not store or show
// it where the password is meant to be protected (compare digests in memory,
// or store Sealer.Digest instead).
func (c *Config) Digest() string {
	sum := sha256.Sum256(c.canonical())
	return hex.EncodeToString(sum[:])
}

// Digest is like Config.Digest but keyed: the hex HMAC-SHA256 of the
// canonical JSON under a key derived from the secret key, safe to store next
// to the sealed config. Without a key it is Config.Digest.
func (s *Sealer) Digest(c *Config) string {
	if !s.Enabled() {
		return c.Digest()
	}
	mac := hmac.New(sha256.New, s.digestKey)
	mac.Write(c.canonical())
	return hex.EncodeToString(mac.Sum(nil))
}

// canonical is the JSON that Digest hashes.
func (c *Config) canonical() []byte {
	d := c.Clone()
	d.SetDefaults()
	slices.Sort(d.CDCTables)
	d.CDCTables = slices.Compact(d.CDCTables)
	// Marshal cannot fail: Config holds only strings, integers, slices and a
	// pointer to a struct of integers.
	b, _ := json.Marshal(d)
	return b
}
