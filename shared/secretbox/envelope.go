package secretbox

import (
	"encoding/base64"
	"errors"
	"strings"
)

// Prefix starts every sealed value; it names the format version.
const Prefix = "v1:"

const (
	keyIDLen  = 8
	nonceSize = 12
	tagSize   = 16
	// maxEncoded bounds what Parse decodes: stored secrets are at most a few
	// hundred bytes, and a corrupted document must not cost megabytes.
	maxEncoded = 64 << 10
)

// ErrFormat means a value starts with Prefix but is not a well-formed sealed value.
var ErrFormat = errors.New("secretbox: malformed sealed value")

var payload = base64.RawURLEncoding.Strict()

// Envelope is a parsed sealed value: Prefix + key id + ":" + base64url(nonce | ciphertext).
type Envelope struct {
	KeyID      string // 8 lowercase hex characters
	Nonce      []byte // 12 bytes
	Ciphertext []byte // the AES-GCM output including its 16-byte tag
}

// IsSealed reports whether s claims to be a sealed value. Anything else is
// plain text written before secrets were encrypted.
func IsSealed(s string) bool { return strings.HasPrefix(s, Prefix) }

// Parse decodes a sealed value. It accepts exactly what String produces, so
// a value has one spelling.
func Parse(s string) (Envelope, error) {
	rest, ok := strings.CutPrefix(s, Prefix)
	if !ok || len(rest) < keyIDLen+1 || len(rest) > keyIDLen+1+maxEncoded || rest[keyIDLen] != ':' {
		return Envelope{}, ErrFormat
	}
	id, enc := rest[:keyIDLen], rest[keyIDLen+1:]
	for i := 0; i < len(id); i++ {
		if c := id[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return Envelope{}, ErrFormat
		}
	}
	raw, err := payload.DecodeString(enc)
	// The decoder skips line breaks; re-encoding rejects them and any other second spelling.
	if err != nil || len(raw) < nonceSize+tagSize || payload.EncodeToString(raw) != enc {
		return Envelope{}, ErrFormat
	}
	return Envelope{KeyID: id, Nonce: raw[:nonceSize:nonceSize], Ciphertext: raw[nonceSize:]}, nil
}

// String encodes e in the stored format.
func (e Envelope) String() string {
	raw := make([]byte, 0, len(e.Nonce)+len(e.Ciphertext))
	raw = append(append(raw, e.Nonce...), e.Ciphertext...)
	return Prefix + e.KeyID + ":" + payload.EncodeToString(raw)
}
