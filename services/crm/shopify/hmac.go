// Package shopify verifies Shopify webhook deliveries and turns their order
// and refund bodies into the few fields the CRM needs, with money as exact
// integer minor units.
package shopify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
)

// ErrBadSignature means the X-Shopify-Hmac-Sha256 header does not match the
// body: forged, tampered with, or signed with another secret.
var ErrBadSignature = errors.New("shopify: webhook signature does not match")

// ErrNoSecret means no webhook secret is configured, so nothing can be
// verified; it is a configuration fault, not the sender's.
var ErrNoSecret = errors.New("shopify: webhook secret is empty")

// VerifyHMAC checks header, the X-Shopify-Hmac-Sha256 value, against the
// base64 HMAC-SHA256 of the raw body under the app's client secret. The
// comparison takes the same time wherever the digests differ.
func VerifyHMAC(secret string, body []byte, header string) error {
	if secret == "" {
		return ErrNoSecret
	}
	got, err := base64.StdEncoding.DecodeString(header)
	if err != nil || len(got) != sha256.Size {
		return ErrBadSignature
	}
	if !hmac.Equal(digest(secret, body), got) {
		return ErrBadSignature
	}
	return nil
}

// Sign returns the X-Shopify-Hmac-Sha256 value Shopify would send for body;
// tests and the dev stack use it to fake deliveries.
func Sign(secret string, body []byte) string {
	return base64.StdEncoding.EncodeToString(digest(secret, body))
}

func digest(secret string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}
