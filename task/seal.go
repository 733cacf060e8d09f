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

// Sealer encrypts and decrypts the passwords of task configs. It seals with
// its current key (DATAINGEST_SECRET_KEY) and opens with that key or any of
// its previous keys (DATAINGEST_SECRET_KEY_PREVIOUS), so that a fleet can
// move from one key to another while it runs: Reseal moves a stored config
// onto the current key. A Sealer without a current key (and a nil *Sealer)
// stores passwords in plain text: Seal copies plain ones unchanged, and
// sealed ones open only with a previous key. A Sealer is safe for
// concurrent use.
type Sealer struct {
	cur  *sealKey   // nil: no key, passwords stay plain
	prev []*sealKey // open only
}

// sealKey is one key: its AEAD and the HMAC key of its digests.
type sealKey struct {
	aead      cipher.AEAD
	digestKey []byte
}

// newSealKey derives the AEAD and the digest key of a KeySize-byte key.
func newSealKey(key []byte) (*sealKey, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("is %d bytes, want %d", len(key), KeySize)
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
	return &sealKey{aead: aead, digestKey: mac.Sum(nil)}, nil
}

// NewSealer makes a Sealer whose current key is key (such as the decoded
// DATAINGEST_SECRET_KEY) and which also opens what any of previous sealed
// (DATAINGEST_SECRET_KEY_PREVIOUS). Each key is KeySize bytes; a nil or
// empty key makes one that does not encrypt. The error does not contain a
// key.
func NewSealer(key []byte, previous ...[]byte) (*Sealer, error) {
	s := &Sealer{}
	if len(key) > 0 {
		k, err := newSealKey(key)
		if err != nil {
			return nil, fmt.Errorf("secret key %w", err)
		}
		s.cur = k
	}
	for i, p := range previous {
		k, err := newSealKey(p)
		if err != nil {
			return nil, fmt.Errorf("previous secret key %d %w", i+1, err)
		}
		s.prev = append(s.prev, k)
	}
	return s, nil
}

// Enabled reports whether s encrypts (has a current key).
func (s *Sealer) Enabled() bool { return s != nil && s.cur != nil }

// hasPrevious reports whether s has keys that only open.
func (s *Sealer) hasPrevious() bool { return s != nil && len(s.prev) > 0 }

// canOpen reports whether s has any key at all.
func (s *Sealer) canOpen() bool { return s.Enabled() || s.hasPrevious() }

// keyNames is how the errors name the keys s tried.
func (s *Sealer) keyNames() string {
	if s.hasPrevious() {
		return "with a key that is neither DATAINGEST_SECRET_KEY nor one of DATAINGEST_SECRET_KEY_PREVIOUS"
	}
	return "with another DATAINGEST_SECRET_KEY (while keys are rotated, give the old one in DATAINGEST_SECRET_KEY_PREVIOUS)"
}

// Seal returns a copy of c, for the stored config of task taskID (or the
// config of its start command), whose non-empty passwords are sealed under
// the current key for taskID and their data source's host and port. A
// plain password is sealed with a fresh random nonce. A sealed envelope
// already in c is kept when the current key opens it for this task and
// endpoint, sealed anew under the current key when a previous key opens it
// (kept as it is when there is no current key), and is otherwise an error
// naming the field (it was sealed for another task or endpoint, or with an
// unknown key, or in the unbound LegacySealedPrefix format): the plain
// password must be sent. Without a key, plain passwords stay as they are.
// The errors are *ValidationError (ErrInvalid), except a bad task id
// (ErrInvalidID) and a failing random source; none shows a value. Take the
// Digest of the plain config, not of the sealed one.
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
			p, err := s.seal(taskID, ds, ds.Password)
			if err != nil {
				return nil, fmt.Errorf("sealing %s: %w", field, err)
			}
			ds.Password = p
		case !s.canOpen():
			v.add(field, "is sealed, but DATAINGEST_SECRET_KEY is not set: send the plain password")
		case version == 1:
			v.add(field, "is sealed in the old %s format, which is bound to no task and endpoint: send the plain password", LegacySealedPrefix)
		default:
			plain, current, err := s.openAny(sealedAAD(taskID, ds), raw)
			if err != nil {
				v.add(field, "was sealed for another task or endpoint, or %s: send the plain password", s.keyNames())
				continue
			}
			if current || !s.Enabled() {
				continue
			}
			p, err := s.seal(taskID, ds, string(plain))
			if err != nil {
				return nil, fmt.Errorf("sealing %s: %w", field, err)
			}
			ds.Password = p
		}
	}
	if len(v.errs) > 0 {
		return nil, &ValidationError{Problems: v.errs}
	}
	return out, nil
}

// seal encrypts plain under the current key for taskID and ds's endpoint.
func (s *Sealer) seal(taskID string, ds *DataSource, plain string) (string, error) {
	nonce := make([]byte, nonceSize, nonceSize+len(plain)+tagSize)
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("reading random nonce: %w", err)
	}
	sealed := s.cur.aead.Seal(nonce, nonce, []byte(plain), sealedAAD(taskID, ds))
	return SealedPrefix + base64.StdEncoding.EncodeToString(sealed), nil
}

