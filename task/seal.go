package task

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// SealedPrefix starts every sealed password: "enc:v1:" + base64(nonce ||
// AES-256-GCM ciphertext), standard alphabet with padding.
const SealedPrefix = "enc:v1:"

// RedactedPassword replaces a set password in Redacted output.
const RedactedPassword = "******"

// KeySize is the length of a Sealer's key: AES-256.
const KeySize = 32

// ErrSecretKey is matched (errors.Is) by Open's errors when a sealed password
// cannot be decrypted with the node's key: DATAINGEST_SECRET_KEY is unset or
// is not the key the config was sealed with.
var ErrSecretKey = errors.New("DATAINGEST_SECRET_KEY does not match")

// passwordAAD binds a ciphertext to its use, so a sealed password cannot be
// passed off as some other sealed value of the project.
var passwordAAD = []byte("dataingest task password v1")

// Sealer encrypts and decrypts the passwords of task configs with one key.
// A Sealer without a key (and a nil *Sealer) stores passwords in plain text:
// Seal copies them unchanged, Open refuses sealed ones. A Sealer is safe for
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

// Seal returns a copy of c whose non-empty passwords are encrypted with a
// fresh random nonce each; passwords already sealed stay as they are. Without
// a key the copy keeps the plain passwords. Take the Digest before sealing.
func (s *Sealer) Seal(c *Config) (*Config, error) {
	out := c.Clone()
	if !s.Enabled() {
		return out, nil
	}
	for i := range out.DataSourceConfigs {
		ds := &out.DataSourceConfigs[i]
		if ds.Password == "" || IsSealed(ds.Password) {
			continue
		}
		nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(ds.Password)+s.aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("sealing dataSourceConfigs[%d].password: reading random nonce: %w", i, err)
		}
		sealed := s.aead.Seal(nonce, nonce, []byte(ds.Password), passwordAAD)
		ds.Password = SealedPrefix + base64.StdEncoding.EncodeToString(sealed)
	}
	return out, nil
}

// Open returns a copy of c with its sealed passwords decrypted; passwords
// without SealedPrefix are copied unchanged. A password that the key cannot
// decrypt (or any sealed password when s has no key) is an error matching
// ErrSecretKey; the error names the field, never a key or a password.
func (s *Sealer) Open(c *Config) (*Config, error) {
	out := c.Clone()
	for i := range out.DataSourceConfigs {
		ds := &out.DataSourceConfigs[i]
		if !IsSealed(ds.Password) {
			continue
		}
		field := fmt.Sprintf("dataSourceConfigs[%d].password", i)
		if !s.Enabled() {
			return nil, fmt.Errorf("opening %s: it is encrypted but DATAINGEST_SECRET_KEY is not set: %w", field, ErrSecretKey)
		}
		raw, err := base64.StdEncoding.DecodeString(ds.Password[len(SealedPrefix):])
		if err != nil || len(raw) < s.aead.NonceSize()+s.aead.Overhead() {
			return nil, fmt.Errorf("opening %s: the sealed value is corrupt", field)
		}
		n := s.aead.NonceSize()
		plain, err := s.aead.Open(nil, raw[:n], raw[n:], passwordAAD)
		if err != nil {
			return nil, fmt.Errorf("opening %s: cannot decrypt: %w the key it was sealed with", field, ErrSecretKey)
		}
		ds.Password = string(plain)
	}
	return out, nil
}

// IsSealed reports whether password is a sealed one.
func IsSealed(password string) bool { return strings.HasPrefix(password, SealedPrefix) }

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
