// Package secretbox seals short secrets (platform credentials, webhook keys)
// for storage with AES-256-GCM: a random nonce per value, the key id written
// next to the ciphertext so keys can rotate, and additional data binding each
// value to the record and field it belongs to. Values stored before
// encryption was introduced still open, reported as stale so callers re-seal them.
package secretbox

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrUnknownKey means a value was sealed with a key the box does not hold:
// it was dropped from SECRETS_KEY and SECRETS_KEY_OLD too early.
var ErrUnknownKey = errors.New("secretbox: value sealed with an unknown key")

// ErrDecrypt means a value did not authenticate: wrong key, tampered
// ciphertext, or a value copied from another record or field.
var ErrDecrypt = errors.New("secretbox: value does not authenticate")

// Box seals with its current key and opens with the current or any old key.
// It is safe for concurrent use.
type Box struct {
	current Key
	keys    map[string]Key
	order   []Key // current first
}

// New returns a box sealing with current and also opening values sealed with old.
func New(current Key, old ...Key) (*Box, error) {
	if current.aead == nil {
		return nil, errors.New("secretbox: no current key")
	}
	b := &Box{current: current, keys: map[string]Key{}}
	for _, k := range append([]Key{current}, old...) {
		if k.aead == nil {
			return nil, errors.New("secretbox: empty old key")
		}
		if prev, ok := b.keys[k.id]; ok {
			if !hmac.Equal(prev.lookup, k.lookup) {
				return nil, fmt.Errorf("secretbox: two keys share the id %s; generate another key", k.id)
			}
			continue // the same key listed twice, e.g. current also among the old
		}
		b.keys[k.id] = k
		b.order = append(b.order, k)
	}
	return b, nil
}

// KeyID returns the id of the key new values are sealed with.
func (b *Box) KeyID() string { return b.current.id }

// Seal encrypts plaintext under the current key, bound to aad (for example
// workspace id, record id and field name): Open must be given the same aad.
// The empty string stays empty, so "not configured" needs no decryption.
func (b *Box) Seal(plaintext string, aad ...string) (string, error) {
	if plaintext == "" {
		return "", nil
	}
	nonce := make([]byte, nonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("secretbox: nonce: %w", err)
	}
	ct := b.current.aead.Seal(nil, nonce, []byte(plaintext), additionalData(b.current.id, aad))
	return Envelope{KeyID: b.current.id, Nonce: nonce, Ciphertext: ct}.String(), nil
}

// Open returns the plaintext of a stored value. Plain text stored before
// encryption is returned as it is. stale reports that the value should be
// sealed again: it is plain text or sealed with an old key.
func (b *Box) Open(stored string, aad ...string) (plaintext string, stale bool, err error) {
	if stored == "" {
		return "", false, nil
	}
	if !IsSealed(stored) {
		return stored, true, nil
	}
	e, err := Parse(stored)
	if err != nil {
		return "", false, err
	}
	k, ok := b.keys[e.KeyID]
	if !ok {
		return "", false, fmt.Errorf("%w (key id %s)", ErrUnknownKey, e.KeyID)
	}
	pt, err := k.aead.Open(nil, e.Nonce, e.Ciphertext, additionalData(e.KeyID, aad))
	if err != nil {
		return "", false, ErrDecrypt
	}
	return string(pt), e.KeyID != b.current.id, nil
}

// Lookup returns the values under which value can be found by equality in
// an index, one per key, the current key's first: a keyed hash, so the index
// reveals neither the value nor whether two boxes with other keys share it.
// Store the first; query with all of them to find values indexed before a rotation.
func (b *Box) Lookup(value string, aad ...string) []string {
	if value == "" {
		return nil
	}
	out := make([]string, len(b.order))
	for i, k := range b.order {
		m := hmac.New(sha256.New, k.lookup)
		m.Write(additionalData(k.id, append(append([]string(nil), aad...), value)))
		out[i] = k.id + ":" + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}
	return out
}

// additionalData encodes the header and the aad parts with length prefixes,
// so ("ab", "c") and ("a", "bc") bind differently.
func additionalData(keyID string, parts []string) []byte {
	n := len(Prefix) + len(keyID)
	for _, p := range parts {
		n += 4 + len(p)
	}
	out := make([]byte, 0, n)
	out = append(append(out, Prefix...), keyID...)
	for _, p := range parts {
		out = binary.BigEndian.AppendUint32(out, uint32(len(p)))
		out = append(out, p...)
	}
	return out
}