// openAny decrypts the bytes of an envelope under aad with the current key,
// then each previous key; current reports whether the current key did.
func (s *Sealer) openAny(aad, raw []byte) (plain []byte, current bool, err error) {
	err = ErrSecretKey
	if s.Enabled() {
		if plain, err = open(s.cur, aad, raw); err == nil {
			return plain, true, nil
		}
	}
	if s != nil {
		for _, k := range s.prev {
			if plain, err = open(k, aad, raw); err == nil {
				return plain, false, nil
			}
		}
	}
	return nil, false, err
}

// open decrypts the bytes of an envelope under aad with k.
func open(k *sealKey, aad, raw []byte) ([]byte, error) {
	return k.aead.Open(nil, raw[:nonceSize], raw[nonceSize:], aad)
}

// Open returns a copy of c, the stored config of task taskID, with its
// sealed passwords decrypted: exactly the plain texts Seal sealed for the
// same task and endpoint, under the current key or a previous one. A
// SealedPrefix value opens only for the task id, host and port it was
// sealed for; a LegacySealedPrefix value, stored by an earlier version,
// opens with the old unbound additional data (see the comment on
// SealedPrefix for why that is safe). Plain passwords are copied unchanged.
// A sealed password that no key opens (or any sealed password when s has
// no key) is an error matching ErrSecretKey; the error names the field and
// the variables to check, never a key or a password.
func (s *Sealer) Open(taskID string, c *Config) (*Config, error) {
	out, _, err := s.open(taskID, c)
	return out, err
}

// open is Open, and also reports whether some password of c is not sealed
// as Seal would seal it now: in the LegacySealedPrefix format, under a
// previous key, or (with a current key) not at all.
func (s *Sealer) open(taskID string, c *Config) (out *Config, stale bool, err error) {
	out = c.Clone()
	for i := range out.DataSourceConfigs {
		ds := &out.DataSourceConfigs[i]
		version, raw, sealed := envelope(ds.Password)
		if !sealed {
			stale = stale || (ds.Password != "" && s.Enabled())
			continue
		}
		field := fmt.Sprintf("dataSourceConfigs[%d].password", i)
		if !s.canOpen() {
			return nil, false, fmt.Errorf("opening %s: it is sealed, but DATAINGEST_SECRET_KEY is not set: %w", field, ErrSecretKey)
		}
		aad, why := sealedAAD(taskID, ds), "it was sealed for another task or endpoint, or "+s.keyNames()
		if version == 1 {
			aad, why = legacyAAD, "it was sealed (in the old "+LegacySealedPrefix+" format) "+s.keyNames()
		}
		plain, current, err := s.openAny(aad, raw)
		if err != nil {
			return nil, false, fmt.Errorf("opening %s: %s: %w", field, why, ErrSecretKey)
		}
		stale = stale || !current || version == 1
		ds.Password = string(plain)
	}
	return out, stale, nil
}

// Reseal is what a node does with the stored config of task taskID
// (storedJSON, the JSON of P:task:config:{ID}'s config field) when it reads
// it: every password that is not sealed as Seal would seal it now (sealed
// under a previous key, in the LegacySealedPrefix format, or stored plain
// while there is a current key) is sealed under the current key for the
// task and its endpoint. It returns the JSON to store in place of
// storedJSON and the Sealer's Digest of the plain config, with changed
// true; or changed false when nothing needs sealing anew, or there is no
// current key (Reseal never turns a sealed password into a plain one). The
// errors are Open's (ErrSecretKey: no key opens a password) and a stored
// text that is not a config; none shows a password.
func (s *Sealer) Reseal(taskID, storedJSON string) (resealed, digest string, changed bool, err error) {
	var c Config
	if err := json.Unmarshal([]byte(storedJSON), &c); err != nil {
		return "", "", false, fmt.Errorf("stored config of task %s is not valid JSON: %w", taskID, err)
	}
	plain, stale, err := s.open(taskID, &c)
	if err != nil || !stale || !s.Enabled() {
		return "", "", false, err
	}
	out := plain.Clone()
	for i := range out.DataSourceConfigs {
		ds := &out.DataSourceConfigs[i]
		if ds.Password == "" {
			continue
		}
		if ds.Password, err = s.seal(taskID, ds, ds.Password); err != nil {
			return "", "", false, fmt.Errorf("sealing dataSourceConfigs[%d].password of task %s: %w", i, taskID, err)
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "", "", false, fmt.Errorf("encoding config of task %s: %w", taskID, err)
	}
	return string(b), s.Digest(plain), true, nil
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
// canonical JSON under a key derived from the current secret key, safe to
// store next to the sealed config. Without a current key it is
// Config.Digest.
func (s *Sealer) Digest(c *Config) string {
	if !s.Enabled() {
		return c.Digest()
	}
	return keyedDigest(s.cur, c)
}

// PreviousDigests are the Digests c would have under each previous key: a
// stored config whose digest is one of them is c, stored while that key was
// the current one.
func (s *Sealer) PreviousDigests(c *Config) []string {
	if s == nil {
		return nil
	}
	out := make([]string, 0, len(s.prev))
	for _, k := range s.prev {
		out = append(out, keyedDigest(k, c))
	}
	return out
}

func keyedDigest(k *sealKey, c *Config) string {
	mac := hmac.New(sha256.New, k.digestKey)
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
