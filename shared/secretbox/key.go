package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length of a key in bytes (AES-256).
const KeySize = 32

// Key is one AES-256 key with the id that names it in sealed values and the
// lookup key derived from it.
type Key struct {
	id     string
	aead   cipher.AEAD
	lookup []byte
}

// NewKey returns the key made of raw, which must be KeySize random bytes.
func NewKey(raw []byte) (Key, error) {
	if len(raw) != KeySize {
		return Key{}, fmt.Errorf("secretbox: key is %d bytes, want %d", len(raw), KeySize)
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return Key{}, fmt.Errorf("secretbox: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return Key{}, fmt.Errorf("secretbox: %w", err)
	}
	// Separate derivations keep the id and the lookup key independent of the
	// encryption key: publishing the id or a lookup value reveals nothing of it.
	id, err := hkdf.Key(sha256.New, raw, nil, "secretbox v1 key id", keyIDLen/2)
	if err != nil {
		return Key{}, fmt.Errorf("secretbox: %w", err)
	}
	lookup, err := hkdf.Key(sha256.New, raw, nil, "secretbox v1 lookup", sha256.Size)
	if err != nil {
		return Key{}, fmt.Errorf("secretbox: %w", err)
	}
	return Key{id: hex.EncodeToString(id), aead: aead, lookup: lookup}, nil
}

// ParseKey reads a key written in base64 (standard or URL alphabet, padded or
// not), as SECRETS_KEY holds it. Errors never echo the text.
func ParseKey(text string) (Key, error) {
	text = strings.TrimSpace(text)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		raw, err := enc.DecodeString(text)
		if err == nil {
			if len(raw) != KeySize {
				return Key{}, fmt.Errorf("secretbox: key decodes to %d bytes, want %d (generate one with: openssl rand -base64 32)", len(raw), KeySize)
			}
			return NewKey(raw)
		}
	}
	return Key{}, errors.New("secretbox: key is not base64 (generate one with: openssl rand -base64 32)")
}

// DeriveKey derives a key from secret with HKDF-SHA256. It exists for
// development, where no key is configured: the result is only as strong as
// secret, and changing secret makes everything sealed with it unreadable.
func DeriveKey(secret string) (Key, error) {
	if secret == "" {
		return Key{}, errors.New("secretbox: cannot derive a key from an empty secret")
	}
	raw, err := hkdf.Key(sha256.New, []byte(secret), []byte("communityinbox secretbox"), "secretbox v1 derived key", KeySize)
	if err != nil {
		return Key{}, fmt.Errorf("secretbox: %w", err)
	}
	return NewKey(raw)
}

// ID returns the key's id: 8 hex characters, written into every value sealed with it.
func (k Key) ID() string { return k.id }
